#!/usr/bin/env bash
# tests/net/hostile_netns.sh -- a receiver facing hostile peers keeps serving
# the genuine sender, within bounded memory (issue 8, "hostile input").
#
# Lab: genuine sender s, hostile host evil (core/examples/hostile_peer.rs), and
# receiver r1 (the mcast command, default limits except 64 senders). For each
# hostile mode -- thousands of fake senders announcing 1 GiB objects, objects
# of 2^47 bytes, absurd FEC parameters, a flood of object ids, garbage and
# corrupted NORM -- the hostile peer sends while s sends three files:
#   - r1 gets the genuine files intact (cmp);
#   - r1's peak resident memory stays under 200 MiB (its --json max_rss_kib);
#   - r1 counted what it rejected (malformed datagrams, aborted objects that
#     were never the genuine sender's, fake senders evicted, object ids too
#     far ahead of delivery: at most 4096 pending objects per sender).
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends
# with "hostile_netns: N passed, M failed". Environment: MCAST, KEEP=1,
# NO_BUILD=1 (use target/release/examples/hostile_peer as it is).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
HOSTILE=$ROOT/target/release/examples/hostile_peer
GROUP=ff3e::4d43:99
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=hostile_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release -q -p mcast --example hostile_peer) || { ko "cargo build --example hostile_peer"; finish; }
fi
[ -x "$HOSTILE" ] || { ko "no hostile peer at $HOSTILE"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=hos$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-hostile.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wait_joined() { lab_wait_joined "$LAB" "$1" "$GROUP"; }

lab_up "$LAB" 1 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_add_host "$LAB" evil 30 && _lab_wait_ready "$LAB" evil || { ko "adding the hostile host"; finish; }

mkdir -p "$WORK/src"
head -c 3000000 /dev/urandom >"$WORK/src/g1.bin"
head -c 1 /dev/urandom >"$WORK/src/g2.bin"
head -c 200000 /dev/urandom >"$WORK/src/g3.bin"

port=6900
for mode in fake-senders:3000 huge-objects:5000 absurd-fec:20000 object-flood:20000 garbage:50000; do
    m=${mode%%:*}
    n=${mode##*:}
    port=$((port + 1))
    echo "--- $m ($n), port $port"
    lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port $port --interface eth0 \
        --out "$WORK/$m" --count 3 --timeout 60 --json >"$WORK/$m.json" 2>"$WORK/$m.err" &
    rp=$!
    wait_joined r1 || ko "$m: r1 joined"
    # The hostile peer starts first and keeps going while the genuine files go out.
    lab_exec "$LAB" evil "$HOSTILE" "$GROUP" $port eth0 "$m" "$n" >"$WORK/$m.hostile" 2>&1 &
    hp=$!
    sleep 0.3
    lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $port --interface eth0 --quiet \
        "$WORK/src/g1.bin" "$WORK/src/g2.bin" "$WORK/src/g3.bin" 2>"$WORK/$m.send.err"
    check "$m: the genuine sender exits 0" [ $? = 0 ]
    wait "$hp"
    check "$m: the hostile peer sent $(cat "$WORK/$m.hostile" 2>/dev/null) datagrams" [ "$(cat "$WORK/$m.hostile" 2>/dev/null || echo 0)" -gt 0 ]
    wait "$rp"
    st=$?
    check "$m: r1 exits 0 with the genuine files" [ "$st" = 0 ]
    [ "$st" = 0 ] || tail -3 "$WORK/$m.err"
    bad=0
    for f in g1 g2 g3; do cmp -s "$WORK/src/$f.bin" "$WORK/$m/$f.bin" || bad=$((bad + 1)); done
    check "$m: the genuine files are intact ($bad differ or are missing)" [ "$bad" = 0 ]
    rss=$(jq -r .max_rss_kib "$WORK/$m.json" 2>/dev/null)
    check "$m: r1's peak resident memory ${rss:-?} KiB < 200 MiB" [ "${rss:-999999999}" -lt 204800 ]
    rejected=$(jq -r '(.stats.malformed_received // 0) + (.aborted | length) + (.stats.senders_evicted // 0) + (.stats.objects_rejected // 0)' "$WORK/$m.json" 2>/dev/null)
    check "$m: r1 rejected hostile input (malformed + aborted + evicted + objects refused: $rejected)" [ "${rejected:-0}" -gt 0 ]
done
finish
