# shellcheck shell=bash
# tests/lab/check.sh -- the PASS/FAIL bookkeeping the test scripts share.
# Source it after setting CHECK_NAME (the summary line's prefix). Then:
#
#   ok DESCRIPTION / ko DESCRIPTION     count a passed / failed check
#   check DESCRIPTION COMMAND...        ok if COMMAND succeeds, else ko
#   finish                              print "CHECK_NAME: N passed, M failed"
#                                       (what scripts/test.sh reads) and exit,
#                                       0 only when nothing failed; a function
#                                       before_summary, if defined, runs first
pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else ko "$d"; fi
}
finish() {
    if declare -F before_summary >/dev/null; then before_summary; fi
    echo "${CHECK_NAME:+$CHECK_NAME: }$pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}
