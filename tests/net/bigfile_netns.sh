#!/usr/bin/env bash
# tests/net/bigfile_netns.sh -- a 4 GiB file through `mcast send` to two
# `mcast recv` in the lab (tests/lab/lab.sh), with 0.1 % loss at r2:
#
#  - both receivers' copies are identical to the source (cmp);
#  - the sender's and each receiver's peak resident memory (getrusage,
#    `max_rss_kib` in their --json summaries) stay under 128 MiB: the sender
#    reads the file as it sends and repairs, and receivers write each FEC
#    block to disk as it completes (ReceiverConfig::file_dir), holding only
#    the blocks still incomplete;
#  - no part file is left in the receivers' directories.
#
# Needs root, nft and about 13 GiB of free disk under $TMPDIR (the source and
# two copies). FAILS (never skips) when namespaces cannot be created. Ends
# with "bigfile_netns: N passed, M failed". Environment: MCAST, KEEP=1,
# BIGFILE_MIB (default 4096).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:b16
PORT=6830
MIB=${BIGFILE_MIB:-4096}
LIMIT_KIB=$((128 * 1024))
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=bigfile_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
for c in jq nft cmp; do
    command -v "$c" >/dev/null || { ko "$c is missing (run scripts/setup.sh)"; finish; }
done
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-bigfile.XXXXXX")
chmod 755 "$WORK"
need_kib=$((MIB * 1024 * 3 + 1024 * 1024))
free_kib=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt "$need_kib" ]; then
    ko "$((free_kib / 1024)) MiB free under $WORK; this test needs $((need_kib / 1024)) MiB"
    rm -rf "$WORK"
    finish
fi
LAB=bf$$
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

lab_up "$LAB" 2 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_loss "$LAB" r2 0.1 "$PORT" || { ko "lab_loss (see LAB ERROR above)"; finish; }

echo "--- $MIB MiB of random data"
mkdir -p "$WORK/src" "$WORK/r1" "$WORK/r2"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/src/big.bin" || { ko "writing the source file"; finish; }

pids=()
for r in r1 r2; do
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 \
        --out "$WORK/$r" --count 1 --timeout 900 --quiet --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
done
for r in r1 r2; do lab_wait_joined "$LAB" "$r" "$GROUP" || ko "$r joined"; done

t0=$(date +%s)
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --rate 2G --quiet --json \
    "$WORK/src/big.bin" >"$WORK/s.json" 2>"$WORK/s.err"
st=$?
check "send exits 0 (status $st)" [ "$st" = 0 ]
i=0
for r in r1 r2; do
    wait "${pids[$i]}"
    rst=$?
    i=$((i + 1))
    check "$r: recv exits 0 (status $rst)" [ "$rst" = 0 ]
done
secs=$(($(date +%s) - t0))
echo "    $secs s; sender: $(jq -c '{throughput_bps, max_rss_kib, repairs: .stats.repair_segments_sent, parity: .stats.parity_segments_sent}' "$WORK/s.json" 2>/dev/null)"

# under_limit KIB: a peak was reported and it is under the limit.
under_limit() { [ "${1:-0}" -gt 0 ] && [ "$1" -lt $LIMIT_KIB ]; }
rss=$(jq -r '.max_rss_kib // 0' "$WORK/s.json" 2>/dev/null || echo 0)
check "the sender's peak resident memory ${rss} KiB is under 128 MiB" under_limit "$rss"
for r in r1 r2; do
    rss=$(jq -r '.max_rss_kib // 0' "$WORK/$r.json" 2>/dev/null || echo 0)
    echo "    $r: $(jq -c '{throughput_bps, max_rss_kib, nacks: .stats.nacks_sent}' "$WORK/$r.json" 2>/dev/null)"
    check "$r's peak resident memory ${rss} KiB is under 128 MiB" under_limit "$rss"
    check "$r's copy is identical (cmp)" cmp -s "$WORK/src/big.bin" "$WORK/$r/big.bin"
    rm -f "$WORK/$r/big.bin"
    left=$(find "$WORK/$r" -mindepth 1 | wc -l)
    check "$r: nothing else left in the output directory ($left entries)" [ "$left" = 0 ]
done
check "r2 lost packets and asked for repairs" [ "$(jq -r '.stats.nacks_sent // 0' "$WORK/r2.json")" -gt 0 ]
finish
