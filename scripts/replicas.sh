#!/usr/bin/env bash
# Scale-out: two auth servers on one PostgreSQL database sharing one session key, and a resource
# server, and what that must give:
#   - a token from one replica is accepted by the other and by the resource server;
#   - a sign-in started on one finishes on the other (the session cookie is readable by both);
#   - a code issued by one is redeemed at the other, exactly once;
#   - 20 concurrent redemptions of one code, spread over both replicas, succeed exactly once;
#   - failed passwords count on both replicas together, through one Redis (brute_force.store =
#     "redis", 4 failures per account): two on each lock the account on either.
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
#   TEST_REDIS_URL=redis://127.0.0.1:6379 scripts/replicas.sh
#
# Creates (and drops) its own database on that server; its Redis keys have a prefix of this run's
# own and expire with brute_force.window_seconds. Stops everything it starts.
set -euo pipefail
cd "$(dirname "$0")/.."

admin=${TEST_DATABASE_URL:?set TEST_DATABASE_URL to a PostgreSQL server where a database can be created}
database="replicas_$(date +%s)_$RANDOM"
redis=${TEST_REDIS_URL:-redis://127.0.0.1:6379}
key_prefix="replicas:$database:"
url=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin" "$database")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
A_PORT=$(free_port); B_PORT=$(free_port); R_PORT=$(free_port)
A=http://localhost:$A_PORT
B=http://localhost:$B_PORT
R=http://localhost:$R_PORT

work=$(mktemp -d)
jar="$work/cookies.txt"
curl_tls=()
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=lib/walk.sh
source scripts/lib/walk.sh

cargo build --quiet --bin auth-server --bin resource-server
# The replicas count sign-in failures in this Redis: it must answer (PING) before they start.
python3 - "$redis" <<'PING' || { echo "FAILED: no Redis answers at $redis (set TEST_REDIS_URL)" >&2; exit 1; }
import socket, sys, urllib.parse as u
url = u.urlsplit(sys.argv[1])
with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=3) as s:
    if url.password:
        s.sendall(b"AUTH %s\r\n" % url.password.encode())
        s.recv(64)
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
PING
psql "$admin" -qc "CREATE DATABASE $database"
# One key for both replicas: either can read the other's session cookies.
session_key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(64))')

# Both replicas start at once on the empty database: migrations and demo data must not collide.
# They count failed sign-ins in one Redis, under this run's prefix.
for name in a b; do
    port=$A_PORT; [ "$name" = b ] && port=$B_PORT
    APP__SERVER__PORT=$port APP__METRICS__PORT=0 APP__DATABASE__URL=$url APP__DEMO__SEED=true \
        APP__SESSION__KEY=$session_key APP__BRUTE_FORCE__STORE=redis \
        APP__BRUTE_FORCE__REDIS_URL=$redis APP__BRUTE_FORCE__KEY_PREFIX=$key_prefix \
        APP__BRUTE_FORCE__MAX_FAILURES_PER_USER=4 \
        target/debug/auth-server serve >"$work/auth-$name.log" 2>&1 &
    pids+=($!)
done
# The resource server asks replica B about tokens replica A issues.
APP__SERVER__PORT=$R_PORT APP__METRICS__PORT=0 APP__INTROSPECTION__URL=$B/oauth/check_token \
    target/debug/resource-server >"$work/resource.log" 2>&1 &
pids+=($!)
for server in "$A" "$B" "$R"; do
    for _ in $(seq 1 150); do curl -sf -o /dev/null "$server/health" && break; sleep 0.2; done
    curl -sf -o /dev/null "$server/health" || { tail -20 "$work"/*.log; echo "FAILED: $server did not start" >&2; exit 1; }
done
echo "# replica A at $A, replica B at $B (one database, one session key, one Redis), resource server at $R"

call "a token from replica A" 200 -u dev:11 -d "grant_type=password&username=admin&password=123456" "$A/oauth/token"
TOKEN=$(json access_token)
REFRESH=$(json refresh_token)
call "replica B knows it (check_token)" 200 -u resource:resource-secret -d "token=$TOKEN" "$B/oauth/check_token"
expect user_name "$(json user_name)" admin
call "replica B refreshes it" 200 -u dev:11 -d "grant_type=refresh_token&refresh_token=$REFRESH" "$B/oauth/token"
call "replica B's own /hi accepts it" 200 -H "Authorization: Bearer $TOKEN" "$B/hi?name=1111"
expect body "$BODY" "hi , 1111"
call "the resource server accepts it" 200 -H "Authorization: Bearer $TOKEN" "$R/hi?name=1111"
expect body "$BODY" "hi , 1111"

AUTHORIZE="oauth/authorize?response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz"
call "authorize at A: sent to sign in" 303 "$A/$AUTHORIZE"
expect Location "$(header location)" /login
call "the login page at B continues A's request" 200 "$B/login"
echo "$BODY" | grep -q "to continue to <strong>dev</strong>" || fail "B does not see the request started at A"
CSRF=$(hidden _csrf)
call "sign in at B" 303 -d "username=admin&password=123456&_csrf=$CSRF" "$B/login"
case "$(header location)" in /oauth/authorize\?*) ;; *) fail "not sent back to the authorization request" ;; esac
call "authorize at B: signed in" 303 "$B/$AUTHORIZE"
expect Location "$(header location)" /oauth/confirm_access
call "the approval page at A" 200 "$A/oauth/confirm_access"
CSRF=$(hidden _csrf)
ID=$(hidden authorization_id)
call "approve at A: A issues the code" 303 -d "user_oauth_approval=true&scope.app=true&_csrf=$CSRF&authorization_id=$ID" "$A/oauth/authorize"
CODE=$(param code "$(header location)")
[ -n "$CODE" ] || fail "no code"
EXCHANGE="grant_type=authorization_code&redirect_uri=http://www.baidu.com&code="
call "redeem A's code at B" 200 -u dev:11 -d "$EXCHANGE$CODE" "$B/oauth/token"
call "redeem it again at A: refused" 400 -u dev:11 -d "$EXCHANGE$CODE" "$A/oauth/token"
expect error "$(json error)" invalid_grant

call "a second code from B (approval remembered)" 303 "$B/$AUTHORIZE"
CODE=$(param code "$(header location)")
[ -n "$CODE" ] || fail "no code"
step="20 concurrent redemptions of one code over both replicas"
echo
echo "## $step"
redeemers=()
for i in $(seq 1 20); do
    server=$A; [ $((i % 2)) -eq 0 ] && server=$B
    curl -s -o /dev/null -w '%{http_code}\n' -u dev:11 -d "$EXCHANGE$CODE" "$server/oauth/token" >"$work/redeem-$i" &
    redeemers+=($!)
done
wait "${redeemers[@]}"
successes=$(cat "$work"/redeem-* | grep -c '^200$' || true)
refusals=$(cat "$work"/redeem-* | grep -c '^400$' || true)
echo "200: $successes, 400: $refusals"
expect "successful redemptions" "$successes" 1
expect "refused redemptions" "$refusals" 19

echo
echo "## failed passwords counted by both replicas together (one Redis, 4 failures per account)"
GUESS="grant_type=password&username=admin&password="
call "a wrong password at A (1 of 4)" 400 -u dev:11 -d "${GUESS}wrong1" "$A/oauth/token"
call "a wrong password at A (2 of 4)" 400 -u dev:11 -d "${GUESS}wrong2" "$A/oauth/token"
call "a wrong password at B (3 of 4)" 400 -u dev:11 -d "${GUESS}wrong3" "$B/oauth/token"
call "a wrong password at B (4 of 4)" 400 -u dev:11 -d "${GUESS}wrong4" "$B/oauth/token"
call "the 5th attempt at A: locked, even with the right password" 429 -u dev:11 -d "${GUESS}123456" "$A/oauth/token"
expect error "$(json error)" invalid_grant
retry_a=$(header retry-after)
[ "${retry_a:-0}" -ge 1 ] || fail "no Retry-After at A"
call "the 5th attempt at B: locked too" 429 -u dev:11 -d "${GUESS}123456" "$B/oauth/token"
retry_b=$(header retry-after)
[ "${retry_b:-0}" -ge 1 ] || fail "no Retry-After at B"
echo "429 at A (Retry-After: $retry_a) and at B (Retry-After: $retry_b): one limit for both replicas"

echo
echo "replicas: tokens, sessions, codes and sign-in limits work across both replicas"
