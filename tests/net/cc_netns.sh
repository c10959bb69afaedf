#!/usr/bin/env bash
# tests/net/cc_netns.sh -- congestion control (NORM-CC, RFC 5740 section
# 5.5) in the lab (tests/lab/lab.sh), behind a real bottleneck: a tc tbf of
# 20 Mbit/s on the sender's eth0 with a 50 ms drop-tail queue.
#
#  1. Converges: `mcast send` with a cap of 200 Mbit/s (ten times the
#     bottleneck) moves 16 MB to three receivers; goodput is at least half
#     the bottleneck and the tbf drops under 5 % of what it is offered (no
#     sustained loss). Control: `--fixed-rate` at the cap loses over a third
#     at the same tbf (the drop counter works).
#  2. Shares: while mcast sends, a TCP flow (iperf3, s -> r1) crosses the
#     same bottleneck for 10 s. Each gets at least a quarter of it (mcast is
#     measured as what reaches r2, which only multicast reaches). Control:
#     a fixed-rate mcast flow at 100 Mbit/s leaves TCP less than a quarter.
#  3. Every receiver's copy of part 1's and part 2's files is identical.
#
# Needs root, iperf3 (scripts/setup.sh). FAILS (never skips) when namespaces
# cannot be created. Ends with "cc_netns: N passed, M failed". Environment:
# MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:cc
PORT=6820
BOTTLENECK=20000000
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=cc_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
for c in jq iperf3 awk; do
    command -v "$c" >/dev/null || { ko "$c is missing (run scripts/setup.sh)"; finish; }
done
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=cc$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-cc.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

lab_up "$LAB" 3 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_rate "$LAB" s 20mbit 32k 50ms || { ko "lab_rate (see LAB ERROR above)"; finish; }
mkdir -p "$WORK/src"
head -c 16000000 /dev/urandom >"$WORK/src/one.bin"
head -c 40000000 /dev/urandom >"$WORK/src/two.bin"
# For the fixed-rate controls: far more than they can send (sparse, no disk).
truncate -s 1G "$WORK/src/big.bin"

# ge A B: A >= B for decimals.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
rx_bytes() { lab_exec "$LAB" "$1" cat /sys/class/net/eth0/statistics/rx_bytes; }
# tbf_mark notes the tbf's counters; tbf_since sets SENT and DROPPED to
# what it counted since.
tbf_mark() { read -r TBF_SENT0 TBF_DROP0 < <(lab_rate_stats "$LAB" s); }
tbf_since() {
    local s d
    read -r s d < <(lab_rate_stats "$LAB" s)
    SENT=$((s - TBF_SENT0))
    DROPPED=$((d - TBF_DROP0))
}

start_receivers() { # DIR
    pids=()
    for r in r1 r2 r3; do
        lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 \
            --out "$WORK/$1/$r" --count 1 --timeout 120 --json >"$WORK/$1-$r.json" 2>"$WORK/$1-$r.err" &
        pids+=($!)
    done
    for r in r1 r2 r3; do lab_wait_joined "$LAB" "$r" "$GROUP" || ko "$r joined"; done
}

check_copies() { # DIR FILE
    local st r i=0
    for r in r1 r2 r3; do
        wait "${pids[$i]}"
        st=$?
        i=$((i + 1))
        check "$1: $r exits 0 (status $st)" [ "$st" = 0 ]
        check "$1: $r's copy of $2 is identical" cmp -s "$WORK/src/$2" "$WORK/$1/$r/$2"
    done
}

# ------------------------------------------------------------ 1. converge
echo "--- 1. converge: 16 MB, cap 200 Mbit/s, 20 Mbit/s bottleneck"
start_receivers one
tbf_mark
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --rate 200M --quiet --json \
    "$WORK/src/one.bin" >"$WORK/one-s.json" 2>"$WORK/one-s.err"
st=$?
tbf_since
check "send exits 0 (status $st)" [ "$st" = 0 ]
secs=$(jq -r .elapsed_secs "$WORK/one-s.json" 2>/dev/null)
goodput=$(awk -v s="$secs" 'BEGIN { printf "%.0f", 16000000 * 8 / s }')
drop_pct=$(awk -v s="$SENT" -v d="$DROPPED" 'BEGIN { printf "%.2f", 100 * d / (s + d) }')
echo "    $secs s, goodput $((goodput / 1000)) kbit/s, tbf sent $SENT dropped $DROPPED ($drop_pct %)," \
    "final rate $(jq -r .stats.tx_rate_bps "$WORK/one-s.json") bit/s, feedback $(jq -r .stats.cc_feedback_received "$WORK/one-s.json")"
check "goodput $((goodput / 1000)) kbit/s is at least half the bottleneck" ge "$goodput" $((BOTTLENECK / 2))
check "the bottleneck dropped $drop_pct % (< 5 %: no sustained loss)" lt "$drop_pct" 5
check "the sender heard congestion feedback" [ "$(jq -r .stats.cc_feedback_received "$WORK/one-s.json")" -gt 0 ]
check_copies one one.bin

echo "--- control: --fixed-rate 200M at the same bottleneck, 3 s"
tbf_mark
lab_exec "$LAB" s timeout -s INT 3 "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --rate 200M \
    --fixed-rate --quiet "$WORK/src/big.bin" >/dev/null 2>&1
tbf_since
drop_pct=$(awk -v s="$SENT" -v d="$DROPPED" 'BEGIN { printf "%.2f", 100 * d / (s + d) }')
check "a fixed rate at the cap overruns the bottleneck ($drop_pct % dropped > 33 %)" ge "$drop_pct" 33
sleep 1

# ------------------------------------------------------------ 2. share
tcp_share() { # OUT.json: iperf3 s -> r1 for 10 s; sets TCP_BPS and MCAST_BPS (at r2)
    lab_exec "$LAB" r1 iperf3 -s -1 >/dev/null 2>&1 &
    local srv=$! b0 b1 t0 t1
    sleep 0.5
    b0=$(rx_bytes r2)
    t0=$(date +%s.%N)
    lab_exec "$LAB" s iperf3 -c "$(lab_addr "$LAB" r1)" -t 10 -J >"$1" 2>/dev/null
    t1=$(date +%s.%N)
    b1=$(rx_bytes r2)
    wait "$srv" 2>/dev/null
    TCP_BPS=$(jq -r '.end.sum_received.bits_per_second | floor' "$1" 2>/dev/null || echo 0)
    MCAST_BPS=$(awk -v a="$b0" -v b="$b1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.0f", (b - a) * 8 / (t1 - t0) }')
}

echo "--- 2. share: 40 MB over mcast while iperf3 runs TCP s -> r1 for 10 s"
start_receivers two
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --rate 200M --quiet --json \
    "$WORK/src/two.bin" >"$WORK/two-s.json" 2>"$WORK/two-s.err" &
spid=$!
sleep 2
tcp_share "$WORK/iperf.json"
echo "    TCP $((TCP_BPS / 1000)) kbit/s, mcast (at r2) $((MCAST_BPS / 1000)) kbit/s of $((BOTTLENECK / 1000)) kbit/s"
check "TCP got at least a quarter of the bottleneck ($((TCP_BPS / 1000)) kbit/s)" ge "$TCP_BPS" $((BOTTLENECK / 4))
check "mcast got at least a quarter of the bottleneck ($((MCAST_BPS / 1000)) kbit/s)" ge "$MCAST_BPS" $((BOTTLENECK / 4))
wait "$spid"
st=$?
check "send exits 0 (status $st)" [ "$st" = 0 ]
check_copies two two.bin

echo "--- control: fixed-rate mcast at 100 Mbit/s while iperf3 runs"
lab_exec "$LAB" s timeout -s INT 14 "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --rate 100M \
    --fixed-rate --quiet "$WORK/src/big.bin" >/dev/null 2>&1 &
spid=$!
sleep 1
tcp_share "$WORK/iperf-fixed.json"
echo "    TCP $((TCP_BPS / 1000)) kbit/s, mcast (at r2) $((MCAST_BPS / 1000)) kbit/s"
check "against a fixed rate TCP gets less than a quarter ($((TCP_BPS / 1000)) kbit/s): the check can fail" \
    lt "$TCP_BPS" $((BOTTLENECK / 4))
wait "$spid" 2>/dev/null
finish
