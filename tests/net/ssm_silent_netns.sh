#!/usr/bin/env bash
# tests/net/ssm_silent_netns.sh -- source-specific multicast, silent receivers
# and channels with the mcast command, in the lab (tests/lab/lab.sh).
#
#  1. SSM (RFC 4607): two senders, s and s2, send to the same channel
#     (`--channel NAME --ssm`, an ff3e::/96 address). r1 receives with
#     `--source <s's address>`: it gets s's files and none of s2's (s2 sends
#     first, so a receiver that took s2's objects would report them first).
#     r2, any-source on the same group, gets both senders' files.
#  2. Silent receivers (privacy mode): r3 runs `mcast recv --silent` with 2 %
#     loss, the sender sends proactive parity (--auto-parity); an nftables
#     counter on r3's eth0 output sees zero UDP datagrams (no NACK, no ACK,
#     no CC feedback; MLD join reports are ICMPv6 and not counted), and every
#     file arrives intact; asked by the sender to acknowledge (--ack 3), it
#     does not (the sender exits 4 naming it). A control receiver with the same loss, not silent,
#     asked to acknowledge (--ack), does send (the counter works).
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "ssm_silent_netns: N passed, M failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
CHANNEL=ssm-test-$$
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=ssm_silent_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=ssm$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-ssm.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

wait_joined() { lab_wait_joined "$LAB" "$1" "$2"; }

lab_up "$LAB" 4 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_add_host "$LAB" s2 20 && _lab_wait_ready "$LAB" s2 || { ko "adding host s2"; finish; }
S_ADDR=$(lab_addr "$LAB" s)
S2_ADDR=$(lab_addr "$LAB" s2)

# ------------------------------------------------------------- 1. SSM
read -r GROUP PORT < <("$MCAST" channel "$CHANNEL" --ssm)
echo "--- SSM: channel $CHANNEL is [$GROUP]:$PORT; s is $S_ADDR, s2 is $S2_ADDR"
check "the SSM channel address is in ff3e::/96" bash -c '[[ "$1" == ff3e::* ]]' _ "$GROUP"
mkdir -p "$WORK/src"
for i in 1 2 3; do
    head -c $((i * 100000)) /dev/urandom >"$WORK/src/s-$i.bin"
    head -c $((i * 70000 + 1)) /dev/urandom >"$WORK/src/s2-$i.bin"
done
lab_exec "$LAB" r1 "$MCAST" recv --channel "$CHANNEL" --ssm --interface eth0 --source "$S_ADDR" \
    --out "$WORK/r1" --count 3 --timeout 60 --json >"$WORK/r1.json" 2>"$WORK/r1.err" &
p1=$!
lab_exec "$LAB" r2 "$MCAST" recv --channel "$CHANNEL" --ssm --interface eth0 \
    --out "$WORK/r2" --count 6 --timeout 60 --json >"$WORK/r2.json" 2>"$WORK/r2.err" &
p2=$!
wait_joined r1 "$GROUP" || ko "r1 joined"
wait_joined r2 "$GROUP" || ko "r2 joined"
lab_exec "$LAB" s2 "$MCAST" send --channel "$CHANNEL" --ssm --interface eth0 --quiet \
    "$WORK/src/s2-1.bin" "$WORK/src/s2-2.bin" "$WORK/src/s2-3.bin" 2>"$WORK/s2.err"
check "s2 sends (exit 0)" [ $? = 0 ]
lab_exec "$LAB" s "$MCAST" send --channel "$CHANNEL" --ssm --interface eth0 --quiet \
    "$WORK/src/s-1.bin" "$WORK/src/s-2.bin" "$WORK/src/s-3.bin" 2>"$WORK/s.err"
check "s sends (exit 0)" [ $? = 0 ]
wait "$p1"
st=$?
check "r1 (--source s) exits 0 after 3 objects" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -3 "$WORK/r1.err"
check "r1 got exactly s's three files: $(ls "$WORK/r1" 2>/dev/null | tr '\n' ' ')" \
    [ "$(ls "$WORK/r1" 2>/dev/null | tr '\n' ' ')" = "s-1.bin s-2.bin s-3.bin " ]
bad=0
for i in 1 2 3; do cmp -s "$WORK/src/s-$i.bin" "$WORK/r1/s-$i.bin" || bad=$((bad + 1)); done
check "r1's files are identical to s's ($bad differ)" [ "$bad" = 0 ]
check "r1 heard only s: one sender in its statistics" [ "$(jq -r .stats.senders "$WORK/r1.json" 2>/dev/null)" = 1 ]
wait "$p2"
st=$?
check "r2 (any source) exits 0 after 6 objects" [ "$st" = 0 ]
bad=0
for f in s-1 s-2 s-3 s2-1 s2-2 s2-3; do cmp -s "$WORK/src/$f.bin" "$WORK/r2/$f.bin" || bad=$((bad + 1)); done
check "r2 got both senders' files, identical ($bad differ or are missing)" [ "$bad" = 0 ]

# ------------------------------------------------------------- 2. silent
PORT=6610
GROUP=ff3e::4d43:66
echo "--- silent receiver: [$GROUP]:$PORT, 2 % loss, auto parity"
head -c 5000000 /dev/urandom >"$WORK/src/silent-big.bin"
head -c 1 /dev/urandom >"$WORK/src/silent-one.bin"
head -c 300000 /dev/urandom >"$WORK/src/silent-mid.bin"
for r in r3 r4; do
    lab_loss "$LAB" "$r" 2 "$PORT" || ko "lab_loss $r"
    lab_counter "$LAB" "$r" || ko "lab_counter $r"
done
lab_exec "$LAB" r3 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 --silent --node-id 3 \
    --out "$WORK/r3" --count 3 --timeout 60 --json >"$WORK/r3.json" 2>"$WORK/r3.err" &
p3=$!
lab_exec "$LAB" r4 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 --node-id 4 \
    --out "$WORK/r4" --timeout 60 --json >"$WORK/r4.json" 2>"$WORK/r4.err" &
p4=$!
wait_joined r3 "$GROUP" || ko "r3 joined"
wait_joined r4 "$GROUP" || ko "r4 joined"
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --quiet --json \
    --block 32 --parity 8 --auto-parity 6 --ack 3,4 --ack-timeout 15 \
    "$WORK/src/silent-one.bin" "$WORK/src/silent-mid.bin" "$WORK/src/silent-big.bin" >"$WORK/s-silent.json" 2>"$WORK/s-silent.err"
st=$?
# The sender asked r3 (node 3) to acknowledge too: a silent receiver does
# not answer even that, so the sender reports it missing (exit 4).
check "the sender (auto parity 6 per 32-segment block) exits 4: node 3 did not acknowledge (status $st)" [ "$st" = 4 ]
check "... acked by 4 only, 3 missing: $(jq -c .ack "$WORK/s-silent.json" 2>/dev/null)" \
    [ "$(jq -c .ack "$WORK/s-silent.json" 2>/dev/null)" = '{"acked":[4],"missing":[3]}' ]
wait "$p3"
st=$?
check "r3 (--silent) exits 0 after 3 objects" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -3 "$WORK/r3.err"
bad=0
for f in silent-one silent-mid silent-big; do cmp -s "$WORK/src/$f.bin" "$WORK/r3/$f.bin" || bad=$((bad + 1)); done
check "r3 got every file intact from proactive parity alone ($bad differ or are missing)" [ "$bad" = 0 ]
out3=$(lab_count "$LAB" r3)
check "r3 sent no UDP datagram at all (nftables output counter: $out3)" [ "$out3" = 0 ]
check "r3 counted no NACK or ACK of its own" [ "$(jq -r '"\(.stats.nacks_sent) \(.stats.acks_sent) \(.stats.datagrams_sent)"' "$WORK/r3.json")" = "0 0 0" ]
check "r3's loss rule dropped packets ($(lab_loss_dropped "$LAB" r3))" [ "$(lab_loss_dropped "$LAB" r3)" -gt 0 ]
check "r3 recovered segments with parity ($(jq -r .stats.fec_recovered_segments "$WORK/r3.json"))" \
    [ "$(jq -r .stats.fec_recovered_segments "$WORK/r3.json")" -gt 0 ]
# r4 runs until stopped (with --count it could exit before the sender's
# acknowledgement request arrives).
pkill -TERM -f -- "--node-id 4 " 2>/dev/null
wait "$p4" 2>/dev/null
bad=0
for f in silent-one silent-mid silent-big; do cmp -s "$WORK/src/$f.bin" "$WORK/r4/$f.bin" || bad=$((bad + 1)); done
check "control r4 (not silent) got every file intact ($bad differ or are missing)" [ "$bad" = 0 ]
out4=$(lab_count "$LAB" r4)
# r4 is asked to acknowledge (--ack 4), so it sends at least one ACK even
# when proactive parity repaired all of its losses and it never NACKed.
check "control r4 did send (its counter shows $out4 UDP datagrams): the counter works" [ "${out4:-0}" -gt 0 ]
finish
