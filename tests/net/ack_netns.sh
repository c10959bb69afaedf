#!/usr/bin/env bash
# tests/net/ack_netns.sh -- acknowledged delivery (NORM positive
# acknowledgement: watermark flush, NORM_CMD(FLUSH) with an acking node list
# answered by NORM_ACK(FLUSH)) with the mcast command, in the lab.
#
#  1. Three receivers with fixed node ids (mcast recv --node-id 101..103), 5 %
#     loss each. `mcast send --ack 101,102,103,104`: the three confirm, 104
#     (no such receiver) does not: exit status 4, and the --json summary lists
#     acked [101,102,103] and missing [104]. Every file is intact.
#  2. `mcast send --ack 101,102,103` to the same receivers: exit 0.
#  3. A receiver that is gone (r3 stopped) is reported missing.
#  4. --ack with --stream: standard input as a stream, then the same
#     acknowledgement: `--ack 101,102` exits 0 with both acked (and r1, r2
#     have the stream whole); `--ack 101,102,104` exits 4, 104 missing.
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "ack_netns: N passed, M failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:88
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=ack_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=ack$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-ack.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wait_joined() { lab_wait_joined "$LAB" "$1" "$GROUP"; }
# stop HOST: SIGTERM to the processes in HOST's namespace (its one receiver;
# the background job is the lab_exec subshell, not the mcast process).
stop() {
    local pids
    pids=$(ip netns pids "$LAB-$1" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -TERM $pids 2>/dev/null
}

lab_up "$LAB" 3 || { ko "lab_up (see LAB ERROR above)"; finish; }
PORT=6800
mkdir -p "$WORK/src"
head -c 2000000 /dev/urandom >"$WORK/src/a.bin"
head -c 1 /dev/urandom >"$WORK/src/b.bin"
head -c 70000 /dev/urandom >"$WORK/src/c.bin"
pids=()
n=101
for r in r1 r2 r3; do
    lab_loss "$LAB" "$r" 5 "$PORT" || ko "lab_loss $r"
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 --node-id $n \
        --out "$WORK/$r" --timeout 90 --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
    n=$((n + 1))
done
for r in r1 r2 r3; do wait_joined "$r" || ko "$r joined"; done

# 1. one node id that does not exist
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --json \
    --ack 101,102,103,104 --ack-timeout 3 "$WORK/src/a.bin" "$WORK/src/b.bin" >"$WORK/s1.json" 2>"$WORK/s1.err"
st=$?
check "send --ack 101,102,103,104 exits 4 (104 did not acknowledge; got $st)" [ "$st" = 4 ]
check "... and says who did not: $(tail -1 "$WORK/s1.err")" grep -q "not acknowledged by 104" "$WORK/s1.err"
check "--json: acked [101,102,103], missing [104]" \
    [ "$(jq -c '[.ack.acked, .ack.missing]' "$WORK/s1.json" 2>/dev/null)" = '[[101,102,103],[104]]' ]

# 2. all of them
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --json \
    --ack 101,102,103 "$WORK/src/c.bin" >"$WORK/s2.json" 2>"$WORK/s2.err"
st=$?
check "send --ack 101,102,103 exits 0 (got $st)" [ "$st" = 0 ]
check "--json: all three acknowledged" [ "$(jq -c '[.ack.acked, .ack.missing]' "$WORK/s2.json" 2>/dev/null)" = '[[101,102,103],[]]' ]
for r in r1 r2 r3; do
    bad=0
    for f in a b c; do cmp -s "$WORK/src/$f.bin" "$WORK/$r/$f.bin" || bad=$((bad + 1)); done
    check "$r has every file intact ($bad differ or are missing)" [ "$bad" = 0 ]
    check "$r: loss was injected" [ "$(lab_loss_dropped "$LAB" "$r")" -gt 0 ]
done

# 3. r3 leaves
stop r3
wait "${pids[2]}" 2>/dev/null
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --json \
    --ack 101,102,103 --ack-timeout 3 "$WORK/src/b.bin" >"$WORK/s3.json" 2>"$WORK/s3.err"
st=$?
check "with r3 gone, send --ack 101,102,103 exits 4 (got $st)" [ "$st" = 4 ]
check "--json: 103 missing" [ "$(jq -c '[.ack.acked, .ack.missing]' "$WORK/s3.json" 2>/dev/null)" = '[[101,102],[103]]' ]

# 4. a stream, acknowledged
head -c 150000 /dev/urandom | base64 -w 64 >"$WORK/src/log.txt"
lines=$(wc -l <"$WORK/src/log.txt")
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --json \
    --ack 101,102 --stream log.txt <"$WORK/src/log.txt" >"$WORK/s4.json" 2>"$WORK/s4.err"
st=$?
check "send --stream --ack 101,102 exits 0 (got $st)" [ "$st" = 0 ]
check "... and says who acknowledged: $(grep acknowledged "$WORK/s4.err")" \
    grep -qx "acknowledged by 101, 102; not acknowledged by nobody" "$WORK/s4.err"
check "--json (stream): both acknowledged" [ "$(jq -c '[.ack.acked, .ack.missing]' "$WORK/s4.json" 2>/dev/null)" = '[[101,102],[]]' ]
check "--json (stream): a message per line ($lines)" [ "$(jq -r '.stream.messages' "$WORK/s4.json" 2>/dev/null)" = "$lines" ]
# Acknowledged means delivered: the stream's file is complete by now (a
# moment for the receiver to rename it into place after its end).
stream_whole() {
    local i
    for i in $(seq 1 50); do cmp -s "$WORK/src/log.txt" "$WORK/$1/log.txt" && return 0; sleep 0.1; done
    return 1
}
for r in r1 r2; do check "$r has the acknowledged stream whole" stream_whole "$r"; done
printf 'one\ntwo\n' | lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --json \
    --ack 101,102,104 --ack-timeout 3 --stream short.txt >"$WORK/s5.json" 2>"$WORK/s5.err"
st=$?
check "send --stream --ack 101,102,104 exits 4 (got $st)" [ "$st" = 4 ]
check "... and says who did not: $(tail -1 "$WORK/s5.err")" grep -q "not acknowledged by 104" "$WORK/s5.err"
check "--json (stream): acked [101,102], missing [104]" \
    [ "$(jq -c '[.ack.acked, .ack.missing]' "$WORK/s5.json" 2>/dev/null)" = '[[101,102],[104]]' ]
stop r1
stop r2
wait
finish
