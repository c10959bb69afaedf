#!/usr/bin/env bash
# tests/python/run.sh -- the Python package's tests:
#   1. builds and installs bindings-python into a fresh virtual environment
#      (target/pyvenv) with one `pip install ./bindings-python`, as a user would;
#   2. mypy --strict on examples/python against the package's stubs;
#   3. pytest tests/python inside a private network namespace (veth pair
#      va <-> vb; the lab tests make their own namespaces with tests/lab/lab.sh).
# Needs root. FAILS (never skips) when namespaces cannot be made. Ends with
# "python: N passed, M failed". Environment: NO_INSTALL=1 reuses the venv.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=$ROOT/target/pyvenv
passed=0
failed=0
finish() {
    echo "python: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

if [ "${NO_INSTALL:-0}" != 1 ] || [ ! -x "$VENV/bin/python" ]; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || { echo "FAIL: python3 -m venv (run scripts/setup.sh)"; failed=$((failed + 1)); finish; }
    "$VENV/bin/pip" install -q --disable-pip-version-check pytest pytest-timeout mypy ||
        { echo "FAIL: installing pytest and mypy"; failed=$((failed + 1)); finish; }
    echo "pip install ./bindings-python"
    if (cd "$ROOT" && "$VENV/bin/pip" install -q --disable-pip-version-check ./bindings-python); then
        echo "PASS: pip install ./bindings-python"
        passed=$((passed + 1))
    else
        echo "FAIL: pip install ./bindings-python"
        failed=$((failed + 1))
        finish
    fi
fi

if (cd "$ROOT" && "$VENV/bin/mypy" --strict examples/python tests/python/peer.py); then
    echo "PASS: mypy --strict examples/python"
    passed=$((passed + 1))
else
    echo "FAIL: mypy --strict examples/python"
    failed=$((failed + 1))
fi

report=$(mktemp)
# shellcheck disable=SC2016
unshare -n bash -c '
    set -e
    sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
    ip link set lo up
    ip link add va type veth peer name vb
    ip link set va up
    ip link set vb up
    for i in $(seq 1 100); do
        ip -6 addr show scope link | grep -q tentative || break
        sleep 0.05
    done
    cd "$1"
    exec "$2/bin/python" -m pytest -p no:cacheprovider --timeout 300 -v -s tests/python --junitxml "$3"
' run "$ROOT" "$VENV" "$report"
status=$?
counts=$("$VENV/bin/python" - "$report" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 0"); sys.exit()
suites = [root] if root.tag == "testsuite" else list(root)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
# A skipped test is not a pass.
print(t - f - sk, f + sk)
PY
)
rm -f "$report"
read -r p f <<<"$counts"
passed=$((passed + p))
failed=$((failed + f))
if [ "$status" != 0 ] && [ "$f" = 0 ]; then
    echo "FAIL: pytest exited $status"
    failed=$((failed + 1))
fi
finish
