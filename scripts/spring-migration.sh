#!/usr/bin/env bash
# Migrating a live Spring Security OAuth2 deployment without downtime, with the real binaries: the
# tokens Spring issued (its JdbcTokenStore, real Java serialization from
# crates/auth-server/tests/fixtures/spring_token_store/rows.json) keep working once traffic moves.
#   1. Spring's database: a SQLite file with Spring's oauth_access_token and oauth_refresh_token,
#      standing for the Spring deployment still serving;
#   2. the new auth server on a database of its own (demo data), the resource server asking it;
#   3. `auth-server spring import-tokens --from sqlite://spring.db`, a dry run first, then for
#      real, into the database the running server uses;
#   4. traffic switched: every imported access token opens the resource server's /hi, the imported
#      refresh tokens refresh, expired and unusable ones are refused;
#   5. the import again, as right after the switch-over, before Spring is retired: nothing new,
#      nothing duplicated.
#
#   scripts/spring-migration.sh
#
# Needs python3 and curl. Prints one line per check; stops at the first failure (exit status 1)
# with the servers' logs. About 6 s once built.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,18p' "$0"; exit 0 ;; esac

fixtures=crates/auth-server/tests/fixtures/spring_token_store/rows.json
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
    echo "FAILED: $*" >&2
    for log in "$work"/*.log; do
        [ -f "$log" ] || continue
        echo "-- $(basename "$log"), last lines:" >&2
        tail -20 "$log" >&2
    done
    exit 1
}
ok() { echo "ok: $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# rows.json's cases, read once: case_field CASE FIELD ('' when null); cases_expected OUTCOME...: the
# names of the cases expected so, in rows.json's order.
declare -A cases=()
case_names=""
cases_tsv=$(python3 -c 'import json, sys
for c in json.load(open(sys.argv[1]))["cases"]:
    for field, value in c.items():
        print(c["case"] + "." + field, "" if value is None else value, sep="\t")' "$fixtures") \
    || fail "cannot read $fixtures"
while IFS=$'\t' read -r key value; do
    cases[$key]=$value
    [ "${key#*.}" != case ] || case_names+="$value "
done <<<"$cases_tsv"
case_field() { echo "${cases[$1.$2]:-}"; }
cases_expected() {
    local c outcome
    for c in $case_names; do
        for outcome in "$@"; do [ "$(case_field "$c" expected)" != "$outcome" ] || echo "$c"; done
    done
}
# request CURL_ARGUMENTS...: sets STATUS and BODY.
request() {
    STATUS=$(curl -sS -o "$work/body" -w '%{http_code}' "$@") || fail "curl could not reach the server: $*"
    BODY=$(cat "$work/body")
}
json() {
    python3 -c 'import json, sys
value = json.loads(sys.argv[1]).get(sys.argv[2], "")
print(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)' "$BODY" "$1" \
        || fail "not JSON: $BODY"
}
# hi TOKEN EXPECTED_STATUS WHAT: the resource server's /hi with the token.
hi() {
    request -H "Authorization: Bearer $1" "$R/hi?name=spring"
    [ "$STATUS" = "$2" ] || fail "$3: /hi answered HTTP $STATUS, expected $2: $BODY"
    if [ "$2" = 200 ] && [ "$BODY" != "hi , spring" ]; then fail "$3: /hi answered '$BODY'"; fi
}
check_token() { request -u resource:resource-secret -d "token=$1" "$A/oauth/check_token"; }
spring_rows() {
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(*(db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("oauth_access_token", "oauth_refresh_token")))' \
        "$work/spring.db"
}

echo "building auth-server and resource-server"
cargo build --quiet --bin auth-server --bin resource-server

echo
echo "# 1. Spring's database, as its JdbcTokenStore left it: $work/spring.db"
# Spring's schema.sql, SQLite flavour (spring_tables.sql), without its primary key on
# authentication_id: several fixture rows share one (Spring kept one row per user, client and scope
# at a time).
python3 - "$fixtures" "$work/spring.db" <<'EOF'
import json, sqlite3, sys
rows = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
db.executescript("""
create table oauth_access_token (token_id VARCHAR(256), token BLOB, authentication_id VARCHAR(256),
  user_name VARCHAR(256), client_id VARCHAR(256), authentication BLOB, refresh_token VARCHAR(256));
create table oauth_refresh_token (token_id VARCHAR(256), token BLOB, authentication BLOB);
""")
blob = lambda hex: None if hex is None else bytes.fromhex(hex)
for r in rows["oauth_access_token"]:
    db.execute("insert into oauth_access_token (token_id, token, authentication_id, user_name, client_id,"
               " authentication, refresh_token) values (?, ?, ?, ?, ?, ?, ?)",
               (r["token_id"], blob(r["token"]), r["authentication_id"], r["user_name"], r["client_id"],
                blob(r["authentication"]), r["refresh_token"]))
for r in rows["oauth_refresh_token"]:
    db.execute("insert into oauth_refresh_token (token_id, token, authentication) values (?, ?, ?)",
               (r["token_id"], blob(r["token"]), blob(r["authentication"])))
db.commit()
EOF
spring_before=$(spring_rows)
ok "Spring's tables hold $(echo "$spring_before" | cut -d' ' -f1) access and $(echo "$spring_before" | cut -d' ' -f2) refresh token rows (Java-serialized blobs)"

echo
echo "# 2. the new servers, beside Spring"
A_PORT=$(free_port)
R_PORT=$(free_port)
A=http://localhost:$A_PORT
R=http://localhost:$R_PORT
auth_db="sqlite://$work/auth.db"
APP__DEMO__SEED=true APP__DATABASE__URL=$auth_db APP__SERVER__PORT=$A_PORT APP__METRICS__PORT=0 \
    target/debug/auth-server serve >"$work/auth-server.log" 2>&1 &
pids+=($!)
# The resource server keeps the resource id Spring's tokens were issued for: Spring Boot's default,
# oauth2-resource (one fixture token is bound to it; a token bound to another id gets 403).
APP__SERVER__PORT=$R_PORT APP__METRICS__PORT=0 APP__INTROSPECTION__URL=$A/oauth/check_token \
    APP__INTROSPECTION__CLIENT_ID=resource APP__INTROSPECTION__CLIENT_SECRET=resource-secret \
    APP__RESOURCE__ID=oauth2-resource \
    target/debug/resource-server >"$work/resource-server.log" 2>&1 &
pids+=($!)
for server in "$A" "$R"; do
    for _ in $(seq 1 150); do curl -sf -o /dev/null "$server/health" && break; sleep 0.1; done
    curl -sf -o /dev/null "$server/health" || fail "$server did not start"
done
ok "auth server at $A ($auth_db, demo data), resource server at $R asking it"
user_access=$(case_field user_token access_token)
check_token "$user_access"
[ "$STATUS" = 400 ] || fail "before the import, check_token of a Spring token answered HTTP $STATUS: $BODY"
ok "before the import the new server does not know Spring's tokens (check_token: 400)"

echo
echo "# 3. the import, while the server runs"
cli() { APP__DATABASE__URL=$auth_db target/debug/auth-server spring import-tokens "$@" 2>&1; }
expected_report="imported: 5 access tokens, 4 refresh tokens
already imported: 0
skipped, expired: 3
skipped, client no longer registered: 1
skipped, user no longer exists: 1
unreadable: 2"
echo "\$ auth-server spring import-tokens --from sqlite://$work/spring.db --dry-run"
dry=$(cli --from "sqlite://$work/spring.db" --dry-run) || fail "the dry run failed: $dry"
echo "$dry" | sed 's/^/  | /'
grep -q "nothing was written" <<<"$dry" || fail "the dry run does not say nothing was written"
[[ "$dry" == *"$expected_report"* ]] || fail "the dry run's report is not the expected one"
check_token "$user_access"
[ "$STATUS" = 400 ] || fail "after the dry run, check_token of a Spring token answered HTTP $STATUS: $BODY"
ok "the dry run reports what an import would do and writes nothing (check_token still 400)"

echo "\$ auth-server spring import-tokens --from sqlite://$work/spring.db"
report=$(cli --from "sqlite://$work/spring.db") || fail "the import failed: $report"
echo "$report" | sed 's/^/  | /'
[[ "$report" == *"$expected_report"* ]] || fail "the import's report is not the expected one"
ok "imported 5 access and 4 refresh tokens; skipped 3 expired, 1 of an unregistered client, 1 of a departed user; 2 unreadable"
[ "$(grep -c '^  oauth_access_token [0-9a-f]\{32\}: ' <<<"$report")" = 2 ] \
    || fail "the unreadable rows are not named by Spring's token_id"
grep -q "the stream ends too early" <<<"$report" || fail "the cut blob is not reported as cut"
grep -q "not a Java serialization stream" <<<"$report" || fail "the foreign blob is not reported as such"
for c in $(cases_expected imported refresh_only expired unknown_client unknown_user unreadable); do
    for kind in access_token refresh_token; do
        value=$(case_field "$c" "$kind")
        [ -z "$value" ] || ! grep -qF -- "$value" <<<"$report" || fail "the report shows the $kind of $c"
    done
done
ok "unreadable rows are named by Spring's token_id with the reason, and no token value is printed"
[ "$(spring_rows)" = "$spring_before" ] || fail "Spring's tables changed: $(spring_rows), were $spring_before"
ok "Spring's tables are only read: still $(echo "$spring_before" | cut -d" " -f1) access and $(echo "$spring_before" | cut -d" " -f2) refresh token rows"

echo
echo "# 4. traffic switched to the new servers"
imported=$(cases_expected imported)
for c in $imported; do
    hi "$(case_field "$c" access_token)" 200 "$c"
    ok "$c: Spring's access token opens the resource server's /hi: $BODY"
done
check_token "$(case_field expiring_refresh access_token)"
[ "$STATUS" = 200 ] || fail "check_token of expiring_refresh: HTTP $STATUS: $BODY"
expect_aud='["oauth2-resource"]'
[ "$(json aud)" = "$expect_aud" ] || fail "expiring_refresh's audience is $(json aud), expected $expect_aud"
ok "expiring_refresh keeps the resource id Spring bound it to: aud $(json aud)"
check_token "$user_access"
[ "$(json user_name)" = admin ] && [ "$(json client_id)" = dev ] && [ "$(json scope)" = '["app"]' ] \
    && [ "$(json exp)" = "$(case_field user_token access_expires_at)" ] \
    || fail "check_token of user_token says $BODY"
ok "user_token introspects as Spring's check_token said: admin, dev, scope app, exp $(json exp)"
for c in user_token access_expired_refresh_live; do
    request -u dev:11 -d "grant_type=refresh_token&refresh_token=$(case_field "$c" refresh_token)" "$A/oauth/token"
    [ "$STATUS" = 200 ] || fail "$c: the refresh answered HTTP $STATUS: $BODY"
    fresh=$(json access_token)
    hi "$fresh" 200 "$c, refreshed"
    ok "$c: Spring's refresh token refreshes at the new auth server, and the new access token opens /hi"
done
request -u dev:11 -d "grant_type=refresh_token&refresh_token=$(case_field all_expired refresh_token)" "$A/oauth/token"
[ "$STATUS" = 400 ] && [ "$(json error)" = invalid_grant ] \
    || fail "all_expired: its expired refresh token answered HTTP $STATUS: $BODY"
ok "all_expired: its expired refresh token is refused (400 invalid_grant)"
for c in $(cases_expected refresh_only expired unknown_client unknown_user unreadable); do
    hi "$(case_field "$c" access_token)" 401 "$c"
    ok "$c ($(case_field "$c" expected)): its access token is refused by /hi (401)"
done

echo
echo "# 5. the import again, right before Spring is retired"
again=$(cli --from "sqlite://$work/spring.db") || fail "the second import failed: $again"
echo "$again" | sed 's/^/  | /'
[[ "$again" == *"imported: 0 access tokens, 0 refresh tokens
already imported: 9"* ]] || fail "the second import is not a no-op"
for c in $imported; do hi "$(case_field "$c" access_token)" 200 "$c, after the second import"; done
ok "a second import writes nothing (already imported: 9) and the imported tokens still open /hi"

echo
echo "spring-migration: Spring's live tokens carried over while the new server ran; they open the resource server and refresh"
