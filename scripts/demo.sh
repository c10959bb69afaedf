#!/usr/bin/env bash
# scripts/demo.sh [DEMO OPTIONS] -- installs what is missing (scripts/setup.sh),
# builds the release binary and runs `mcast demo` with the given options, e.g.
#   scripts/demo.sh --receivers 5 --loss 10 --size 50M
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# setup.sh may just have installed Rust with rustup.
command -v cargo >/dev/null || . "$HOME/.cargo/env"
cargo build --release -p mcast-cli
exec target/release/mcast demo "$@"
