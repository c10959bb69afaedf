#!/usr/bin/env bash
# tests/net/seal_netns.sh -- sealed channels (issue 8) in the lab
# (tests/lab/lab.sh): sender s, receivers r1 (the key, 3 % loss), r2 (no
# key), r3 (another key), and an on-path attacker `evil`
# (core/examples/hostile_peer.rs, mode tamper) that sends, for every
# datagram it hears, a copy with one bit flipped and later a replay.
#
#  1. `mcast keygen` writes a key file (mode 0600) and will not overwrite it.
#  2. A sealed transfer of two files, captured on s's eth0 with dumpcap:
#     - r1 gets both files intact despite loss and tampering, and counted
#       the altered datagrams (unauthenticated) and the replays;
#     - r2 and r3 deliver nothing and say why ("no key", "different key");
#     - the capture holds none of the plaintext (file content, file names),
#       every packet still decodes as NORM in tshark;
#     - control: the same transfer unsealed shows the plaintext in its
#       capture (the check can fail).
#
# Needs root, tshark/dumpcap, jq (scripts/setup.sh). FAILS (never skips)
# when namespaces cannot be created. Ends with "seal_netns: N passed, M
# failed". Environment: MCAST, KEEP=1, NO_BUILD=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
HOSTILE=$ROOT/target/release/examples/hostile_peer
GROUP=ff3e::4d43:5e
PORT=6930
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=seal_netns
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release -q -p mcast --example hostile_peer) || { ko "cargo build --example hostile_peer"; finish; }
fi
[ -x "$HOSTILE" ] || { ko "no hostile peer at $HOSTILE"; finish; }
for c in jq tshark dumpcap cmp; do
    command -v "$c" >/dev/null || { ko "$c is missing (run scripts/setup.sh)"; finish; }
done
lab_require || { ko "cannot build the network lab (see LAB ERROR above)"; finish; }

LAB=seal$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-seal.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    [ -z "$LAB_CAPTURE_PID" ] || kill "$LAB_CAPTURE_PID" 2>/dev/null
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. keygen
echo "--- 1. mcast keygen"
"$MCAST" keygen --quiet "$WORK/key" && "$MCAST" keygen --quiet "$WORK/other.key"
both_written() { [ -s "$WORK/key" ] && [ -s "$WORK/other.key" ]; }
check "keygen writes key files" both_written
check "the key file is 64 hex digits and a newline" grep -qxE '[0-9a-f]{64}' "$WORK/key"
check "the key file is private (mode $(stat -c %a "$WORK/key"))" [ "$(stat -c %a "$WORK/key")" = 600 ]
differ() { ! cmp -s "$1" "$2"; }
check "two keys differ" differ "$WORK/key" "$WORK/other.key"
before=$(cat "$WORK/key")
"$MCAST" keygen --quiet "$WORK/key" 2>"$WORK/keygen.err"
st=$?
kept() { [ "$st" != 0 ] && [ "$(cat "$WORK/key")" = "$before" ] && grep -q "force" "$WORK/keygen.err"; }
check "keygen refuses to overwrite a key, and says how (status $st)" kept

# ------------------------------------------------------------ 2. the lab
lab_up "$LAB" 3 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_add_host "$LAB" evil 30 && _lab_wait_ready "$LAB" evil || { ko "adding the attacker's host"; finish; }
lab_loss "$LAB" r1 3 || { ko "installing loss on r1"; finish; }

printf 'not a key\n' >"$WORK/bad.key"
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 --out "$WORK/x" \
    --key "$WORK/bad.key" --timeout 5 2>"$WORK/badkey.err"
st=$?
said_why() { [ "$st" != 0 ] && grep -q "64 hexadecimal" "$WORK/badkey.err"; }
check "recv with a malformed key file fails and says why (status $st)" said_why

MARKER="TOP-SECRET-PLAINTEXT-7c1e"
NAME1="secret-name-one-4b2a.txt"
NAME2="secret-name-two-91d0.bin"
mkdir -p "$WORK/src"
for _ in $(seq 1 20000); do echo "$MARKER line of the secret file"; done >"$WORK/src/$NAME1"
head -c 2000000 /dev/urandom >"$WORK/src/$NAME2"

# plaintext PCAP: how many of the marker and the names are in it
plaintext() { grep -a -c -e "$MARKER" -e "$NAME1" -e "$NAME2" "$1"; }

echo "--- 2. sealed transfer: r1 with the key (3 % loss), r2 without, r3 with another; evil tampers"
lab_capture "$LAB" s "$WORK/sealed.pcapng" "$WORK/dumpcap.log" || { ko "dumpcap did not start: $(cat "$WORK/dumpcap.log")"; finish; }
declare -A keyopt=([r1]="--key $WORK/key" [r2]="" [r3]="--key $WORK/other.key")
declare -A count=([r1]=2 [r2]=1 [r3]=1)
declare -A limit=([r1]=60 [r2]=12 [r3]=12)
pids=()
for r in r1 r2 r3; do
    # shellcheck disable=SC2086
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 ${keyopt[$r]} \
        --out "$WORK/out-$r" --count "${count[$r]}" --timeout "${limit[$r]}" --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
done
for r in r1 r2 r3; do lab_wait_joined "$LAB" "$r" "$GROUP" || ko "$r joined"; done
lab_exec "$LAB" evil "$HOSTILE" "$GROUP" $PORT eth0 tamper 4000 >"$WORK/evil.out" 2>"$WORK/evil.err" &
evil=$!
sleep 0.5
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --key "$WORK/key" --quiet --json \
    "$WORK/src/$NAME1" "$WORK/src/$NAME2" >"$WORK/send.json" 2>"$WORK/send.err"
st=$?
check "the sealed send exits 0 (status $st)" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -3 "$WORK/send.err"
i=0
declare -A rst
for r in r1 r2 r3; do
    wait "${pids[$i]}"
    rst[$r]=$?
    i=$((i + 1))
done
kill "$evil" 2>/dev/null
wait "$evil" 2>/dev/null
lab_capture_stop

check "r1 exits 0 (status ${rst[r1]})" [ "${rst[r1]}" = 0 ]
[ "${rst[r1]}" = 0 ] || tail -3 "$WORK/r1.err"
for f in "$NAME1" "$NAME2"; do
    check "r1's copy of $f is identical" cmp -s "$WORK/src/$f" "$WORK/out-r1/$f"
done
unauth=$(jq -r '.stats.datagrams_unauthenticated' "$WORK/r1.json" 2>/dev/null)
replayed=$(jq -r '.stats.datagrams_replayed' "$WORK/r1.json" 2>/dev/null)
echo "    evil sent $(cat "$WORK/evil.out" 2>/dev/null) datagrams; r1 dropped $unauth unauthenticated and $replayed replayed;" \
    "dropped by the loss rule: $(lab_loss_dropped "$LAB" r1)"
check "r1 dropped the altered datagrams as unauthenticated ($unauth)" [ "${unauth:-0}" -gt 0 ]
check "r1 dropped the replays ($replayed)" [ "${replayed:-0}" -gt 0 ]
check "r1 repaired loss (NACKs sent: $(jq -r .stats.nacks_sent "$WORK/r1.json" 2>/dev/null))" \
    [ "$(jq -r .stats.nacks_sent "$WORK/r1.json" 2>/dev/null || echo 0)" -gt 0 ]

nothing_delivered() { # R
    [ -z "$(ls -A "$WORK/out-$1" 2>/dev/null)" ]
}
for r in r2 r3; do
    check "$r fails (status ${rst[$r]}: nothing received before its timeout)" [ "${rst[$r]}" != 0 ]
    check "$r delivered no file" nothing_delivered "$r"
done
check "r2 says the channel is sealed and it has no key" grep -q "no key" "$WORK/r2.err"
check "r3 says the key differs" grep -q "different key" "$WORK/r3.err"
check "r2's --json lists the rejection" [ "$(jq -r '.rejected | length' "$WORK/r2.json" 2>/dev/null)" -gt 0 ]

n=$(plaintext "$WORK/sealed.pcapng")
check "the sealed capture holds none of the plaintext ($n matches of the marker and names)" [ "$n" = 0 ]
ts() { tshark -n -r "$1" -d "udp.port==$PORT,norm" -Y "$2" 2>/dev/null | wc -l; }
nudp=$(ts "$WORK/sealed.pcapng" udp)
nnorm=$(ts "$WORK/sealed.pcapng" norm)
evil_addr=$(lab_addr "$LAB" evil)
nbad=$(ts "$WORK/sealed.pcapng" "_ws.malformed && ipv6.src != $evil_addr")
echo "    capture: $nudp UDP packets, $nnorm decoded as NORM, $nbad malformed (not counting the attacker's)"
check "tshark decodes the sealed packets as NORM ($nnorm of $nudp)" [ "$nnorm" -gt 1000 ]
check "none of the genuine sealed packets is malformed for tshark ($nbad)" [ "$nbad" = 0 ]
sealed_data=$(tshark -n -r "$WORK/sealed.pcapng" -d "udp.port==$PORT,norm" -Y "norm.type == 2" -T fields -e norm.hlen 2>/dev/null | sort -u | head -3 | tr '\n' ' ')
check "sealed NORM_DATA headers carry the seal extension (header lengths: $sealed_data)" [ -n "$sealed_data" ]

echo "--- control: the same transfer unsealed shows the plaintext"
lab_capture "$LAB" s "$WORK/plain.pcapng" "$WORK/dumpcap.log" || { ko "dumpcap did not start"; finish; }
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port $((PORT + 1)) --interface eth0 \
    --out "$WORK/plain-r1" --count 2 --timeout 60 --json >"$WORK/plain-r1.json" 2>"$WORK/plain-r1.err" &
rp=$!
lab_wait_joined "$LAB" r1 "$GROUP" || ko "r1 joined"
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $((PORT + 1)) --interface eth0 --quiet \
    "$WORK/src/$NAME1" "$WORK/src/$NAME2" 2>"$WORK/plain-send.err"
check "the unsealed send exits 0" [ $? = 0 ]
wait "$rp"
check "r1 received the unsealed files" cmp -s "$WORK/src/$NAME1" "$WORK/plain-r1/$NAME1"
lab_capture_stop
n=$(plaintext "$WORK/plain.pcapng")
check "the unsealed capture shows the plaintext ($n matches): the check above can fail" [ "$n" -gt 0 ]
finish
