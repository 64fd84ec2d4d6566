#!/usr/bin/env bash
# Measures the servers with a real load generator (wrk) against a baseline measured in the same
# run: bench-baseline, a bare actix-web server answering a fixed body to a GET and a fixed JSON to
# a form POST. Each workload is reported as req/s, p50, p99, errors, and as a ratio of the baseline
# of the same method, with the servers' memory. A shared machine's speed drifts by tens of percent
# within a minute, so each workload and its baseline are measured in three alternating rounds of a
# third of the duration each: the ratio compares the same seconds.
#
#   scripts/bench.sh                       SQLite (a fresh file)
#   scripts/bench.sh --postgres URL        PostgreSQL (a throwaway database on that server)
#   options: --duration SECONDS (10)  --connections N (32)  --quick (skips the 100,000-token run)
#            --debug (the debug build the tests made: a smoke run of this script, not a measurement)
#
# Load: wrk -t2 -cN -dSECONDS, on the same machine as the servers (as the issue's figures were).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

postgres=""
duration=10
connections=32
quick=false
profile=release
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres) postgres=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --connections) connections=$2; shift 2 ;;
        --quick) quick=true; shift ;;
        --debug) profile=debug; shift ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [ "$profile" = release ]; then
    cargo build --release --quiet --bin auth-server --bin resource-server --bin bench-baseline --example signing_cost
else
    cargo build --quiet --bin auth-server --bin resource-server --bin bench-baseline --example signing_cost
fi
bin=target/$profile

work=$(mktemp -d)
pids=()
database=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$database" ]; then
        psql "$postgres" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
        psql "$postgres" -qc "DROP DATABASE IF EXISTS ${database}_eddsa WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

BASE=http://127.0.0.1:18000
AUTH=http://127.0.0.1:18081
RES=http://127.0.0.1:18080
results="$work/results.jsonl"
: >"$results"

for port in 18000 18080 18081 18082 18083 18180 18181 18182 18183; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        echo "port $port is taken: stop whatever listens there first" >&2
        exit 1
    fi
done

wait_up() {
    for _ in $(seq 1 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "FAILED: $1 does not answer" >&2
    exit 1
}

rss_kb() { awk -v key="$2" '$1 == key":" {print $2}' "/proc/$1/status"; }

# lua NAME METHOD BODY HEADER...: a wrk script.
lua() {
    local name=$1 method=$2 body=$3
    shift 3
    {
        echo "wrk.method = \"$method\""
        [ -n "$body" ] && echo "wrk.body = \"$body\""
        [ "$method" = POST ] && echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        for header in "$@"; do
            echo "wrk.headers[\"${header%%: *}\"] = \"${header#*: }\""
        done
    } >"$work/$name.lua"
}

# rotating_lua NAME FILE REQUEST: a wrk script whose every request is the Lua expression REQUEST,
# in which `token` is the next token of FILE.
rotating_lua() {
    cat >"$work/$1.lua" <<EOF
local tokens = {}
for line in io.lines("$2") do tokens[#tokens + 1] = line end
local counter = 0
local offset = 0
function setup(thread) offset = offset + 1; thread:set("offset", offset) end
function init(args) counter = offset * 7919 end
function request()
    counter = counter + 1
    local token = tokens[(counter % #tokens) + 1]
    return $3
end
EOF
}

rounds=3
round_seconds=$(( duration / rounds > 0 ? duration / rounds : 1 ))

# measure NAME METHOD TARGET URL LUA [CONNECTIONS]: three rounds of wrk, each after a round of the
# baseline of METHOD (except for the password grant and the flood rows, which are not compared
# with it), parsed into the results.
measure() {
    local name=$1 method=$2 target=$3 url=$4 script=$5 conns=${6:-$connections} round
    echo "measuring: $name" >&2
    for round in $(seq 1 $rounds); do
        case "$name" in
            password*|*flood) ;;
            *) if [ "$method" = POST ]; then
                   run_wrk "$name" baseline POST "$BASE/token" post "$connections"
               else
                   run_wrk "$name" baseline GET "$BASE/" get "$connections"
               fi ;;
        esac
        run_wrk "$name" "$target" "$method" "$url" "$script" "$conns"
    done
}

# run_wrk NAME TARGET METHOD URL LUA CONNECTIONS: one round, as a line of the results.
run_wrk() {
    local name=$1 target=$2 method=$3 url=$4 script=$5 conns=$6
    wrk -t2 -c"$conns" -d"${round_seconds}s" --latency -s "$work/$script.lua" "$url" >"$work/round.wrk" 2>&1 || true
    python3 - "$work/round.wrk" "$name" "$method" "$target" >>"$results" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def ms(value):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if socket:
    errors += sum(int(n) for n in socket.groups())
print(json.dumps({
    "name": sys.argv[2], "method": sys.argv[3], "target": sys.argv[4],
    "rps": float(rps.group(1)) if rps else 0.0,
    "p50": ms(lat["50"]) if "50" in lat else None,
    "p99": ms(lat["99"]) if "99" in lat else None,
    "errors": errors,
}))
PY
}

# mint N FILE: N client_credentials tokens, one per line.
mint() {
    python3 - "$1" "$2" "$AUTH" "${MINT_CLIENT:-dev:11}" <<'PY'
import base64, http.client, json, sys, threading, urllib.parse
count, path, base = int(sys.argv[1]), sys.argv[2], urllib.parse.urlsplit(sys.argv[3])
auth = "Basic " + base64.b64encode(sys.argv[4].encode()).decode()
tokens, lock = [], threading.Lock()
def work(n):
    conn = http.client.HTTPConnection(base.hostname, base.port)
    mine = []
    for _ in range(n):
        conn.request("POST", "/oauth/token", "grant_type=client_credentials",
                      {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        mine.append(json.loads(response.read())["access_token"])
    with lock:
        tokens.extend(mine)
threads = [threading.Thread(target=work, args=(count // 8 + (1 if i < count % 8 else 0),)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
# A thread that died (an error answer) leaves the list short: that is a failed run, not a smaller one.
if len(tokens) != count:
    sys.exit(f"minting failed: {len(tokens)} of {count} tokens issued")
open(path, "w").write("\n".join(tokens) + "\n")
PY
}

# --- the baseline, up for the whole run ---------------------------------------------------------
"$bin/bench-baseline" 18000 >/dev/null 2>&1 &
baseline=$!
pids+=($baseline)
wait_up "$BASE/"
lua get GET ""
lua post POST "grant_type=client_credentials"

# --- the servers ------------------------------------------------------------------------------
if [ -n "$postgres" ]; then
    database="bench_$(date +%s)_$RANDOM"
    psql "$postgres" -qc "CREATE DATABASE $database"
    db_url=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$postgres" "$database")
    backend=PostgreSQL
else
    db_url="sqlite://$work/auth.db"
    backend=SQLite
fi
APP__SERVER__PORT=18081 APP__METRICS__PORT=18181 APP__DATABASE__URL=$db_url APP__DEMO__SEED=true \
    "$bin/auth-server" serve >"$work/auth.log" 2>&1 &
auth=$!
pids+=($auth)
wait_up "$AUTH/health"
# Cache entries live 10 minutes rather than 30 s, so that all 100,000 tokens of the memory run are
# still cached when it ends.
APP__SERVER__PORT=18080 APP__METRICS__PORT=18180 APP__INTROSPECTION__URL=$AUTH/oauth/check_token \
    APP__INTROSPECTION__CACHE_TTL_SECONDS=600 \
    "$bin/resource-server" >"$work/resource.log" 2>&1 &
resource=$!
pids+=($resource)
wait_up "$RES/health"
sleep 1
auth_idle=$(rss_kb $auth VmRSS)
resource_idle=$(rss_kb $resource VmRSS)
# /metrics before the load, to check that the counters operators watch move with it.
curl -sf http://127.0.0.1:18181/metrics >"$work/auth-metrics-before.txt"
curl -sf http://127.0.0.1:18180/metrics >"$work/resource-metrics-before.txt"

token=$(curl -s -u dev:11 -d grant_type=client_credentials "$AUTH/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -o /dev/null -H "Authorization: Bearer $token" "$RES/hi?name=1111"

lua cc POST "grant_type=client_credentials" "Authorization: Basic $(printf dev:11 | base64)"
lua password POST "grant_type=password&username=admin&password=123456" "Authorization: Basic $(printf dev:11 | base64)"
lua introspect POST "token=$token" "Authorization: Basic $(printf resource:resource-secret | base64)"
lua hi GET "" "Authorization: Bearer $token"

measure "client_credentials" POST "≥ 0.20" "$AUTH/oauth/token" cc
# One bcrypt thread does ~16 cost-10 checks a second: 4 connections keep it busy without queueing
# past wrk's 2 s timeout.
measure "password grant (4 connections)" POST "bcrypt-bound" "$AUTH/oauth/token" password 4
measure "introspection (RFC 7662)" POST "≥ 0.25" "$AUTH/oauth2/introspect" introspect
measure "check_token (Spring)" POST "≥ 0.25" "$AUTH/oauth/check_token" introspect
mint 10000 "$work/tokens-10k.txt"
# Concurrent lookups of one token share a query; this asks for a different token each time.
rotating_lua introspect10k "$work/tokens-10k.txt" "wrk.format('POST', nil, {
        ['Authorization'] = 'Basic $(printf resource:resource-secret | base64)',
        ['Content-Type'] = 'application/x-www-form-urlencoded' }, 'token=' .. token)"
measure "introspection, 10,000 tokens" POST "≥ 0.25" "$AUTH/oauth2/introspect" introspect10k
measure "/hi, cached token" GET "≥ 0.70" "$RES/hi?name=1111" hi

rotating_lua hi10k "$work/tokens-10k.txt" "wrk.format('GET', nil, { ['Authorization'] = 'Bearer ' .. token })"
measure "/hi, 10,000 tokens (misses, then hits)" GET "p99 < 20 ms" "$RES/hi?name=1111" hi10k

# A password flood from another process while /hi and client_credentials are measured.
flood() {
    wrk -t1 -c8 -d"$((duration + 2))s" -s "$work/password.lua" "$AUTH/oauth/token" >"$work/flood.wrk" 2>&1 &
    flooder=$!
    pids+=($flooder)
    sleep 1
}
flood
measure "/hi, cached, under a password flood" GET "≥ 0.80 of /hi" "$RES/hi?name=1111" hi
wait $flooder || true
flood
measure "client_credentials under a password flood" POST "≥ 0.80 of cc" "$AUTH/oauth/token" cc
wait $flooder || true

# --- JWT access tokens (docs/jwt.md) ------------------------------------------------------------
# A client of its own gets RS256 JWTs from the same server; a second auth server on a database of
# its own signs with EdDSA; a second resource server verifies JWTs itself with the JWK set.
APP__DATABASE__URL=$db_url "$bin/auth-server" client add --client-id jwt --secret jwt-secret \
    --scope app --grant-types client_credentials --access-token-type jwt >/dev/null
if [ -n "$postgres" ]; then
    psql "$postgres" -qc "CREATE DATABASE ${database}_eddsa"
    eddsa_url=${db_url%/*}/${database}_eddsa
else
    eddsa_url="sqlite://$work/auth-eddsa.db"
fi
AUTH_EDDSA=http://127.0.0.1:18083
RES_JWT=http://127.0.0.1:18082
APP__SERVER__PORT=18083 APP__METRICS__PORT=18183 APP__DATABASE__URL=$eddsa_url APP__DEMO__SEED=true APP__JWT__ALGORITHM=EdDSA \
    APP__TOKENS__ACCESS_TOKEN_TYPE=jwt "$bin/auth-server" serve >"$work/auth-eddsa.log" 2>&1 &
pids+=($!)
APP__SERVER__PORT=18082 APP__METRICS__PORT=18182 APP__VALIDATION__MODE=jwt APP__JWT__JWKS_URL=$AUTH/oauth2/jwks \
    APP__JWT__ISSUER=http://localhost:18081 APP__JWT__TOKEN_CACHE_CAPACITY=200000 \
    "$bin/resource-server" >"$work/resource-jwt.log" 2>&1 &
resource_jwt=$!
pids+=($resource_jwt)
wait_up "$AUTH_EDDSA/health"
wait_up "$RES_JWT/health"
signing_cost=$("$bin/examples/signing_cost" 200)
jwt=$(curl -s -u jwt:jwt-secret -d grant_type=client_credentials "$AUTH/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
lua cc_jwt POST "grant_type=client_credentials" "Authorization: Basic $(printf jwt:jwt-secret | base64)"
lua introspect_jwt POST "token=$jwt" "Authorization: Basic $(printf resource:resource-secret | base64)"
lua hi_jwt GET "" "Authorization: Bearer $jwt"
measure "client_credentials, RS256 JWT" POST "signature-bound (below)" "$AUTH/oauth/token" cc_jwt
measure "client_credentials, EdDSA JWT" POST "≥ 0.20" "$AUTH_EDDSA/oauth/token" cc
measure "introspection of a JWT" POST "≥ 0.25" "$AUTH/oauth2/introspect" introspect_jwt
measure "/hi, JWT mode, repeated token" GET "≥ 0.80" "$RES_JWT/hi?name=1111" hi_jwt
MINT_CLIENT=jwt:jwt-secret mint 10000 "$work/jwts-10k.txt"
rotating_lua hi_jwt10k "$work/jwts-10k.txt" "wrk.format('GET', nil, { ['Authorization'] = 'Bearer ' .. token })"
# The auth server logs every request it answers: none may come from the resource server here.
auth_requests() { grep -c 'INFO  http\]' "$work/auth.log" || true; }
requests_before=$(auth_requests)
fetches_before=$(curl -s "$RES_JWT/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jwks_fetches"])')
measure "/hi, JWT mode, 10,000 tokens" GET "p99 < 20 ms" "$RES_JWT/hi?name=1111" hi_jwt10k
sleep 0.1 # the log is written every 20 ms
requests_during=$(( $(auth_requests) - requests_before ))
requests_total=$(auth_requests)
fetches_during=$(( $(curl -s "$RES_JWT/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["jwks_fetches"])') - fetches_before ))

cached_after=""
if ! $quick; then
    echo "minting 100,000 tokens and caching them all in the resource server" >&2
    mint 100000 "$work/tokens-100k.txt"
    python3 - "$work/tokens-100k.txt" "$RES" <<'PY'
import http.client, sys, threading, urllib.parse
tokens = open(sys.argv[1]).read().split()
base = urllib.parse.urlsplit(sys.argv[2])
answered = []
def work(part):
    conn = http.client.HTTPConnection(base.hostname, base.port)
    for token in part:
        conn.request("GET", "/hi?name=1111", headers={"Authorization": "Bearer " + token})
        if conn.getresponse().read() == b"hi , 1111":
            answered.append(1)
threads = [threading.Thread(target=work, args=(tokens[i::8],)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
if len(answered) != len(tokens):
    sys.exit(f"caching failed: {len(answered)} of {len(tokens)} tokens answered")
PY
    cached_after=$(curl -s "$RES/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cached_tokens"])')
fi
curl -sf http://127.0.0.1:18181/metrics >"$work/auth-metrics-after.txt"
curl -sf http://127.0.0.1:18180/metrics >"$work/resource-metrics-after.txt"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
def series(path):
    values = {}
    for line in open(path):
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values
expected = {
    "auth": ['oauth_tokens_issued_total{grant_type="client_credentials"}',
             'oauth_tokens_issued_total{grant_type="password"}',
             'http_requests_total{method="POST",route="/oauth/token",status="200"}',
             'http_request_duration_seconds_count{method="POST",route="/oauth2/introspect"}',
             'worker_queue_wait_seconds_count{pool="bcrypt"}',
             'db_pool_wait_seconds_count',
             'db_writer_batch_size_count',
             'db_writer_commit_seconds_count'],
    "resource": ['http_requests_total{method="GET",route="/hi",status="200"}',
                 'token_cache_hits_total{cache="introspection"}',
                 'token_cache_misses_total{cache="introspection"}',
                 'introspection_requests_total'],
}
still = []
for server, names in expected.items():
    before = series(f"{work}/{server}-metrics-before.txt")
    after = series(f"{work}/{server}-metrics-after.txt")
    moved = []
    for name in names:
        delta = after.get(name, 0) - before.get(name, 0)
        (moved if delta > 0 else still).append(f"{name} +{delta:,.0f}")
    print(f"{server}-server /metrics moved during the run: " + ", ".join(moved), file=sys.stderr)
if still:
    sys.exit("FAILED: /metrics counters that did not move: " + ", ".join(still))
PY
auth_now=$(rss_kb $auth VmRSS); resource_now=$(rss_kb $resource VmRSS)
auth_peak=$(rss_kb $auth VmHWM); resource_peak=$(rss_kb $resource VmHWM)

python3 - "$results" "$backend" "$auth_idle" "$resource_idle" "$auth_now" "$resource_now" \
    "$auth_peak" "$resource_peak" "$cached_after" "$connections" "$duration" \
    "$signing_cost" "$requests_during" "$fetches_during" "$requests_total" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
(backend, auth_idle, res_idle, auth_now, res_now, auth_peak, res_peak, cached, conns, duration,
 signing_cost, requests_during, fetches_during, requests_total) = sys.argv[2:]
import statistics
# Rounds of one workload, and of the baseline measured beside it, in the order measured.
workloads, baselines = {}, {}
for r in rows:
    (baselines if r["target"] == "baseline" else workloads).setdefault(r["name"], []).append(r)
def summary(rounds):
    p50s = [r["p50"] for r in rounds if r["p50"] is not None]
    p99s = [r["p99"] for r in rounds if r["p99"] is not None]
    return {
        "rps": statistics.mean(r["rps"] for r in rounds),
        "p50": statistics.median(p50s) if p50s else None,
        # The worst round's: a tail is not averaged away.
        "p99": max(p99s) if p99s else None,
        "errors": sum(r["errors"] for r in rounds),
    }
if not workloads:
    sys.exit("no workload was measured")
by_name = {name: summary(rounds) for name, rounds in workloads.items()}
def fmt(v):
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}")
print(f"\n### {backend}: wrk -t2 -c{conns}, {duration} s per workload in 3 rounds alternating with "
      "the baseline, servers and load on one 2-core machine\n")
print("| workload | req/s | p50 ms | p99 ms | errors | baseline req/s | ratio | target |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for name, rounds in workloads.items():
    r, method, target = by_name[name], rounds[0]["method"], rounds[0]["target"]
    base = summary(baselines[name])["rps"] if name in baselines else None
    if name.endswith("under a password flood"):
        reference = by_name["/hi, cached token" if method == "GET" else "client_credentials"]["rps"]
        ratio = f"{r['rps'] / reference:.2f} of unflooded" if reference else "-"
    else:
        ratio = f"{r['rps'] / base:.2f}" if base else "-"
    shown = f"{base:,.0f} {method}" if base else "-"
    print(f"| {name} | {r['rps']:,.0f} | {fmt(r['p50'])} | {fmt(r['p99'])} | {r['errors']} "
          f"| {shown} | {ratio} | {target} |")
mb = lambda kb: f"{int(kb) / 1024:.1f} MB" if kb else "-"
print()
print(f"memory (RSS): auth-server {mb(auth_idle)} idle, {mb(auth_now)} at the end, {mb(auth_peak)} peak; "
      f"resource-server {mb(res_idle)} idle, {mb(res_now)} at the end"
      + (f" with {int(cached):,} cached tokens" if cached else "") + f", {mb(res_peak)} peak")
print()
print("one signature, one core (examples/signing_cost.rs): " + "; ".join(signing_cost.splitlines()))
rs256 = by_name.get("client_credentials, RS256 JWT")
cost = next((l for l in signing_cost.splitlines() if l.startswith("RS256")), "")
if rs256 and cost:
    per_core = float(cost.split(",")[1].split()[0])
    import os
    ceiling = per_core * (os.cpu_count() or 1)
    print(f"RS256 JWT issuing: {rs256['rps']:,.0f} tokens/s of a {ceiling:,.0f}/s ceiling "
          f"(cores × signatures per core): {rs256['rps'] / ceiling:.2f} of it")
print(f"/hi in JWT mode with 10,000 tokens: the auth server answered {requests_during} requests "
      f"during it ({int(requests_total):,} in the whole run, by its log), the resource server "
      f"fetched the key set {fetches_during} times")
PY
