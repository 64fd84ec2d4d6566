#!/usr/bin/env bash
# Both servers tested against their own OpenAPI descriptions by schemathesis, a property-based API
# tester from PyPI: an auth-server with the demo data on a throwaway SQLite file and a
# resource-server introspecting at it are started on free ports, and schemathesis reads each one's
# /openapi.json, generates requests from it (the descriptions' examples, boundary values, then
# random valid and invalid ones) and checks every answer: no 5xx, and status codes, content types,
# headers and bodies as described; invalid requests refused with a 4xx; undescribed methods 405;
# protected operations 401 without credentials.
#
#   scripts/schemathesis.sh                              both servers, at most 50 random cases per
#                                                         operation besides the examples and boundaries
#   SCHEMATHESIS_EXAMPLES=200 scripts/schemathesis.sh     a longer run
#   SCHEMATHESIS_SEED=123 scripts/schemathesis.sh         another seed (default: a fixed one, so CI
#                                                         runs are repeatable)
#
# Credentials given to it: the demo client dev / 11 (HTTP Basic), resource / resource-secret at the
# introspection endpoints, and a bearer token of dev. Needs python3 (with venv) and access to PyPI:
# scripts/schemathesis-requirements.txt is installed into target/schemathesis-venv, kept between
# runs and rebuilt when that file changes. Exits non-zero on the first server whose run fails,
# showing its log; stops the servers and removes its temporary files.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,21p' "$0"; exit 0 ;; esac

examples=${SCHEMATHESIS_EXAMPLES:-50}
seed=${SCHEMATHESIS_SEED:-20261204}

work=$(mktemp -d)
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED: $*" >&2; exit 1; }

# shellcheck source=lib/venv.sh
source scripts/lib/venv.sh
python_venv scripts/schemathesis-requirements.txt target/schemathesis-venv
st=$PWD/target/schemathesis-venv/bin/schemathesis
"$python" -c 'import sys; print(f"Python {sys.version.split()[0]}")'
"$st" --version

echo "building auth-server and resource-server"
cargo build --quiet --bin auth-server --bin resource-server

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_up NAME URL LOG: until URL/health answers, or the server died.
wait_up() {
    for _ in $(seq 1 150); do
        if "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "$2/health" 2>/dev/null; then return 0; fi
        kill -0 "${servers[-1]}" 2>/dev/null || break
        sleep 0.2
    done
    tail -20 "$3" >&2
    fail "the $1 did not start"
}

auth_port=$(free_port)
auth=http://127.0.0.1:$auth_port
# Failed passwords lock an account after 5 and an address after 20 (429, described as such): the
# generated password grants and sign-ins all come from 127.0.0.1 with random passwords, and would
# lock out the address, so that the described examples (admin / 123456) answer 429 too. The limits
# are raised so that the run also covers successful grants; the lockout has its own tests
# (tests/api/security).
env APP__DEMO__SEED=true "APP__DATABASE__URL=sqlite://$work/auth.db" "APP__SERVER__PORT=$auth_port" APP__METRICS__PORT=0 \
    APP__BRUTE_FORCE__MAX_FAILURES_PER_USER=100000 APP__BRUTE_FORCE__MAX_FAILURES_PER_ADDRESS=100000 \
    target/debug/auth-server serve >"$work/auth-server.log" 2>&1 &
servers+=($!)
wait_up auth-server "$auth" "$work/auth-server.log"

resource_port=$(free_port)
resource=http://127.0.0.1:$resource_port
env "APP__SERVER__PORT=$resource_port" APP__METRICS__PORT=0 "APP__INTROSPECTION__URL=$auth/oauth/check_token" \
    target/debug/resource-server >"$work/resource-server.log" 2>&1 &
servers+=($!)
wait_up resource-server "$resource" "$work/resource-server.log"

# A token of the demo client for the bearer-protected operations (an hour: longer than the run).
token=$("$python" - "$auth" <<'EOF'
import base64, json, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1] + "/oauth/token", data=b"grant_type=client_credentials",
    headers={"Authorization": "Basic " + base64.b64encode(b"dev:11").decode()})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
EOF
)

# Every check but four: positive_data_acceptance wants a 2xx for any request the description
# allows, and an OAuth server must refuse most of them (an unknown code, a wrong password, a token
# it never issued); use_after_free, ensure_resource_availability and object_level_authorization
# are for APIs whose clients create and own resources, which these have not.
#
# Credentials per security scheme of the descriptions; the introspection endpoints take the
# resource server's client (dev may not introspect: that would be 403 every time).
cat >"$work/schemathesis.toml" <<EOF
[checks]
not_a_server_error.enabled = true
status_code_conformance.enabled = true
content_type_conformance.enabled = true
response_headers_conformance.enabled = true
response_schema_conformance.enabled = true
negative_data_rejection.enabled = true
missing_required_header.enabled = true
unsupported_method.enabled = true
allow_header_conformance.enabled = true
ignored_auth.enabled = true
positive_data_acceptance.enabled = false
use_after_free.enabled = false
ensure_resource_availability.enabled = false
object_level_authorization.enabled = false

[auth.openapi.client_basic]
username = "dev"
password = "11"

[auth.openapi.bearer]
bearer = "$token"

[[operations]]
include-path-regex = "^/(oauth/check_token|oauth2/introspect)\$"
auth.basic = { username = "resource", password = "resource-secret" }

# Every field of the logout form is optional and unknown ones are ignored (RFC 6749 §3.1), so any
# body is a form it accepts: the "invalid" bodies generated for it (a bare string is the form
# field "AAA") are valid ones to the server.
# Schemathesis feeds values it saw in answers into parameters of the same name: a real access token
# from the token endpoint into the access_token query parameter. Such a request is authenticated
# (a non-Bearer Authorization header beside it is not a token), yet it counts the value as
# generated and expects a 401. Where the token can be in the query, it gets no such values.
[[operations]]
include-path-regex = "^/(hi|me|userinfo)\$"
phases.coverage.extra-data-sources.responses = false
phases.fuzzing.extra-data-sources.responses = false

[[operations]]
include-path = "/connect/logout"
include-method = "POST"
checks.negative_data_rejection.enabled = false
EOF

# run NAME BASE LOG: schemathesis against BASE/openapi.json.
run() {
    echo
    echo "== schemathesis: the $1 ($2/openapi.json), $examples examples per operation, seed $seed"
    local started=$SECONDS
    # From the temporary directory: schemathesis keeps its replay data in ./.schemathesis. One
    # worker: the servers need the other core, and with two the generator itself failed now and
    # then (a SystemError from CPython's ast module while it compiles strategies in threads).
    if ! (cd "$work" && "$st" --config-file "$work/schemathesis.toml" run "$2/openapi.json" \
        --phases examples,coverage,fuzzing \
        --max-examples "$examples" --seed "$seed" --workers 1 --request-timeout 10); then
        echo "the $1's log (last lines):" >&2
        tail -30 "$3" >&2
        fail "schemathesis found problems in the $1"
    fi
    echo "-- the $1: $((SECONDS - started)) s"
}

run auth-server "$auth" "$work/auth-server.log"
run resource-server "$resource" "$work/resource-server.log"
echo
echo "schemathesis: both servers answer as their OpenAPI descriptions say"
