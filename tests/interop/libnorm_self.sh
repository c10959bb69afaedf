#!/usr/bin/env bash
# libnorm_self.sh -- proves the network lab and the libnorm peer (normpeer):
# one libnorm sender, three libnorm receivers with 5 % random loss each,
# FILE objects of 20 MB and 1 byte, then DATA objects of 2 MB and 1 byte, then
# a 0-byte FILE and a 0-byte DATA object (without loss: libnorm's sender
# crashes when asked to repair zero-length objects, see below), all compared
# byte for byte.
#
# Needs root (network namespaces).  It FAILS (never skips) when the lab
# cannot be built.  Ends with "N passed, N failed"; exit status 0 only if
# nothing failed.
#
# Environment: LOSS (percent, default 5), ZERO_LOSS (loss for the 0-byte
# rounds, default 0), SEND_FLAGS (extra normpeer send options), BIG_MB (default 20), GROUP
# (default ff3e::4d43:5), PORT (default 6100), KEEP=1 keeps the work dir (kept anyway on failure).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lab/lab.sh
source "$root/tests/lab/lab.sh"

LOSS=${LOSS:-5}
BIG_MB=${BIG_MB:-20}
GROUP=${GROUP:-ff3e::4d43:5}
PORT=${PORT:-6100}
NRECV=3
SEND_FLAGS=${SEND_FLAGS:-}   # extra normpeer send options, e.g. "--buffer 4194304"
LAB="nself$$"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
summary() {
    echo "libnorm_self: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
fatal() {
    fail "$*"
    summary
    exit 1
}

work=$(mktemp -d /tmp/libnorm_self.XXXXXX)
cleanup() {
    lab_down "$LAB"
    if [ -n "${KEEP:-}" ] || [ "$failed" -gt 0 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lab_require || fatal "network lab prerequisites (see LAB ERROR above)"
NP=$("$here/build.sh") || fatal "building normpeer (tests/interop/build.sh)"
lab_up "$LAB" "$NRECV" || fatal "building the network lab (lab_up $LAB $NRECV)"
pass "lab up: $LAB-s + $NRECV receivers"

for i in $(seq 1 "$NRECV"); do
    lab_loss "$LAB" "r$i" "$LOSS" "$PORT" || fatal "installing ${LOSS}% loss on r$i"
done

# wait_joined HOST: until HOST's eth0 is a member of GROUP.
wait_joined() {
    local h=$1 i
    for i in $(seq 1 100); do
        lab_exec "$LAB" "$h" ip -6 maddr show dev eth0 | grep -q "inet6 $GROUP\$" && return 0
        sleep 0.05
    done
    return 1
}

# run_round LABEL SENDER_FLAGS FILE...: one sender, NRECV receivers, compare.
run_round() {
    local label=$1 flags=$2
    shift 2
    local files=("$@") n=$# i f t0 t1 rc
    local pids=()
    for i in $(seq 1 "$NRECV"); do
        rm -rf "$work/$label-r$i"
        lab_exec "$LAB" "r$i" "$NP" recv --group "$GROUP" --port "$PORT" --interface eth0 \
            --out "$work/$label-r$i" --count "$n" --timeout 45 \
            >"$work/$label-r$i.log" 2>&1 &
        pids+=($!)
    done
    for i in $(seq 1 "$NRECV"); do
        wait_joined "r$i" || fail "$label: r$i did not join $GROUP within 5 s"
    done
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout 45 ip netns exec "$LAB-s" "$NP" send --group "$GROUP" --port "$PORT" --interface eth0 \
        $flags $SEND_FLAGS "${files[@]}" >"$work/$label-send.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" -eq 0 ]; then
        pass "$label: sender exited 0 ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s)"
    else
        fail "$label: sender exit status $rc"
        sed 's/^/    send: /' "$work/$label-send.log" | tail -20
    fi
    for i in $(seq 1 "$NRECV"); do
        wait "${pids[$((i - 1))]}"
        rc=$?
        t1=$(date +%s.%N)
        if [ "$rc" -eq 0 ]; then
            pass "$label: r$i received $n object(s) (done $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s after send start)"
        else
            fail "$label: r$i exit status $rc"
            sed "s/^/    r$i: /" "$work/$label-r$i.log" | tail -20
        fi
        for f in "${files[@]}"; do
            if cmp -s "$f" "$work/$label-r$i/$(basename "$f")"; then
                pass "$label: r$i $(basename "$f") ($(stat -c %s "$f") bytes) identical"
            else
                fail "$label: r$i $(basename "$f") differs or is missing"
            fi
        done
    done
}

head -c 0 /dev/urandom >"$work/empty.bin"
head -c 1 /dev/urandom >"$work/one.bin"
head -c $((BIG_MB * 1024 * 1024)) /dev/urandom >"$work/big.bin"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$work/two-mb.bin"

start=$(date +%s)
# Big object first: libnorm receivers (NORM_SYNC_CURRENT) only sync on a
# NORM_INFO or a block-0 DATA packet, so a tiny first object whose one or two
# packets are lost would be skipped silently.
run_round file "" "$work/big.bin" "$work/one.bin"
run_round data "--data" "$work/two-mb.bin" "$work/one.bin"

for i in $(seq 1 "$NRECV"); do
    d=$(lab_loss_dropped "$LAB" "r$i")
    if [ "${d:-0}" -gt 0 ]; then
        pass "loss on r$i effective: $d packet(s) dropped"
    else
        [ "$LOSS" = 0 ] && pass "no loss configured on r$i" || fail "loss on r$i dropped nothing"
    fi
done

# Zero-length objects, alone, without loss (ZERO_LOSS, default 0):
#  - behind other objects under loss, libnorm 1.5.9's SENDER crashes (SIGSEGV,
#    bitmask index -1) when receivers request repair of the zero-length
#    object (about 1 run in 3 at 5 % loss; never without 0-byte objects);
#  - alone under loss, a receiver that loses its only NORM_INFO never syncs
#    (NORM_SYNC_CURRENT) and silently misses it.
ZERO_LOSS=${ZERO_LOSS:-0}
for i in $(seq 1 "$NRECV"); do
    lab_loss "$LAB" "r$i" "$ZERO_LOSS" "$PORT" || fail "setting ${ZERO_LOSS}% loss on r$i"
done
run_round zero-file "" "$work/empty.bin"
run_round zero-data "--data" "$work/empty.bin"

echo "libnorm_self: ${LOSS}% loss, ${BIG_MB} MB, total $(($(date +%s) - start)) s"
summary
