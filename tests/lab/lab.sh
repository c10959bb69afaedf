# shellcheck shell=bash
# tests/lab/lab.sh -- private IPv6 multicast test network built from Linux
# network namespaces.  Source this file; see tests/lab/README.md.
#
#   lab_require                      check root / ip / nft / netns support
#   lab_up NAME N                    NAME-sw (bridge), NAME-s, NAME-r1..NAME-rN
#   lab_add_host NAME HOST [H]       one more host (e.g. a second sender)
#   lab_hosts NAME                   list the hosts (s r1 r2 ...)
#   lab_exec NAME HOST cmd...        run cmd inside NAME-HOST
#   lab_addr NAME HOST               the host's ULA address (fd6d:6361:7374::H)
#   lab_lladdr NAME HOST             the host's link-local address (no %scope)
#   lab_loss NAME HOST PERCENT [PORT]  random drop of incoming UDP (0 = off)
#   lab_rate NAME HOST RATE [BURST] [LATENCY]  tbf on the host's egress (RATE as tc: 10mbit)
#   lab_rate_stats NAME HOST         "SENT DROPPED" packets of that tbf
#   lab_counter NAME HOST [PORT]     (re)start a counter of outgoing UDP packets
#   lab_count NAME HOST              print that counter's packet count
#   lab_down NAME                    remove everything (safe to call twice)
#
# Every traffic-carrying command runs inside the lab's namespaces; nothing is
# ever sent in the machine's own namespace.  Hosts have one interface, eth0,
# attached to a bridge (mcast_snooping 0) in NAME-sw.
#
# All functions return non-zero (after a "LAB ERROR:" line on stderr) on
# failure; callers should treat that as a test failure, never as a skip.

LAB_ULA_PREFIX=${LAB_ULA_PREFIX:-fd6d:6361:7374}

_lab_err() { echo "LAB ERROR: $*" >&2; return 1; }
_lab_log() { [ -n "${LAB_QUIET:-}" ] || echo "lab: $*" >&2; }

_lab_check_name() {
    case "$1" in
        ''|*[!A-Za-z0-9_.-]*) _lab_err "invalid lab name '$1' (use [A-Za-z0-9_.-])" ;;
        *) return 0 ;;
    esac
}

_lab_check_host() {
    case "$2" in
        ''|*[!A-Za-z0-9_]*) _lab_err "invalid host name '$2' (use [A-Za-z0-9_])" ;;
        *) [ -e "/run/netns/$1-$2" ] || _lab_err "lab '$1' has no host '$2' (namespace $1-$2 missing)" ;;
    esac
}

# Host number H used in the ULA address fd6d:6361:7374::H (hex digits).
#   s -> ::1, rK -> ::1xx (K=1 -> ::101, K=12 -> ::112 ...)
_lab_default_hostnum() {
    case "$1" in
        s) echo 1 ;;
        r[0-9]*) printf '%x\n' $((0x100 + ${1#r})) ;;
        *) return 1 ;;
    esac
}

lab_require() {
    local missing=()
    if [ "$(id -u)" != 0 ]; then
        _lab_err "the network lab needs root (network namespaces, veth, nftables); run as root or via sudo"
        return 1
    fi
    local c
    for c in ip nft tc sysctl; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        _lab_err "missing commands: ${missing[*]} (run scripts/setup.sh: iproute2, nftables, procps)"
        return 1
    fi
    # A quick probe that namespaces can actually be created here.
    local probe="labprobe-$$-$RANDOM"
    if ! ip netns add "$probe" 2>/dev/null; then
        _lab_err "cannot create network namespaces ('ip netns add' failed); the lab needs CAP_SYS_ADMIN / CAP_NET_ADMIN"
        return 1
    fi
    if ! ip netns exec "$probe" nft list tables >/dev/null 2>&1; then
        ip netns del "$probe" 2>/dev/null
        _lab_err "nftables does not work inside a network namespace (nf_tables kernel support missing?)"
        return 1
    fi
    ip netns del "$probe" 2>/dev/null
    return 0
}

lab_exec() {
    local name=$1 host=$2
    shift 2
    _lab_check_host "$name" "$host" || return 1
    ip netns exec "$name-$host" "$@"
}

# lab_wait_joined NAME HOST GROUP: waits (at most 10 s) until HOST's eth0 has
# joined GROUP, i.e. a receiver there is ready; says so on stderr if not.
lab_wait_joined() {
    local name=$1 host=$2 group=$3 i
    for i in $(seq 1 100); do
        lab_exec "$name" "$host" ip -6 maddr show dev eth0 | grep -q "inet6 $group\$" && return 0
        sleep 0.1
    done
    echo "receiver on $host did not join $group within 10 s" >&2
    return 1
}

lab_hosts() {
    local name=$1
    ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
        case "$ns" in
            "$name"-sw) ;;
            "$name"-*)
                local h=${ns#"$name"-}
                case "$h" in *-*) ;; *) echo "$h" ;; esac ;;
        esac
    done | sort -V
}

_lab_sysctl() { # NS key=value...
    local ns=$1
    shift
    ip netns exec "$ns" sysctl -q -w "$@" >/dev/null
}

# lab_add_host NAME HOST [H]: a namespace NAME-HOST with eth0 on the lab bridge.
lab_add_host() {
    local name=$1 host=$2 num=${3:-}
    _lab_check_name "$name" || return 1
    case "$host" in
        ''|sw|*[!A-Za-z0-9_]*) _lab_err "invalid host name '$host'"; return 1 ;;
    esac
    [ -n "$num" ] || num=$(_lab_default_hostnum "$host") ||
        { _lab_err "host '$host' needs an explicit host number H"; return 1; }
    local ns="$name-$host" sw="$name-sw"
    [ -e "/run/netns/$sw" ] || { _lab_err "lab '$name' is not up (no $sw)"; return 1; }
    ip netns add "$ns" || { _lab_err "ip netns add $ns failed"; return 1; }
    # DAD off before any link exists, otherwise addresses stay tentative
    # and sends fail with EADDRNOTAVAIL.
    _lab_sysctl "$ns" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
        net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 ||
        { _lab_err "sysctl in $ns failed"; return 1; }
    # veth: bridge side is named after the host, inside the switch namespace,
    # so names never collide between labs.
    ip -n "$sw" link add "$host" type veth peer name eth0 netns "$ns" ||
        { _lab_err "creating veth for $ns failed"; return 1; }
    _lab_sysctl "$ns" net.ipv6.conf.eth0.accept_dad=0 2>/dev/null || true
    ip -n "$sw" link set "$host" master br0 up || { _lab_err "attaching $host to bridge failed"; return 1; }
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$LAB_ULA_PREFIX::$num/64" dev eth0 nodad ||
        { _lab_err "adding address to $ns failed"; return 1; }
    # The switch cuts GSO sends into datagrams as it forwards them, like a
    # wire (a veth would carry a UDP GSO run whole to a receiver, and a loss
    # rule there would drop whole runs). On the switch side, not the host's
    # eth0: hosts keep their offloads (TCP without them falls behind).
    ip -n "$sw" link set "$host" gso_max_segs 1 || { _lab_err "gso_max_segs of $host failed"; return 1; }
    ip -n "$ns" link set eth0 up || { _lab_err "link up in $ns failed"; return 1; }
    # Multicast route so sockets without IPV6_MULTICAST_IF use eth0.
    ip -n "$ns" -6 route replace multicast ff00::/8 dev eth0 table main 2>/dev/null ||
        ip -n "$ns" -6 route replace ff00::/8 dev eth0 table main 2>/dev/null || true
    return 0
}

_lab_wait_ready() { # NAME HOST...
    local name=$1
    shift
    local host ns i out
    for host in "$@"; do
        ns="$name-$host"
        for i in $(seq 1 100); do
            out=$(ip -n "$ns" -6 addr show dev eth0 2>/dev/null)
            if grep -q 'inet6 fe80::' <<<"$out" && grep -q "inet6 $LAB_ULA_PREFIX::" <<<"$out" &&
                ! grep -q tentative <<<"$out" &&
                ip -n "$ns" link show eth0 | grep -q 'state UP'; then
                continue 2
            fi
            sleep 0.05
        done
        _lab_err "addresses of $ns not usable after 5 s:"$'\n'"$out"
        return 1
    done
    return 0
}

# lab_up NAME N: bridge namespace NAME-sw, sender NAME-s, receivers NAME-r1..rN.
lab_up() {
    local name=$1 n=${2:-}
    _lab_check_name "$name" || return 1
    case "$n" in ''|*[!0-9]*) _lab_err "lab_up NAME N: N must be a number"; return 1 ;; esac
    lab_require || return 1
    if [ -e "/run/netns/$name-sw" ]; then
        _lab_err "lab '$name' already exists (namespace $name-sw); pick a unique NAME or lab_down it"
        return 1
    fi
    local sw="$name-sw"
    _lab_log "up $name: $sw + $name-s + $n receiver(s)"
    ip netns add "$sw" || { _lab_err "ip netns add $sw failed"; return 1; }
    # The switch itself needs no IPv6 (keeps it silent: no MLD/RS of its own).
    _lab_sysctl "$sw" net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 ||
        { _lab_err "sysctl in $sw failed"; lab_down "$name"; return 1; }
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0 ||
        { _lab_err "creating bridge in $sw failed"; lab_down "$name"; return 1; }
    ip -n "$sw" link set br0 up
    local hosts=(s) i
    for i in $(seq 1 "$n"); do hosts+=("r$i"); done
    for i in "${hosts[@]}"; do
        lab_add_host "$name" "$i" || { lab_down "$name"; return 1; }
    done
    _lab_wait_ready "$name" "${hosts[@]}" || { lab_down "$name"; return 1; }
    return 0
}

lab_addr() {
    _lab_check_host "$1" "$2" || return 1
    ip -n "$1-$2" -6 -o addr show dev eth0 scope global | awk '{sub(/\/.*/,"",$4); print $4; exit}'
}

lab_lladdr() {
    _lab_check_host "$1" "$2" || return 1
    ip -n "$1-$2" -6 -o addr show dev eth0 scope link | awk '{sub(/\/.*/,"",$4); print $4; exit}'
}

_lab_nft_base() { # NS: make sure table inet lab exists
    ip netns exec "$1" nft add table inet lab
}

# lab_loss NAME HOST PERCENT [PORT]: drop PERCENT % (0..100, up to 2 decimals)
# of incoming UDP packets (only to PORT if given). PERCENT 0 removes the loss.
lab_loss() {
    local name=$1 host=$2 pct=${3:-} port=${4:-}
    _lab_check_host "$name" "$host" || return 1
    local ns="$name-$host" thr
    thr=$(awk -v p="$pct" 'BEGIN { if (p !~ /^[0-9]+(\.[0-9]+)?$/ || p > 100) exit 1; printf "%d", p * 100 + 0.5 }') ||
        { _lab_err "lab_loss: bad PERCENT '$pct'"; return 1; }
    case "$port" in *[!0-9]*) _lab_err "lab_loss: bad PORT '$port'"; return 1 ;; esac
    _lab_nft_base "$ns" || { _lab_err "nft in $ns failed"; return 1; }
    ip netns exec "$ns" nft add chain inet lab loss_in '{ type filter hook input priority 0; policy accept; }' &&
        ip netns exec "$ns" nft flush chain inet lab loss_in || { _lab_err "nft chain in $ns failed"; return 1; }
    [ "$thr" -gt 0 ] || return 0
    local match="meta l4proto udp"
    [ -n "$port" ] && match="udp dport $port"
    ip netns exec "$ns" nft add rule inet lab loss_in $match numgen random mod 10000 '<' "$thr" counter drop ||
        { _lab_err "nft rule in $ns failed"; return 1; }
    _lab_log "loss $ns: ${pct}% of incoming UDP${port:+ to port $port}"
}

# lab_capture LAB HOST PCAP LOG: starts dumpcap on HOST's eth0 (UDP only)
# writing PCAP (its messages to LOG) and waits until it writes; fails if it
# does not start within 5 s. One capture at a time; lab_capture_stop ends it.
LAB_CAPTURE_PID=
lab_capture() {
    ip netns exec "$1-$2" dumpcap -q -i eth0 -f udp -w "$3" >"$4" 2>&1 &
    LAB_CAPTURE_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$3" ] && return 0
        sleep 0.05
    done
    return 1
}

# lab_capture_stop: lets the last packets in, then ends the capture (if any).
lab_capture_stop() {
    [ -n "$LAB_CAPTURE_PID" ] || return 0
    sleep 0.3
    kill -TERM "$LAB_CAPTURE_PID" 2>/dev/null
    wait "$LAB_CAPTURE_PID" 2>/dev/null
    LAB_CAPTURE_PID=
}

# lab_loss_dropped NAME HOST: packets dropped so far by lab_loss.
lab_loss_dropped() {
    _lab_check_host "$1" "$2" || return 1
    ip netns exec "$1-$2" nft list chain inet lab loss_in 2>/dev/null |
        awk '/drop/ { for (i = 1; i < NF; i++) if ($i == "packets") { n += $(i+1) } } END { print n + 0 }'
}

_lab_rate_bytes() { # tc-style rate -> bytes/s (best effort)
    awk -v r="$1" 'BEGIN {
        if (!match(r, /^[0-9.]+/)) exit 1
        v = substr(r, 1, RLENGTH); u = tolower(substr(r, RLENGTH + 1))
        m = 1
        if (u ~ /^k/) m = 1e3; else if (u ~ /^m/) m = 1e6; else if (u ~ /^g/) m = 1e9
        if (u ~ /bps$/) b = v * m; else b = v * m / 8
        printf "%d", b }'
}

# lab_rate NAME HOST RATE [BURST] [LATENCY]: token bucket on HOST's eth0
# egress. RATE in tc syntax (e.g. 10mbit, 500kbit); "off" removes it. The
# queue holds LATENCY (tc syntax, default 200ms) of data; more is dropped.
lab_rate() {
    local name=$1 host=$2 rate=${3:-} burst=${4:-} latency=${5:-200ms}
    _lab_check_host "$name" "$host" || return 1
    local ns="$name-$host"
    if [ "$rate" = off ]; then
        ip -n "$ns" link set eth0 up
        tc -n "$ns" qdisc del dev eth0 root 2>/dev/null || true
        return 0
    fi
    local bps
    bps=$(_lab_rate_bytes "$rate") || { _lab_err "lab_rate: bad RATE '$rate'"; return 1; }
    if [ -z "$burst" ]; then
        # >= 10 ms worth of data and >= a few full frames
        burst=$((bps / 100))
        [ "$burst" -ge 16384 ] || burst=16384
    fi
    tc -n "$ns" qdisc replace dev eth0 root tbf rate "$rate" burst "$burst" latency "$latency" ||
        { _lab_err "tc tbf on $ns failed"; return 1; }
    _lab_log "rate $ns: $rate (burst $burst bytes, queue $latency)"
}

# lab_counter NAME HOST [PORT]: (re)start counting UDP packets leaving HOST's
# eth0 (only from/to PORT if given). Read it with lab_count.
lab_counter() {
    local name=$1 host=$2 port=${3:-}
    _lab_check_host "$name" "$host" || return 1
    case "$port" in *[!0-9]*) _lab_err "lab_counter: bad PORT '$port'"; return 1 ;; esac
    local ns="$name-$host"
    _lab_nft_base "$ns" || { _lab_err "nft in $ns failed"; return 1; }
    ip netns exec "$ns" nft add chain inet lab count_out '{ type filter hook output priority 0; policy accept; }' &&
        ip netns exec "$ns" nft flush chain inet lab count_out || { _lab_err "nft chain in $ns failed"; return 1; }
    ip netns exec "$ns" nft delete counter inet lab udp_out 2>/dev/null || true
    ip netns exec "$ns" nft add counter inet lab udp_out || { _lab_err "nft counter in $ns failed"; return 1; }
    local match="meta l4proto udp"
    [ -n "$port" ] && match="udp sport $port counter name udp_out; add rule inet lab count_out oifname eth0 udp dport $port"
    ip netns exec "$ns" nft "add rule inet lab count_out oifname eth0 $match counter name udp_out" ||
        { _lab_err "nft rule in $ns failed"; return 1; }
}

# lab_count NAME HOST: packets counted since lab_counter (a packet matching
# both sport and dport PORT is counted twice; irrelevant for "== 0" checks).
lab_count() {
    _lab_check_host "$1" "$2" || return 1
    local out
    out=$(ip netns exec "$1-$2" nft list counter inet lab udp_out 2>/dev/null) ||
        { _lab_err "no counter on $1-$2 (call lab_counter first)"; return 1; }
    awk '{ for (i = 1; i < NF; i++) if ($i == "packets") { print $(i+1); exit } }' <<<"$out"
}

# lab_down NAME: kill processes left in the lab's namespaces, delete them.
lab_down() {
    local name=$1
    _lab_check_name "$name" 2>/dev/null || return 0
    local ns pids list
    list=$(ip netns list 2>/dev/null | awk '{print $1}' | while read -r ns; do
        case "$ns" in
            "$name"-*) case "${ns#"$name"-}" in *-*) ;; *) echo "$ns" ;; esac ;;
        esac
    done)
    [ -n "$list" ] || return 0
    for ns in $list; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill $pids 2>/dev/null || true
    done
    for ns in $list; do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        if [ -n "$pids" ]; then
            sleep 0.2
            pids=$(ip netns pids "$ns" 2>/dev/null)
            # shellcheck disable=SC2086
            [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
        fi
        ip netns del "$ns" 2>/dev/null || true
    done
    _lab_log "down $name"
    return 0
}

# lab_rate_stats NAME HOST: "SENT_PACKETS DROPPED" of the tbf on HOST's eth0.
lab_rate_stats() {
    local name=$1 host=$2
    _lab_check_host "$name" "$host" || return 1
    tc -n "$name-$host" -s qdisc show dev eth0 |
        awk '/Sent/ { for (i = 1; i <= NF; i++) { if ($i == "pkt") sent = $(i-1); if ($i == "(dropped") { d = $(i+1); sub(",", "", d) } } print sent, d; exit }'
}
