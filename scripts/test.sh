#!/usr/bin/env bash
# The whole test suite: unit and integration tests of every crate, the fault-injection scenarios
# (each alone, its observations printed), on SQLite always and on PostgreSQL when TEST_DATABASE_URL
# is set (each test creates and drops its own database), e.g.
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/test.sh
#
# With cargo-nextest (one process per test, all cores busy) when it is installed, else cargo test.
# Arguments go to the runner, e.g. `scripts/test.sh security::redirects`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
    echo "note: TEST_DATABASE_URL is not set; PostgreSQL tests will report themselves skipped" >&2
fi
if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --all-targets --no-fail-fast "$@"
fi
echo "note: cargo-nextest is not installed; using cargo test (cargo install cargo-nextest for a faster run)" >&2
exec cargo test --workspace --all-targets --no-fail-fast "$@"
