#!/usr/bin/env bash
# Starts both servers with the demo data on a local SQLite file (data/auth.db), building first if
# needed. Ctrl-C stops both (gracefully: requests in flight are answered first).
#
#   scripts/run.sh            auth-server on :8081, resource-server on :8080
#   scripts/run.sh --tls      the same over HTTPS, with a local CA from scripts/dev-cert.sh
#                             (curl --cacert data/tls/ca.pem https://localhost:8081/...)
#   AUTH_PORT=9091 RESOURCE_PORT=9090 scripts/run.sh      other ports
#
# Any other APP__… variable you set is passed to both, e.g. APP__DATABASE__URL=postgres://… (see
# docs/configuration.md). The binaries are then in target/release/.
set -euo pipefail
cd "$(dirname "$0")/.."

tls=false
[ "${1:-}" = "--tls" ] && tls=true
auth_port=${AUTH_PORT:-8081}
resource_port=${RESOURCE_PORT:-8080}
if [ -n "${APP__SERVER__PORT:-}" ]; then
    echo "run.sh starts two servers: set AUTH_PORT and RESOURCE_PORT instead of APP__SERVER__PORT" >&2
    exit 2
fi

cargo build --release --bin auth-server --bin resource-server
scheme=http
if $tls; then
    scheme=https
    scripts/dev-cert.sh data/tls
    export APP__SERVER__TLS__CERT=data/tls/localhost.pem APP__SERVER__TLS__KEY=data/tls/localhost-key.pem
    export APP__INTROSPECTION__CA_FILE=data/tls/ca.pem
fi
export APP__INTROSPECTION__URL="${APP__INTROSPECTION__URL:-$scheme://localhost:$auth_port/oauth/check_token}"
export APP__DEMO__SEED="${APP__DEMO__SEED:-true}"
export APP__DATABASE__URL="${APP__DATABASE__URL:-sqlite://data/auth.db}"
export RUST_LOG="${RUST_LOG:-info}"

pids=()
# Ctrl-C reaches both servers from the terminal already: each stops gracefully, and a second
# signal would make it stop at once, so Ctrl-C only waits. Anything else stops them with SIGTERM.
stop() {
    trap - INT TERM EXIT
    [ "$1" = INT ] || for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop INT' INT
trap 'stop TERM' TERM EXIT

APP__SERVER__PORT=$auth_port target/release/auth-server serve &
pids+=($!)
APP__SERVER__PORT=$resource_port target/release/resource-server &
pids+=($!)

echo "auth-server on $scheme://localhost:$auth_port, resource-server on $scheme://localhost:$resource_port (Ctrl-C stops both)"
# Whichever stops first (or Ctrl-C) stops the other.
wait -n
