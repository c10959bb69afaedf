#!/usr/bin/env bash
# tests/net/cli_output_netns.sh -- what the mcast command says, in the lab
# (tests/lab/lab.sh), where each host's one usable interface is eth0:
#
#  1. `mcast interfaces` marks eth0 the default and lo not a candidate.
#  2. Without --interface, `mcast send` says at default verbosity (one line
#     on stderr) which interface it chose, as `mcast recv` does ("via eth0");
#     with --quiet it says nothing and its --json summary stays valid JSON
#     (interface eth0); with --interface it does not repeat the choice.
#  3. The receiver names each object's sender by address and NORM node id:
#     "received NAME (...) from [ADDR]:PORT (node N)" on stderr, and
#     `sender` and `sender_node_id` in --json, per object.
#  4. On a terminal (script(1) gives them one), send and recv draw progress
#     bars for an 8 MB file; with --quiet they print nothing at all.
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "cli_output_netns: N passed, M failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:c1
PORT=6990
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=cli_output_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=out$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-out.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

lab_up "$LAB" 1 || { ko "lab_up (see LAB ERROR above)"; finish; }
SADDR=$(lab_addr "$LAB" s)

# ------------------------------------------------------------ 1. interfaces
lab_exec "$LAB" s "$MCAST" interfaces >"$WORK/if.txt" 2>"$WORK/if.err"
st=$?
check "mcast interfaces exits 0 (status $st)" [ "$st" = 0 ]
check "... eth0 is the default: $(grep eth0 "$WORK/if.txt")" grep -qE "^eth0 +default +.*$SADDR" "$WORK/if.txt"
check "... lo is not a candidate: $(grep '^lo ' "$WORK/if.txt")" grep -qE "^lo +- .*loopback" "$WORK/if.txt"
check "mcast interfaces --json: default eth0" \
    [ "$(lab_exec "$LAB" s "$MCAST" interfaces --json | jq -r '.default' 2>/dev/null)" = eth0 ]

# ------------------------------------------------------------ 2, 3. send and receive
mkdir -p "$WORK/src"
echo "first" >"$WORK/src/a.txt"
head -c 50000 /dev/urandom >"$WORK/src/b.bin"
echo "third" >"$WORK/src/c.txt"
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port $PORT --out "$WORK/r1" --count 3 --timeout 60 --json \
    >"$WORK/r1.json" 2>"$WORK/r1.err" &
r1=$!
lab_wait_joined "$LAB" r1 "$GROUP" || ko "r1 joined"

lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --node-id 777 "$WORK/src/a.txt" \
    >"$WORK/s1.out" 2>"$WORK/s1.err"
st=$?
check "send without --interface exits 0 (status $st)" [ "$st" = 0 ]
check "... and says which interface it chose: $(head -1 "$WORK/s1.err")" \
    grep -qx "sending to \[$GROUP\]:$PORT via eth0 (no --interface given: the first suitable interface, see \`mcast interfaces\`)" "$WORK/s1.err"
check "... on one line" [ "$(grep -c "via eth0" "$WORK/s1.err")" = 1 ]
check "... and nothing on stdout" [ ! -s "$WORK/s1.out" ]

lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --node-id 778 --quiet --json "$WORK/src/b.bin" \
    >"$WORK/s2.json" 2>"$WORK/s2.err"
st=$?
check "send --quiet --json without --interface exits 0 (status $st)" [ "$st" = 0 ]
check "... says nothing on stderr ($(head -c 200 "$WORK/s2.err"))" [ ! -s "$WORK/s2.err" ]
check "... its --json summary is valid JSON naming eth0" [ "$(jq -r '.interface' "$WORK/s2.json" 2>/dev/null)" = eth0 ]

lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --node-id 779 "$WORK/src/c.txt" \
    2>"$WORK/s3.err"
st=$?
check "send --interface eth0 exits 0 (status $st)" [ "$st" = 0 ]
check "... and does not repeat the interface given" bash -c '! grep -q "sending to" "$1"' _ "$WORK/s3.err"

wait "$r1"
st=$?
check "recv without --interface exits 0 with 3 objects (status $st)" [ "$st" = 0 ]
check "recv says it listens via eth0: $(head -1 "$WORK/r1.err")" \
    grep -q "^listening on \[$GROUP\]:$PORT via eth0; writing to $WORK/r1" "$WORK/r1.err"
for f in a.txt b.bin c.txt; do check "r1 has $f intact" cmp -s "$WORK/src/$f" "$WORK/r1/$f"; done
for pair in a.txt:777 b.bin:778 c.txt:779; do
    f=${pair%:*} n=${pair#*:}
    check "received line names $f's sender and node $n" \
        grep -qE "^received $f \(.*\) from \[$SADDR\]:[0-9]+ \(node $n\)$" "$WORK/r1.err"
    check "--json: $f from sender_node_id $n at [$SADDR]" \
        [ "$(jq -r --arg f "$f" '.files[] | select(.name == $f) | "\(.sender_node_id) \(.sender)"' "$WORK/r1.json" 2>/dev/null | sed 's/\]:[0-9]*$/]/')" = "$n [$SADDR]" ]
done
echo "    $(grep '^received' "$WORK/r1.err" | head -1)"

# ------------------------------------------------------------ 4. progress bars on a terminal
head -c 8000000 /dev/urandom >"$WORK/src/big.bin"
# on_tty HOST OUT CMD...: runs CMD in HOST with a terminal as its stdin,
# stdout and stderr; what it wrote goes to OUT.
on_tty() {
    local host=$1 out=$2
    shift 2
    lab_exec "$LAB" "$host" script -qec "$(printf '%q ' "$@")" /dev/null </dev/null >"$out" 2>&1
}
# progress_round LABEL QUIET: a receiver and a sender on terminals.
progress_round() {
    local label=$1 quiet=$2 port=$((PORT + 1)) rst sst
    [ "$quiet" = 1 ] && port=$((PORT + 2))
    local q=()
    [ "$quiet" = 1 ] && q=(--quiet)
    on_tty r1 "$WORK/$label-r.tty" "$MCAST" recv --group "$GROUP" --port $port --interface eth0 --out "$WORK/$label" \
        --count 1 --timeout 60 "${q[@]}" &
    local rpid=$!
    lab_wait_joined "$LAB" r1 "$GROUP" || ko "$label: r1 joined"
    sleep 0.3
    on_tty s "$WORK/$label-s.tty" "$MCAST" send --group "$GROUP" --port $port --interface eth0 --rate 20M --fixed-rate \
        "${q[@]}" "$WORK/src/big.bin"
    sst=$?
    wait "$rpid"
    rst=$?
    check "$label: send and recv on a terminal exit 0 (send $sst, recv $rst)" [ "$sst:$rst" = 0:0 ]
    check "$label: the file arrived intact" cmp -s "$WORK/src/big.bin" "$WORK/$label/big.bin"
}
progress_round bars 0
check "send draws a progress bar on a terminal: $(tr '\r' '\n' <"$WORK/bars-s.tty" | grep -a 'sending \[' | tail -1)" \
    grep -aq 'sending \[[=> ]*\] [0-9.]* [KMG]\?i\?B/' "$WORK/bars-s.tty"
check "recv draws a progress bar on a terminal: $(tr '\r' '\n' <"$WORK/bars-r.tty" | grep -a 'big.bin' | tail -1)" \
    grep -aq '\[[=> #-]*\]' "$WORK/bars-r.tty"
progress_round quiet 1
check "send --quiet on a terminal prints nothing ($(head -c 200 "$WORK/quiet-s.tty"))" [ ! -s "$WORK/quiet-s.tty" ]
check "recv --quiet on a terminal prints nothing ($(head -c 200 "$WORK/quiet-r.tty"))" [ ! -s "$WORK/quiet-r.tty" ]
finish
