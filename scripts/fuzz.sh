#!/usr/bin/env bash
# Fuzzes the request parsers with cargo-fuzz (libFuzzer, AddressSanitizer): the token and
# authorize endpoints' form and query decoding, the Authorization header (Basic and Bearer),
# redirect URI matching and scope parsing (docs/security.md, item 23), and the Java serialization
# reader of `auth-server spring import-tokens`.
#
# Builds every target in fuzz/, runs each for SECONDS_PER_TARGET (default 12: the five take about
# a minute, plus the build) from its committed seeds (fuzz/seeds/<target>) and what earlier runs
# found (fuzz/corpus/<target>, not committed), prints how many inputs each target ran and whether
# it crashed, and exits non-zero naming every target that crashed and its crash file
# (fuzz/artifacts/<target>/...). A crash input belongs in fuzz/seeds/<target> and, with its fix, in
# a unit test beside the parser.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-12}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi

# cargo-fuzz asks rustc for nightly-only flags (-Zsanitizer, sanitizer coverage); only a stable
# toolchain is installed, and RUSTC_BOOTSTRAP makes it accept them. Stable ships the
# AddressSanitizer runtime, so the default sanitizer works as on nightly.
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== building the fuzz targets"
cargo fuzz build --fuzz-dir fuzz

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

echo "== fuzzing each target for ${seconds}s"
crashed=()
for target in $(cargo fuzz list --fuzz-dir fuzz); do
    mkdir -p "fuzz/corpus/$target"
    log="$logs/$target.log"
    status=0
    # -timeout: an input that hangs is a finding too, and must not outlast the time budget.
    cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
    # The final statistics are not printed when an input kills the run; then the last status line
    # (`#<runs> ...`) has the count.
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    if [[ -z "$runs" ]]; then
        runs="$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)"
    fi
    if [[ "$status" -eq 0 ]]; then
        printf '%-22s %10s runs   no crash\n' "$target" "${runs:-?}"
        continue
    fi
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    printf '%-22s %10s runs   CRASHED (exit %s): %s\n' "$target" "${runs:-?}" "$status" \
        "${artifact:-no crash file written}"
    grep -E -A 4 "panicked at|ERROR: AddressSanitizer|^SUMMARY" "$log" | head -n 30 | sed 's/^/    /'
    if [[ -z "$artifact" ]]; then
        tail -n 20 "$log" | sed 's/^/    /'
    fi
    crashed+=("$target: ${artifact:-see the output above}")
done

if [[ "${#crashed[@]}" -gt 0 ]]; then
    echo "== fuzzing FAILED"
    printf '  %s\n' "${crashed[@]}"
    exit 1
fi
echo "== fuzzing passed: no crash"
