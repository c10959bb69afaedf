#!/usr/bin/env bash
# scripts/test.sh -- the one command that runs every test of the project:
#
#   1. scripts/setup.sh                 (installs what is missing; quick if nothing is)
#   2. cargo build --workspace --release
#   3. cargo test --workspace           (unit, property and simulation tests; the
#                                        workspace's test profile is optimised)
#   4. every test script, one after the other:
#        tests/lab/*.sh, tests/net/*.sh, tests/interop/*.sh, tests/c/*.sh,
#        tests/python/*.sh, tests/node/*.sh, tests/fuzz/*.sh
#      Convention: a test script is a file with a #! line directly
#      in one of those folders (not in subfolders: tests/interop/fec-kat/ holds
#      vector generators), that takes no arguments and ends with the line
#      "N passed, N failed". A script there that is a helper and not a test
#      says so with a line "# not-a-test" among its first 10 lines
#      (tests/interop/build.sh and tshark_check.sh are also excluded by name
#      until they carry the marker). lab.sh is a sourced library: no #! line.
#
# Prints "N passed, N failed" as its last line, where the numbers add up the
# tests of every step (cargo's per-binary results and each script's own
# final line); a step that fails without saying how many of its tests failed
# counts as one failure. Exits non-zero if anything failed.
#
# Needs root (network namespaces) and works with no stdin, as CI runs it
# (`bash .ci/run` with CI=true). Environment: TEST_TIMEOUT (seconds per test
# script, default 900), ONLY (a pattern: run only test scripts whose path
# contains it, e.g. ONLY=net/ for a quick check; steps 1-3 still run).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TEST_TIMEOUT=${TEST_TIMEOUT:-900}
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/mcast-test.XXXXXX")
export CARGO_TERM_COLOR=never

total_pass=0
total_fail=0
declare -a report=()
t_start=$(date +%s)

# add_counts NAME STATUS PASSED FAILED SECONDS
add_counts() {
    local name=$1 status=$2 p=$3 f=$4 secs=$5
    if [ "$status" != 0 ] && [ "$f" = 0 ]; then
        f=1 # it failed without saying what: count the step itself
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    local verdict=PASS
    [ "$status" = 0 ] && [ "$f" = 0 ] || verdict=FAIL
    report+=("$(printf '%-4s %-38s %5d passed %4d failed %5ds' "$verdict" "$name" "$p" "$f" "$secs")")
    echo "=== $verdict: $name ($p passed, $f failed, ${secs}s)"
}

# run_step NAME CMD...: runs a step, its output shown and kept in $LOGDIR.
# Its counts come from its output: cargo's "test result:" lines, or a final
# "N passed, N failed" line; otherwise 1 passed / 1 failed by exit status.
run_step() {
    local name=$1
    shift
    local log="$LOGDIR/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
    local t0 status p f line
    t0=$(date +%s)
    echo
    echo "=== RUN: $name"
    "$@" </dev/null 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    p=0
    f=0
    if grep -q '^test result: ' "$log"; then
        p=$(awk '/^test result: /{for(i=1;i<=NF;i++){if($(i+1) ~ /^passed/)s+=$i}} END{print s+0}' "$log")
        f=$(awk '/^test result: /{for(i=1;i<=NF;i++){if($(i+1) ~ /^failed/)s+=$i}} END{print s+0}' "$log")
    elif line=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1) && [ -n "$line" ]; then
        p=$(sed -E 's/^([A-Za-z0-9_-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
        f=$(sed -E 's/^([A-Za-z0-9_-]+: )?[0-9]+ passed, ([0-9]+) failed.*/\2/' <<<"$line")
    elif [ "$status" = 0 ]; then
        p=1
    fi
    add_counts "$name" "$status" "$p" "$f" $(($(date +%s) - t0))
    return "$status"
}

is_test_script() {
    local f=$1
    # Not the executable bit: a test that lost it in a commit must still run
    # (and fail if broken), never vanish from the run.
    [ -f "$f" ] || return 1
    head -c 2 "$f" | grep -q '^#!' || return 1
    head -n 10 "$f" | grep -q '^# not-a-test' && return 1
    case "$f" in
        tests/interop/build.sh | tests/interop/tshark_check.sh) return 1 ;;
    esac
    return 0
}

echo "mcast test run: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -sr), user $(id -un), logs in $LOGDIR"

run_step "setup (scripts/setup.sh)" bash scripts/setup.sh
# setup.sh may just have installed Rust with rustup (every later step and
# test script finds cargo on this PATH).
command -v cargo >/dev/null || . "$HOME/.cargo/env" || true
built=0
run_step "cargo build --workspace --release" cargo build --workspace --release && built=1
run_step "cargo test --workspace" cargo test --workspace --no-fail-fast

scripts=()
for f in tests/lab/*.sh tests/net/*.sh tests/interop/*.sh tests/c/*.sh tests/python/*.sh tests/node/*.sh tests/fuzz/*.sh; do
    is_test_script "$f" || continue
    [ -z "${ONLY:-}" ] || [[ "$f" == *"$ONLY"* ]] || continue
    scripts+=("$f")
done
for f in "${scripts[@]}"; do
    if [ "$built" != 1 ]; then
        add_counts "$f (not run: the build failed)" 1 0 1 0
        continue
    fi
    # --kill-after: a hung test (or its namespaces' processes) must not eat
    # CI's whole time budget.
    run_step "$f" timeout --kill-after=30 "$TEST_TIMEOUT" bash "$f"
done

echo
echo "=== SUMMARY ($(($(date +%s) - t_start))s; logs in $LOGDIR)"
printf '%s\n' "${report[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
