#!/usr/bin/env bash
# tests/node/run.sh -- the Node module's tests:
#   1. a fresh npm project (target/nodeproj) does `npm install <repo>/bindings-node`
#      (the install script builds the native module from source with cargo),
#      plus typescript and @types/node;
#   2. tsc --noEmit --strict (allowJs, checkJs) on examples/node and
#      tests/node/api-types.js against the module's index.d.ts;
#   3. node --test tests/node inside a private network namespace (veth pair
#      va <-> vb; the lab tests make their own namespaces with tests/lab/lab.sh).
# Needs root. FAILS (never skips) when namespaces cannot be made. Ends with
# "node: N passed, M failed". Environment: NO_INSTALL=1 reuses the project.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PROJ=$ROOT/target/nodeproj
passed=0
failed=0
ok() { echo "PASS: $*"; passed=$((passed + 1)); }
ko() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
    echo "node: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}
command -v node >/dev/null && command -v npm >/dev/null || { ko "node and npm are needed (scripts/setup.sh)"; finish; }

if [ "${NO_INSTALL:-0}" != 1 ] || [ ! -e "$PROJ/node_modules/mcast/mcast.node" ]; then
    rm -rf "$PROJ"
    mkdir -p "$PROJ"
    (cd "$PROJ" && npm init -y >/dev/null) || { ko "npm init"; finish; }
    # No mcast.node from an earlier build may be left for the install to find:
    # the check below then proves that npm install's script built it.
    rm -f "$ROOT/bindings-node/mcast.node" "$ROOT/bindings-node/mcast.node.tmp"
    installed=1
    if (cd "$PROJ" && npm install --no-audit --no-fund --loglevel=error "$ROOT/bindings-node"); then
        ok "npm install ./bindings-node (built from source)"
    else
        ko "npm install ./bindings-node"
        finish
    fi
    (cd "$PROJ" && npm install --no-audit --no-fund --loglevel=error typescript@5 @types/node@20) || { ko "npm install typescript @types/node"; finish; }
fi
if [ ! -e "$PROJ/node_modules/mcast/mcast.node" ]; then
    ko "no mcast.node after npm install"
elif [ -n "${installed:-}" ]; then
    ok "the native module was built by npm install (node_modules/mcast/mcast.node)"
else
    ok "the native module is there (reused: NO_INSTALL=1)"
fi

cat >"$PROJ/tsconfig.json" <<JSON
{
  "compilerOptions": {
    "strict": true, "noEmit": true, "allowJs": true, "checkJs": true,
    "module": "commonjs", "target": "es2022", "lib": ["es2022"],
    "types": ["node"], "skipLibCheck": false
  },
  "files": ["$ROOT/examples/node/chat.js", "$ROOT/examples/node/recv_files.js", "$ROOT/tests/node/api-types.js"]
}
JSON
# The examples are outside the project: let them resolve 'mcast' there.
if (cd "$PROJ" && NODE_PATH="$PROJ/node_modules" npx --no-install tsc -p tsconfig.json --typeRoots "$PROJ/node_modules/@types" --baseUrl "$PROJ/node_modules" --paths null 2>&1 | tee "$PROJ/tsc.log") && ! grep -q "error TS" "$PROJ/tsc.log"; then
    ok "tsc --noEmit --strict examples/node tests/node/api-types.js"
else
    ko "tsc --noEmit --strict examples/node tests/node/api-types.js"
fi

tap=$(mktemp)
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
    export NODE_PATH="$2/node_modules"
    exec node --test --test-concurrency=1 --test-reporter=tap tests/node/
' run "$ROOT" "$PROJ" | tee "$tap"
status=${PIPESTATUS[0]}
p=$(awk '/^# pass /{print $3}' "$tap" | tail -1)
f=$(awk '/^# fail /{print $3}' "$tap" | tail -1)
c=$(awk '/^# cancelled /{print $3}' "$tap" | tail -1)
s=$(awk '/^# skipped /{print $3}' "$tap" | tail -1)
rm -f "$tap"
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0} + ${c:-0} + ${s:-0}))
if [ "$status" != 0 ] && [ "${f:-0}" = 0 ]; then
    ko "node --test exited $status"
fi
finish
