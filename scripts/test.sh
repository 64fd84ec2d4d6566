#!/usr/bin/env bash
# The whole test suite: unit and integration tests of every crate, on SQLite always and on
# PostgreSQL when TEST_DATABASE_URL is set (each test creates and drops its own database), e.g.
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
    echo "note: TEST_DATABASE_URL is not set; PostgreSQL tests will report themselves skipped" >&2
fi
cargo test --workspace --all-targets "$@"
