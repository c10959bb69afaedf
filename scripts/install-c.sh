#!/usr/bin/env bash
# scripts/install-c.sh -- builds libmcast (the C library, ffi/) and installs
# it with its header and a pkg-config file:
#
#   scripts/install-c.sh                      # into /usr/local (as root)
#   scripts/install-c.sh --prefix ~/.local    # anywhere else
#
#   PREFIX/lib/libmcast.so.X.Y.Z, libmcast.so.X (the soname), libmcast.so
#   PREFIX/lib/libmcast.a
#   PREFIX/include/mcast.h
#   PREFIX/lib/pkgconfig/mcast.pc
#
# after which `cc app.c $(pkg-config --cflags --libs mcast)` works
# (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig for a prefix pkg-config does not
# search). For prefixes other than /usr and /usr/local the .pc file adds an
# rpath, so programs run without LD_LIBRARY_PATH; for those two, ldconfig is
# run when installing as root.
#
# Options: --prefix DIR (default $PREFIX or /usr/local), --libdir DIR
# (default PREFIX/lib), --no-build (install what target/release holds).
# DESTDIR stages the files under another root (for packaging).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
LIBDIR=
build=1
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#*=}; shift ;;
        --libdir) LIBDIR=$2; shift 2 ;;
        --libdir=*) LIBDIR=${1#*=}; shift ;;
        --no-build) build=0; shift ;;
        -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install-c.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $PREFIX in
    /*) ;;
    *) PREFIX=$(pwd)/$PREFIX ;;
esac
PREFIX=${PREFIX%/}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=$PREFIX/include
DESTDIR=${DESTDIR:-}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
HEADER=$ROOT/include/mcast.h

if [ "$build" = 1 ]; then
    echo "install-c.sh: cargo build --release -p mcast-ffi" >&2
    (cd "$ROOT" && cargo build --release -p mcast-ffi)
fi
for f in "$TARGET/libmcast.so" "$TARGET/libmcast.a" "$HEADER"; do
    [ -f "$f" ] || { echo "install-c.sh: error: $f is missing (build first)" >&2; exit 1; }
done

ver() { awk -v m="MCAST_VERSION_$1" '$1 == "#define" && $2 == m { print $3 }' "$HEADER"; }
MAJOR=$(ver MAJOR)
VERSION=$MAJOR.$(ver MINOR).$(ver PATCH)
[ -n "$MAJOR" ] || { echo "install-c.sh: error: no version in $HEADER" >&2; exit 1; }
SONAME=$(readelf -d "$TARGET/libmcast.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ -n "$SONAME" ] && [ "$SONAME" != "libmcast.so.$MAJOR" ]; then
    echo "install-c.sh: error: $TARGET/libmcast.so has soname $SONAME, the header says ABI $MAJOR" >&2
    exit 1
fi

install -d "$DESTDIR$LIBDIR" "$DESTDIR$LIBDIR/pkgconfig" "$DESTDIR$INCLUDEDIR"
install -m 755 "$TARGET/libmcast.so" "$DESTDIR$LIBDIR/libmcast.so.$VERSION"
ln -sfn "libmcast.so.$VERSION" "$DESTDIR$LIBDIR/libmcast.so.$MAJOR"
ln -sfn "libmcast.so.$MAJOR" "$DESTDIR$LIBDIR/libmcast.so"
install -m 644 "$TARGET/libmcast.a" "$DESTDIR$LIBDIR/libmcast.a"
install -m 644 "$HEADER" "$DESTDIR$INCLUDEDIR/mcast.h"

rpath=
case $LIBDIR in
    /usr/lib | /usr/lib64 | /usr/local/lib | /lib | /lib64 | /usr/lib/*-linux-gnu) ;;
    *) rpath=" -Wl,-rpath,\${libdir}" ;;
esac
cat >"$DESTDIR$LIBDIR/pkgconfig/mcast.pc" <<EOF
prefix=$PREFIX
libdir=$LIBDIR
includedir=$INCLUDEDIR

Name: mcast
Description: Reliable IPv6 multicast (NORM, RFC 5740): the C library
Version: $VERSION
Libs: -L\${libdir} -lmcast$rpath
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
EOF

if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && [ -z "$rpath" ] && command -v ldconfig >/dev/null; then
    ldconfig || true
fi
echo "install-c.sh: installed libmcast $VERSION into $PREFIX:"
echo "  $LIBDIR/libmcast.so.$VERSION (+ libmcast.so.$MAJOR, libmcast.so), $LIBDIR/libmcast.a"
echo "  $INCLUDEDIR/mcast.h, $LIBDIR/pkgconfig/mcast.pc"
case ":${PKG_CONFIG_PATH:-}:$(pkg-config --variable pc_path pkg-config 2>/dev/null || true):" in
    *":$LIBDIR/pkgconfig:"*) ;;
    *) echo "  (export PKG_CONFIG_PATH=$LIBDIR/pkgconfig for pkg-config to find it)" ;;
esac
