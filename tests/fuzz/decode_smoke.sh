#!/usr/bin/env bash
# tests/fuzz/decode_smoke.sh -- a bounded cargo-fuzz run of the wire decoder
# (fuzz/fuzz_targets/decode.rs). Any crash, panic or over-allocation found by
# libFuzzer fails the test; the crashing input is kept in fuzz/artifacts/.
# FUZZ_SECS (default 30) sets the time. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECS:-30}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "FAIL: cargo-fuzz is not installed (run scripts/setup.sh)"
    echo "0 passed, 1 failed"
    exit 1
fi
# Stable Rust accepts the nightly-only sanitizer flags with RUSTC_BOOTSTRAP.
# -rss_limit_mb / -malloc_limit_mb: a datagram of at most 64 KiB must never
# make the decoder allocate more than a few MiB.
RUSTC_BOOTSTRAP=1 cargo fuzz run decode -- -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=64 -max_len=65535 2>&1 | tail -15
status=${PIPESTATUS[0]}
if [ "$status" = 0 ]; then
    echo "PASS: fuzz decode for ${secs}s"
    echo "1 passed, 0 failed"
    exit 0
fi
echo "FAIL: fuzz decode exited $status (inputs that crash are kept in fuzz/artifacts/decode/)"
echo "0 passed, 1 failed"
exit 1
