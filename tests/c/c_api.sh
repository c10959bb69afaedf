#!/usr/bin/env bash
# tests/c/c_api.sh -- libmcast (the C ABI, ffi/) from C programs.
#
#  1. Packaging: scripts/install-c.sh into a temporary prefix installs the
#     library (soname libmcast.so.0), libmcast.a, mcast.h (identical to
#     include/mcast.h) and mcast.pc; `nm -D` exports only mcast_* symbols.
#  2. Compiling through pkg-config against the installed files, with
#     gcc -std=c11 -Wall -Wextra -Wpedantic -Werror: examples/c/*.c,
#     tests/c/api_test.c and tests/c/sweep_test.c; README.md's C example;
#     the header included twice;
#     tests/c/cxx_header.cpp
#     with g++ -std=c++17 (same warnings); a static link against libmcast.a
#     with the README's command.
#     Programs run without LD_LIBRARY_PATH (rpath from mcast.pc).
#  3. In a network lab (tests/lab/lab.sh: a sender s and receivers r1-r3,
#     5 % random loss of incoming UDP on every receiver):
#     a. tests/c/api_test (the C contract, see the file), tests/c/sweep_test
#        (every function with every invalid argument: documented status,
#        message, out-parameters; one line per row, counted here), the
#        README's example (eth1 -> eth0) and cxx_header;
#     b. C sender -> C receiver, C epoll receiver and `mcast recv`: a message,
#        files of 0 B, 1 B and 20 MB, and a 2 MB DATA object;
#     c. `mcast send` -> C receiver and C epoll receiver (20 MB + 1 B files);
#     d. C sender -> libnorm receiver (tests/interop/normpeer) and a C
#        receiver in the same session (20 MB, 1 B, 2 MB DATA);
#     e. libnorm sender -> C receiver and C epoll receiver (20 MB + 1 B);
#     f. valgrind memcheck (--leak-check=full, definite, indirect and
#        possible leaks are errors; tests/c/valgrind.supp): api_test and
#        sweep_test; a C sender to a C receiver and a C epoll receiver, all
#        three under valgrind, at 5 % loss; an epoll receiver stopped with
#        SIGTERM. Zero errors and zero leaks required.
#     Every received file is compared byte for byte (cmp).
#
# Needs root (network namespaces), gcc, g++, pkg-config, nm, valgrind,
# libnorm (scripts/setup.sh installs them) and target/release/mcast
# (cargo build --release). FAILS (never skips) when namespaces cannot be
# created or a tool is missing. Ends with "N passed, N failed"; exit status
# 0 only if nothing failed.
# Environment: MCAST (binary, default target/release/mcast), BIG_MB (20),
# LOSS (5), KEEP=1 keeps the work directory.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCAST=${MCAST:-$ROOT/target/release/mcast}
BIG_MB=${BIG_MB:-20}
LOSS=${LOSS:-5}
GROUP=ff3e::4d43:c
CFLAGS=(-std=c11 -Wall -Wextra -Wpedantic -Werror -O1 -g)
CXXFLAGS=(-std=c++17 -Wall -Wextra -Wpedantic -Werror -O1 -g)
# Definite, indirect and possible leaks are errors. tests/c/valgrind.supp
# suppresses one false positive of the Rust standard library (see there).
VALGRIND=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-fds=no
    --suppressions="$ROOT/tests/c/valgrind.supp")
# shellcheck source=../lab/lab.sh
source "$ROOT/tests/lab/lab.sh"
export LAB_QUIET=1

pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else ko "$d"; fi
}
finish() {
    echo "total $(($(date +%s) - T0)) s"
    echo "$pass passed, $fail failed"
    [ "$fail" = 0 ]
    exit
}
T0=$(date +%s)

# ------------------------------------------------------------ prerequisites
missing=()
for c in gcc g++ pkg-config nm readelf valgrind cargo cmp; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ ${#missing[@]} -gt 0 ]; then
    ko "tools missing: ${missing[*]} (run scripts/setup.sh)"
    finish
fi
if [ ! -x "$MCAST" ]; then
    ko "no mcast binary at $MCAST (run: cargo build --release)"
    finish
fi
if ! lab_require; then
    ko "cannot build the network lab (see LAB ERROR above)"
    finish
fi
NP=$("$ROOT/tests/interop/build.sh") || {
    ko "building the libnorm peer (tests/interop/build.sh)"
    finish
}

LAB=capi$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mcast-c-api.XXXXXX")
chmod 755 "$WORK"
cleanup() {
    lab_down "$LAB"
    if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ 1. packaging
PREFIX=$WORK/prefix
echo "--- scripts/install-c.sh --prefix $PREFIX"
if ! "$ROOT/scripts/install-c.sh" --prefix "$PREFIX" >"$WORK/install.log" 2>&1; then
    ko "scripts/install-c.sh exits 0"
    tail -20 "$WORK/install.log"
    finish
fi
ok "scripts/install-c.sh exits 0"
LIB=$PREFIX/lib
hver() { awk -v m="MCAST_VERSION_$1" '$1 == "#define" && $2 == m { print $3 }' "$ROOT/include/mcast.h"; }
VERSION=$(hver MAJOR).$(hver MINOR).$(hver PATCH)
check "installed libmcast.so.$VERSION, libmcast.so.$(hver MAJOR) and libmcast.so (links)" \
    test -f "$LIB/libmcast.so.$VERSION" -a -L "$LIB/libmcast.so.$(hver MAJOR)" -a -L "$LIB/libmcast.so"
check "installed libmcast.a" test -f "$LIB/libmcast.a"
check "installed mcast.h identical to include/mcast.h" cmp -s "$ROOT/include/mcast.h" "$PREFIX/include/mcast.h"
export PKG_CONFIG_PATH=$LIB/pkgconfig
check "pkg-config --modversion mcast is $VERSION" [ "$(pkg-config --modversion mcast 2>/dev/null)" = "$VERSION" ]
soname=$(readelf -d "$LIB/libmcast.so.$VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
check "soname is libmcast.so.$(hver MAJOR) (got $soname)" [ "$soname" = "libmcast.so.$(hver MAJOR)" ]
nm -D --defined-only "$LIB/libmcast.so.$VERSION" | awk '{ print $NF }' | sort >"$WORK/symbols.txt"
nsym=$(wc -l <"$WORK/symbols.txt")
others=$(grep -v '^mcast_' "$WORK/symbols.txt" | tr '\n' ' ')
sym_ok=0
[ -z "$others" ] && [ "$nsym" -ge 30 ] && sym_ok=1
check "nm -D: all $nsym exported symbols start with mcast_${others:+ (not: $others)}" [ "$sym_ok" = 1 ]
# Every function the header declares is exported (and nothing else is).
grep -oE '^[a-z].*\bmcast_[a-z0-9_]+\(' "$ROOT/include/mcast.h" | grep -v '^static' |
    grep -oE 'mcast_[a-z0-9_]+\($' | tr -d '(' | sort >"$WORK/declared.txt"
check "nm -D exports exactly the $(wc -l <"$WORK/declared.txt") functions mcast.h declares" \
    cmp -s "$WORK/declared.txt" "$WORK/symbols.txt"

# ------------------------------------------------------------ 2. compiling
BIN=$WORK/bin
mkdir -p "$BIN"
read -ra PC_CFLAGS <<<"$(pkg-config --cflags mcast)"
read -ra PC_LIBS <<<"$(pkg-config --libs mcast)"
cc_ok() { # cc_ok OUT SRC [extra...]: compile with the strict flags via pkg-config
    local out=$1 src=$2
    shift 2
    if gcc "${CFLAGS[@]}" "${PC_CFLAGS[@]}" -o "$BIN/$out" "$src" "${PC_LIBS[@]}" "$@" 2>"$WORK/cc-$out.log"; then
        ok "gcc -std=c11 -Wall -Wextra -Wpedantic -Werror: $(basename "$src")"
    else
        ko "gcc -std=c11 -Wall -Wextra -Wpedantic -Werror: $(basename "$src")"
        sed 's/^/    /' "$WORK/cc-$out.log" | head -30
    fi
}
cc_ok sender "$ROOT/examples/c/sender.c"
cc_ok receiver "$ROOT/examples/c/receiver.c"
cc_ok epoll_receiver "$ROOT/examples/c/epoll_receiver.c"
cc_ok api_test "$ROOT/tests/c/api_test.c" -pthread
cc_ok sweep_test "$ROOT/tests/c/sweep_test.c"
# The README's C example, exactly as printed there.
awk '/^```c$/ { on = 1; next } /^```$/ { on = 0 } on' "$ROOT/README.md" >"$WORK/readme_example.c"
if [ -s "$WORK/readme_example.c" ]; then
    cc_ok readme_example "$WORK/readme_example.c"
else
    ko "README.md has a C example (a \`\`\`c block)"
fi
printf '#include <mcast.h>\n#include <mcast.h>\nint main(void) { return mcast_version() == 0; }\n' >"$WORK/twice.c"
cc_ok twice "$WORK/twice.c"
if g++ "${CXXFLAGS[@]}" "${PC_CFLAGS[@]}" -o "$BIN/cxx_header" "$ROOT/tests/c/cxx_header.cpp" "${PC_LIBS[@]}" 2>"$WORK/cxx.log"; then
    ok "g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror: cxx_header.cpp (mcast.h as C++)"
else
    ko "g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror: cxx_header.cpp (mcast.h as C++)"
    sed 's/^/    /' "$WORK/cxx.log" | head -30
fi
# Static: the README's command (libmcast.a plus the system libraries of
# `pkg-config --static`), as printed there but for app.c -> sender.c, gcc
# with our flags, and -Wl,--no-as-needed: it must not pull in libmcast.so
# even on toolchains that keep every -l library (Ubuntu's gcc defaults to
# --as-needed, which would hide that).
static_cmd=$(awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$ROOT/README.md" |
    sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' | grep -E '^cc .*libmcast\.a' | head -1)
if [ -z "$static_cmd" ] || [[ $static_cmd != *" app.c "* ]]; then
    ko "README.md shows a static link command (cc app.c ... libmcast.a ...)"
else
    static_cmd="gcc ${CFLAGS[*]} -Wl,--no-as-needed ${static_cmd#cc }"
    static_cmd=${static_cmd/ app.c / \"$ROOT/examples/c/sender.c\" }
    echo "  static link: $static_cmd"
    if bash -c "$static_cmd -o '$BIN/sender_static'" 2>"$WORK/static.log"; then
        check "static link against libmcast.a, the README's command (no libmcast.so needed)" \
            bash -c "! ldd '$BIN/sender_static' | grep -q libmcast"
    else
        ko "static link against libmcast.a, the README's command"
        sed 's/^/    /' "$WORK/static.log" | head -20
    fi
fi
check "dynamic programs find libmcast.so.0 without LD_LIBRARY_PATH (rpath)" \
    bash -c "env -u LD_LIBRARY_PATH ldd '$BIN/receiver' | grep -q '$LIB/libmcast.so.0'"
for b in sender receiver epoll_receiver api_test sweep_test cxx_header; do
    [ -x "$BIN/$b" ] || { ko "cannot go on without $b"; finish; }
done

# ------------------------------------------------------------ 3. network
if ! lab_up "$LAB" 3; then
    ko "lab_up (see LAB ERROR above)"
    finish
fi
RECEIVERS=(r1 r2 r3)

# wait_joined HOST: until HOST's eth0 has joined GROUP, at most 20 s.
wait_joined() {
    local i
    for i in $(seq 1 200); do
        lab_exec "$LAB" "$1" ip -6 maddr show dev eth0 | grep -q "inet6 $GROUP\$" && return 0
        sleep 0.1
    done
    echo "  receiver on $1 did not join $GROUP within 20 s" >&2
    return 1
}
set_loss() { # set_loss PERCENT PORT
    local r
    for r in "${RECEIVERS[@]}"; do lab_loss "$LAB" "$r" "$1" "$2" || ko "lab_loss $r $1 $2"; done
}
secs() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# same_files LABEL DIR FILE...: each FILE (in $WORK/src) has an identical copy in DIR.
same_files() {
    local label=$1 dir=$2 f
    shift 2
    for f in "$@"; do
        check "$label: $f identical (cmp)" cmp -s "$WORK/src/$f" "$dir/$f"
    done
}
# has_message LABEL DIR TEXT: one file in DIR holds exactly TEXT.
has_message() {
    local f
    printf '%s' "$3" >"$WORK/message.txt"
    for f in "$2"/*; do
        cmp -s "$f" "$WORK/message.txt" && { ok "$1: message \"$3\" received"; return; }
    done
    ko "$1: message \"$3\" received"
}
# wait_rc LABEL PID LOG: the process exits 0.
wait_rc() {
    wait "$2"
    local st=$?
    check "$1 exits 0 (got $st)" [ "$st" = 0 ]
    [ "$st" = 0 ] || sed 's/^/    /' "$3" | tail -15
}

mkdir -p "$WORK/src"
: >"$WORK/src/empty.bin"
printf 'x' >"$WORK/src/one.bin"
head -c $((BIG_MB * 1000 * 1000)) /dev/urandom >"$WORK/src/big.bin"
head -c 2000000 /dev/urandom >"$WORK/src/data.bin"
head -c 500000 /dev/urandom >"$WORK/src/small.bin"
head -c 70000 /dev/urandom >"$WORK/src/tiny.bin"

# ---- a. the C contract, in a namespace
# run_counted NAME LOG STATUS: adds the "NAME: N passed, N failed" counts of
# a test program's LOG to ours (its FAIL lines are shown).
run_counted() {
    local name=$1 log=$2 st=$3 line p f
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
    grep '^FAIL' "$log" | sed 's/^/    /'
    if [ -n "$line" ]; then
        p=$(awk '{print $2}' <<<"$line")
        f=$(awk '{print $4}' <<<"$line")
        pass=$((pass + p))
        fail=$((fail + f))
        echo "  $line"
        [ "$st" = 0 ] || [ "$f" != 0 ] || ko "$name exit status $st"
    else
        ko "$name did not finish (status $st)"
        tail -20 "$log" | sed 's/^/    /'
    fi
}
echo "--- a. api_test, sweep_test and cxx_header in $LAB-r1"
lab_exec "$LAB" r1 "$BIN/api_test" eth0 "$GROUP" 6500 >"$WORK/api_test.log" 2>&1
run_counted api_test "$WORK/api_test.log" $?
lab_exec "$LAB" r1 "$BIN/sweep_test" eth0 "$GROUP" 6600 >"$WORK/sweep_test.log" 2>&1
run_counted sweep_test "$WORK/sweep_test.log" $?
if [ -x "$BIN/readme_example" ]; then
    # It uses interface eth1; the lab's is eth0.
    sed 's/"eth1"/"eth0"/g' "$WORK/readme_example.c" >"$WORK/readme_eth0.c"
    gcc "${CFLAGS[@]}" "${PC_CFLAGS[@]}" -o "$BIN/readme_eth0" "$WORK/readme_eth0.c" "${PC_LIBS[@]}"
    lab_exec "$LAB" r1 "$BIN/readme_eth0" >"$WORK/readme.log" 2>&1
    st=$?
    check "the README's C example runs and receives its message (status $st): $(head -1 "$WORK/readme.log")" \
        bash -c "[ $st = 0 ] && grep -q 'hello, everyone' '$WORK/readme.log'"
fi
lab_exec "$LAB" r1 "$BIN/cxx_header" >"$WORK/cxx_header.log" 2>&1
check "cxx_header (C++ program) runs: $(cat "$WORK/cxx_header.log")" grep -q "cxx_header: ok" "$WORK/cxx_header.log"

# ---- b. C sender -> C receiver, C epoll receiver, mcast recv
PORT=6510
echo "--- b. C sender -> C receiver (r1), C epoll receiver (r2), mcast recv (r3); $LOSS % loss"
set_loss "$LOSS" "$PORT"
mkdir -p "$WORK/b-r1" "$WORK/b-r2"
lab_exec "$LAB" r1 "$BIN/receiver" "$GROUP" "$PORT" eth0 -n 5 -o "$WORK/b-r1" -t 180 >"$WORK/b-r1.log" 2>&1 &
p1=$!
lab_exec "$LAB" r2 "$BIN/epoll_receiver" "$GROUP" "$PORT" eth0 -n 5 -o "$WORK/b-r2" -t 180 >"$WORK/b-r2.log" 2>&1 &
p2=$!
lab_exec "$LAB" r3 "$MCAST" recv --group "$GROUP" --port "$PORT" --interface eth0 --out "$WORK/b-r3" \
    --count 5 --timeout 180 --quiet >"$WORK/b-r3.log" 2>&1 &
p3=$!
for r in r1 r2 r3; do wait_joined "$r" || ko "receiver on $r ready"; done
t=$(date +%s.%N)
lab_exec "$LAB" s "$BIN/sender" "$GROUP" "$PORT" eth0 -m "hello from C" \
    "$WORK/src/empty.bin" "$WORK/src/one.bin" "$WORK/src/big.bin" -d "$WORK/src/data.bin" >"$WORK/b-s.log" 2>&1
st=$?
check "C sender exits 0 ($(secs "$t") s)" [ "$st" = 0 ]
[ "$st" = 0 ] || sed 's/^/    /' "$WORK/b-s.log" | tail -15
grep '^sender: [0-9]' "$WORK/b-s.log" | sed 's/^/  /'
wait_rc "C receiver (r1)" "$p1" "$WORK/b-r1.log"
wait_rc "C epoll receiver (r2)" "$p2" "$WORK/b-r2.log"
wait_rc "mcast recv (r3)" "$p3" "$WORK/b-r3.log"
for r in r1 r2 r3; do
    same_files "b/$r" "$WORK/b-$r" empty.bin one.bin big.bin data.bin
    has_message "b/$r" "$WORK/b-$r" "hello from C"
done
check "C sender received NACKs under loss" grep -qE 'sender: .* [1-9][0-9]* NACKs received' "$WORK/b-s.log"
for r in r1 r2 r3; do
    d=$(lab_loss_dropped "$LAB" "$r")
    check "b: loss was injected on $r ($d packets dropped)" [ "${d:-0}" -gt 0 ]
done

# ---- c. mcast send -> C receivers
PORT=6520
echo "--- c. mcast send -> C receiver (r1), C epoll receiver (r2); $LOSS % loss"
set_loss "$LOSS" "$PORT"
mkdir -p "$WORK/c-r1" "$WORK/c-r2"
lab_exec "$LAB" r1 "$BIN/receiver" "$GROUP" "$PORT" eth0 -n 2 -o "$WORK/c-r1" -t 180 >"$WORK/c-r1.log" 2>&1 &
p1=$!
lab_exec "$LAB" r2 "$BIN/epoll_receiver" "$GROUP" "$PORT" eth0 -n 2 -o "$WORK/c-r2" -t 180 >"$WORK/c-r2.log" 2>&1 &
p2=$!
for r in r1 r2; do wait_joined "$r" || ko "receiver on $r ready"; done
t=$(date +%s.%N)
lab_exec "$LAB" s "$MCAST" send --group "$GROUP" --port "$PORT" --interface eth0 --quiet \
    "$WORK/src/big.bin" "$WORK/src/one.bin" >"$WORK/c-s.log" 2>&1
st=$?
check "mcast send exits 0 ($(secs "$t") s)" [ "$st" = 0 ]
wait_rc "C receiver (r1)" "$p1" "$WORK/c-r1.log"
wait_rc "C epoll receiver (r2)" "$p2" "$WORK/c-r2.log"
for r in r1 r2; do same_files "c/$r" "$WORK/c-$r" big.bin one.bin; done

# ---- d. C sender -> libnorm receiver + C receiver
PORT=6530
echo "--- d. C sender -> libnorm receiver (r1) and C receiver (r2); $LOSS % loss"
set_loss "$LOSS" "$PORT"
mkdir -p "$WORK/d-r2"
# libnorm receivers (NORM_SYNC_CURRENT) sync on the first object they hear
# from its start: send the big object first (see tests/interop/libnorm_self.sh).
lab_exec "$LAB" r1 "$NP" recv --group "$GROUP" --port "$PORT" --interface eth0 --out "$WORK/d-r1" \
    --count 3 --timeout 180 >"$WORK/d-r1.log" 2>&1 &
p1=$!
lab_exec "$LAB" r2 "$BIN/receiver" "$GROUP" "$PORT" eth0 -n 3 -o "$WORK/d-r2" -t 180 >"$WORK/d-r2.log" 2>&1 &
p2=$!
for r in r1 r2; do wait_joined "$r" || ko "receiver on $r ready"; done
t=$(date +%s.%N)
lab_exec "$LAB" s "$BIN/sender" "$GROUP" "$PORT" eth0 "$WORK/src/big.bin" "$WORK/src/one.bin" -d "$WORK/src/data.bin" \
    >"$WORK/d-s.log" 2>&1
st=$?
check "C sender exits 0 ($(secs "$t") s)" [ "$st" = 0 ]
wait_rc "libnorm receiver (r1)" "$p1" "$WORK/d-r1.log"
wait_rc "C receiver (r2)" "$p2" "$WORK/d-r2.log"
for r in r1 r2; do same_files "d/$r" "$WORK/d-$r" big.bin one.bin data.bin; done

# ---- e. libnorm sender -> C receivers
PORT=6540
echo "--- e. libnorm sender -> C receiver (r1), C epoll receiver (r2); $LOSS % loss"
set_loss "$LOSS" "$PORT"
mkdir -p "$WORK/e-r1" "$WORK/e-r2"
lab_exec "$LAB" r1 "$BIN/receiver" "$GROUP" "$PORT" eth0 -n 2 -o "$WORK/e-r1" -t 180 >"$WORK/e-r1.log" 2>&1 &
p1=$!
lab_exec "$LAB" r2 "$BIN/epoll_receiver" "$GROUP" "$PORT" eth0 -n 2 -o "$WORK/e-r2" -t 180 >"$WORK/e-r2.log" 2>&1 &
p2=$!
for r in r1 r2; do wait_joined "$r" || ko "receiver on $r ready"; done
t=$(date +%s.%N)
lab_exec "$LAB" s timeout 180 "$NP" send --group "$GROUP" --port "$PORT" --interface eth0 \
    "$WORK/src/big.bin" "$WORK/src/one.bin" >"$WORK/e-s.log" 2>&1
st=$?
check "libnorm sender exits 0 ($(secs "$t") s)" [ "$st" = 0 ]
wait_rc "C receiver (r1)" "$p1" "$WORK/e-r1.log"
wait_rc "C epoll receiver (r2)" "$p2" "$WORK/e-r2.log"
for r in r1 r2; do same_files "e/$r" "$WORK/e-$r" big.bin one.bin; done

# ---- f. valgrind
echo "--- f. valgrind memcheck"
# vg_clean LABEL LOG: valgrind found no errors and no definite, indirect or
# possible leaks.
vg_clean() {
    # Only valgrind's own lines (==PID==), not the program's output.
    if grep -E '^==[0-9]+== ' "$2" |
        grep -qE 'ERROR SUMMARY: [1-9]|definitely lost|indirectly lost|possibly lost|Invalid (read|write|free)|uninitialised|Mismatched free'; then
        ko "$1: valgrind reports problems"
        grep -E '^==[0-9]+== ' "$2" | head -40 | sed 's/^/    /'
    else
        ok "$1: valgrind: no errors, no definite, indirect or possible leaks"
    fi
}
# First prove these valgrind settings (suppressions included) catch a
# definite leak, a possible leak (only a pointer into the block's middle
# is left) and an invalid write, so the checks below cannot pass vacuously.
printf '#include <stdlib.h>\nchar *p, *q;\nint main(void) { p = malloc(64); p[70] = 1; p = 0; q = malloc(32); q += 8; return 0; }\n' >"$WORK/leak.c"
gcc -O0 -g -o "$BIN/leak" "$WORK/leak.c" 2>/dev/null
"${VALGRIND[@]}" "$BIN/leak" >"$WORK/vg-leak.log" 2>&1
st=$?
check "valgrind settings catch a deliberate leak, possible leak and overrun (status $st, want 99)" \
    bash -c "[ $st = 99 ] && grep -q 'definitely lost' '$WORK/vg-leak.log' && grep -q 'possibly lost' '$WORK/vg-leak.log' &&
        grep -q 'Invalid write' '$WORK/vg-leak.log'"
lab_exec "$LAB" r1 "${VALGRIND[@]}" "$BIN/api_test" eth0 "$GROUP" 6550 >"$WORK/vg-api.log" 2>&1
st=$?
check "api_test under valgrind exits 0 (got $st; 99 = valgrind errors)" [ "$st" = 0 ]
[ "$st" = 0 ] || grep -E '^FAIL|api_test:' "$WORK/vg-api.log" | sed 's/^/    /'
vg_clean "api_test" "$WORK/vg-api.log"
lab_exec "$LAB" r1 "${VALGRIND[@]}" "$BIN/sweep_test" eth0 "$GROUP" 6650 >"$WORK/vg-sweep.log" 2>&1
st=$?
check "sweep_test under valgrind exits 0 (got $st; 99 = valgrind errors)" [ "$st" = 0 ]
[ "$st" = 0 ] || grep -E '^FAIL|sweep_test:' "$WORK/vg-sweep.log" | sed 's/^/    /'
vg_clean "sweep_test" "$WORK/vg-sweep.log"

PORT=6560
set_loss "$LOSS" "$PORT"
mkdir -p "$WORK/f-r1" "$WORK/f-r2" "$WORK/f-r3"
lab_exec "$LAB" r1 "${VALGRIND[@]}" "$BIN/receiver" "$GROUP" "$PORT" eth0 -n 5 -o "$WORK/f-r1" -t 240 >"$WORK/f-r1.log" 2>&1 &
p1=$!
lab_exec "$LAB" r2 "${VALGRIND[@]}" "$BIN/epoll_receiver" "$GROUP" "$PORT" eth0 -n 5 -o "$WORK/f-r2" -t 240 >"$WORK/f-r2.log" 2>&1 &
p2=$!
# This one waits for more than will come and is stopped with SIGTERM.
lab_exec "$LAB" r3 "${VALGRIND[@]}" "$BIN/epoll_receiver" "$GROUP" "$PORT" eth0 -n 1000 -o "$WORK/f-r3" -t 240 >"$WORK/f-r3.log" 2>&1 &
p3=$!
for r in r1 r2 r3; do wait_joined "$r" || ko "receiver on $r ready"; done
t=$(date +%s.%N)
lab_exec "$LAB" s "${VALGRIND[@]}" "$BIN/sender" "$GROUP" "$PORT" eth0 -r 20000000 -m "hello valgrind" \
    "$WORK/src/empty.bin" "$WORK/src/small.bin" -d "$WORK/src/tiny.bin" "$WORK/src/one.bin" >"$WORK/f-s.log" 2>&1
st=$?
check "C sender under valgrind exits 0 ($(secs "$t") s; got $st)" [ "$st" = 0 ]
vg_clean "C sender" "$WORK/f-s.log"
wait_rc "C receiver under valgrind (r1)" "$p1" "$WORK/f-r1.log"
wait_rc "C epoll receiver under valgrind (r2)" "$p2" "$WORK/f-r2.log"
for r in r1 r2; do
    vg_clean "C receiver on $r" "$WORK/f-$r.log"
    same_files "f/$r" "$WORK/f-$r" empty.bin small.bin tiny.bin one.bin
    has_message "f/$r" "$WORK/f-$r" "hello valgrind"
done
# r3 got the same 5 objects and now waits; SIGTERM it (valgrind passes the
# signal on; the program's signalfd ends its loop and it frees everything).
for _ in $(seq 1 100); do
    [ "$(ls "$WORK/f-r3" | wc -l)" -ge 5 ] && break
    sleep 0.2
done
vpid=$(pgrep -f -- "-o $WORK/f-r3 " | head -1)
[ -n "$vpid" ] && kill -TERM "$vpid"
wait "$p3"
st=$?
check "epoll receiver under valgrind stops on SIGTERM with status 130 (got $st)" [ "$st" = 130 ]
vg_clean "epoll receiver stopped by SIGTERM" "$WORK/f-r3.log"
same_files "f/r3" "$WORK/f-r3" small.bin tiny.bin

finish
