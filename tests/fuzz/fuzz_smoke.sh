#!/usr/bin/env bash
# tests/fuzz/fuzz_smoke.sh -- bounded cargo-fuzz runs of every fuzz target:
#   decode    the wire decoder (fuzz/fuzz_targets/decode.rs)
#   receiver  the receiver state machine fed arbitrary datagram sequences
#   sender    the sender state machine fed arbitrary (forged) feedback, with
#             its output held to its rate (no amplification)
# Any crash, panic, failed assertion or over-allocation found by libFuzzer
# fails the test; the crashing input is kept in fuzz/artifacts/TARGET/.
# Each run starts from the checked-in seed corpus fuzz/seeds/TARGET (read
# only; what a run finds goes to fuzz/corpus/TARGET, not checked in).
# FUZZ_SECS (default 60) is the time per target. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECS:-60}
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "FAIL: cargo-fuzz is not installed (run scripts/setup.sh)"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
for target in decode receiver sender; do
    # Stable Rust accepts the nightly-only sanitizer flags with
    # RUSTC_BOOTSTRAP. -malloc_limit_mb: no single allocation may be large
    # (a datagram is at most 64 KiB; the state machines' limits are a few MiB).
    case $target in
        decode) limit=64 ;;
        *) limit=256 ;;
    esac
    if [ -z "$(ls -A "fuzz/seeds/$target" 2>/dev/null)" ]; then
        echo "FAIL: no seed corpus in fuzz/seeds/$target"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "fuzz/corpus/$target"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- -max_total_time="$secs" -rss_limit_mb=1024 \
        -malloc_limit_mb="$limit" -max_len=65535 2>&1 | tail -6
    status=${PIPESTATUS[0]}
    if [ "$status" = 0 ]; then
        echo "PASS: fuzz $target for ${secs}s"
        passed=$((passed + 1))
    else
        echo "FAIL: fuzz $target exited $status (inputs that crash are kept in fuzz/artifacts/$target/)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
