#!/usr/bin/env bash
# The documented walkthrough, end to end, with curl: every grant, the login and approval pages
# through a cookie jar, introspection, the protected /hi on both servers, and the main errors.
# Prints each request and its answer, checks every answer, and stops at the first wrong one,
# naming it (exit status 1).
#
#   scripts/demo.sh                  over HTTP, then a second pass with JWT access tokens (--jwt)
#   scripts/demo.sh --jwt            only the JWT pass: the auth server issues JWTs and the resource
#                                    server verifies them with /oauth2/jwks, never asking about a token
#   scripts/demo.sh --tls            over HTTPS with a local CA (scripts/dev-cert.sh), curl --cacert
#   scripts/demo.sh --readme         also writes the README's walkthrough from this run
#   scripts/demo.sh --check-readme   also fails if the README's walkthrough is not what this run did
#
# Servers already answering at AUTH_URL and RESOURCE_URL (default localhost:8081 and :8080) are
# used as they are; otherwise both are built and started with the demo data on a throwaway SQLite
# file, and stopped at the end. Nothing it did not start is stopped. The JWT pass always starts its
# own servers, on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

tls=false
jwt=false
readme=""
for arg in "$@"; do
    case "$arg" in
        --tls) tls=true ;;
        --jwt) jwt=true ;;
        --readme) readme=write ;;
        --check-readme) readme=check ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

scheme=http
curl_tls=()
if $tls; then
    scheme=https
    certs=${CERT_DIR:-data/tls}
    scripts/dev-cert.sh "$certs" >/dev/null
    curl_tls=(--cacert "$certs/ca.pem")
fi
AUTH=${AUTH_URL:-$scheme://localhost:8081}
RESOURCE=${RESOURCE_URL:-$scheme://localhost:8080}
if $jwt; then
    free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    AUTH=$scheme://localhost:$(free_port)
    RESOURCE=$scheme://localhost:$(free_port)
fi

work=$(mktemp -d)
started=()
cleanup() {
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

up() { curl -sf "${curl_tls[@]}" -o /dev/null "$1/health"; }

wait_up() {
    for _ in $(seq 1 150); do
        up "$1" && return 0
        sleep 0.2
    done
    echo "FAILED: $2 did not start; its log:" >&2
    tail -20 "$work/$2.log" >&2
    exit 1
}

if up "$AUTH" && up "$RESOURCE"; then
    echo "using the servers already running at $AUTH and $RESOURCE"
else
    echo "building and starting both servers with the demo data"
    cargo build --quiet --bin auth-server --bin resource-server
    port_of() { local rest=${1##*:}; echo "${rest%%/*}"; }
    common=(APP__DEMO__SEED=true "APP__DATABASE__URL=sqlite://$work/auth.db")
    tls_env=()
    if $tls; then
        tls_env=("APP__SERVER__TLS__CERT=$certs/localhost.pem" "APP__SERVER__TLS__KEY=$certs/localhost-key.pem")
    fi
    jwt_auth=() jwt_resource=()
    if $jwt; then
        jwt_auth=(APP__TOKENS__ACCESS_TOKEN_TYPE=jwt "APP__SERVER__ISSUER=$AUTH")
        jwt_resource=(APP__VALIDATION__MODE=jwt "APP__JWT__JWKS_URL=$AUTH/oauth2/jwks" "APP__JWT__ISSUER=$AUTH")
    fi
    if ! up "$AUTH"; then
        env "${common[@]}" "${tls_env[@]}" "${jwt_auth[@]}" "APP__SERVER__PORT=$(port_of "$AUTH")" \
            target/debug/auth-server serve >"$work/auth-server.log" 2>&1 &
        started+=($!)
        wait_up "$AUTH" auth-server
    fi
    if ! up "$RESOURCE"; then
        ca_env=()
        $tls && ca_env=("APP__INTROSPECTION__CA_FILE=$certs/ca.pem")
        env "${tls_env[@]}" "${ca_env[@]}" "${jwt_resource[@]}" "APP__SERVER__PORT=$(port_of "$RESOURCE")" \
            "APP__INTROSPECTION__URL=$AUTH/oauth/check_token" \
            target/debug/resource-server >"$work/resource-server.log" 2>&1 &
        started+=($!)
        wait_up "$RESOURCE" resource-server
    fi
fi

jar="$work/cookies.txt"
# shellcheck source=lib/walk.sh
source scripts/lib/walk.sh
if [ -n "$readme" ]; then
    if $tls || [ "$AUTH" != http://localhost:8081 ] || [ "$RESOURCE" != http://localhost:8080 ]; then
        echo "--readme and --check-readme describe the README's setup: HTTP on ports 8081 and 8080" >&2
        exit 2
    fi
    TRANSCRIPT="$work/walkthrough.md"
    : >"$TRANSCRIPT"
fi

echo "# walkthrough against $AUTH and $RESOURCE$($jwt && echo ", with JWT access tokens")"

readme_begin "A client's own token" \
    "A service asks for a token for itself (client_credentials), with its credentials as form fields or HTTP Basic:"
call "client_credentials, form fields, /oauth2/token" 200 \
    -H "Accept: application/json" "$AUTH/oauth2/token" -d "grant_type=client_credentials&client_id=dev&client_secret=11"
expect_token false
expect Content-Type "$(header content-type)" "application/json;charset=UTF-8"
call "client_credentials, HTTP Basic, /oauth/token" 200 \
    -u dev:11 -d "grant_type=client_credentials" "$AUTH/oauth/token"
expect_token false
CLIENT_TOKEN=$(json access_token)
call "a bad client secret" 401 -u dev:12 -d "grant_type=client_credentials" "$AUTH/oauth/token"
expect_error invalid_client "Bad client credentials"
readme_end
call "client_credentials, form fields, /oauth/token" 200 \
    -d "grant_type=client_credentials&client_id=dev&client_secret=11" "$AUTH/oauth/token"
expect_token false
call "client_credentials, HTTP Basic, /oauth2/token" 200 \
    -u dev:11 -d "grant_type=client_credentials" "$AUTH/oauth2/token"
expect_token false

readme_begin "A user's token, and a refresh" \
    "With the user's password (the password grant); the refresh token is kept, as Spring kept it:"
call "password grant" 200 \
    -d "username=admin&password=123456&grant_type=password&client_id=dev&client_secret=11" "$AUTH/oauth/token"
expect_token true
USER_TOKEN=$(json access_token)
REFRESH=$(json refresh_token)
call "refresh_token grant (the refresh token is kept)" 200 \
    -d "grant_type=refresh_token&refresh_token=$REFRESH&client_id=dev&client_secret=11" "$AUTH/oauth/token"
expect_token true
expect "the same refresh token" "$(json refresh_token)" "$REFRESH"
readme_end

readme_begin "The protected API" \
    "The resource server answers \`/hi\` to a valid token, in the \`Authorization\` header or the \`access_token\` parameter; it asks the auth server what the token stands for (\`/oauth/check_token\`) and remembers the answer for 30 seconds:"
call "/hi without a token" 401 "$RESOURCE/hi?name=1111"
expect_error unauthorized "Full authentication is required to access this resource"
call "/hi with access_token=" 200 "$RESOURCE/hi?name=1111&access_token=$CLIENT_TOKEN"
expect body "$BODY" "hi , 1111"
call "/hi with a Bearer header" 200 -H "Authorization: Bearer $USER_TOKEN" "$RESOURCE/hi?name=1111"
expect body "$BODY" "hi , 1111"
readme_note "The auth server guards its own \`/hi\` the same way, from its own store:"
call "/hi on the auth server" 200 -H "Authorization: Bearer $USER_TOKEN" "$AUTH/hi?name=1111"
expect body "$BODY" "hi , 1111"
readme_end
for server in "$RESOURCE" "$AUTH"; do
    call "/hi without a token ($server)" 401 "$server/hi?name=1111"
    expect_error unauthorized "Full authentication is required to access this resource"
    call "/hi with access_token= ($server)" 200 "$server/hi?name=1111&access_token=$CLIENT_TOKEN"
    expect body "$BODY" "hi , 1111"
    call "/hi with a bad token ($server)" 401 -H "Authorization: Bearer not-a-token" "$server/hi?name=1111"
    expect_error invalid_token "Invalid access token"
done

readme_begin "What a token stands for" \
    "A trusted client (here \`resource\`, the one the resource server uses) asks Spring's way or RFC 7662's:"
call "check_token (Spring)" 200 -u resource:resource-secret -d "token=$USER_TOKEN" "$AUTH/oauth/check_token"
expect active "$(json active)" true
expect user_name "$(json user_name)" admin
call "introspection (RFC 7662)" 200 -u resource:resource-secret -d "token=$USER_TOKEN" "$AUTH/oauth2/introspect"
expect active "$(json active)" true
expect scope "$(json scope)" app
call "introspection of an unknown token" 200 -u resource:resource-secret -d "token=no-such-token" "$AUTH/oauth2/introspect"
expect body "$BODY" '{"active":false}'
readme_end
call "check_token of an unknown token" 400 -u resource:resource-secret -d "token=no-such-token" "$AUTH/oauth/check_token"
expect_error invalid_token "Token was not recognised"

readme_begin "Discovery and revocation" \
    "Clients and resource servers find every endpoint in the issuer's metadata (RFC 8414; also at \`/.well-known/openid-configuration\`). A client revokes a token it no longer needs (RFC 7009): a refresh token ends its whole grant, and the answer is 200 whatever the token was. (A resource server that already cached a token's answer accepts it until that answer expires, 30 s at most.)"
call "the metadata (RFC 8414)" 200 "$AUTH/.well-known/oauth-authorization-server"
ISSUER=$(json issuer)
expect revocation_endpoint "$(json revocation_endpoint)" "$ISSUER/oauth2/revoke"
expect jwks_uri "$(json jwks_uri)" "$ISSUER/oauth2/jwks"
call "a new grant" 200 -u dev:11 -d "grant_type=password&username=admin&password=123456" "$AUTH/oauth/token"
expect_token true
REVOKED_ACCESS=$(json access_token)
REVOKED_REFRESH=$(json refresh_token)
call "revoke the refresh token" 200 -u dev:11 -d "token=$REVOKED_REFRESH&token_type_hint=refresh_token" "$AUTH/oauth2/revoke"
expect body "$BODY" ""
call "its access token went with it" 200 -u resource:resource-secret -d "token=$REVOKED_ACCESS" "$AUTH/oauth2/introspect"
expect body "$BODY" '{"active":false}'
if ! $jwt; then
    call "/hi refuses it" 401 -H "Authorization: Bearer $REVOKED_ACCESS" "$RESOURCE/hi?name=1111"
    expect_error invalid_token "Invalid access token"
fi
call "the refresh token is refused" 400 -u dev:11 -d "grant_type=refresh_token&refresh_token=$REVOKED_REFRESH" "$AUTH/oauth/token"
expect_error invalid_grant "Invalid refresh token"
readme_end
if $jwt; then
    # The revocation bound of JWTs (docs/jwt.md): the auth server refuses a revoked JWT at once, a
    # resource server verifying it alone only when it expires.
    call "the auth server's /hi refuses the revoked JWT" 401 -H "Authorization: Bearer $REVOKED_ACCESS" "$AUTH/hi?name=1111"
    call "a JWT-mode resource server accepts it until it expires" 200 -H "Authorization: Bearer $REVOKED_ACCESS" "$RESOURCE/hi?name=1111"
fi

AUTHORIZE="$AUTH/oauth/authorize?response_type=code&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz"
readme_begin "Signing in: the authorization code flow" \
    "What a browser does, with curl and a cookie jar: the user signs in, approves, and the browser lands on the client's redirect URI with a code, which the client exchanges for tokens within 5 minutes. (In a browser, open the first URL and sign in as \`admin\` / \`123456\`; the screenshots are in docs/endpoints.md.)"
SHOW_JAR=true
call "authorize: not signed in, so to the login page" 303 "$AUTHORIZE"
expect Location "$(header location)" /login
call "the login page" 200 "$AUTH/login"
CSRF=$(hidden _csrf)
[ -n "$CSRF" ] || fail "no CSRF token on the login page"
call "sign in as admin" 303 -d "username=admin&password=123456&_csrf=$CSRF" "$AUTH/login"
case "$(header location)" in /oauth/authorize\?*) ;; *) fail "not sent back to the authorization request" ;; esac
readme_note "Signed in, the request goes on to the approval page (the first time: approvals are remembered for a month):"
call "authorize: signed in, so to the approval page" 303 "$AUTHORIZE"
expect Location "$(header location)" /oauth/confirm_access
call "the approval page" 200 "$AUTH/oauth/confirm_access"
echo "$BODY" | grep -q 'name="scope.app"' || fail "the approval page does not ask for scope app"
CSRF=$(hidden _csrf)
ID=$(hidden authorization_id)
call "approve" 303 -d "user_oauth_approval=true&scope.app=true&_csrf=$CSRF&authorization_id=$ID" "$AUTH/oauth/authorize"
LANDED=$(header location)
case "$LANDED" in http://www.baidu.com/\?code=*) ;; *) fail "did not land on http://www.baidu.com/?code=…" ;; esac
expect state "$(param state "$LANDED")" xyz
CODE=$(param code "$LANDED")
SHOW_JAR=false
readme_note "The client exchanges the code:"
call "exchange the code" 200 \
    -d "grant_type=authorization_code&code=$CODE&client_id=dev&client_secret=11&redirect_uri=http://www.baidu.com" "$AUTH/oauth/token"
expect_token true
readme_note "With the approval remembered, the implicit flow goes straight back to the client, the token in the fragment:"
SHOW_JAR=true
call "implicit (approval remembered)" 303 \
    "$AUTH/oauth/authorize?response_type=token&client_id=dev&redirect_uri=http://www.baidu.com&state=xyz"
LANDED=$(header location)
case "$LANDED" in http://www.baidu.com/\#access_token=*) ;; *) fail "no access token in the fragment" ;; esac
expect token_type "$(param token_type "$LANDED")" bearer
expect state "$(param state "$LANDED")" xyz
SHOW_JAR=false
readme_end
call "the same code again is refused" 400 \
    -d "grant_type=authorization_code&code=$CODE&client_id=dev&client_secret=11&redirect_uri=http://www.baidu.com" "$AUTH/oauth/token"
expect_error invalid_grant "Authorization code already used; the tokens issued with it are revoked"

# OpenID Connect with the demo relying party `rp`, in the same browser (admin is signed in).
RP_CALLBACK=http://127.0.0.1:8000/callback
# RFC 7636 appendix B's verifier and its S256 challenge.
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
readme_begin "Signing in with OpenID Connect" \
    "A relying party (the demo client \`rp\`) asks for scope \`openid\` with a \`nonce\` and PKCE, and gets an ID token with the code's tokens: who signed in, when, for which client, with the claims \`profile\` and \`email\` release. The UserInfo endpoint answers the same claims for the access token, and RP-initiated logout ends the browser session. (docs/openid-connect.md; the same browser as above, still signed in as admin.)"
SHOW_JAR=true
call "authorize with scope openid: the approval page" 303 \
    "$AUTH/oauth/authorize?response_type=code&client_id=rp&redirect_uri=$RP_CALLBACK&scope=openid%20profile%20email&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj&code_challenge=$CHALLENGE&code_challenge_method=S256"
expect Location "$(header location)" /oauth/confirm_access
call "the approval page" 200 "$AUTH/oauth/confirm_access"
CSRF=$(hidden _csrf)
ID=$(hidden authorization_id)
call "approve" 303 -d "user_oauth_approval=true&scope.openid=true&scope.profile=true&scope.email=true&_csrf=$CSRF&authorization_id=$ID" "$AUTH/oauth/authorize"
LANDED=$(header location)
case "$LANDED" in "$RP_CALLBACK?code="*) ;; *) fail "did not land on $RP_CALLBACK?code=…" ;; esac
CODE=$(param code "$LANDED")
SHOW_JAR=false
readme_note "The relying party exchanges the code, with its PKCE verifier, and gets an \`id_token\`:"
call "exchange the code" 200 -u rp:rp-secret \
    -d "grant_type=authorization_code&code=$CODE&redirect_uri=$RP_CALLBACK&code_verifier=$VERIFIER" "$AUTH/oauth/token"
ID_TOKEN=$(json id_token)
OIDC_ACCESS=$(json access_token)
[ -n "$ID_TOKEN" ] || fail "no id_token"
CLAIMS=$(python3 -c 'import base64, json, sys
payload = sys.argv[1].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
print(json.dumps({k: claims[k] for k in ("sub", "aud", "azp", "nonce", "name", "email", "email_verified")}))' "$ID_TOKEN")
expect "the ID token's claims" "$CLAIMS" '{"sub": "admin", "aud": "rp", "azp": "rp", "nonce": "n-0S6_WzA2Mj", "name": "Demo Admin", "email": "admin@example.com", "email_verified": true}'
readme_note "Its payload says, among \`iss\`, \`exp\`, \`iat\`, \`auth_time\` and \`at_hash\`: \`$CLAIMS\`. The relying party checks its signature with the keys at \`jwks_uri\` (\`/oauth2/jwks\`), then asks for the user's claims:"
call "userinfo" 200 -H "Authorization: Bearer $OIDC_ACCESS" "$AUTH/userinfo"
expect sub "$(json sub)" admin
expect email "$(json email)" admin@example.com
readme_note "Signing out at the relying party ends the session here too, and the browser goes back to a registered page:"
SHOW_JAR=true
call "RP-initiated logout" 303 \
    "$AUTH/connect/logout?id_token_hint=$ID_TOKEN&post_logout_redirect_uri=http://127.0.0.1:8000/signed-out&state=bye"
expect Location "$(header location)" "http://127.0.0.1:8000/signed-out?state=bye"
call "signed out: prompt=none finds nobody" 303 \
    "$AUTH/oauth/authorize?response_type=code&client_id=rp&redirect_uri=$RP_CALLBACK&scope=openid&state=s&prompt=none"
expect error "$(param error "$(header location)")" login_required
SHOW_JAR=false
readme_end

readme_begin "When something is wrong" \
    "Errors are Spring's JSON, from one catalogue (docs/errors.md):"
call "a wrong password" 400 -u dev:11 -d "grant_type=password&username=admin&password=nope" "$AUTH/oauth/token"
expect_error invalid_grant "Bad credentials"
call "a scope the client does not have" 400 -u dev:11 -d "grant_type=client_credentials&scope=admin" "$AUTH/oauth/token"
expect_error invalid_scope "Invalid scope: not allowed for this client"
call "an unregistered redirect URI: a page, not a redirect" 400 \
    "$AUTH/oauth/authorize?response_type=code&client_id=dev&redirect_uri=http://evil.example&state=xyz"
expect Location "$(header location)" ""
readme_end
call "an unknown grant type" 400 -u dev:11 -d "grant_type=magic" "$AUTH/oauth/token"
expect_error unsupported_grant_type "Unsupported grant type"
call "no grant type" 400 -u dev:11 -d "scope=app" "$AUTH/oauth/token"
expect_error invalid_request "Missing grant type"
call "GET on the token endpoint" 405 "$AUTH/oauth/token"
expect_error method_not_allowed "Request method not supported"

if $jwt; then
    # What changes with JWTs: a token a resource server verifies with the published keys.
    expect "a JWT access token" "$(awk -F. '{print NF}' <<<"$USER_TOKEN")" 3
    call "the JWK set (RFC 7517)" 200 "$AUTH/oauth2/jwks"
    expect "a signing key" "$(python3 -c 'import json,sys; k=json.loads(sys.argv[1])["keys"][0]; print(k["use"], k["alg"], k["kty"])' "$BODY")" "sig RS256 RSA"
    call "the key, legacy Spring's way" 200 "$AUTH/oauth/token_key"
    expect alg "$(json alg)" SHA256withRSA
    call "the resource server verified every token itself" 200 "$RESOURCE/health"
    expect introspection_calls "$(json introspection_calls)" 0
    expect validation "$(json validation)" jwt
fi

if [ -n "$readme" ]; then
    python3 scripts/readme-walkthrough.py "$readme" "$TRANSCRIPT"
fi
echo
echo "demo: all steps answered as documented ($scheme$($jwt && echo ", JWT"))"
if ! $jwt && ! $tls && [ -z "$readme" ] && [ ${#started[@]} -gt 0 ]; then
    # The second pass, with JWT access tokens, on servers of its own.
    cleanup
    trap - EXIT
    exec "$0" --jwt
fi
