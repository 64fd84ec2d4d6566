#!/usr/bin/env bash
# The authorization code walkthrough in a real browser: headless Chromium (Debian's package)
# driven by Playwright (playwright-core from npm), JavaScript off. Starts its own auth server with
# the demo data on a throwaway SQLite file, and saves screenshots of the login and approval pages
# to docs/screenshots (or $SCREENSHOTS).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
(cd tests/browser && npm ci --no-audit --no-fund --silent)

cargo build --quiet --bin auth-server
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
APP__SERVER__PORT=$port APP__METRICS__PORT=0 APP__DEMO__SEED=true APP__DATABASE__URL="sqlite://$work/auth.db" \
    target/debug/auth-server > "$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
done

BASE_URL="http://127.0.0.1:$port" SCREENSHOTS="${SCREENSHOTS:-$root/docs/screenshots}" \
    node tests/browser/walkthrough.mjs || { echo "--- server log" >&2; tail -30 "$work/server.log" >&2; exit 1; }
