#!/usr/bin/env bash
# The JWT access tokens verify in an independent JOSE implementation: PyJWT (with cryptography),
# not the Rust jsonwebtoken crate the server signs with. For each of RS256, ES256, EdDSA and HS256,
# an auth-server with the demo data and APP__TOKENS__ACCESS_TOKEN_TYPE=jwt is started on a free port
# with a throwaway SQLite database, and scripts/jwt_interop.py checks its tokens: signature, exp and
# iss by PyJWT through /oauth2/jwks (PyJWKClient) and through the PEM of /oauth/token_key (HS256:
# the shared secret), the claims, introspection, and that forgeries are refused.
#
#   scripts/jwt-interop.sh            all four algorithms
#   scripts/jwt-interop.sh ES256 ...  only those
#
# Needs python3 (with venv) and access to PyPI: scripts/jwt-interop-requirements.txt is installed
# into target/jwt-interop-venv, kept between runs and rebuilt when that file changes. Prints one
# line per check; stops at the first failure (exit status 1). Stops the servers it started and
# removes its temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."

algorithms=("$@")
[ ${#algorithms[@]} -gt 0 ] || algorithms=(RS256 ES256 EdDSA HS256)
for alg in "${algorithms[@]}"; do
    case "$alg" in
        RS256|ES256|EdDSA|HS256) ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown algorithm: $alg (RS256, ES256, EdDSA or HS256)" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d)
server=""
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# PyJWT in a virtual environment of its own, reused while the requirements and Python are the same.
# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
python_venv scripts/jwt-interop-requirements.txt target/jwt-interop-venv
"$python" -c 'import sys, jwt, cryptography
print(f"Python {sys.version.split()[0]}, PyJWT {jwt.__version__}, cryptography {cryptography.__version__}")'

echo "building auth-server"
cargo build --quiet --bin auth-server
bin=target/debug/auth-server

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# up URL: whether the server answers its health check (Python rather than curl: fewer needs).
up() {
    "$python" -c 'import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/health", timeout=2)
except Exception:
    sys.exit(1)' "$1"
}

# start ALG [ENV...]: a fresh server (a new database) for ALG, on a free port; sets base and port.
start() {
    local alg=$1 dir="$work/$1"
    shift
    mkdir -p "$dir"
    port=$(free_port)
    base=http://127.0.0.1:$port
    env APP__DEMO__SEED=true "APP__DATABASE__URL=sqlite://$dir/auth.db" "APP__SERVER__PORT=$port" APP__METRICS__PORT=0 \
        APP__TOKENS__ACCESS_TOKEN_TYPE=jwt "APP__JWT__ALGORITHM=$alg" "$@" \
        "$bin" serve >"$dir/auth-server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 150); do
        up "$base" && return 0
        kill -0 "$server" 2>/dev/null || break
        sleep 0.2
    done
    echo "FAILED: the $alg auth-server did not start; its log:" >&2
    tail -20 "$dir/auth-server.log" >&2
    exit 1
}

for alg in "${algorithms[@]}"; do
    extra=()
    args=()
    if [ "$alg" = HS256 ]; then
        secret=$("$python" -c 'import secrets; print(secrets.token_urlsafe(48))')
        extra=("APP__JWT__SECRET=$secret")
        args=(--secret "$secret")
    fi
    start "$alg" "${extra[@]}"
    # The issuer is the server's default: http://localhost:<port>.
    "$python" scripts/jwt_interop.py "$base" "$alg" --issuer "http://localhost:$port" "${args[@]}" || {
        echo "the $alg auth-server's log:" >&2
        tail -20 "$work/$alg/auth-server.log" >&2
        exit 1
    }
    stop_server
done
echo
echo "jwt-interop: the tokens of ${algorithms[*]} verify with PyJWT"
