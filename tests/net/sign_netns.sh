#!/usr/bin/env bash
# tests/net/sign_netns.sh -- signed objects (issue 8, sender
# authentication) in the lab (tests/lab/lab.sh): sender s signs with key A;
# `evil` holds the same channel key and sends its own files, signed with
# its own key B or not at all; receivers r1 (trusts A, 3 % loss), r2
# (trusts B) and r3 (trusts nobody).
#
#  1. `mcast keygen --sign` writes a signing key (0600) and FILE.pub;
#     bad --trust and --sign-key values fail and say why.
#  2. On a sealed channel: r1 gets exactly s's files, each named as signed
#     by A, and reports evil's files as refused (signed by a key it does
#     not trust, not signed); r2 gets only evil's B-signed file; r3 gets
#     all of them, with no signer.
#  3. Unsealed, with an on-path attacker (core/examples/hostile_peer.rs,
#     mode alter) sending, for every NORM_DATA it hears, a copy with one
#     bit of the payload flipped: r1 (trusts A) and r3 (trusts nobody) both
#     lose 3 %, so altered copies fill their gaps. Whatever r1 delivers is
#     identical to what s sent (altered content is refused, never
#     delivered), while r3 delivers corrupted files (the control: the
#     attack works on receivers that do not check signatures). tshark
#     decodes every genuine packet, signed NORM_INFO included, and the
#     public key is in the clear there.
#  4. Signed streams (`send --stream --sign-key`), unsealed: r1 (trusts A,
#     3 % loss) and r3 (trusts nobody, 3 % loss) get the stream identical,
#     r1 naming A as its signer; r2 (trusts B) refuses it. Then with the
#     on-path attacker altering copies of NORM_DATA: every line r1 writes is
#     one s sent (or, at a reported gap, the head of one followed by a whole
#     one), while r3 writes altered lines (the control).
#
# Needs root, tshark/dumpcap, jq (scripts/setup.sh). FAILS (never skips)
# when namespaces cannot be created. Ends with "sign_netns: N passed, M
# failed". Environment: MCAST, KEEP=1, NO_BUILD=1.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
HOSTILE=$ROOT/target/release/examples/hostile_peer
GROUP=ff3e::4d43:5f
PORT=6940
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

CHECK_NAME=sign_netns
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

LAB=sign$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-sign.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    [ -z "$LAB_CAPTURE_PID" ] || kill "$LAB_CAPTURE_PID" 2>/dev/null
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------ 1. keys
echo "--- 1. mcast keygen --sign, --trust, --sign-key"
"$MCAST" keygen --quiet --sign "$WORK/a" && "$MCAST" keygen --json --sign "$WORK/b" >"$WORK/b.json" && "$MCAST" keygen --quiet "$WORK/channel"
both() { [ -s "$WORK/a" ] && [ -s "$WORK/a.pub" ]; }
check "keygen --sign writes the key and FILE.pub" both
check "the signing key is private (mode $(stat -c %a "$WORK/a"))" [ "$(stat -c %a "$WORK/a")" = 600 ]
check "the public key is readable (mode $(stat -c %a "$WORK/a.pub"))" [ "$(stat -c %a "$WORK/a.pub")" = 644 ]
check "the public key file is 64 hex digits and a newline" grep -qxE '[0-9a-f]{64}' "$WORK/a.pub"
check "keygen --json names the public key" [ "$(jq -r .public_key "$WORK/b.json")" = "$(cat "$WORK/b.pub")" ]
"$MCAST" keygen --quiet --sign "$WORK/a" 2>"$WORK/keygen.err"
st=$?
refused() { [ "$st" != 0 ] && grep -q force "$WORK/keygen.err"; }
check "keygen --sign refuses to overwrite (status $st)" refused
"$MCAST" keygen --sign 2>/dev/null
check "keygen --sign needs a FILE" [ $? != 0 ]
touch "$WORK/c.pub"
"$MCAST" keygen --quiet --sign "$WORK/c" 2>"$WORK/keygen2.err"
st=$?
nothing_left() { [ "$st" != 0 ] && [ ! -e "$WORK/c" ] && [ ! -s "$WORK/c.pub" ] && grep -q force "$WORK/keygen2.err"; }
check "keygen --sign refuses when FILE.pub exists, and leaves no signing key behind (status $st)" nothing_left
"$MCAST" recv --group "$GROUP" --port $PORT --interface lo --out "$WORK/x" --trust nonsense --timeout 1 2>"$WORK/trust.err"
st=$?
said() { [ "$st" != 0 ] && grep -q "$1" "$2"; }
check "recv --trust with neither a file nor a key fails and says why (status $st)" said "64 hexadecimal" "$WORK/trust.err"
printf '%064d\n' 0 | tr 0 f >"$WORK/notapoint.pub"
"$MCAST" recv --group "$GROUP" --port $PORT --interface lo --out "$WORK/x" --trust "$WORK/notapoint.pub" --timeout 1 2>"$WORK/point.err"
st=$?
check "recv --trust with 32 bytes that are no public key fails (status $st)" said "not a valid Ed25519" "$WORK/point.err"
"$MCAST" send --group "$GROUP" --port $PORT --interface lo --sign-key "$WORK/none" "$WORK/a.pub" 2>"$WORK/signkey.err"
st=$?
check "send --sign-key with a missing file fails and says why (status $st)" said "sign-key" "$WORK/signkey.err"

# ------------------------------------------------------------ 2. the lab
lab_up "$LAB" 3 || { ko "lab_up (see LAB ERROR above)"; finish; }
lab_add_host "$LAB" evil 30 && _lab_wait_ready "$LAB" evil || { ko "adding the attacker's host"; finish; }
lab_loss "$LAB" r1 3 || { ko "installing loss on r1"; finish; }

mkdir -p "$WORK/src" "$WORK/evil"
head -c 3000000 /dev/urandom >"$WORK/src/genuine-1.bin"
head -c 200000 /dev/urandom >"$WORK/src/genuine-2.bin"
head -c 300000 /dev/urandom >"$WORK/evil/forged-b.bin"
head -c 300000 /dev/urandom >"$WORK/evil/forged-unsigned.bin"

echo "--- 2. sealed channel: s signs with A, evil (with the channel key) with B or not at all"
declare -A trust=([r1]="--trust $WORK/a.pub" [r2]="--trust $(cat "$WORK/b.pub")" [r3]="")
declare -A count=([r1]=2 [r2]=1 [r3]=4)
pids=()
for r in r1 r2 r3; do
    # shellcheck disable=SC2086
    lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port $PORT --interface eth0 --key "$WORK/channel" ${trust[$r]} \
        --out "$WORK/out-$r" --count "${count[$r]}" --timeout 60 --json >"$WORK/$r.json" 2>"$WORK/$r.err" &
    pids+=($!)
done
for r in r1 r2 r3; do lab_wait_joined "$LAB" "$r" "$GROUP" || ko "$r joined"; done
lab_exec "$LAB" evil "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --key "$WORK/channel" --sign-key "$WORK/b" \
    --quiet "$WORK/evil/forged-b.bin" 2>"$WORK/evil1.err"
check "evil's signed send exits 0" [ $? = 0 ]
lab_exec "$LAB" evil "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --key "$WORK/channel" \
    --quiet "$WORK/evil/forged-unsigned.bin" 2>"$WORK/evil2.err"
check "evil's unsigned send exits 0" [ $? = 0 ]
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port $PORT --interface eth0 --key "$WORK/channel" --sign-key "$WORK/a" \
    --quiet "$WORK/src/genuine-1.bin" "$WORK/src/genuine-2.bin" 2>"$WORK/send.err"
st=$?
check "s's signed send exits 0 (status $st)" [ "$st" = 0 ]
[ "$st" = 0 ] || tail -3 "$WORK/send.err"
i=0
declare -A rst
for r in r1 r2 r3; do
    wait "${pids[$i]}"
    rst[$r]=$?
    i=$((i + 1))
done
for r in r1 r2 r3; do
    check "$r exits 0 (status ${rst[$r]})" [ "${rst[$r]}" = 0 ]
    [ "${rst[$r]}" = 0 ] || tail -3 "$WORK/$r.err"
done
listing() { ls "$WORK/out-$1" 2>/dev/null | tr '\n' ' '; }
check "r1 (trusts A) has exactly s's files: $(listing r1)" [ "$(listing r1)" = "genuine-1.bin genuine-2.bin " ]
for f in genuine-1.bin genuine-2.bin; do
    check "r1's $f is identical" cmp -s "$WORK/src/$f" "$WORK/out-r1/$f"
done
signers() { jq -r '.files[].signer' "$WORK/$1.json" 2>/dev/null | sort -u | tr '\n' ' '; }
check "r1 names A as the signer of each ($(signers r1))" [ "$(signers r1)" = "$(cat "$WORK/a.pub") " ]
reasons() { jq -r '.rejected[].reason' "$WORK/$1.json" 2>/dev/null; }
check "r1 reports evil's B-signed file as signed by a key it does not trust" grep -q "does not trust" <(reasons r1)
check "r1 reports evil's unsigned file as not signed" grep -q "not signed" <(reasons r1)
check "r1's warnings say so on stderr too" grep -q "refusing .*does not trust" "$WORK/r1.err"
check "r1 counted the refused objects ($(jq -r .stats.objects_unverified "$WORK/r1.json"))" [ "$(jq -r .stats.objects_unverified "$WORK/r1.json")" -ge 2 ]
check "r2 (trusts B) has only evil's B-signed file: $(listing r2)" [ "$(listing r2)" = "forged-b.bin " ]
check "r2 names B as its signer" [ "$(signers r2)" = "$(cat "$WORK/b.pub") " ]
check "r3 (trusts nobody) has all four: $(listing r3)" [ "$(listing r3)" = "forged-b.bin forged-unsigned.bin genuine-1.bin genuine-2.bin " ]
check "r3 names no signer" [ "$(signers r3)" = "null " ]

# ------------------------------------------------------------ 3. tampering

echo "--- 3. unsealed, signed by A, with an on-path attacker altering the payload of copies of NORM_DATA"
P2=$((PORT + 1))
lab_loss "$LAB" r3 3 || { ko "installing loss on r3"; finish; }
lab_capture "$LAB" s "$WORK/signed.pcapng" "$WORK/dumpcap.log" || { ko "dumpcap did not start: $(cat "$WORK/dumpcap.log")"; finish; }
lab_exec "$LAB" r1 "$MCAST" recv --group "$GROUP" --port $P2 --interface eth0 --trust "$WORK/a.pub" \
    --out "$WORK/t-r1" --count 2 --timeout 60 --json >"$WORK/t-r1.json" 2>"$WORK/t-r1.err" &
rp1=$!
lab_exec "$LAB" r3 "$MCAST" recv --group "$GROUP" --port $P2 --interface eth0 \
    --out "$WORK/t-r3" --count 2 --timeout 60 --json >"$WORK/t-r3.json" 2>"$WORK/t-r3.err" &
rp3=$!
lab_wait_joined "$LAB" r1 "$GROUP" || ko "r1 joined"
lab_wait_joined "$LAB" r3 "$GROUP" || ko "r3 joined"
lab_exec "$LAB" evil "$HOSTILE" "$GROUP" $P2 eth0 alter 1000000 >"$WORK/evil.out" 2>"$WORK/evil.err" &
sleep 0.5
# MCAST_NO_GSO: the capture is on s's own eth0, where a UDP GSO run (a
# NORM_INFO may end one) is still one packet that tshark decodes as its
# first datagram only.
lab_exec "$LAB" s env MCAST_NO_GSO=1 "$MCAST" send --group "$GROUP" --port $P2 --interface eth0 --sign-key "$WORK/a" --quiet \
    "$WORK/src/genuine-1.bin" "$WORK/src/genuine-2.bin" 2>"$WORK/t-send.err"
check "the signed send exits 0" [ $? = 0 ]
wait "$rp1"
wait "$rp3"
pkill -f "hostile_peer $GROUP $P2" 2>/dev/null
lab_capture_stop
delivered=0
for f in genuine-1.bin genuine-2.bin; do
    [ -e "$WORK/t-r1/$f" ] || continue
    delivered=$((delivered + 1))
    check "r1's delivered $f is identical to s's" cmp -s "$WORK/src/$f" "$WORK/t-r1/$f"
done
extra=$(ls "$WORK/t-r1" 2>/dev/null | grep -v -x -e genuine-1.bin -e genuine-2.bin | tr '\n' ' ')
check "r1 delivered nothing else ($extra)" [ -z "$extra" ]
refused=$(jq -r '[.aborted[] | select(.reason | contains("refused"))] | length' "$WORK/t-r1.json" 2>/dev/null)
echo "    r1 delivered $delivered of 2 files and refused ${refused:-?}" \
    "(signatures refused: $(jq -r .stats.signatures_refused "$WORK/t-r1.json" 2>/dev/null));" \
    "dropped by the loss rule: $(lab_loss_dropped "$LAB" r1)"
accounted() { [ $((delivered + ${refused:-0})) -ge 2 ]; }
check "each of s's files was delivered intact or refused and reported (delivered $delivered, refused ${refused:-0})" accounted
corrupted=0
for f in genuine-1.bin genuine-2.bin; do
    [ -e "$WORK/t-r3/$f" ] && ! cmp -s "$WORK/src/$f" "$WORK/t-r3/$f" && corrupted=$((corrupted + 1))
done
check "control: r3, which checks no signature, delivered $corrupted altered file(s)" [ "$corrupted" -gt 0 ]

ts() { tshark -n -r "$WORK/signed.pcapng" -d "udp.port==$P2,norm" -Y "$1" 2>/dev/null | wc -l; }
s_addr=$(lab_addr "$LAB" s)
ninfo=$(ts "norm.type == 1 && ipv6.src == $s_addr")
nbad=$(ts "_ws.malformed && ipv6.src == $s_addr")
npk=$(python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(bytes.fromhex(open(sys.argv[2]).read().strip())))' \
    "$WORK/signed.pcapng" "$WORK/a.pub" 2>/dev/null || echo 0)
echo "    capture: $ninfo NORM_INFO from s, $nbad of s's packets malformed for tshark"
check "tshark decodes s's signed NORM_INFO ($ninfo)" [ "$ninfo" -ge 2 ]
check "none of s's packets is malformed for tshark ($nbad)" [ "$nbad" = 0 ]
check "the signer's public key is in the (unsealed) capture ($npk)" [ "$npk" -gt 0 ]

# ------------------------------------------------------------ 4. signed streams

echo "--- 4. a signed stream, unsealed; then with the attacker altering copies of NORM_DATA"
python3 -c '
import os
for i in range(20000):
    print("line %06d %s" % (i, os.urandom(20).hex()))' >"$WORK/lines.txt"
stream_round() { # PORT TAG: s streams lines.txt to r1, r2, r3 (recv JSON in WORK/TAG-R.json)
    local port=$1 tag=$2 r pids=()
    declare -A t=([r1]="--trust $WORK/a.pub" [r2]="--trust $WORK/b.pub" [r3]="")
    for r in r1 r2 r3; do
        # shellcheck disable=SC2086
        lab_exec "$LAB" "$r" "$MCAST" recv --group "$GROUP" --port "$port" --interface eth0 ${t[$r]} \
            --out "$WORK/$tag-$r" --count 1 --timeout "$([ "$r" = r2 ] && echo 20 || echo 120)" --json >"$WORK/$tag-$r.json" 2>"$WORK/$tag-$r.err" &
        pids+=($!)
    done
    for r in r1 r2 r3; do lab_wait_joined "$LAB" "$r" "$GROUP" || ko "$r joined"; done
    if [ "$tag" = alter ]; then
        lab_exec "$LAB" evil "$HOSTILE" "$GROUP" "$port" eth0 alter 1000000 >"$WORK/evil-s.out" 2>"$WORK/evil-s.err" &
        sleep 0.5
    fi
    lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$port" --interface eth0 --sign-key "$WORK/a" --quiet \
        --stream feed <"$WORK/lines.txt" 2>"$WORK/$tag-send.err"
    check "$tag: the signed stream's send exits 0" [ $? = 0 ]
    for p in "${pids[@]}"; do wait "$p"; done
    pkill -f "hostile_peer $GROUP $port" 2>/dev/null
}
stream_round $((PORT + 2)) clean
check "r1 (trusts A) wrote the stream identical" cmp -s "$WORK/lines.txt" "$WORK/clean-r1/feed"
check "r1 names A as the stream's signer" [ "$(jq -r '.files[0].signer' "$WORK/clean-r1.json")" = "$(cat "$WORK/a.pub")" ]
check "r3 (trusts nobody) wrote it identical too" cmp -s "$WORK/lines.txt" "$WORK/clean-r3/feed"
check "r3 names no signer" [ "$(jq -r '.files[0].signer' "$WORK/clean-r3.json")" = null ]
check "r2 (trusts B) wrote nothing" [ -z "$(ls "$WORK/clean-r2" 2>/dev/null)" ]
check "r2 refused the stream as signed by a key it does not trust" \
    grep -q "refused: .*does not trust" <(jq -r '.aborted[].reason' "$WORK/clean-r2.json" 2>/dev/null)

stream_round $((PORT + 3)) alter
# Lines r1 wrote that s did not send: each must be the head of a line s
# sent followed by a whole one (delivery resumed at a message start after a
# reported gap), never an altered line.
classify() { # FILE: "GOOD HEAD_JOINS ALTERED" line counts against lines.txt
    python3 - "$WORK/lines.txt" "$1" <<'PY'
import sys
sent = open(sys.argv[1], "rb").read().split(b"\n")
good = set(sent)
n = len(sent[0]) + 1
ok = joins = bad = 0
try:
    got = open(sys.argv[2], "rb").read().split(b"\n")
except OSError:
    got = []
for line in got:
    if line in good:
        ok += 1
    elif len(line) > n and line[-(n - 1):] in good and any(s.startswith(line[:-(n - 1)]) for s in sent):
        joins += 1
    else:
        bad += 1
print(ok, joins, bad)
PY
}
read -r ok1 joins1 bad1 <<<"$(classify "$WORK/alter-r1/feed")"
read -r ok3 joins3 bad3 <<<"$(classify "$WORK/alter-r3/feed")"
lost1=$(jq -r '.files[0].lost_bytes // 0' "$WORK/alter-r1.json" 2>/dev/null)
echo "    r1: $ok1 genuine lines, $joins1 joined at gaps, $bad1 altered; lost ${lost1:-?} bytes," \
    "signatures refused: $(jq -r .stats.signatures_refused "$WORK/alter-r1.json" 2>/dev/null)"
echo "    r3: $ok3 genuine lines, $joins3 joined at gaps, $bad3 altered"
# r1 either wrote the stream (all that verified; most of it), or refused it
# and said why: an altered copy can also take the place of the stream's
# last signature, and then its end is not signed.
r1_outcome() {
    if [ -e "$WORK/alter-r1/feed" ]; then
        [ "$(jq -r '.files[0].signer' "$WORK/alter-r1.json")" = "$(cat "$WORK/a.pub")" ] && [ "${ok1:-0}" -gt 10000 ]
    else
        jq -r '.aborted[].reason' "$WORK/alter-r1.json" | grep -q "^refused: "
    fi
}
check "r1 wrote the stream, signed by A, or refused it and said why ($(ls "$WORK/alter-r1" 2>/dev/null))" r1_outcome
check "r1 wrote no altered line ($bad1)" [ "${bad1:-1}" = 0 ]
# Copies of s's packets come from evil's address too: still one stream, one
# file (mcast recv keys streams by node id, not by source address).
one_file() { ! grep -q "did not end" "$WORK/alter-r1.err"; }
check "r1 kept the stream in one file (no second, unfinished one)" one_file
joined_only_at_gaps() { [ "${joins1:-0}" = 0 ] || [ "${lost1:-0}" -gt 0 ]; }
check "r1's bytes reported lost (${lost1:-0}) are no more than the stream's" [ "${lost1:-0}" -le "$(stat -c %s "$WORK/lines.txt")" ]
check "r1 joined lines only where it reported lost bytes" joined_only_at_gaps
check "r1 refused altered units ($(jq -r .stats.signatures_refused "$WORK/alter-r1.json"))" \
    [ "$(jq -r .stats.signatures_refused "$WORK/alter-r1.json" 2>/dev/null || echo 0)" -gt 0 ]
check "control: r3, which checks no signature, wrote altered lines ($bad3)" [ "${bad3:-0}" -gt 0 ]
finish
