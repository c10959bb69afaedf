#!/usr/bin/env bash
# lab_selftest.sh -- checks tests/lab/lab.sh itself: two labs at once,
# distinct addresses, multicast delivery (ff3e:: and ff02::) inside a lab and
# isolation between labs, lab_counter/lab_count, lab_loss, lab_rate, lab_down.
# Needs root; FAILS (never skips) when the lab cannot be built.
# Ends with "N passed, N failed".
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$here/lab.sh"
LAB_QUIET=1
PROBE="$here/mcast_probe.py"
A="lsa$$"
B="lsb$$"
PORT=6999
G=ff3e::4d43:99

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # DESCRIPTION command...
    local d=$1
    shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
summary() {
    echo "lab_selftest: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
fatal() {
    fail "$*"
    summary
    exit 1
}
work=$(mktemp -d /tmp/lab_selftest.XXXXXX)
trap 'lab_down "$A"; lab_down "$B"; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

command -v python3 >/dev/null || fatal "python3 missing (scripts/setup.sh)"
lab_require || fatal "network lab prerequisites (see LAB ERROR above)"
lab_up "$A" 2 || fatal "lab_up $A 2"
lab_up "$B" 1 || fatal "lab_up $B 1 (a second lab at the same time)"
pass "two labs up at once"
check "lab_up refuses an existing lab" bash -c "source '$here/lab.sh'; ! lab_up $A 1 2>/dev/null"
check "lab_hosts lists s r1 r2" test "$(lab_hosts "$A" | tr '\n' ' ')" = "r1 r2 s "

addrs="$(lab_addr "$A" s) $(lab_addr "$A" r1) $(lab_addr "$A" r2)"
check "distinct ULA addresses ($addrs)" test "$(tr ' ' '\n' <<<"$addrs" | sort -u | grep -c fd6d)" = 3
check "link-local address present" test -n "$(lab_lladdr "$A" r1)"
check "no tentative addresses" test -z "$(lab_exec "$A" s ip -6 addr show tentative)"
check "lab_exec on a missing host fails" bash -c "source '$here/lab.sh'; ! lab_exec $A r9 true 2>/dev/null"

# recv_start LAB HOST GROUP SECONDS OUTFILE; waits until joined.
recv_start() {
    local lab=$1 h=$2 g=$3 secs=$4 out=$5
    lab_exec "$lab" "$h" python3 "$PROBE" recv "$g" "$PORT" eth0 "$secs" >"$out" &
    for _ in $(seq 1 100); do
        lab_exec "$lab" "$h" ip -6 maddr show dev eth0 | grep -q "inet6 $g\$" && return 0
        sleep 0.05
    done
    return 1
}

for g in "$G" ff02::4d43:99; do
    recv_start "$A" r1 "$g" 1.5 "$work/a1" || fail "r1 did not join $g"
    recv_start "$A" r2 "$g" 1.5 "$work/a2" || fail "r2 did not join $g"
    recv_start "$B" r1 "$g" 1.5 "$work/b1" || fail "other lab's r1 did not join $g"
    lab_exec "$A" s python3 "$PROBE" send "$g" "$PORT" eth0 200 >/dev/null || fail "send to $g"
    wait
    check "$g: r1 got 200/200 (got $(cat "$work/a1"))" test "$(cat "$work/a1")" = 200
    check "$g: r2 got 200/200 (got $(cat "$work/a2"))" test "$(cat "$work/a2")" = 200
    check "$g: other lab got 0 (isolated; got $(cat "$work/b1"))" test "$(cat "$work/b1")" = 0
done

lab_counter "$A" s || fail "lab_counter s"
lab_counter "$A" r1 "$PORT" || fail "lab_counter r1"
check "counter starts at 0" test "$(lab_count "$A" s)" = 0
lab_exec "$A" s python3 "$PROBE" send "$G" "$PORT" eth0 50 >/dev/null
check "counter counts 50 sent packets (got $(lab_count "$A" s))" test "$(lab_count "$A" s)" = 50
check "silent host counts 0 (got $(lab_count "$A" r1))" test "$(lab_count "$A" r1)" = 0
lab_counter "$A" s
check "lab_counter resets to 0" test "$(lab_count "$A" s)" = 0

lab_loss "$A" r1 50 "$PORT" || fail "lab_loss"
recv_start "$A" r1 "$G" 2 "$work/l1"
recv_start "$A" r2 "$G" 2 "$work/l2"
lab_exec "$A" s python3 "$PROBE" send "$G" "$PORT" eth0 2000 >/dev/null
wait
n1=$(cat "$work/l1")
check "50% loss on r1: got $n1 of 2000 (800..1200)" test "$n1" -ge 800 -a "$n1" -le 1200
check "no loss on r2: got $(cat "$work/l2") of 2000" test "$(cat "$work/l2")" = 2000
check "lab_loss_dropped counts drops ($(lab_loss_dropped "$A" r1))" test "$(lab_loss_dropped "$A" r1)" -gt 0
lab_loss "$A" r1 0
recv_start "$A" r1 "$G" 1 "$work/l1"
lab_exec "$A" s python3 "$PROBE" send "$G" "$PORT" eth0 300 >/dev/null
wait
check "lab_loss 0 removes the loss (got $(cat "$work/l1") of 300)" test "$(cat "$work/l1")" = 300

lab_rate "$A" s 8mbit || fail "lab_rate"
recv_start "$A" r1 "$G" 3 "$work/r1"
t0=$(date +%s.%N)
lab_exec "$A" s python3 "$PROBE" send "$G" "$PORT" eth0 1000 1000 >/dev/null
t1=$(date +%s.%N)
wait
el=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
got=$(cat "$work/r1")
# 1000 x ~1060 wire bytes at 8 Mbit/s is >= ~1 s; either the sender is
# paced (blocks) or tbf drops the excess.
check "lab_rate 8mbit: sent 1 MB in ${el}s, $got received (paced or dropped)" \
    awk -v e="$el" -v g="$got" 'BEGIN { exit !((e >= 0.8 && g >= 900) || (e < 0.8 && g < 900)) }'
lab_rate "$A" s off

lab_down "$A"
check "lab_down removes all namespaces" test -z "$(ip netns list | awk '{print $1}' | grep "^$A-")"
check "lab_down leaves the other lab alone" test -n "$(ip netns list | awk '{print $1}' | grep "^$B-sw\$")"
lab_down "$B"
check "second lab_down is harmless" lab_down "$B"
summary
