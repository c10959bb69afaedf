#!/bin/sh
# Rebuilds the RS8 known-answer vectors from the real libnorm.
#
# Needs g++ and Debian's libnorm-dev (for libnorm.a / libprotokit.a: the
# encoder classes are not exported by libnorm.so). Writes
# core/tests/data/fec_rs8_kat.txt; `cargo test -p mcast --test fec_kat`
# then checks our implementation against it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
libdir=${LIBNORM_LIBDIR:-/usr/lib/x86_64-linux-gnu}
out="$root/core/tests/data/fec_rs8_kat.txt"
bin=$(mktemp -d)/fec-kat
trap 'rm -rf "$(dirname "$bin")"' EXIT

g++ -O2 -Wall -o "$bin" "$here/kat.cpp" "$libdir/libnorm.a" "$libdir/libprotokit.a" -lpthread
mkdir -p "$(dirname "$out")"
"$bin" > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(grep -c '^case' "$out") cases)"
