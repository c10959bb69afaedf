#!/usr/bin/env bash
# scripts/setup.sh -- installs everything the mcast project needs on a fresh
# Debian (bookworm) machine.  Idempotent and quick when all is present: it
# checks with dpkg-query first and runs apt-get update + install only for
# what is missing.  Runs as root, or re-executes itself through sudo.
#
#   scripts/setup.sh            install what is missing
#   scripts/setup.sh --check    only report; exit 1 if something is missing
#
# Installs: iproute2 nftables procps iputils-ping smcroute (network lab: ip
# netns, veth, bridge, ping; multicast routing between namespaces;
# nft, tc, sysctl), libnorm1 libnorm-dev g++ make pkg-config (libnorm peer for
# interop tests, C API tests), valgrind binutils (memcheck and nm for the C
# API tests), tshark (NORM dissector; dumpcap for captures), python3,
# python3-venv, python3-pip (the Python package and its tests), nodejs and
# npm when no node is installed (the Node module and its tests), iperf3
# (a TCP flow sharing a bottleneck with mcast in the congestion tests), uftp
# (a peer `mcast bench` compares with; its service is kept off), jq,
# xxd, diffutils, coreutils, curl; Rust through rustup (the minimal stable
# toolchain, into ~/.cargo) when no cargo is installed (Debian's rustc is
# older than the project's rust-version, 1.82); and cargo-fuzz (cargo
# install).  Scripts that run cargo after this one source ~/.cargo/env when
# cargo is not on their PATH.
set -euo pipefail

PACKAGES=(
    iproute2 nftables procps iputils-ping smcroute
    libnorm1 libnorm-dev g++ make pkg-config
    valgrind binutils
    tshark iperf3 uftp
    python3 python3-venv python3-pip jq xxd diffutils coreutils ca-certificates curl
)

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

log() { echo "setup: $*"; }

if [ "$(id -u)" -ne 0 ] && [ "$check_only" = 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        log "not root: re-running through sudo"
        exec sudo -E bash "$0" "$@"
    fi
    echo "setup: error: must run as root (and sudo is not available)" >&2
    exit 1
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: error: this script supports Debian/Ubuntu (dpkg + apt-get) only" >&2
    exit 1
fi

# Node.js and npm (the Node module and its tests): Debian's packages unless a
# node is already installed some other way (nvm, NodeSource, the machine's
# image); then it is left alone.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        :
    else
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} Debian packages already installed: ${PACKAGES[*]}"
elif [ "$check_only" = 1 ]; then
    log "missing Debian packages: ${missing[*]}"
else
    log "missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark pulls in wireshark-common, which asks whether non-root users may
    # capture; answer "no" up front so the install never prompts.
    if printf '%s\n' "${missing[@]}" | grep -qx tshark; then
        log "preseeding wireshark-common/install-setuid=false"
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    fi
    # iperf3 asks whether to run a system-wide server; it must not.
    if printf '%s\n' "${missing[@]}" | grep -qx iperf3; then
        log "preseeding iperf3/start_daemon=false"
        echo "iperf3 iperf3/start_daemon boolean false" | debconf-set-selections
    fi
    # uftp's package starts a uftpd service, which would join multicast
    # groups on this machine's own network: forbid service starts while
    # installing (policy-rc.d), and disable the service after.
    blocked_services=0
    if printf '%s\n' "${missing[@]}" | grep -qx uftp && [ ! -e /usr/sbin/policy-rc.d ]; then
        log "blocking service starts during the install (/usr/sbin/policy-rc.d)"
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        blocked_services=1
    fi
    log "apt-get update"
    apt-get update -q
    log "apt-get install -y --no-install-recommends ${missing[*]}"
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    [ "$blocked_services" = 1 ] && rm -f /usr/sbin/policy-rc.d
    missing=()
fi
# mcast bench runs uftpd only inside its own namespaces; never as a service.
if [ -e /lib/systemd/system/uftp.service ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now uftp.service >/dev/null 2>&1 || true
fi
if [ -e /etc/init.d/uftp ] && command -v update-rc.d >/dev/null; then
    update-rc.d uftp disable >/dev/null 2>&1 || true
fi

# Tools that must now be there.
fail=0
for c in ip nft tc sysctl ping smcrouted gcc g++ make pkg-config valgrind nm readelf tshark dumpcap iperf3 python3 node npm jq xxd cmp timeout; do
    if ! command -v "$c" >/dev/null 2>&1; then
        echo "setup: error: command '$c' still missing" >&2
        fail=1
    fi
done
if [ ! -f /usr/include/normApi.h ]; then
    echo "setup: error: /usr/include/normApi.h missing (libnorm-dev)" >&2
    fail=1
fi
# Rust: rustup's stable toolchain when there is no cargo at all.
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    # shellcheck source=/dev/null
    . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    if [ "$check_only" = 1 ]; then
        log "missing: Rust (cargo)"
        missing+=(rust)
    else
        log "installing Rust with rustup (stable, minimal profile) into $HOME/.cargo"
        if curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain stable; then
            # shellcheck source=/dev/null
            . "$HOME/.cargo/env"
        else
            echo "setup: error: installing Rust with rustup failed" >&2
        fi
    fi
fi
if command -v cargo >/dev/null 2>&1; then
    log "rust: $(cargo --version)"
    # cargo-fuzz for the fuzz smoke tests (tests/fuzz/); about a minute to
    # build on a fresh machine, skipped when present.
    if ! cargo fuzz --version >/dev/null 2>&1; then
        if [ "$check_only" = 1 ]; then
            log "missing: cargo-fuzz"
            missing+=(cargo-fuzz)
        else
            log "cargo install cargo-fuzz"
            cargo install --locked cargo-fuzz --version 0.13.2 || { echo "setup: error: cargo install cargo-fuzz failed" >&2; fail=1; }
        fi
    fi
else
    [ "$check_only" = 1 ] || { echo "setup: error: cargo not found and rustup could not install it (https://rustup.rs)" >&2; fail=1; }
fi
if command -v tshark >/dev/null 2>&1; then
    if tshark -G protocols 2>/dev/null | awk -F'\t' '$3=="norm"' | grep -q .; then
        log "tshark: $(tshark -v 2>/dev/null | head -1) (has the NORM dissector)"
    else
        echo "setup: error: tshark has no NORM dissector" >&2
        fail=1
    fi
fi
log "libnorm: $(dpkg-query -W -f='${Version}' libnorm-dev 2>/dev/null || echo '?')"

if [ "$check_only" = 1 ] && [ ${#missing[@]} -gt 0 ]; then
    exit 1
fi
[ "$fail" = 0 ] || exit 1
log "done"
