#!/usr/bin/env bash
# Builds tests/interop/normpeer.cpp into target/interop/normpeer (only when the
# source, or this script, is newer than the binary). Prints the binary's path.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
src="$here/normpeer.cpp"
outdir="${CARGO_TARGET_DIR:-$root/target}/interop"
bin="$outdir/normpeer"
mkdir -p "$outdir"
if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$here/build.sh" -nt "$bin" ]; then
    if [ ! -f /usr/include/normApi.h ] && ! pkg-config --exists norm 2>/dev/null; then
        echo "build.sh: error: libnorm headers not found (normApi.h); run scripts/setup.sh (libnorm-dev)" >&2
        exit 1
    fi
    cflags=$(pkg-config --cflags norm 2>/dev/null || true)
    echo "build.sh: g++ -O2 -o $bin $src -lnorm" >&2
    # shellcheck disable=SC2086
    g++ -O2 -Wall -Wextra -std=c++17 $cflags -o "$bin.tmp" "$src" -lnorm
    mv -f "$bin.tmp" "$bin"
fi
echo "$bin"
