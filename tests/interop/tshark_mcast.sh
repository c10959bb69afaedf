#!/usr/bin/env bash
# tshark_mcast.sh -- Wireshark's NORM dissector decodes mcast's own packets as
# NORM with no malformed-packet report (tests/interop/tshark_check.sh).
#
# In the lab (tests/lab/lab.sh) dumpcap, in the sender's namespace, captures
# every UDP packet on the sender's eth0 while `mcast send` sends to three
# `mcast recv`:
#   r1  10 % loss of incoming UDP                 (NACKs to the group)
#   r2   5 % loss, `recv --unicast-nacks`         (NACKs/ACKs to the sender)
#   r3  no loss
# Part A: FILE objects (0 B, 1 B, 4 MB), --block 64 --parity 16.
# Part B: DATA objects (send --data: 0 B, 1 B, 2 MB), --block 64 --parity 16
#         --auto-parity 4 (proactive parity).
# Checks:
#   - every receiver got identical copies (cmp) and loss was really injected;
#   - tshark_check.sh accepts the capture (no malformed packets, no expert
#     errors, NORM version 1 only), also with --strict (no expert warnings but
#     Wireshark 4.0's known EXT_FTI one);
#   - every UDP packet in the capture decodes as NORM (udp count == norm count);
#   - the message types mcast is meant to send are all there: NORM_INFO,
#     NORM_DATA (including REPAIR-flagged retransmissions), NORM_CMD(FLUSH),
#     NORM_CMD(CC) (GRTT probes), NORM_CMD(EOT) (end of session),
#     NORM_NACK, NORM_ACK(CC) (receivers answer the CC probes);
#   - NACKs arrive both multicast (r1) and unicast to the sender (from r2
#     only), and r2 sends nothing at all to the group;
#   - the sender reports proactive parity in part B (--json statistics).
#
# Needs root, tshark, dumpcap, jq; FAILS (never skips) when the lab cannot be
# built.  Environment: MCAST (binary, default target/release/mcast), KEEP=1
# keeps the work directory (with the capture).  Ends with
# "tshark_mcast: N passed, M failed"; exit 0 only if nothing failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lab/lab.sh
source "$root/tests/lab/lab.sh"
export LAB_QUIET=1
# The capture is taken on the sender's own eth0, where a UDP GSO send is
# still one large packet (the lab's switch cuts it into datagrams further
# on, as a NIC would): without GSO every NORM message is its own frame here.
export MCAST_NO_GSO=1

MCAST=${MCAST:-$root/target/release/mcast}
GROUP=ff3e::4d43:20
PORT_A=6320
PORT_B=6321
LAB="tmc$$"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
summary() {
    echo "tshark_mcast: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
fatal() {
    fail "$*"
    summary
    exit 1
}

work=$(mktemp -d /tmp/tshark_mcast.XXXXXX)
chmod 755 "$work"
capid=
cleanup() {
    [ -z "$capid" ] || kill "$capid" 2>/dev/null
    lab_down "$LAB"
    if [ -n "${KEEP:-}" ] || [ "$failed" -gt 0 ]; then echo "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
[ -x "$MCAST" ] || fatal "no mcast binary at $MCAST (cargo build --release, or set MCAST)"
for c in tshark dumpcap jq cmp; do
    command -v "$c" >/dev/null || fatal "$c not installed (run scripts/setup.sh)"
done
lab_require || fatal "network lab prerequisites (see LAB ERROR above)"
lab_up "$LAB" 3 || fatal "building the network lab (lab_up $LAB 3)"
# Loss on all incoming UDP (the lab carries nothing but this test's traffic).
lab_loss "$LAB" r1 10 && lab_loss "$LAB" r2 5 || fatal "installing loss on r1/r2"

mkdir -p "$work/src"
: >"$work/src/empty.bin"
printf 'x' >"$work/src/one.bin"
head -c 4000000 /dev/urandom >"$work/src/four-mb.bin"
head -c 2000000 /dev/urandom >"$work/src/two-mb.bin"

pcap="$work/mcast.pcapng"
ip netns exec "$LAB-s" dumpcap -q -i eth0 -f udp -w "$pcap" >"$work/dumpcap.log" 2>&1 &
capid=$!
for _ in $(seq 1 100); do
    [ -s "$pcap" ] && break
    sleep 0.05
done
[ -s "$pcap" ] || fatal "dumpcap did not start in $LAB-s: $(cat "$work/dumpcap.log")"
pass "dumpcap capturing all UDP on $LAB-s eth0"

wait_joined() { # HOST: until HOST's eth0 has joined GROUP, at most 10 s
    local i
    for i in $(seq 1 100); do
        lab_exec "$LAB" "$1" ip -6 maddr show dev eth0 | grep -q "inet6 $GROUP\$" && return 0
        sleep 0.1
    done
    return 1
}

transfer() { # LABEL PORT SEND-FLAGS FILE...
    local label=$1 port=$2 flags=$3 r i st pids=() t1 t2
    shift 3
    local files=("$@") n=$#
    for r in r1 r2 r3; do
        local extra=
        [ "$r" = r2 ] && extra=--unicast-nacks
        # shellcheck disable=SC2086
        lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port "$port" --interface eth0 $extra \
            --out "$work/$label-$r" --count "$n" --timeout 20 --json >"$work/$label-$r.json" 2>"$work/$label-$r.err" &
        pids+=($!)
    done
    for r in r1 r2 r3; do wait_joined "$r" || fail "$label: receiver on $r did not join $GROUP"; done
    local paths=()
    for i in "${files[@]}"; do paths+=("$work/src/$i"); done
    t1=$(date +%s.%N)
    # shellcheck disable=SC2086
    timeout 20 ip netns exec "$LAB-s" "$MCAST" send --group "$GROUP" --port "$port" --interface eth0 --json \
        $flags "${paths[@]}" >"$work/$label-send.json" 2>"$work/$label-send.err"
    st=$?
    t2=$(date +%s.%N)
    check "$label: mcast send $flags exits 0 ($(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s)" [ "$st" = 0 ]
    [ "$st" = 0 ] || tail -5 "$work/$label-send.err" | sed 's/^/    send: /'
    i=0
    for r in r1 r2 r3; do
        wait "${pids[$i]}"
        st=$?
        i=$((i + 1))
        local bad=()
        for f in "${files[@]}"; do cmp -s "$work/src/$f" "$work/$label-$r/$f" || bad+=("$f"); done
        if [ "$st" = 0 ] && [ ${#bad[@]} = 0 ]; then
            pass "$label: $r received ${files[*]} identical (cmp)"
        else
            fail "$label: $r: recv exit $st, differing/missing: ${bad[*]:-none}"
            tail -5 "$work/$label-$r.err" | sed "s/^/    $r: /"
            grep -q 'aborted: the sender ended the session' "$work/$label-$r.err" &&
                echo "    $r: the sender's NORM_CMD(EOT) arrived while $r still lacked data (the sender's flushing ended before $r could NACK again)"
        fi
    done
    echo "    sender: $(jq -c '.stats | {nacks_received, repair_segments_sent, parity_segments_sent, datagrams_sent}' "$work/$label-send.json" 2>/dev/null)"
}

transfer file "$PORT_A" "--block 64 --parity 16" empty.bin one.bin four-mb.bin
transfer data "$PORT_B" "--data --block 64 --parity 16 --auto-parity 4" empty.bin one.bin two-mb.bin
check "data: sender sent proactive parity (--auto-parity 4)" \
    [ "$(jq '.stats.parity_segments_sent > 0' "$work/data-send.json" 2>/dev/null)" = true ]

for r in r1 r2; do
    d=$(lab_loss_dropped "$LAB" "$r")
    check "$r: loss was injected ($d packets dropped)" [ "${d:-0}" -gt 0 ]
done

sleep 0.3
kill -TERM "$capid" 2>/dev/null
wait "$capid" 2>/dev/null
capid=

# ------------------------------------------------------------ the capture
echo "--- tshark_check.sh --port $PORT_A --port $PORT_B"
if "$here/tshark_check.sh" --port "$PORT_A" --port "$PORT_B" "$pcap"; then
    pass "tshark_check accepts mcast's packets (no malformed packets, no expert errors, NORM v1)"
else
    fail "tshark_check rejects mcast's packets"
    # One example of what is wrong, in full.
    bad=$(tshark -n -r "$pcap" -d "udp.port==$PORT_A,norm" -d "udp.port==$PORT_B,norm" \
        -Y '_ws.malformed || norm.version1_only || _ws.expert.severity >= 8388608' -T fields -e frame.number 2>/dev/null | head -1)
    if [ -n "$bad" ]; then
        echo "    first bad frame: $bad (tshark -V):"
        tshark -n -r "$pcap" -d "udp.port==$PORT_A,norm" -d "udp.port==$PORT_B,norm" -V -x -Y "frame.number == $bad" 2>/dev/null |
            sed 's/^/    /' | head -120
    fi
fi

# Beyond the one known Wireshark 4.0 EXT_FTI warning, mcast's packets raise
# no expert warning at all.
if "$here/tshark_check.sh" --strict --port "$PORT_A" --port "$PORT_B" "$pcap" >"$work/strict.log" 2>&1; then
    pass "tshark_check --strict: no expert warnings besides the known EXT_FTI one"
else
    fail "tshark_check --strict: expert warnings on mcast's packets"
    sed 's/^/    /' "$work/strict.log"
fi

ts() { tshark -n -r "$pcap" -d "udp.port==$PORT_A,norm" -d "udp.port==$PORT_B,norm" "$@" 2>/dev/null; }
count() { ts -Y "$1" | wc -l; }

nudp=$(count udp)
nnorm=$(count norm)
check "every UDP packet decodes as NORM ($nudp UDP, $nnorm NORM)" [ "$nudp" -gt 0 -a "$nudp" = "$nnorm" ]
nother=$(count "udp && !(udp.port == $PORT_A || udp.port == $PORT_B)")
check "no UDP packet on other ports ($nother)" [ "$nother" = 0 ]
[ "$nother" = 0 ] || ts -Y "udp && !(udp.port == $PORT_A || udp.port == $PORT_B)" | head -5 | sed 's/^/    /'

summary_types=$(ts -Y norm -T fields -e norm.type -e norm.flavor -e norm.ack.type |
    awk -F'\t' '{ t = $1; if ($1 == 3) t = t "/" $2; if ($1 == 5) t = t "/" $3; n[t]++ }
        END { for (k in n) printf "%s=%d ", k, n[k] }')
echo "    types (type[/flavor|ack type]=count): $summary_types"

while IFS='|' read -r desc filter; do
    n=$(count "$filter")
    check "capture has $desc ($n)" [ "$n" -gt 0 ]
done <<EOF
NORM_INFO|norm.type == 1
NORM_DATA|norm.type == 2
NORM_DATA with the REPAIR flag (retransmissions)|norm.type == 2 && norm.flag.repair == 1
NORM_DATA of FILE objects|norm.type == 2 && norm.flag.file == 1
NORM_DATA of DATA objects (no FILE flag)|norm.type == 2 && norm.flag.file == 0
NORM_CMD(FLUSH)|norm.type == 3 && norm.flavor == 1
NORM_CMD(CC) (GRTT probes)|norm.type == 3 && norm.flavor == 4
NORM_CMD(EOT)|norm.type == 3 && norm.flavor == 2
NORM_NACK|norm.type == 4
NORM_ACK(CC) (answers to CC probes)|norm.type == 5 && norm.ack.type == 1
NACKs to the group|norm.type == 4 && ipv6.dst == ff00::/8
NACKs unicast to the sender|norm.type == 4 && !(ipv6.dst == ff00::/8)
EOF

# Unicast NACKs must come from r2 (the --unicast-nacks receiver) only, and r2
# must send no NACK to the group.
r2addrs=" $(lab_addr "$LAB" r2) $(lab_lladdr "$LAB" r2) "
ucsrc=$(ts -Y 'norm.type == 4 && !(ipv6.dst == ff00::/8)' -T fields -e ipv6.src | sort -u | tr '\n' ' ')
okuc=1
for a in $ucsrc; do [[ "$r2addrs" == *" $a "* ]] || okuc=0; done
check "unicast NACKs come from r2 only (sources: ${ucsrc:-none})" [ -n "$ucsrc" -a "$okuc" = 1 ]
r2filter=$(for a in $r2addrs; do printf 'ipv6.src == %s || ' "$a"; done)
n=$(count "norm && ipv6.dst == ff00::/8 && (${r2filter% || })")
check "r2 (--unicast-nacks) sent nothing to the group ($n packets)" [ "$n" = 0 ]

echo "    total $(($(date +%s) - t0)) s"
summary
