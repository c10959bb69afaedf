#!/usr/bin/env bash
# tests/net/faults_netns.sh -- faults (issue 8) in the lab (tests/lab/lab.sh):
# nothing is ever silently truncated; a delivered file is whole and
# identical, or its object is reported aborted.
#
#  1. A receiver killed (SIGKILL) in the middle of a transfer and started
#     again gets the file whole from what the sender still holds; another
#     receiver is not disturbed.
#  2. A sender killed in the middle of its second file and started again
#     with the same node id (`--node-id`; a new NORM instance): the receiver
#     keeps the first file, reports the unfinished one aborted ("the sender
#     restarted"), and then gets everything the new instance sends. A second
#     sender (host s2, another node id) sends three files to the same group
#     throughout the kill and the restart: the receiver gets all of them
#     intact, by that sender's node id (--json sender_node_id), and reports
#     nothing of it aborted.
#  3. Bursts of loss: 30 % of the time everything to a receiver is dropped,
#     in bursts of 60 ms; the transfer completes intact.
#  4. A receiver whose disk fills up (a 4 MiB tmpfs) reports the error for
#     the file that does not fit, leaves no partial file behind, and still
#     receives the next file that fits (it is not stuck).
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "faults_netns: N passed, M failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:fa
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=faults_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=flt$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-faults.XXXXXX")
chmod 755 "$WORK"
SMALL=$WORK/small-disk
bursts=
cleanup() {
    [ -z "$bursts" ] || kill "$bursts" 2>/dev/null
    mountpoint -q "$SMALL" && umount "$SMALL"
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

lab_up "$LAB" 2 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_add_host "$LAB" s2 2 || { ko "lab_add_host s2 (see LAB ERROR above)"; finish; }
mkdir -p "$WORK/src"
head -c 30000000 /dev/urandom >"$WORK/src/big.bin"
head -c 8000000 /dev/urandom >"$WORK/src/mid.bin"
head -c 1000000 /dev/urandom >"$WORK/src/small.bin"
for f in other1 other2 other3; do head -c 3000000 /dev/urandom >"$WORK/src/$f.bin"; done

recv_bg() { # HOST PORT OUT COUNT TIMEOUT NAME [ARGS...]: a receiver in the background; sets RPID
    local host=$1 port=$2 out=$3 count=$4 t=$5 name=$6
    shift 6
    lab_exec "$LAB" "$host" "$MCAST" recv --group "$GROUP" --port "$port" --interface eth0 \
        --out "$out" --count "$count" --timeout "$t" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" &
    RPID=$!
}
send_bg() { # PORT NAME FILE... (rate 40 Mbit/s, fixed): sets SPID
    local port=$1 name=$2
    shift 2
    lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$port" --interface eth0 --rate 40M --fixed-rate \
        --quiet --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err" &
    SPID=$!
}
# kill_in HOST PORT: SIGKILL the mcast process on HOST using PORT.
kill_in() {
    local p
    for p in $(ip netns pids "$LAB-$1"); do
        if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "mcast.* --port $2 "; then
            kill -KILL "$p"
        fi
    done
}
identical() { cmp -s "$1" "$2"; }
no_partial() { # DIR: no file there but finished ones (no .part left, nothing truncated)
    ! ls -A "$1" 2>/dev/null | grep -q '\.part$'
}

# ------------------------------------------------------------ 1. receiver restart
echo "--- 1. a receiver killed mid-transfer and started again"
P=6960
recv_bg r1 $P "$WORK/one-r1" 1 60 one-r1a
r1a=$RPID
recv_bg r2 $P "$WORK/one-r2" 1 60 one-r2
r2=$RPID
lab_wait_joined "$LAB" r1 "$GROUP" && lab_wait_joined "$LAB" r2 "$GROUP" || ko "receivers joined"
send_bg $P one-s "$WORK/src/big.bin"
s=$SPID
sleep 2
kill_in r1 $P
wait "$r1a" 2>/dev/null
check "r1 was killed before the file was complete" [ ! -e "$WORK/one-r1/big.bin" ]
sleep 1
recv_bg r1 $P "$WORK/one-r1" 1 60 one-r1b
r1b=$RPID
wait "$s"
st=$?
check "the sender exits 0 (status $st)" [ "$st" = 0 ]
wait "$r1b"
st=$?
check "the restarted r1 exits 0 (status $st)" [ "$st" = 0 ]
check "the restarted r1 has big.bin whole (from what the sender still held)" identical "$WORK/src/big.bin" "$WORK/one-r1/big.bin"
check "r1 leaves no partial file" no_partial "$WORK/one-r1"
wait "$r2"
check "r2 was not disturbed" identical "$WORK/src/big.bin" "$WORK/one-r2/big.bin"

# ------------------------------------------------------------ 2. sender restart
echo "--- 2. a sender killed mid-transfer and started again; another sender goes on"
P=6961
recv_bg r1 $P "$WORK/two-r1" 6 90 two-r1
r1=$RPID
lab_wait_joined "$LAB" r1 "$GROUP" || ko "r1 joined"
# The other sender: 9 MB at 10 Mbit/s, about 7 s, from before the kill
# (at 2.5 s) to after the restart.
lab_exec "$LAB" s2 "$MCAST" send --group "$GROUP" --port $P --interface eth0 --rate 10M --fixed-rate --quiet --json \
    --node-id 5151 "$WORK/src/other1.bin" "$WORK/src/other2.bin" "$WORK/src/other3.bin" >"$WORK/two-other.json" 2>"$WORK/two-other.err" &
other=$!
send_bg $P two-s1 --node-id 4242 "$WORK/src/small.bin" "$WORK/src/big.bin"
s=$SPID
sleep 2.5
check "the other sender is still sending when the first one is killed" kill -0 "$other"
kill_in s $P
wait "$s" 2>/dev/null
check "the first sender was killed before big.bin was complete at r1" [ ! -e "$WORK/two-r1/big.bin" ]
sleep 0.5
check "the other sender is still sending when the first one restarts" kill -0 "$other"
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $P --interface eth0 --rate 40M --fixed-rate --quiet \
    --node-id 4242 "$WORK/src/mid.bin" "$WORK/src/big.bin" 2>"$WORK/two-s2.err"
st=$?
check "the restarted sender exits 0 (status $st)" [ "$st" = 0 ]
wait "$other"
st=$?
check "the other sender exits 0 (status $st)" [ "$st" = 0 ]
wait "$r1"
st=$?
check "r1 exits 0 with small.bin, mid.bin, big.bin and the other sender's three files (status $st)" [ "$st" = 0 ]
check "r1 kept small.bin from the first instance" identical "$WORK/src/small.bin" "$WORK/two-r1/small.bin"
check "r1 got mid.bin from the new instance" identical "$WORK/src/mid.bin" "$WORK/two-r1/mid.bin"
check "r1 got big.bin from the new instance" identical "$WORK/src/big.bin" "$WORK/two-r1/big.bin"
# The old instance's unfinished object, reported by node id 4242.
aborted=$(jq -r '[.aborted[] | select(.sender_node_id == 4242)] | length' "$WORK/two-r1.json" 2>/dev/null)
reason=$(jq -r '[.aborted[] | select(.sender_node_id == 4242)][0].reason // ""' "$WORK/two-r1.json" 2>/dev/null)
restarted() { [ "${aborted:-0}" -ge 1 ] && [[ "$reason" == *restarted* ]]; }
check "r1 reported the unfinished object of the old instance aborted ($aborted: $reason)" restarted
# The other sender, undisturbed.
from_other=$(jq -r '[.files[] | select(.sender_node_id == 5151) | .name] | sort | join(" ")' "$WORK/two-r1.json" 2>/dev/null)
check "r1 got every file of the other sender, by its node id ($from_other)" [ "$from_other" = "other1.bin other2.bin other3.bin" ]
for f in other1 other2 other3; do
    check "r1's $f.bin from the other sender is identical" identical "$WORK/src/$f.bin" "$WORK/two-r1/$f.bin"
done
other_aborted=$(jq -r '[.aborted[] | select(.sender_node_id != 4242)] | length' "$WORK/two-r1.json" 2>/dev/null)
check "r1 reported nothing aborted but the first sender's (${other_aborted:-no JSON})" [ "${other_aborted:-x}" = 0 ]
check "r1 leaves no partial file" no_partial "$WORK/two-r1"

# ------------------------------------------------------------ 3. bursts
echo "--- 3. bursts: 30 % of the time, everything to r1 is dropped (60 ms bursts)"
P=6962
# One rule drops everything to the port while an nft set holds the port:
# the loop adds and removes it (the rule and its counter stay).
ip netns exec "$LAB-r1" nft -f - <<NFT || ko "installing the burst rule"
table inet bursts {
    set on { type inet_service; }
    chain in { type filter hook input priority -5; policy accept; udp dport @on counter drop; }
}
NFT
(
    while :; do
        ip netns exec "$LAB-r1" nft add element inet bursts on "{ $P }"
        sleep 0.06
        ip netns exec "$LAB-r1" nft delete element inet bursts on "{ $P }"
        sleep 0.14
    done
) 2>"$WORK/bursts.err" &
bursts=$!
recv_bg r1 $P "$WORK/three-r1" 1 90 three-r1
r1=$RPID
recv_bg r2 $P "$WORK/three-r2" 1 90 three-r2
r2=$RPID
sleep 0.3
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $P --interface eth0 --rate 40M --quiet --json \
    "$WORK/src/mid.bin" >"$WORK/three-s.json" 2>"$WORK/three-s.err"
st=$?
check "the sender exits 0 (status $st)" [ "$st" = 0 ]
wait "$r1"
st=$?
kill "$bursts" 2>/dev/null
wait "$bursts" 2>/dev/null
bursts=
dropped=$(ip netns exec "$LAB-r1" nft list chain inet bursts in | awk '/drop/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1) }')
ip netns exec "$LAB-r1" nft delete table inet bursts
check "r1 exits 0 through the bursts (status $st)" [ "$st" = 0 ]
check "r1's mid.bin is identical" identical "$WORK/src/mid.bin" "$WORK/three-r1/mid.bin"
check "the bursts dropped datagrams (${dropped:-0})" [ "${dropped:-0}" -gt 100 ]
wait "$r2"
check "r2's mid.bin is identical" identical "$WORK/src/mid.bin" "$WORK/three-r2/mid.bin"
echo "    r1: ${dropped:-0} dropped in bursts; $(jq -c '.stats | {nacks_sent, repair_segments_received, fec_recovered_segments}' "$WORK/three-r1.json" 2>/dev/null)"

# ------------------------------------------------------------ 4. disk full
echo "--- 4. a receiver whose disk fills up"
P=6963
mkdir -p "$SMALL"
mount -t tmpfs -o size=4m tmpfs "$SMALL" || { ko "mounting a 4 MiB tmpfs"; finish; }
recv_bg r1 $P "$SMALL/out" 1 60 four-r1
r1=$RPID
lab_wait_joined "$LAB" r1 "$GROUP" || ko "r1 joined"
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $P --interface eth0 --rate 40M --quiet \
    "$WORK/src/mid.bin" "$WORK/src/small.bin" 2>"$WORK/four-s.err"
st=$?
check "the sender exits 0 (status $st)" [ "$st" = 0 ]
wait "$r1"
st=$?
check "r1 exits 0 with small.bin (status $st)" [ "$st" = 0 ]
check "r1 got small.bin after the disk filled" identical "$WORK/src/small.bin" "$SMALL/out/small.bin"
check "r1 did not keep a truncated mid.bin" [ ! -e "$SMALL/out/mid.bin" ]
check "r1 leaves no partial file" no_partial "$SMALL/out"
nospace() { grep -qi "no space" "$WORK/four-r1.err" || jq -r '.aborted[].reason' "$WORK/four-r1.json" 2>/dev/null | grep -qi "no space"; }
check "r1 reported the error (no space left on device)" nospace
finish
