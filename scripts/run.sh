#!/usr/bin/env bash
# Starts both servers with the demo data on a local SQLite file (data/auth.db), building first if
# needed. Ctrl-C stops both.
#
#   scripts/run.sh            auth-server on :8081, resource-server on :8080
#   scripts/run.sh --tls      the same over HTTPS, with a local CA from scripts/dev-cert.sh
#                             (curl --cacert data/tls/ca.pem https://localhost:8081/...)
#
# Any APP__… variable you set is passed through, e.g. APP__DATABASE__URL=postgres://… scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tls=false
[ "${1:-}" = "--tls" ] && tls=true

cargo build --release --bin auth-server --bin resource-server
if $tls; then
    scripts/dev-cert.sh data/tls
    export APP__SERVER__TLS__CERT=data/tls/localhost.pem APP__SERVER__TLS__KEY=data/tls/localhost-key.pem
    export APP__INTROSPECTION__URL=https://localhost:8081/oauth/check_token APP__INTROSPECTION__CA_FILE=data/tls/ca.pem
fi
scheme=http
$tls && scheme=https

export APP__DEMO__SEED="${APP__DEMO__SEED:-true}"
export APP__DATABASE__URL="${APP__DATABASE__URL:-sqlite://data/auth.db}"
export RUST_LOG="${RUST_LOG:-info}"

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

target/release/auth-server serve &
pids+=($!)
target/release/resource-server &
pids+=($!)

echo "auth-server on $scheme://localhost:8081, resource-server on $scheme://localhost:8080 (Ctrl-C stops both)"
# Whichever stops first (or Ctrl-C) stops the other.
wait -n
