#!/usr/bin/env bash
# tests/net/routed_netns.sh -- multicast across a router, not only a bridge.
#
# Topology (network namespaces made here; nothing touches the host's own):
#
#   rt$$-s  fd01::1 --veth-- [a0 fd01::ff] rt$$-router [b0 fd02::ff] --veth-- br0 in rt$$-sw
#                                                                              |-- rt$$-r1 fd02::1
#                                                                              `-- rt$$-r2 fd02::2
#
# The router forwards IPv6 (unicast routes both ways) and multicast with the
# kernel's multicast routing, set up by smcroute (Debian `smcroute`):
# (*,G) routes a0 -> b0 for the data and b0 -> a0 for the receivers' NACKs.
#
#  1. `mcast send --hop-limit 8` (receivers --hop-limit 8 too, for their
#     NACKs): both receivers on the far subnet, with 5 % loss each, get every
#     file intact; the router forwarded multicast (its counters moved).
#  2. `mcast send --hop-limit 1`: the router does not forward; the receivers
#     get nothing (they time out).
#
# Needs root. FAILS (never skips) when namespaces or smcroute are missing.
# Ends with "routed_netns: N passed, M failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:77
P=rt$$

CHECK_NAME=routed_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v smcrouted >/dev/null && command -v smcroutectl >/dev/null || { ko "smcroute is missing (run scripts/setup.sh)"; finish; }
command -v nft >/dev/null || { ko "nft is missing (run scripts/setup.sh)"; finish; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-routed.XXXXXX")
chmod 755 "$WORK"
NSS=("$P-s" "$P-router" "$P-sw" "$P-r1" "$P-r2")
cleanup() {
    [ -n "${SMC_PID:-}" ] && kill "$SMC_PID" 2>/dev/null
    for n in "${NSS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
    for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
x() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

setup() {
    local n
    for n in "${NSS[@]}"; do
        ip netns add "$n" || return 1
        ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 || return 1
        ip -n "$n" link set lo up
    done
    # Subnet A: sender <-> router.
    ip -n "$P-s" link add eth0 type veth peer name a0 netns "$P-router" || return 1
    ip -n "$P-s" addr add fd01::1/64 dev eth0 nodad && ip -n "$P-s" link set eth0 up || return 1
    ip -n "$P-router" addr add fd01::ff/64 dev a0 nodad && ip -n "$P-router" link set a0 up || return 1
    ip -n "$P-s" -6 route add default via fd01::ff || return 1
    # Subnet B: router <-> bridge <-> receivers.
    ip -n "$P-sw" link add br0 type bridge mcast_snooping 0 && ip -n "$P-sw" link set br0 up || return 1
    ip -n "$P-router" link add b0 type veth peer name router netns "$P-sw" || return 1
    ip -n "$P-sw" link set router master br0 up || return 1
    ip -n "$P-router" addr add fd02::ff/64 dev b0 nodad && ip -n "$P-router" link set b0 up || return 1
    for n in 1 2; do
        ip -n "$P-r$n" link add eth0 type veth peer name "r$n" netns "$P-sw" || return 1
        ip -n "$P-sw" link set "r$n" master br0 up || return 1
        ip -n "$P-r$n" addr add "fd02::$n/64" dev eth0 nodad && ip -n "$P-r$n" link set eth0 up || return 1
        ip -n "$P-r$n" -6 route add default via fd02::ff || return 1
    done
    x router sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.mc_forwarding=1 2>/dev/null ||
        x router sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
    # Multicast routing: smcroute in the router's namespace.
    cat >"$WORK/smcroute.conf" <<EOF
phyint a0 enable
phyint b0 enable
mroute from a0 group $GROUP to b0
mroute from b0 group $GROUP to a0
EOF
    x router smcrouted -n -N -f "$WORK/smcroute.conf" -u "$WORK/smcroute.sock" -l debug >"$WORK/smcroute.log" 2>&1 &
    SMC_PID=$!
    local i
    for i in $(seq 1 50); do
        [ -S "$WORK/smcroute.sock" ] && return 0
        sleep 0.1
    done
    echo "smcrouted did not start: $(tail -5 "$WORK/smcroute.log")" >&2
    return 1
}

if ! setup; then
    ko "building the routed topology (namespaces, veths, bridge, smcroute)"
    finish
fi
check "unicast across the router (r1 pings the sender)" x r1 ping -6 -c 1 -W 2 fd01::1 >/dev/null

wait_joined() { # HOST
    local i
    for i in $(seq 1 100); do
        x "$1" ip -6 maddr show dev eth0 | grep -q "inet6 $GROUP\$" && return 0
        sleep 0.1
    done
    return 1
}

mkdir -p "$WORK/src"
head -c 3000000 /dev/urandom >"$WORK/src/routed-big.bin"
head -c 1 /dev/urandom >"$WORK/src/routed-one.bin"
: >"$WORK/src/routed-empty.bin"

# ---------------------------------------------------- 1. hop limit 8
PORT=6700
for n in 1 2; do
    x "r$n" nft add table inet t && x "r$n" nft add chain inet t in '{ type filter hook input priority 0; }' &&
        x "r$n" nft add rule inet t in udp dport $PORT numgen random mod 100 '<' 5 counter drop || ko "loss rule on r$n"
done
pids=()
for n in 1 2; do
    x "r$n" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 --hop-limit 8 \
        --out "$WORK/r$n" --count 3 --timeout 60 --json >"$WORK/r$n.json" 2>"$WORK/r$n.err" &
    pids+=($!)
done
for n in 1 2; do wait_joined "r$n" || ko "r$n joined"; done
x s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --hop-limit 8 --json \
    "$WORK/src/routed-empty.bin" "$WORK/src/routed-one.bin" "$WORK/src/routed-big.bin" >"$WORK/s.json" 2>"$WORK/s.err"
st=$?
check "mcast send --hop-limit 8 exits 0" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -3 "$WORK/s.err"
for n in 1 2; do
    wait "${pids[$((n - 1))]}"
    st=$?
    check "r$n (far subnet) exits 0 after 3 objects" [ "$st" = 0 ]
    [ "$st" = 0 ] || tail -3 "$WORK/r$n.err"
    bad=0
    for f in routed-empty routed-one routed-big; do cmp -s "$WORK/src/$f.bin" "$WORK/r$n/$f.bin" || bad=$((bad + 1)); done
    check "r$n got every file intact across the router ($bad differ or are missing)" [ "$bad" = 0 ]
    dropped=$(x "r$n" nft list chain inet t in | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i+1) }')
    check "r$n: 5 % loss was injected ($dropped packets dropped)" [ "${dropped:-0}" -gt 0 ]
done
nacks=$(jq -r .stats.nacks_received "$WORK/s.json" 2>/dev/null)
check "the sender heard the far receivers' NACKs through the router ($nacks)" [ "${nacks:-0}" -gt 0 ]
fwd=$(x router ip -6 mroute show 2>/dev/null | grep -c "$GROUP")
check "the router has multicast routes for the group ($fwd)" [ "${fwd:-0}" -gt 0 ]

# ---------------------------------------------------- 2. hop limit 1
PORT=6701
pids=()
for n in 1 2; do
    x "r$n" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 \
        --out "$WORK/h1-r$n" --count 1 --timeout 8 --quiet >/dev/null 2>"$WORK/h1-r$n.err" &
    pids+=($!)
done
for n in 1 2; do wait_joined "r$n" || ko "r$n joined"; done
x s timeout 20 "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --hop-limit 1 --quiet "$WORK/src/routed-one.bin" 2>"$WORK/h1-s.err"
check "mcast send --hop-limit 1 exits 0" [ $? = 0 ]
for n in 1 2; do
    wait "${pids[$((n - 1))]}"
    st=$?
    check "r$n gets nothing with hop limit 1 (recv timed out: exit $st, want 3)" [ "$st" = 3 ]
    check "r$n wrote no file" [ -z "$(ls -A "$WORK/h1-r$n" 2>/dev/null)" ]
done
finish
