#!/usr/bin/env bash
# tests/interop/libnorm_signed.sh -- what a libnorm receiver (normpeer) makes
# of signed objects (docs/PROTOCOL.md, "Signed objects"), in the lab: it
# skips EXT_AUTH and takes the 128-byte signature block for part of the
# NORM_INFO. So a signed FILE arrives with its content intact and its name
# followed by (what normpeer keeps of) the signature block, and an unsigned
# one (the control) under its plain name.
#
# Needs root, libnorm-dev (scripts/setup.sh). FAILS (never skips) when the
# lab or normpeer cannot be built. Ends with "libnorm_signed: N passed, M
# failed". Environment: MCAST, KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:77
PORT=6990
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=libnorm_signed
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
NP=$("$ROOT/tests/interop/build.sh") || { ko "building normpeer (tests/interop/build.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=lnsig$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-lnsig.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

lab_up "$LAB" 1 || { ko "lab_up (see LAB ERROR above)"; finish; }
"$MCAST" keygen --quiet --sign "$WORK/k" || { ko "mcast keygen --sign"; finish; }
mkdir -p "$WORK/src"
head -c 300000 /dev/urandom >"$WORK/src/signed.bin"
head -c 300000 /dev/urandom >"$WORK/src/plain.bin"

# round NAME SEND_OPTIONS...: one file from mcast send to normpeer on r1.
round() {
    local name=$1 port
    port=$((PORT + ${#name}))
    shift
    rm -rf "$WORK/out-$name"
    lab_exec "$LAB" r1 "$NP" recv --group "$GROUP" --port "$port" --interface eth0 --out "$WORK/out-$name" \
        --count 1 --timeout 30 >"$WORK/np-$name.log" 2>&1 &
    local p=$!
    lab_wait_joined "$LAB" r1 "$GROUP" || ko "normpeer joined"
    lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$port" --interface eth0 --quiet "$@" "$WORK/src/$name.bin"
    check "mcast send of $name.bin exits 0" [ $? = 0 ]
    wait "$p"
    check "normpeer receives $name.bin (status $?)" [ $? = 0 ]
}

round signed --sign-key "$WORK/k"
got=$(find "$WORK/out-signed" -maxdepth 1 -type f -name 'signed.bin*' | head -1)
# (normpeer cuts a name at its first NUL byte: how much of the signature
# block shows in the name varies.)
echo "    libnorm named it signed.bin + $(( $(basename "$got" | wc -c) - 11 )) more bytes"
check "libnorm names the signed file from NORM_INFO (signed.bin, then what it keeps of the signature block)" [ -n "$got" ]
check "libnorm's copy of the signed file is identical" cmp -s "$WORK/src/signed.bin" "$got"
round plain
check "control: an unsigned file arrives under its plain name, identical" cmp -s "$WORK/src/plain.bin" "$WORK/out-plain/plain.bin"
finish
