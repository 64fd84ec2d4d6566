# Helpers of the curl walkthroughs (demo.sh, replicas.sh): run a request as a user would type it,
# print it and its answer, and check the answer. Source it after setting `work` (a scratch folder),
# `jar` (a cookie jar) and `curl_tls` (extra curl arguments, such as --cacert).

STATUS=""
BODY=""
HEADERS=""
step=""

fail() {
    echo >&2
    echo "FAILED at \"$step\": $*" >&2
    exit 1
}

# An argument as a shell user would type it: bare when safe, else in double quotes.
quoted() {
    if [[ "$1" =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
        printf '%s' "$1"
    else
        local escaped=${1//\\/\\\\}
        escaped=${escaped//\"/\\\"}
        escaped=${escaped//\$/\\\$}
        escaped=${escaped//\`/\\\`}
        printf '"%s"' "$escaped"
    fi
}

# call NAME EXPECTED_STATUS CURL_ARGUMENTS...: prints the request as a user would type it and the
# answer, and checks the status.
call() {
    step=$1
    local expected=$2
    shift 2
    echo
    echo "## $step"
    local shown=""
    for arg in "${curl_tls[@]}" "$@"; do shown+=" $(quoted "$arg")"; done
    echo "\$ curl${shown}"
    STATUS=$(curl -sS "${curl_tls[@]}" -b "$jar" -c "$jar" -D "$work/headers" -o "$work/body" \
        -w '%{http_code}' "$@") || fail "curl could not reach the server"
    BODY=$(cat "$work/body")
    HEADERS=$(tr -d '\r' <"$work/headers")
    local location
    location=$(header location)
    if [ -n "$location" ]; then echo "HTTP $STATUS, Location: $location"; fi
    case "$BODY" in
        "<!DOCTYPE"*) echo "HTTP $STATUS, an HTML page: $(echo "$BODY" | sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p' | head -1)" ;;
        "") [ -n "$location" ] || echo "HTTP $STATUS" ;;
        *) echo "$BODY" ;;
    esac
    [ "$STATUS" = "$expected" ] || fail "expected HTTP $expected, got $STATUS"
}

header() { echo "$HEADERS" | sed -n "s/^$1: //Ip" | head -1; }

# json FIELD: a field of the last JSON answer ('' when absent).
json() {
    python3 -c 'import json,sys
value = json.loads(sys.argv[1]).get(sys.argv[2], "")
print(json.dumps(value) if isinstance(value, (list, dict, bool)) else value)' "$BODY" "$1" \
        || fail "the answer is not JSON"
}

expect() { # what actual expected
    [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"
}

expect_token() { # with_refresh: true|false
    [ -n "$(json access_token)" ] || fail "no access_token"
    expect token_type "$(json token_type)" bearer
    expect scope "$(json scope)" app
    expect "Cache-Control" "$(header cache-control)" no-store
    if [ "$1" = true ]; then
        [ -n "$(json refresh_token)" ] || fail "no refresh_token"
    else
        expect refresh_token "$(json refresh_token)" ""
    fi
}

expect_error() { # error description
    expect error "$(json error)" "$1"
    expect error_description "$(json error_description)" "$2"
}

param() { # NAME URL: a query or fragment parameter of a redirect
    python3 -c 'import sys, urllib.parse as u
url = u.urlsplit(sys.argv[2])
values = u.parse_qs(url.fragment or url.query)
print(values.get(sys.argv[1], [""])[0])' "$1" "$2"
}

hidden() { echo "$BODY" | sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" | head -1; }

