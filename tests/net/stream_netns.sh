#!/usr/bin/env bash
# tests/net/stream_netns.sh -- NORM streams over a real (namespaced) network,
# through the CLI: `mcast send --stream NAME` sends standard input as one
# NORM_OBJECT_STREAM (a message per line) and `mcast recv` writes the stream
# to OUT/NAME when it ends.
#
# Lab (tests/lab/lab.sh): sender s + receivers r1..r3 on one bridge.
#  1. 5 % random loss on r1 and r2, none on r3; a text of about 8 MB (random
#     lines) paced at 40 Mbit/s: every receiver's file is identical (cmp),
#     nothing was reported lost, loss was injected and repairs happened
#     (sender: NACKs received and repair segments sent).
#  2. A late joiner with --sync current, started while the stream is under
#     way: it gets a whole-line suffix of the input (starts after a newline),
#     and the stream's end.
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "stream_netns: N passed, M failed"; exit status 0 only if nothing failed.
# Environment: MCAST (binary, default target/release/mcast), KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
GROUP=ff3e::4d43:30
LOSS=5
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=stream_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=str$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-stream.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

wait_joined() { lab_wait_joined "$LAB" "$1" "$GROUP"; }

lab_up "$LAB" 4 || { ko "lab_up (see LAB ERROR above)"; finish; }

# About 8 MB of lines of 1..300 printable characters.
python3 - "$WORK/input.txt" <<'EOF'
import random, string, sys
rnd = random.Random(7)
chars = string.ascii_letters + string.digits + " .,;:-"
with open(sys.argv[1], "w") as f:
    size = 0
    i = 0
    while size < 8_000_000:
        line = f"{i:07d} " + "".join(rnd.choice(chars) for _ in range(rnd.randint(1, 300))) + "\n"
        f.write(line)
        size += len(line)
        i += 1
EOF
lines=$(wc -l <"$WORK/input.txt")

PORT=6300
lab_loss "$LAB" r1 "$LOSS" "$PORT" || ko "lab_loss r1"
lab_loss "$LAB" r2 "$LOSS" "$PORT" || ko "lab_loss r2"
pids=()
for r in r1 r2 r3; do
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 \
        --out "$WORK/$r" --count 1 --timeout 60 --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
done
for r in r1 r2 r3; do wait_joined "$r" || ko "receiver $r ready"; done

lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --rate 40M --json \
    --stream log.txt <"$WORK/input.txt" >"$WORK/s.json" 2>"$WORK/s.err" &
spid=$!
# The late joiner: a fourth receiver, only current data, once r3 (no loss)
# has had 1 MB of the stream (a fixed delay is not enough: how fast the
# stream starts depends on congestion control at 5 % loss), at most 20 s.
rx0=$(lab_exec "$LAB" r3 cat /sys/class/net/eth0/statistics/rx_bytes)
for _ in $(seq 1 200); do
    rx=$(lab_exec "$LAB" r3 cat /sys/class/net/eth0/statistics/rx_bytes)
    [ $((rx - rx0)) -ge 1000000 ] && break
    sleep 0.1
done
lab_exec "$LAB" r4 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 --sync current \
    --out "$WORK/r4" --count 1 --timeout 60 --json >"$WORK/r4.json" 2>"$WORK/r4.err" &
r4pid=$!
wait "$spid"
st=$?
check "mcast send --stream exits 0" [ "$st" = 0 ]
[ "$st" = 0 ] || sed 's/^/  send: /' "$WORK/s.err"
check "send --json: $lines messages, $(stat -c %s "$WORK/input.txt") bytes" \
    [ "$(jq -r '"\(.stream.messages) \(.stream.size)"' "$WORK/s.json" 2>/dev/null)" = "$lines $(stat -c %s "$WORK/input.txt")" ]
check "send: the stream's sha256 is the input's" \
    [ "$(jq -r .stream.sha256 "$WORK/s.json" 2>/dev/null)" = "$(sha256sum "$WORK/input.txt" | cut -d' ' -f1)" ]
nacks=$(jq -r .stats.nacks_received "$WORK/s.json" 2>/dev/null)
repairs=$(jq -r .stats.repair_segments_sent "$WORK/s.json" 2>/dev/null)
# (Each compound condition is one function: `check D [ a ] && [ b ]` would
# hand check only the first test.)
both_positive() { [ "${1:-0}" -gt 0 ] && [ "${2:-0}" -gt 0 ]; }
check "sender received NACKs ($nacks) and sent repairs ($repairs)" both_positive "$nacks" "$repairs"

i=0
for r in r1 r2 r3; do
    wait "${pids[$i]}"
    st=$?
    i=$((i + 1))
    check "$r: mcast recv exits 0" [ "$st" = 0 ]
    [ "$st" = 0 ] || sed "s/^/  $r: /" "$WORK/$r.err" | tail -5
    check "$r: log.txt is identical to the input (cmp)" cmp -s "$WORK/input.txt" "$WORK/$r/log.txt"
    check "$r: --json reports one stream, nothing lost" \
        [ "$(jq -r '"\(.objects) \(.files[0].kind) \(.files[0].lost_bytes)"' "$WORK/$r.json" 2>/dev/null)" = "1 stream 0" ]
done
for r in r1 r2; do
    check "$r: loss was injected ($(lab_loss_dropped "$LAB" "$r") packets dropped)" [ "$(lab_loss_dropped "$LAB" "$r")" -gt 0 ]
done

wait "$r4pid"
st=$?
check "r4 (late, --sync current): mcast recv exits 0" [ "$st" = 0 ]
[ "$st" = 0 ] || sed 's/^/  r4: /' "$WORK/r4.err" | tail -5
check "r4: the stream is named log.txt (it asked for the NORM_INFO it missed)" [ -f "$WORK/r4/log.txt" ]
size4=$(stat -c %s "$WORK/r4/log.txt" 2>/dev/null || echo 0)
total=$(stat -c %s "$WORK/input.txt")
echo "  r4 got the last $size4 of $total bytes"
part_of() { [ "$1" -gt 0 ] && [ "$1" -lt "$2" ]; }
check "r4: got part of the stream, not all of it" part_of "$size4" "$total"
check "r4: it is the input's tail" cmp -s "$WORK/r4/log.txt" <(tail -c "$size4" "$WORK/input.txt")
# line_tail N: the last N bytes of the input start just after a newline.
line_tail() { [ "$1" -gt 0 ] && [ "$(tail -c $(($1 + 1)) "$WORK/input.txt" | head -c 1 | od -An -c | tr -d ' ')" = '\n' ]; }
check "r4: starting on a line boundary" line_tail "$size4"
finish
