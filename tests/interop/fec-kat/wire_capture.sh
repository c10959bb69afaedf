#!/bin/sh
# Captures a real libnorm sender's NORM_DATA (data + parity) inside a private
# network namespace and writes core/tests/data/fec_rs8_wire.txt, which
# core/tests/fec_kat.rs checks our encoder against (symbol ids, parity
# lengths, parity bytes). Needs root, g++, libnorm-dev, python3.
#
# No traffic leaves the namespace: `unshare -n` gives a fresh network stack
# holding only the veth pair created here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/core/tests/data/fec_rs8_wire.txt"
if [ "${1:-}" != "--inside" ]; then
    # Outer half: build the sender, then rerun this script in a fresh
    # network namespace.
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    g++ -O2 -Wall -o "$tmp/wire_sender" "$here/wire_sender.cpp" -lnorm
    unshare -n -- "$0" --inside "$tmp/wire_sender"
    exit 0
fi
sender=$2
# DAD would hold the new addresses tentative (and multicast blocked) for
# seconds; the namespace is private, so turn it off before creating links.
sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip link set lo up
ip link add fk0 type veth peer name fk1
ip link set fk0 up
ip link set fk1 up
sleep 1
group=ff3e::1234
port=6003
python3 "$here/wire_capture.py" fk1 "$group" "$port" 3 > "$out.tmp" &
cap=$!
sleep 1
"$sender" fk0 "$group" "$port"
wait "$cap"
{
    echo "# libnorm 1.5.9 sender, FEC ID 5, segment 100, k=8, p=4, auto parity 4; see wire_capture.sh"
    sort -t' ' -k1,1 -k2,2n -k4,4n -k6,6n "$out.tmp"
} > "$out"
rm -f "$out.tmp"
echo "wrote $out ($(grep -c '^obj' "$out") symbols)"
