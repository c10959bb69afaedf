#!/usr/bin/env bash
# tests/net/api_netns.sh -- the Rust API over a real (namespaced) network,
# driven by the example programs core/examples/api_send.rs and api_recv.rs.
#
# Lab (tests/lab/lab.sh): sender s (fd6d:6361:7374::1) + receivers r1..r3 on
# one bridge; every datagram crosses veths and the bridge. Nothing is ever
# sent in the machine's own namespace.
#
#  1. FILE and DATA objects under 5 % random loss on every receiver: files of
#     0 bytes, 1 byte and 20 MB (random content), once with Sender::send_file
#     and once read into memory and sent with Sender::send_with_info. Every
#     copy is compared byte for byte (cmp); the loss rules must have dropped
#     packets and repairs must have happened (sender: NACKs received and
#     repair segments sent; every receiver: repair segments received).
#     Order: every receiver gets the objects in the order sent, with the ids
#     Sender returned (hence increasing), the sender's node id and address.
#  2. Receivers started well before the sender get everything: 30 DATA
#     objects; r1 loses the sender's first 8000 bytes of traffic (so the first
#     objects reach it only because SyncPolicy::All asks for them), r2 has 5 %
#     random loss, r3 none.
#  3. Two senders (s, s2) at once: every receiver gets both senders' objects,
#     each sender's in the order it sent them.
#  4. Error paths of api_recv: a nonexistent interface fails with
#     "<group> is not joined: interface br9 does not exist" (api_send too);
#     no sender gives exit status 3 (timeout) in time; an object the receiver
#     can never complete ends in Error::Aborted, reported with exit status 1.
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends with
# "N passed, N failed"; exit status 0 only if nothing failed.
# Environment: BIG_MB (20), LOSS (5), KEEP=1 keeps the work directory,
# NO_BUILD=1 uses the examples already in target/release/examples.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/target/release/examples
BIG_MB=${BIG_MB:-20}
LOSS=${LOSS:-5}
GROUP=ff3e::4d43:20
SENDER_ADDR=fd6d:6361:7374::1
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"
before_summary() { echo "total $(($(date +%s) - t0)) s"; }
t0=$(date +%s)

if ! (cd "$ROOT" && cargo build --release -q -p mcast --examples); then
    [ "${NO_BUILD:-0}" = 1 ] || { ko "cargo build --release -p mcast --examples"; finish; }
fi
for b in api_send api_recv; do
    [ -x "$BIN/$b" ] || { ko "no example binary $BIN/$b"; finish; }
done
if ! command -v jq >/dev/null; then
    ko "jq is missing (run scripts/setup.sh)"
    finish
fi
if ! lab_require; then
    ko "cannot build the network lab (see LAB ERROR above)"
    finish
fi

LAB=api$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-api-netns.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

wait_joined() { lab_wait_joined "$LAB" "$1" "$GROUP"; }

# start_recv HOST NAME PORT COUNT [TIMEOUT]: api_recv in the background,
# writing to $WORK/NAME/ with its JSON lines in $WORK/NAME.jsonl; its pid is
# appended to the array rpids.
start_recv() {
    local host=$1 name=$2 port=$3 count=$4 timeout=${5:-120}
    lab_exec "$LAB" "$host" "$BIN/api_recv" "$GROUP" "$port" eth0 "$WORK/$name" "$count" "$timeout" \
        >"$WORK/$name.jsonl" 2>"$WORK/$name.err" &
    rpids+=($!)
}

# send HOST NAME PORT [--data] FILE...: api_send (at most 120 s), its JSON in
# $WORK/NAME.json; returns its exit status.
send() {
    local host=$1 name=$2 port=$3
    shift 3
    timeout 120 ip netns exec "$LAB-$host" "$BIN/api_send" "$GROUP" "$port" eth0 "$@" \
        >"$WORK/$name.json" 2>"$WORK/$name.err"
}

# sent_ids NAME: the object ids api_send reported, one line.
sent_ids() { jq -r '[.objects[].object_id] | join(" ")' "$WORK/$1.json" 2>/dev/null; }
# recv_ids NAME [NODE]: the object ids api_recv got (from sender NODE), in
# arrival order, one line.
recv_ids() {
    jq -rs --arg n "${2:-}" '[.[] | select(.object_id != null) | select($n == "" or (.sender_node_id | tostring) == $n) | .object_id] | join(" ")' \
        "$WORK/$1.jsonl" 2>/dev/null
}
# increasing "IDS": the ids are strictly increasing.
increasing() { awk '{ for (i = 2; i <= NF; i++) if ($i <= $(i-1)) exit 1 }' <<<"$1"; }
# rstat NAME FIELD: a field of api_recv's final stats line.
rstat() { jq -rs --arg f "$2" '.[] | select(.stats != null) | .stats[$f]' "$WORK/$1.jsonl" 2>/dev/null; }
seconds_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if ! lab_up "$LAB" 3; then
    ko "lab_up (see LAB ERROR above)"
    finish
fi

# ------------------------------------------- 1. FILE and DATA under loss
mkdir -p "$WORK/src"
: >"$WORK/src/empty.bin"
head -c 1 /dev/urandom >"$WORK/src/one.bin"
head -c $((BIG_MB * 1000 * 1000)) /dev/urandom >"$WORK/src/big.bin"
files=(empty.bin one.bin big.bin)
PORT=6220
for mode in file data; do
    echo "--- ${mode^^} objects, $LOSS % loss on r1..r3 (port $PORT)"
    for r in r1 r2 r3; do lab_loss "$LAB" "$r" "$LOSS" "$PORT" || ko "lab_loss $r"; done
    rpids=()
    for r in r1 r2 r3; do start_recv "$r" "$mode-$r" "$PORT" 3; done
    for r in r1 r2 r3; do wait_joined "$r" || ko "receiver $r ready"; done
    flag=()
    [ "$mode" = data ] && flag=(--data)
    ts=$(date +%s.%N)
    send s "$mode-s" "$PORT" "${flag[@]}" "$WORK/src/empty.bin" "$WORK/src/one.bin" "$WORK/src/big.bin"
    st=$?
    check "$mode: api_send exits 0 ($(seconds_since "$ts") s)" [ "$st" = 0 ]
    [ "$st" = 0 ] || sed 's/^/  api_send: /' "$WORK/$mode-s.err"
    ids=$(sent_ids "$mode-s")
    check "$mode: api_send reports 3 increasing object ids ($ids)" \
        bash -c '[ "$(wc -w <<<"$1")" = 3 ] && awk "{ for (i = 2; i <= NF; i++) if (\$i <= \$(i-1)) exit 1 }" <<<"$1"' _ "$ids"
    check "$mode: api_send reports kind $mode for every object" \
        [ "$(jq -r "[.objects[] | select(.kind == \"$mode\")] | length" "$WORK/$mode-s.json" 2>/dev/null)" = 3 ]
    node=$(jq -r .node_id "$WORK/$mode-s.json" 2>/dev/null)
    i=0
    for r in r1 r2 r3; do
        wait "${rpids[$i]}"
        st=$?
        i=$((i + 1))
        name=$mode-$r
        check "$name: api_recv exits 0" [ "$st" = 0 ]
        [ "$st" = 0 ] || sed "s/^/  $r: /" "$WORK/$name.err" | tail -5
        for f in "${files[@]}"; do
            check "$name: $f identical (cmp)" cmp "$WORK/src/$f" "$WORK/$name/$f"
        done
        check "$name: nothing else in the output directory" [ "$(ls -A "$WORK/$name" 2>/dev/null | wc -l)" = 3 ]
        got=$(recv_ids "$name")
        check "$name: objects arrived in the order sent, ids as api_send returned them ($got)" [ "$got" = "$ids" ]
        check "$name: every object is of kind $mode, from node $node at [$SENDER_ADDR]:$PORT, with the right size and name" \
            [ "$(jq -rs --arg n "$node" --arg a "[$SENDER_ADDR]:$PORT" --arg k "$mode" \
                '[.[] | select(.object_id != null) | select((.sender_node_id | tostring) == $n and .sender == $a and .kind == $k)
                 | "\(.info)=\(.size)"] | join(" ")' "$WORK/$name.jsonl" 2>/dev/null)" = \
                "empty.bin=0 one.bin=1 big.bin=$((BIG_MB * 1000 * 1000))" ]
        dropped=$(lab_loss_dropped "$LAB" "$r")
        # Segments the sender flagged as repairs (data or parity).
        repairs=$(rstat "$name" repair_segments_received)
        echo "  $r: $dropped packets dropped by the loss rule, $(rstat "$name" nacks_sent) NACKs sent, $repairs repair segments received"
        check "$name: loss was injected ($dropped packets dropped)" [ "${dropped:-0}" -gt 0 ]
        check "$name: repairs arrived ($repairs repair segments)" [ "${repairs:-0}" -gt 0 ]
        check "$name: no object aborted" [ "$(rstat "$name" objects_aborted)" = 0 ]
    done
    echo "  sender: $(jq -c '.stats | {nacks_received, repair_segments_sent, parity_segments_sent, datagrams_sent}' "$WORK/$mode-s.json" 2>/dev/null)"
    check "$mode: sender received NACKs and sent repairs" \
        [ "$(jq '(.stats.nacks_received > 0) and (.stats.repair_segments_sent > 0)' "$WORK/$mode-s.json" 2>/dev/null)" = true ]
    # Reset the loss rules (and their counters) for the next round.
    for r in r1 r2 r3; do lab_loss "$LAB" "$r" 0 || true; done
    PORT=$((PORT + 1))
done

# ------------------------------- 2. receivers started well before the sender
PORT=6230
N=30
echo "--- receivers started before the sender: $N DATA objects (port $PORT)"
mkdir -p "$WORK/small"
small=()
for i in $(seq 1 $N); do
    head -c $((i * 97)) /dev/urandom >"$WORK/small/s$i.bin"
    small+=("$WORK/small/s$i.bin")
done
# r1 loses everything the sender sends until 8000 bytes have gone by: the
# first several objects (and the sender's first commands) never reach it.
lab_exec "$LAB" r1 nft add table inet head &&
    lab_exec "$LAB" r1 nft add chain inet head in '{ type filter hook input priority 0; policy accept; }' &&
    lab_exec "$LAB" r1 nft add rule inet head in udp dport "$PORT" quota until 8000 bytes counter drop ||
    ko "nft head-drop rule on r1"
lab_loss "$LAB" r2 "$LOSS" "$PORT" || ko "lab_loss r2"
rpids=()
for r in r1 r2 r3; do start_recv "$r" "early-$r" "$PORT" "$N"; done
for r in r1 r2 r3; do wait_joined "$r" || ko "receiver $r ready"; done
sleep 2 # the receivers idle for a while before any sender exists
send s early-s "$PORT" --data "${small[@]}"
check "early: api_send of $N objects exits 0" [ $? = 0 ]
ids=$(sent_ids early-s)
i=0
for r in r1 r2 r3; do
    wait "${rpids[$i]}"
    st=$?
    i=$((i + 1))
    check "early-$r: api_recv exits 0" [ "$st" = 0 ]
    [ "$st" = 0 ] || sed "s/^/  $r: /" "$WORK/early-$r.err" | tail -5
    bad=0
    for j in $(seq 1 $N); do cmp -s "$WORK/small/s$j.bin" "$WORK/early-$r/s$j.bin" || bad=$((bad + 1)); done
    check "early-$r: all $N objects identical (cmp; $bad differ or are missing)" [ "$bad" = 0 ]
    check "early-$r: objects arrived in the order sent, ids as api_send returned them" [ "$(recv_ids "early-$r")" = "$ids" ]
done
head_dropped=$(lab_exec "$LAB" r1 nft list chain inet head in | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1) }')
echo "  r1: the sender's first $head_dropped packets were dropped"
check "early-r1: the sender's first packets were dropped ($head_dropped)" [ "${head_dropped:-0}" -gt 5 ]
check "early-r2: loss was injected" [ "$(lab_loss_dropped "$LAB" r2)" -gt 0 ]
lab_exec "$LAB" r1 nft delete table inet head || true
lab_loss "$LAB" r2 0 || true

# ------------------------------------------------------- 3. two senders
PORT=6240
M=6
echo "--- two senders at once, $M objects each, $LOSS % loss (port $PORT)"
if lab_add_host "$LAB" s2 2 && _lab_wait_ready "$LAB" s2; then
    mkdir -p "$WORK/two"
    a=()
    b=()
    for i in $(seq 1 $M); do
        head -c $((i * 150000)) /dev/urandom >"$WORK/two/a$i.bin"
        head -c $((i * 150000 + 7)) /dev/urandom >"$WORK/two/b$i.bin"
        a+=("$WORK/two/a$i.bin")
        b+=("$WORK/two/b$i.bin")
    done
    for r in r1 r2 r3; do lab_loss "$LAB" "$r" "$LOSS" "$PORT" || ko "lab_loss $r"; done
    rpids=()
    for r in r1 r2 r3; do start_recv "$r" "two-$r" "$PORT" $((2 * M)); done
    for r in r1 r2 r3; do wait_joined "$r" || ko "receiver $r ready"; done
    send s two-s "$PORT" "${a[@]}" &
    pa=$!
    send s2 two-s2 "$PORT" --data "${b[@]}" &
    pb=$!
    wait "$pa"
    check "two: api_send on s (FILE) exits 0" [ $? = 0 ]
    wait "$pb"
    check "two: api_send on s2 (DATA) exits 0" [ $? = 0 ]
    na=$(jq -r .node_id "$WORK/two-s.json" 2>/dev/null)
    nb=$(jq -r .node_id "$WORK/two-s2.json" 2>/dev/null)
    check "two: the senders have different node ids ($na, $nb)" bash -c '[ -n "$1" ] && [ "$1" != "$2" ]' _ "$na" "$nb"
    i=0
    max_switches=0
    for r in r1 r2 r3; do
        wait "${rpids[$i]}"
        st=$?
        i=$((i + 1))
        check "two-$r: api_recv exits 0" [ "$st" = 0 ]
        [ "$st" = 0 ] || sed "s/^/  $r: /" "$WORK/two-$r.err" | tail -5
        bad=0
        for f in "$WORK"/two/*.bin; do cmp -s "$f" "$WORK/two-$r/$(basename "$f")" || bad=$((bad + 1)); done
        check "two-$r: all $((2 * M)) objects identical (cmp; $bad differ or are missing)" [ "$bad" = 0 ]
        check "two-$r: s's objects in the order s sent them" [ "$(recv_ids "two-$r" "$na")" = "$(sent_ids two-s)" ]
        check "two-$r: s2's objects in the order s2 sent them" [ "$(recv_ids "two-$r" "$nb")" = "$(sent_ids two-s2)" ]
        check "two-$r: s2's objects came from [fd6d:6361:7374::2]" \
            [ "$(jq -rs --arg n "$nb" '[.[] | select((.sender_node_id | tostring) == $n) | .sender] | unique | join(" ")' "$WORK/two-$r.jsonl")" = "[fd6d:6361:7374::2]:$PORT" ]
        switches=$(jq -rs '[.[] | select(.object_id != null) | .sender_node_id] | [range(1; length) as $i | select(.[$i] != .[$i - 1])] | length' "$WORK/two-$r.jsonl")
        [ "${switches:-0}" -gt "$max_switches" ] && max_switches=$switches
    done
    # Both senders really overlapped (else this was two sequential runs): at
    # least one receiver got their objects interleaved (A B A). One receiver
    # may well see A..A B..B when losses delay one sender's objects.
    check "two: the two senders' transfers overlapped (a receiver saw them interleaved; most switches $max_switches)" [ "$max_switches" -gt 1 ]
    for r in r1 r2 r3; do lab_loss "$LAB" "$r" 0 || true; done
else
    ko "adding a second sender host s2 to the lab"
fi

# ------------------------------------------------------- 4. error paths
echo "--- error paths"
lab_exec "$LAB" r1 "$BIN/api_recv" "$GROUP" 6250 br9 "$WORK/nope" 1 5 >"$WORK/br9.out" 2>"$WORK/br9.err"
st=$?
check "api_recv on a nonexistent interface exits 1 (got $st)" [ "$st" = 1 ]
check "... saying '$GROUP is not joined: interface br9 does not exist'" \
    grep -qx "api_recv: $GROUP is not joined: interface br9 does not exist" "$WORK/br9.err"
[ "$fail" = 0 ] || sed 's/^/  stderr: /' "$WORK/br9.err"
lab_exec "$LAB" s "$BIN/api_send" "$GROUP" 6250 br9 "$WORK/src/one.bin" >/dev/null 2>"$WORK/br9s.err"
st=$?
check "api_send on a nonexistent interface exits 1 (got $st) with the same message" \
    bash -c '[ "$1" = 1 ] && grep -qx "api_send: $2 is not joined: interface br9 does not exist" "$3"' _ "$st" "$GROUP" "$WORK/br9s.err"

ts=$(date +%s.%N)
lab_exec "$LAB" r2 "$BIN/api_recv" "$GROUP" 6251 eth0 "$WORK/none" 1 1.5 >/dev/null 2>"$WORK/timeout.err"
st=$?
el=$(seconds_since "$ts")
check "api_recv with no sender exits 3 after its 1.5 s timeout (got $st after $el s)" \
    bash -c '[ "$1" = 3 ] && awk -v d="$2" "BEGIN { exit !(d >= 1.4 && d < 5) }"' _ "$st" "$el"
check "... saying it timed out" grep -q "timed out" "$WORK/timeout.err"

# Aborted: r3 gets the first 30000 bytes of NORM_DATA (the low nibble of the
# first payload byte is the NORM message type; 2 = NORM_DATA), then no data at
# all, while commands (FLUSH, EOT) still arrive; its own NACKs never leave
# (else the sender would keep repairing and its flush would never end). The
# object can never complete: when the sender ends the session (EOT) the
# receiver must report it aborted.
PORT=6252
lab_exec "$LAB" r3 nft add table inet abort &&
    lab_exec "$LAB" r3 nft add chain inet abort in '{ type filter hook input priority 0; policy accept; }' &&
    lab_exec "$LAB" r3 nft add rule inet abort in udp dport "$PORT" @th,68,4 2 quota over 30000 bytes counter drop &&
    lab_exec "$LAB" r3 nft add chain inet abort out '{ type filter hook output priority 0; policy accept; }' &&
    lab_exec "$LAB" r3 nft add rule inet abort out udp dport "$PORT" counter drop ||
    ko "nft rules on r3"
head -c 1000000 /dev/urandom >"$WORK/src/abort.bin"
rpids=()
start_recv r3 abort-r3 "$PORT" 1 60
wait_joined r3 || ko "receiver r3 ready"
ts=$(date +%s.%N)
send s abort-s "$PORT" "$WORK/src/abort.bin"
st=$?
check "abort: api_send exits 0 ($(seconds_since "$ts") s) although r3 never completes" [ "$st" = 0 ]
wait "${rpids[0]}"
st=$?
el=$(seconds_since "$ts")
check "abort: api_recv exits 1 (got $st, $el s after the sender started)" [ "$st" = 1 ]
check "abort: ... reporting object 0 aborted" grep -q "api_recv: object 0 from \[$SENDER_ADDR\]:$PORT aborted" "$WORK/abort-r3.err"
[ "$st" = 1 ] || sed 's/^/  r3: /' "$WORK/abort-r3.err" | tail -3
check "abort: nothing was written" [ -z "$(ls -A "$WORK/abort-r3" 2>/dev/null)" ]
lab_exec "$LAB" r3 nft delete table inet abort || true

finish
