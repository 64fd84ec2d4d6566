#!/usr/bin/env bash
# Discovery (RFC 8414) and revocation (RFC 7009) checked by Authlib, an independent OAuth library
# from PyPI: auth-servers are started on free ports with throwaway SQLite databases, and
# scripts/discovery_interop.py validates their metadata with Authlib's
# AuthorizationServerMetadata(...).validate() (one with no clients at all, one with the demo data),
# then gets, introspects and revokes tokens with Authlib's OAuth2Session at the endpoints the
# metadata names.
#
#   scripts/discovery-interop.sh
#
# Needs python3 (with venv) and access to PyPI: scripts/discovery-interop-requirements.txt is
# installed into target/discovery-interop-venv, kept between runs and rebuilt when that file
# changes. Prints one line per check; stops at the first failure (exit status 1).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,12p' "$0"; exit 0 ;; esac

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED: $*" >&2; exit 1; }

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
python_venv scripts/discovery-interop-requirements.txt target/discovery-interop-venv
"$python" -c 'import sys, authlib; print(f"Python {sys.version.split()[0]}, Authlib {authlib.__version__}")'

echo "building auth-server"
cargo build --quiet --bin auth-server
# start SEED: an auth-server on a free port and a database of its own, with the demo data or none;
# sets port.
start() {
    port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env "APP__DEMO__SEED=$1" "APP__DATABASE__URL=sqlite://$work/auth-$1.db" "APP__SERVER__PORT=$port" APP__METRICS__PORT=0 \
        target/debug/auth-server serve >"$work/auth-server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 150); do
        "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:$port/health" 2>/dev/null && return 0
        kill -0 "$server" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$work/auth-server.log" >&2
    fail "the auth-server did not start"
}
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; }
interop() {
    "$python" scripts/discovery_interop.py "$@" || {
        echo "the auth-server's log:" >&2
        tail -20 "$work/auth-server.log" >&2
        exit 1
    }
}

# The issuer is the server's default, http://localhost:<port>: RFC 8414 wants https, and Authlib
# allows http only on loopback, as here.
start false
interop "http://127.0.0.1:$port" "http://localhost:$port" --metadata-only
stop
start true
interop "http://127.0.0.1:$port" "http://localhost:$port"
echo
echo "discovery-interop: Authlib validates the metadata and revokes through it"
