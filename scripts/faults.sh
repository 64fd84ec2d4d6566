#!/usr/bin/env bash
# Fault injection (docs/security.md, items 20, 22, 24), with what each scenario observed printed: the
# real auth-server and resource-server binaries as child processes on a throwaway database, and
#   - PostgreSQL stopped for 3 s under a token-issuing load (a TCP proxy in front of it closes every
#     session and refuses connections), and a SQLite file made unwritable (RLIMIT_FSIZE 0 on the
#     server: every write fails, reads go on): answers are 200 or 503 JSON, every token answered
#     200 is stored, no rotating refresh token is lost, service resumes within 10 s;
#   - the resource server with the auth server killed (kill -9) and restarted: 503, never 200,
#     for a token it cannot check; 200 again once the auth server is back;
#   - kill -9 of the auth server under load, then a restart: every token answered 200 validates.
#
# Debug build, the one `cargo test --workspace` (scripts/test.sh, CI) already makes, so nothing is
# compiled twice; the slower server also keeps more requests in flight when the fault strikes.
# PostgreSQL scenarios run when TEST_DATABASE_URL is set, e.g.
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/faults.sh
#
# One test at a time, so each one's observations print together (they take turns anyway).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
    echo "note: TEST_DATABASE_URL is not set; the PostgreSQL scenarios will report themselves skipped" >&2
fi
cargo build -p resource-server --bin resource-server
cargo test -p auth-server --test faults -- --nocapture --test-threads=1 "$@"
