# Helpers of the curl walkthroughs (demo.sh, replicas.sh): run a request as a user would type it,
# print it and its answer, and check the answer. Source it after setting `work` (a scratch folder),
# `jar` (a cookie jar) and `curl_tls` (extra curl arguments, such as --cacert).
#
# With TRANSCRIPT set to a file, the steps between `readme_begin` and `readme_end` are also written
# there as Markdown, exactly as they ran: README.md's walkthrough is that transcript
# (scripts/readme-walkthrough.py puts it in and checks it).

STATUS=""
BODY=""
HEADERS=""
step=""
# Whether the commands shown carry the cookie jar (the browser part of the walkthrough).
SHOW_JAR=false
IN_README=false
# Whether the console block being written has a command in it yet.
BLOCK_STARTED=false

transcript() { if $IN_README && [ -n "${TRANSCRIPT:-}" ]; then printf '%s\n' "$@" >>"$TRANSCRIPT"; fi; }

# readme_begin HEADING [PROSE...]: a section of the README's walkthrough, opened with a console block.
readme_begin() {
    IN_README=true
    transcript "" "### $1" ""
    shift
    if [ $# -gt 0 ]; then transcript "$@" ""; fi
    transcript '```console'
    BLOCK_STARTED=false
}

# readme_note TEXT: a line of prose between the console blocks of a section.
readme_note() {
    transcript '```' "" "$@" "" '```console'
    BLOCK_STARTED=false
}

readme_end() {
    transcript '```'
    IN_README=false
}

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
    local shown="" typed=""
    $SHOW_JAR && typed=" -b cookies.txt -c cookies.txt"
    for arg in "$@"; do typed+=" $(quoted "$arg")"; done
    for arg in "${curl_tls[@]}"; do shown+=" $(quoted "$arg")"; done
    shown+=$typed
    echo "\$ curl${shown}"
    $BLOCK_STARTED && transcript ""
    BLOCK_STARTED=true
    transcript "\$ curl${typed}"
    STATUS=$(curl -sS "${curl_tls[@]}" -b "$jar" -c "$jar" -D "$work/headers" -o "$work/body" \
        -w '%{http_code}' "$@") || fail "curl could not reach the server"
    BODY=$(cat "$work/body")
    HEADERS=$(tr -d '\r' <"$work/headers")
    local location answer
    location=$(header location)
    answer=$(describe "$location")
    echo "$answer"
    transcript "$answer"
    [ "$STATUS" = "$expected" ] || fail "expected HTTP $expected, got $STATUS"
}

# What came back, in one line: the status unless 200, where a redirect goes, and the body: JSON or
# text as it is, a page by its heading and the hidden fields its form carries.
describe() {
    local location=$1 parts=() joined="" part
    [ "$STATUS" = 200 ] || parts+=("HTTP $STATUS")
    [ -n "$location" ] && parts+=("Location: $location")
    case "$BODY" in
        "<!DOCTYPE"*)
            part="an HTML page: $(echo "$BODY" | sed -n 's:.*<h1>\(.*\)</h1>.*:\1:p' | head -1 | sed 's/<[^>]*>//g')"
            for field in _csrf authorization_id; do
                [ -z "$(hidden "$field")" ] || part+=", $field=$(hidden "$field")"
            done
            parts+=("$part") ;;
        "") ;;
        *) parts+=("$BODY") ;;
    esac
    for part in "${parts[@]}"; do joined+="${joined:+, }$part"; done
    # A 200 with nothing in it (a revocation) still says something on the page.
    echo "${joined:-HTTP 200, empty body}"
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

