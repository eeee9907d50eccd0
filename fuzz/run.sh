#!/usr/bin/env bash
# Fuzz every target for SECONDS each (default 60), and replay every seed corpus.
#
#   fuzz/run.sh [SECONDS]
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without them it
# prints a `SKIP` line and exits 0, except under `CI=true`, where a fuzz run that cannot
# run fails (exit 1): a check that was not made never looks like a pass in CI. New inputs go to a temporary directory, never into corpus/; a
# crash is kept in fuzz/artifacts/TARGET/ and fails the run. The last line per target is
# `fuzz: TARGET: N executions in S s, corpus replayed (K inputs)`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
secs="${1:-60}"
case "$secs" in
    '' | *[!0-9]*)
        echo "usage: $0 [SECONDS]" >&2
        exit 2
        ;;
esac
targets=(cgsh parsers control_files ops)

# A missing prerequisite: fatal under CI=true, a visible skip otherwise.
missing() {
    if [ "${CI:-}" = true ]; then
        echo "fuzz: FAIL: CI=true and $1"
        exit 1
    fi
    echo "fuzz: SKIP: $1"
    exit 0
}
if ! command -v rustup >/dev/null 2>&1 || ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    missing "no nightly toolchain (cargo-fuzz builds with -Zsanitizer=address; install one with: rustup toolchain install nightly)"
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    missing "cargo-fuzz is not installed (install it with: cargo install cargo-fuzz)"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
work="$(mktemp -d /tmp/gpc-fuzz.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cargo +nightly fuzz build
status=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "corpus/$t"
    seeds=$(find "corpus/$t" -type f | wc -l)
    # Replay: every seed once (-runs=0 runs the initial corpus only).
    if ! cargo +nightly fuzz run "$t" "corpus/$t" -- -runs=0 >"$work/$t.replay" 2>&1; then
        echo "fuzz: $t: the seed corpus fails:"
        tail -40 "$work/$t.replay"
        status=1
        continue
    fi
    if [ "$secs" -gt 0 ]; then
        if ! cargo +nightly fuzz run "$t" "$work/$t" "corpus/$t" -- \
            -max_total_time="$secs" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
            >"$work/$t.log" 2>&1; then
            echo "fuzz: $t: FAILED (the input is in fuzz/artifacts/$t/):"
            tail -60 "$work/$t.log"
            status=1
            continue
        fi
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
        echo "fuzz: $t: ${runs:-?} executions in $secs s, corpus replayed ($seeds inputs)"
    else
        echo "fuzz: $t: corpus replayed ($seeds inputs)"
    fi
done
exit "$status"
