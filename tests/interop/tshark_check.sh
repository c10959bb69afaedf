#!/usr/bin/env bash
# tshark_check.sh [--port PORT]... [--strict] FILE.pcap[ng]
#
# Decodes a capture with tshark's NORM dissector and fails (exit 1) if
#   - the capture holds no NORM packets,
#   - any packet is malformed (_ws.malformed),
#   - any packet carries an expert info of severity Error,
#   - any NORM packet is not NORM version 1 (norm.version1_only).
# Expert warnings are listed but tolerated, except with --strict.  One warning
# is always tolerated: Wireshark 4.0 decodes EXT_FTI generically and flags
# every NORM_INFO / EXT_FTI of FEC encoding ID 5 (RFC 5510) with "FEC Encoding
# ID < 128, should be zero" -- libnorm's own packets get it too.
#
# Wireshark's NORM dissector is not bound to any port and its heuristic
# ("rmt_norm_udp") is disabled by default.  PORTs given are decoded with
# "-d udp.port==PORT,norm" (so malformed packets on them are caught); without
# --port the heuristic finds the NORM ports first and those are then decoded
# the same way.  Exit 2 on usage errors or when tshark is missing.
set -uo pipefail

ports=()
strict=0
file=
while [ $# -gt 0 ]; do
    case "$1" in
        --port) ports+=("${2:?--port needs a value}"); shift 2 ;;
        --port=*) ports+=("${1#--port=}"); shift ;;
        --strict) strict=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "tshark_check: unknown option $1" >&2; exit 2 ;;
        *) [ -z "$file" ] || { echo "tshark_check: only one capture file" >&2; exit 2; }; file=$1; shift ;;
    esac
done
[ -n "$file" ] || { echo "usage: tshark_check.sh [--port PORT]... [--strict] FILE.pcap" >&2; exit 2; }
[ -r "$file" ] || { echo "tshark_check: FAIL: cannot read $file" >&2; exit 2; }
command -v tshark >/dev/null || { echo "tshark_check: FAIL: tshark not installed (scripts/setup.sh)" >&2; exit 2; }

ts() { tshark -n -r "$file" "$@" 2>"$tmp/err"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! tshark -G protocols 2>/dev/null | awk -F'\t' '$3=="norm"' | grep -q .; then
    echo "tshark_check: FAIL: this tshark has no NORM dissector" >&2
    exit 2
fi

if [ ${#ports[@]} -eq 0 ]; then
    mapfile -t ports < <(ts --enable-heuristic rmt_norm_udp -Y norm -T fields -e udp.dstport | sort -un)
    if [ ${#ports[@]} -eq 0 ]; then
        echo "tshark_check: FAIL: no NORM packets in $file (heuristic found none; pass --port PORT?)"
        cat "$tmp/err" >&2
        exit 1
    fi
fi
dargs=()
for p in "${ports[@]}"; do
    case "$p" in ''|*[!0-9]*) echo "tshark_check: bad port '$p'" >&2; exit 2 ;; esac
    dargs+=(-d "udp.port==$p,norm")
done

if ! ts "${dargs[@]}" -T fields -e frame.number -e norm.type >"$tmp/all"; then
    echo "tshark_check: FAIL: tshark could not read $file:" >&2
    cat "$tmp/err" >&2
    exit 1
fi
total=$(wc -l <"$tmp/all")
awk -F'\t' '$2 != ""' "$tmp/all" >"$tmp/norm"
nnorm=$(wc -l <"$tmp/norm")
types=$(awk -F'\t' '{ split($2, t, ","); n[t[1]]++ }
    END { m[1]="INFO"; m[2]="DATA"; m[3]="CMD"; m[4]="NACK"; m[5]="ACK"; m[6]="REPORT";
          for (k in n) printf "%s=%d ", (k in m ? m[k] : "type" k), n[k] }' "$tmp/norm")
echo "tshark_check: $file: $total packet(s), $nnorm NORM on port(s) ${ports[*]}: $types"

rc=0
if [ "$nnorm" -eq 0 ]; then
    echo "tshark_check: FAIL: no NORM packets in $file"
    rc=1
fi

ts "${dargs[@]}" -Y '_ws.malformed || norm.version1_only' >"$tmp/bad"
if [ -s "$tmp/bad" ]; then
    echo "tshark_check: FAIL: $(wc -l <"$tmp/bad") malformed / non-v1 packet(s):"
    head -20 "$tmp/bad" | sed 's/^/    /'
    rc=1
fi

# Expert infos: severity Error = 0x00800000 (8388608), Warning = 0x00600000.
ts "${dargs[@]}" -Y '_ws.expert' -T fields -E occurrence=a -E aggregator='|' \
    -e frame.number -e _ws.expert.severity -e _ws.expert.message >"$tmp/expert"
awk -F'\t' '{
    ns = split($2, sev, "|"); split($3, msg, "|")
    for (i = 1; i <= ns; i++) print $1 "\t" sev[i] "\t" msg[i] }' "$tmp/expert" >"$tmp/expert1"
awk -F'\t' '$2 >= 8388608' "$tmp/expert1" >"$tmp/errors"
if [ -s "$tmp/errors" ]; then
    echo "tshark_check: FAIL: $(wc -l <"$tmp/errors") expert error(s) (frame, message):"
    awk -F'\t' '{ print "    frame " $1 ": " $3 }' "$tmp/errors" | head -20
    rc=1
fi
known='FEC Encoding ID < 128, should be zero'
awk -F'\t' -v k="$known" '$2 >= 6291456 && $2 < 8388608 && $3 != k' "$tmp/expert1" >"$tmp/warn"
nknown=$(awk -F'\t' -v k="$known" '$3 == k' "$tmp/expert1" | wc -l)
[ "$nknown" -eq 0 ] || echo "tshark_check: note: $nknown known Wireshark EXT_FTI warning(s) ignored ('$known')"
if [ -s "$tmp/warn" ]; then
    echo "tshark_check: $( [ $strict = 1 ] && echo FAIL || echo warning ): $(wc -l <"$tmp/warn") expert warning(s):"
    cut -f3 "$tmp/warn" | sort | uniq -c | sort -rn | head -20 | sed 's/^ */    /; s/^\(    [0-9]*\) /\1 x /'
    echo "    (first frame: $(head -1 "$tmp/warn" | cut -f1))"
    [ $strict = 1 ] && rc=1
fi

[ $rc = 0 ] && echo "tshark_check: OK ($nnorm NORM packet(s), no malformed packets, no expert errors)"
exit $rc
