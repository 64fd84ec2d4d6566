#!/usr/bin/env bash
# OpenID Connect checked end to end by Authlib, an independent relying-party library from PyPI: an
# auth-server with the demo data is started on a free port with a throwaway SQLite database, and
# scripts/oidc_interop.py, with requests as the browser, checks discovery (Authlib's OpenID
# Provider metadata validators), the code flow with PKCE and a nonce, the ID token (signature
# through jwks_uri, Authlib's CodeIDToken / ImplicitIDToken validation: iss, aud, exp, iat, nonce,
# at_hash), userinfo, refresh, max_age, prompt=none, form_post, the implicit flow and RP-initiated
# logout.
#
#   scripts/oidc-interop.sh
#
# Needs python3 (with venv) and access to PyPI: scripts/oidc-interop-requirements.txt is installed
# into target/oidc-interop-venv, kept between runs and rebuilt when that file changes. Prints one
# line per check; stops at the first failure (exit status 1), showing the server's log.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,14p' "$0"; exit 0 ;; esac

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
python_venv scripts/oidc-interop-requirements.txt target/oidc-interop-venv
"$python" -c 'import sys, authlib; print(f"Python {sys.version.split()[0]}, Authlib {authlib.__version__}")'

echo "building auth-server"
cargo build --quiet --bin auth-server

# The demo data (the OIDC client rp, the user admin with a profile) on a free port. The issuer is
# set to the address the checks use, so that the endpoints the metadata names, the browser's
# cookies and the ID tokens' iss all agree; Authlib allows http only on loopback, as here.
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
issuer="http://127.0.0.1:$port"
env APP__DEMO__SEED=true "APP__DATABASE__URL=sqlite://$work/auth.db" "APP__SERVER__PORT=$port" APP__METRICS__PORT=0 \
    "APP__SERVER__ISSUER=$issuer" target/debug/auth-server serve >"$work/auth-server.log" 2>&1 &
server=$!
started=""
for _ in $(seq 1 150); do
    if "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "$issuer/health" 2>/dev/null; then started=yes; break; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
done
if [ -z "$started" ]; then
    tail -20 "$work/auth-server.log" >&2
    fail "the auth-server did not start"
fi

"$python" scripts/oidc_interop.py "$issuer" || {
    echo "the auth-server's log:" >&2
    tail -30 "$work/auth-server.log" >&2
    exit 1
}
echo
echo "oidc-interop: Authlib signs in through the code and implicit flows, validates the ID tokens and logs out"
