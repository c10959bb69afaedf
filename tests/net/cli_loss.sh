#!/usr/bin/env bash
# tests/net/cli_loss.sh -- the `mcast` command over a real (namespaced) network.
#
#  1. Lab (tests/lab/lab.sh): 1 sender + 3 receivers on a bridge, 5 % random
#     loss of incoming UDP on every receiver (nftables). `mcast send` sends
#     files of 0 bytes, 1 byte and 20 MB; three `mcast recv --count 3` write
#     them; every copy is compared byte for byte (cmp), the --json summaries
#     are checked (names, sizes, sha256) and the loss rule must have dropped
#     packets (so repairs were really exercised).
#  2. Two files with the same base name and different content: the receiver
#     keeps both (x.txt and x-2.txt), and a NORM_INFO path is reduced to its
#     base name.
#  3. `mcast recv --timeout` with no sender exits with status 3 in time.
#  4. `mcast demo` (exactly the README's command) exits 0; the root `ip netns`
#     variant leaves no namespace behind, also after Ctrl-C; and, where user
#     namespaces allow it, the demo works for an unprivileged user.
#
# Needs root. FAILS (never skips) when namespaces cannot be created. Ends with
# "N passed, N failed"; exit status 0 only if nothing failed.
# Environment: MCAST (binary, default target/release/mcast), BIG_MB (20),
# LOSS (5), KEEP=1 keeps the work directory.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
BIG_MB=${BIG_MB:-20}
LOSS=${LOSS:-5}
GROUP=ff3e::4d43:10
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

if [ ! -x "$MCAST" ]; then
    ko "no mcast binary at $MCAST (run: cargo build --release)"
    finish
fi
if ! command -v jq >/dev/null; then
    ko "jq is missing (run scripts/setup.sh)"
    finish
fi
if ! lab_require; then
    ko "cannot build the network lab (see LAB ERROR above)"
    finish
fi

LAB=cli$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-cli-loss.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    # Demo namespaces of the root variant, if a failed run left any.
    ip netns list 2>/dev/null | awk '{print $1}' | grep "^mcast-demo-" | xargs -r -n1 ip netns del 2>/dev/null
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

wait_joined() { lab_wait_joined "$LAB" "$1" "$2"; }

t0=$(date +%s)
if ! lab_up "$LAB" 3; then
    ko "lab_up (see LAB ERROR above)"
    finish
fi

# ---------------------------------------------------------------- 1. loss
PORT=6210
for r in r1 r2 r3; do
    lab_loss "$LAB" "$r" "$LOSS" "$PORT" || ko "lab_loss $r"
done
mkdir -p "$WORK/src"
: >"$WORK/src/empty.bin"
printf 'x' >"$WORK/src/one.bin"
head -c $((BIG_MB * 1000 * 1000)) /dev/urandom >"$WORK/src/big.bin"
files=(empty.bin one.bin big.bin)

pids=()
for r in r1 r2 r3; do
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 \
        --out "$WORK/$r" --count 3 --timeout 240 --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
done
for r in r1 r2 r3; do wait_joined "$r" "$GROUP" || ko "receiver $r ready"; done

t1=$(date +%s.%N)
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --json \
    "$WORK/src/empty.bin" "$WORK/src/one.bin" "$WORK/src/big.bin" >"$WORK/s.json" 2>"$WORK/s.err"
st=$?
t2=$(date +%s.%N)
check "mcast send exits 0 (took $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s)" [ "$st" = 0 ]
[ "$st" = 0 ] || sed 's/^/  send: /' "$WORK/s.err"
check "send --json summary lists 3 files" [ "$(jq '.files | length' "$WORK/s.json" 2>/dev/null)" = 3 ]

i=0
for r in r1 r2 r3; do
    wait "${pids[$i]}"
    st=$?
    i=$((i + 1))
    check "mcast recv on $r exits 0" [ "$st" = 0 ]
    [ "$st" = 0 ] || sed "s/^/  $r: /" "$WORK/$r.err" | tail -20
    for f in "${files[@]}"; do
        check "$r: $f identical (cmp)" cmp "$WORK/src/$f" "$WORK/$r/$f"
    done
    check "$r: nothing else in the output directory" [ "$(ls -A "$WORK/$r" 2>/dev/null | wc -l)" = 3 ]
    want=$(sha256sum "$WORK/src/big.bin" | cut -d' ' -f1)
    got=$(jq -r '.files[] | select(.name=="big.bin") | .sha256' "$WORK/$r.json" 2>/dev/null)
    check "$r: --json summary has big.bin's sha256" [ "$got" = "$want" ]
    check "$r: --json summary says ok with 3 objects" \
        [ "$(jq -r '"\(.ok) \(.objects)"' "$WORK/$r.json" 2>/dev/null)" = "true 3" ]
    dropped=$(lab_loss_dropped "$LAB" "$r")
    nacks=$(jq -r '.stats.nacks_sent' "$WORK/$r.json" 2>/dev/null)
    echo "  $r: $dropped packets dropped by the loss rule, $nacks NACKs sent"
    check "$r: loss was injected ($dropped packets dropped)" [ "${dropped:-0}" -gt 0 ]
done
echo "  sender: $(jq -c '.stats | {nacks_received, repair_segments_sent, parity_segments_sent, datagrams_sent}' "$WORK/s.json" 2>/dev/null)"
check "sender received NACKs and sent repairs" \
    [ "$(jq '(.stats.nacks_received > 0) and (.stats.repair_segments_sent + .stats.parity_segments_sent > 0)' "$WORK/s.json" 2>/dev/null)" = true ]
for r in r1 r2 r3; do lab_loss "$LAB" "$r" 0 || true; done

# ------------------------------------------------------- 2. duplicate names
PORT=6211
mkdir -p "$WORK/a" "$WORK/b"
echo "first" >"$WORK/a/x.txt"
echo "second" >"$WORK/b/x.txt"
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 \
    --out "$WORK/dup" --count 2 --timeout 60 --quiet 2>"$WORK/dup.err" &
rp=$!
wait_joined r1 "$GROUP" || true
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --quiet \
    "$WORK/a/x.txt" "$WORK/b/x.txt" 2>"$WORK/dup-send.err"
check "send of two x.txt exits 0" [ $? = 0 ]
wait "$rp"
check "recv of two x.txt exits 0" [ $? = 0 ]
check "first x.txt kept as x.txt" cmp -s "$WORK/a/x.txt" "$WORK/dup/x.txt"
check "second x.txt written as x-2.txt" cmp -s "$WORK/b/x.txt" "$WORK/dup/x-2.txt"
check "no temporary files left" [ -z "$(find "$WORK/dup" -name '.mcast-*')" ]

# ------------------------------- 2b. DATA objects, unicast NACKs, sync current
# `send --data` sends content as NORM DATA objects; `recv --unicast-nacks`
# must then send nothing to the group (NACKs and ACKs go to the sender's
# address), which an nftables counter in r1's namespace checks.
PORT=6213
lab_loss "$LAB" r1 10 "$PORT" || ko "lab_loss r1"
head -c 3000000 /dev/urandom >"$WORK/src/data.bin"
lab_exec "$LAB" r1 nft add table inet uc &&
    lab_exec "$LAB" r1 nft add chain inet uc out '{ type filter hook output priority 0; policy accept; }' &&
    lab_exec "$LAB" r1 nft add rule inet uc out udp dport "$PORT" ip6 daddr ff00::/8 counter comment '"group"' &&
    lab_exec "$LAB" r1 nft add rule inet uc out udp dport "$PORT" ip6 daddr != ff00::/8 counter comment '"unicast"' ||
    ko "nft counters on r1"
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 --unicast-nacks --sync current \
    --out "$WORK/uc" --count 1 --timeout 60 --json >"$WORK/uc.json" 2>"$WORK/uc.err" &
rp=$!
wait_joined r1 "$GROUP" || true
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --data --json \
    "$WORK/src/data.bin" >"$WORK/uc-send.json" 2>"$WORK/uc-send.err"
check "send --data exits 0" [ $? = 0 ]
wait "$rp"
st=$?
check "recv --unicast-nacks exits 0" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -5 "$WORK/uc.err"
check "DATA object identical (cmp)" cmp "$WORK/src/data.bin" "$WORK/uc/data.bin"
check "received object is of kind data" [ "$(jq -r '.files[0].kind' "$WORK/uc.json" 2>/dev/null)" = data ]
counts=$(lab_exec "$LAB" r1 nft list chain inet uc out | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") p = $(i+1); for (i = 1; i < NF; i++) if ($i == "comment") c = $(i+1); gsub(/"/, "", c); print c "=" p }' | tr '\n' ' ')
echo "  r1 sent: $counts"
check "r1 sent nothing to the group" grep -q "group=0 " <<<"$counts "
check "r1 sent NACKs unicast" bash -c '! grep -q "unicast=0 " <<<"$1 "' _ "$counts"
check "sender heard the unicast NACKs" [ "$(jq '.stats.nacks_received > 0' "$WORK/uc-send.json" 2>/dev/null)" = true ]
lab_loss "$LAB" r1 0 || true

# ----------------------------------------------------------- 3. timeout
ts=$(date +%s.%N)
lab_exec "$LAB" r2 "$MCAST" recv --group "$GROUP" --port 6212 --interface eth0 \
    --out "$WORK/none" --count 1 --timeout 1.5 2>"$WORK/timeout.err"
st=$?
te=$(date +%s.%N)
check "recv --timeout 1.5 with no sender exits 3 (got $st)" [ "$st" = 3 ]
check "... within 1.5-5 s" awk -v a="$ts" -v b="$te" 'BEGIN{d=b-a; exit !(d>=1.4 && d<5)}'
check "... saying it timed out" grep -q "timed out" "$WORK/timeout.err"
lab_down "$LAB"

# ---------------------------------------------------------------- 4. demo
echo "--- mcast demo (output below)"
ts=$(date +%s)
timeout 300 "$MCAST" demo
st=$?
check "mcast demo exits 0 ($(($(date +%s) - ts)) s)" [ "$st" = 0 ]

ts=$(date +%s)
timeout 300 "$MCAST" demo --isolation netns --receivers 2 --size 4M --json >"$WORK/demo.json" 2>"$WORK/demo.err"
st=$?
check "mcast demo --isolation netns (root, ip netns) exits 0 ($(($(date +%s) - ts)) s)" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -20 "$WORK/demo.err"
check "demo --json says ok for 2 receivers" \
    [ "$(jq -r '"\(.ok) \(.receivers | length)"' "$WORK/demo.json" 2>/dev/null)" = "true 2" ]
check "demo (ip netns) left no namespace" [ -z "$(ip netns list | grep mcast-demo-)" ]

# Ctrl-C in the middle of a long demo: exits 130 and removes its namespaces.
"$MCAST" demo --isolation netns --receivers 2 --size 200M --rate 20M --quiet &
dp=$!
for _ in $(seq 1 50); do
    ip netns list | grep -q "mcast-demo-$dp-r2" && break
    sleep 0.1
done
sleep 2
kill -INT "$dp"
wait "$dp"
st=$?
check "demo interrupted with SIGINT exits 130 (got $st)" [ "$st" = 130 ]
check "interrupted demo left no namespace" [ -z "$(ip netns list | grep mcast-demo-)" ]
check "interrupted demo left no process" [ -z "$(pgrep -f "mcast-demo-$dp" || true)" ]

# Unprivileged: an ordinary user (nobody) in its own user namespace.
if setpriv --reuid 65534 --regid 65534 --clear-groups unshare --user --map-root-user --net true 2>/dev/null; then
    cp "$MCAST" "$WORK/mcast"
    chmod 755 "$WORK/mcast"
    ts=$(date +%s)
    (cd / && timeout 300 setpriv --reuid 65534 --regid 65534 --clear-groups \
        env PATH=/usr/bin:/bin HOME=/ "$WORK/mcast" demo --receivers 2 --size 4M --quiet) 2>"$WORK/demo-user.err"
    st=$?
    check "mcast demo as an unprivileged user exits 0 ($(($(date +%s) - ts)) s)" [ "$st" = 0 ]
    [ "$st" = 0 ] || tail -20 "$WORK/demo-user.err"
else
    echo "note: unprivileged user namespaces are disabled here; the unprivileged demo is not checked"
fi

echo "total $(($(date +%s) - t0)) s"
finish
