#!/usr/bin/env bash
# tshark_libnorm.sh -- proves tshark_check.sh on real libnorm traffic:
# captures (dumpcap in the sender's namespace) a libnorm transfer in the lab,
# one sender + two receivers (r1 with 10 % loss so NACKs and repairs appear),
# FILE and DATA objects (3 MB + 1 byte; no 0-byte objects under loss: libnorm
# 1.5.9's sender crashes repairing them, see libnorm_self.sh), and requires tshark_check.sh to accept it.  Then
# requires the check to REJECT generated bad captures (truncated NORM packet,
# non-NORM payload, empty capture).
#
# Needs root; FAILS (never skips) when the lab cannot be built.
# Ends with "N passed, N failed".  KEEP=1 keeps the capture.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lab/lab.sh
source "$root/tests/lab/lab.sh"

GROUP=${GROUP:-ff3e::4d43:7}
PORT=${PORT:-6200}
LAB="ntsh$$"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
summary() {
    echo "tshark_libnorm: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
fatal() {
    fail "$*"
    summary
    exit 1
}

work=$(mktemp -d /tmp/tshark_libnorm.XXXXXX)
chmod 755 "$work"
capid=
cleanup() {
    [ -z "$capid" ] || kill "$capid" 2>/dev/null
    lab_down "$LAB"
    if [ -n "${KEEP:-}" ] || [ "$failed" -gt 0 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for c in tshark dumpcap python3; do
    command -v "$c" >/dev/null || fatal "$c not installed (run scripts/setup.sh)"
done
lab_require || fatal "network lab prerequisites (see LAB ERROR above)"
NP=$("$here/build.sh") || fatal "building normpeer (tests/interop/build.sh)"
lab_up "$LAB" 2 || fatal "building the network lab (lab_up $LAB 2)"
lab_loss "$LAB" r1 10 "$PORT" || fatal "installing loss on r1"

head -c 1 /dev/urandom >"$work/one.bin"
head -c 3000000 /dev/urandom >"$work/three-mb.bin"

pcap="$work/libnorm.pcapng"
ip netns exec "$LAB-s" dumpcap -q -i eth0 -f "udp port $PORT" -w "$pcap" >"$work/dumpcap.log" 2>&1 &
capid=$!
for _ in $(seq 1 100); do
    [ -s "$pcap" ] && break
    sleep 0.05
done
[ -s "$pcap" ] || fatal "dumpcap did not start in $LAB-s: $(cat "$work/dumpcap.log")"
pass "dumpcap capturing on $LAB-s eth0"

transfer() { # LABEL FLAGS
    local label=$1 flags=$2 i pids=() rc
    for i in 1 2; do
        lab_exec "$LAB" "r$i" "$NP" recv --group "$GROUP" --port "$PORT" --interface eth0 \
            --out "$work/$label-r$i" --count 2 --timeout 40 >"$work/$label-r$i.log" 2>&1 &
        pids+=($!)
    done
    for i in 1 2; do
        for _ in $(seq 1 100); do
            lab_exec "$LAB" "r$i" ip -6 maddr show dev eth0 | grep -q "inet6 $GROUP\$" && break
            sleep 0.05
        done
    done
    # shellcheck disable=SC2086
    timeout 40 ip netns exec "$LAB-s" "$NP" send --group "$GROUP" --port "$PORT" --interface eth0 \
        $flags "$work/three-mb.bin" "$work/one.bin" >"$work/$label-send.log" 2>&1 ||
        { fail "$label: sender failed"; tail -5 "$work/$label-send.log"; }
    for i in 1 2; do
        wait "${pids[$((i - 1))]}"
        rc=$?
        if [ "$rc" -eq 0 ] && cmp -s "$work/three-mb.bin" "$work/$label-r$i/three-mb.bin" &&
            cmp -s "$work/one.bin" "$work/$label-r$i/one.bin"; then
            pass "$label: r$i received all objects intact"
        else
            fail "$label: r$i transfer failed (rc $rc)"
            tail -5 "$work/$label-r$i.log"
        fi
    done
}
transfer file ""
transfer data "--data"

sleep 0.3
kill -TERM "$capid" 2>/dev/null
wait "$capid" 2>/dev/null
capid=

echo "--- tshark_check.sh --port $PORT (libnorm capture)"
if "$here/tshark_check.sh" --port "$PORT" "$pcap"; then
    pass "tshark_check accepts libnorm's packets (explicit port)"
else
    fail "tshark_check rejects libnorm's packets"
fi
echo "--- tshark_check.sh (heuristic port discovery)"
if "$here/tshark_check.sh" "$pcap"; then
    pass "tshark_check finds libnorm's packets heuristically"
else
    fail "tshark_check (heuristic) rejects libnorm's packets"
fi

# The capture must hold every message kind a lossy transfer produces.
types=$(tshark -n -r "$pcap" -d "udp.port==$PORT,norm" -T fields -e norm.type 2>/dev/null | cut -d, -f1 | sort -u | tr '\n' ' ')
for t in 1:INFO 2:DATA 3:CMD 4:NACK; do
    if grep -qw "${t%%:*}" <<<"$types"; then pass "capture has NORM ${t#*:} packets"; else fail "capture has no NORM ${t#*:} packets"; fi
done
# libnorm sets no REPAIR flag on parity repairs and Wireshark 4.0 does not
# decode the FEC ID 5 payload id, so count: more DATA packets than source
# segments means repairs were sent.
nsrc=$((2 * ((3000000 + 1399) / 1400 + 1)))
ndata=$(tshark -n -r "$pcap" -d "udp.port==$PORT,norm" -Y 'norm.type == 2' 2>/dev/null | wc -l)
if [ "$ndata" -gt "$nsrc" ]; then
    pass "capture has repairs: $ndata DATA packets for $nsrc source segments"
else
    fail "capture has no repairs: $ndata DATA packets for $nsrc source segments"
fi

# Negative controls: the check must fail on these.
for kind in truncated nonorm empty; do
    python3 "$here/pcap_fixture.py" "$kind" "$work/$kind.pcap" "$PORT" || { fail "pcap_fixture $kind"; continue; }
    echo "--- tshark_check.sh --port $PORT $kind.pcap (must fail)"
    if "$here/tshark_check.sh" --port "$PORT" "$work/$kind.pcap"; then
        fail "tshark_check accepted the $kind capture"
    else
        pass "tshark_check rejects the $kind capture"
    fi
done

summary
