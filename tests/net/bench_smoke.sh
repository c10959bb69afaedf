#!/usr/bin/env bash
# tests/net/bench_smoke.sh -- `mcast bench` works end to end (it builds its
# own private lab, like `mcast demo`): a small run (2 MiB, 2 receivers) with
# --json, checked for what scripts rely on:
#  - every run is there; the raw blast and the three mcast runs completed at
#    every receiver with a goodput > 0;
#  - libnorm and uftp ran too (scripts/setup.sh installs both), every
#    receiver complete;
#  - the lossy mcast runs needed repairs, and the no-loss run did not;
#  - the targets are reported, each with a verdict.
# The numbers themselves are not judged here: speed targets live in the
# benchmark (docs/BENCHMARKS.md), not in tests. Ends with
# "bench_smoke: N passed, M failed". Environment: MCAST.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
CHECK_NAME=bench_smoke
# shellcheck source=../lab/check.sh
source "$ROOT/tests/lab/check.sh"

[ -x "$MCAST" ] || { ko "no mcast binary at $MCAST (run: cargo build --release)"; finish; }
command -v jq >/dev/null || { ko "jq is missing (run scripts/setup.sh)"; finish; }
OUT=$(mktemp)
ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT

"$MCAST" bench --size 2M --receivers 2 --json >"$OUT" 2>"$ERR"
st=$?
check "mcast bench exits 0 (status $st)" [ "$st" = 0 ]
[ "$st" = 0 ] || sed 's/^/    /' "$ERR"
q() { jq -e "$@" >/dev/null 2>&1; } # a jq condition, quietly
check "its output is one JSON object" q -n --slurpfile o "$OUT" '$o | length == 1 and ($o[0] | type) == "object"'

run() { jq -c --arg n "$1" '.runs[] | select(.name | startswith($n))' "$OUT"; }
complete() { # NAME: the run exists and every receiver completed with a goodput
    local r
    r=$(run "$1")
    [ -n "$r" ] && jq -e '(.receivers | length) == 2 and all(.receivers[]; .complete and .goodput_bps > 0)' <<<"$r" >/dev/null
}
for name in "raw UDP blast" "mcast, no loss" "mcast, 5 % loss, fixed rate" "mcast, 5 % loss, NORM-CC" \
    "libnorm, 5 % loss" "uftp, 5 % loss"; do
    check "$name: every receiver complete" complete "$name"
done
check "the no-loss run needed no repairs" \
    q '.runs[] | select(.name == "mcast, no loss") | .extra.repair_segments == 0' "$OUT"
check "the lossy fixed-rate run repaired what was lost" \
    q '.runs[] | select(.name == "mcast, 5 % loss, fixed rate") | .extra.repair_segments > 0 and (.extra.needed_segments | max) > 0' "$OUT"
check "targets are reported with verdicts" \
    q '(.targets | length) >= 6 and all(.targets[]; .verdict == "met" or .verdict == "MISSED")' "$OUT"
check "the machine is described" q '.machine.cores > 0 and (.machine.kernel | length) > 0' "$OUT"
before_summary() { # on failure, what the runs reported (this test is rarely flaky: say why)
    [ "$fail" = 0 ] && return
    echo "runs as reported:"
    jq -c '.runs[] | {name, receivers: [.receivers[] | {complete, goodput_bps}], extra}' "$OUT" 2>&1 | sed 's/^/    /'
    sed 's/^/    stderr: /' "$ERR" | tail -20
}
finish
