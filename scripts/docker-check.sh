#!/usr/bin/env bash
# docker-compose.yml and the Dockerfile, for real, with a Docker engine on this machine:
#  1. installs docker.io, docker-compose and debootstrap when missing; starts dockerd when none runs;
#  2. makes or keeps the stand-ins for the base images the two files name (tests/docker/stand-ins.sh)
#     and checks that every base image they name is one;
#  3. builds with `docker-compose build` (timed; cold when no build cache exists), then builds a
#     copy of the sources with one source file changed (timed) and fails if that rebuilt the
#     dependency layer;
#  4. checks the runtime image's size (at most 120 MB);
#  5. starts the auth server alone, before its database exists, and sees it wait;
#  6. `docker-compose up --build -d`, waits for every health check, checks that the auth server
#     came up without a restart and that both servers run as a non-root user;
#  7. runs scripts/demo.sh against the published ports (127.0.0.1:8081 and :8080), then reads both
#     servers' /metrics on their published metrics ports (:9181 and :9180) and /health/ready;
#  8. restarts the database under the running servers, and sees a token issued again;
#  9. `docker-compose down`, then `up` again without -v: a token issued before still validates;
# 10. the optional `redis` profile with APP__BRUTE_FORCE__STORE=redis: Redis stopped under the auth
#     server gives 503 to a password check and nothing else, started again gives 200, and failed
#     passwords are counted there (hashed keys, no username) until the account is locked;
# 11. tears everything down (`down -v`), also when a step fails, and stops the dockerd it started.
#
#   scripts/docker-check.sh           (about 12 minutes on a new machine, 3 to 4 when the stand-ins and
#                                      the dependency layer are kept from an earlier run)
#   scripts/docker-check.sh --cold    drops this project's build cache first (not the stand-ins)
#
# It uses the classic builder (DOCKER_BUILDKIT=0): BuildKit needs the buildx plugin or a frontend
# image, and no image registry is reachable here. The stack runs as compose project
# oauth-rs-check (COMPOSE_PROJECT_NAME), so it never touches a stack started from this folder by
# hand. Kept between runs: the stand-ins, and the build cache under the tags oauth-rs:local,
# oauth-rs-cache:deps and oauth-rs-cache:build; dangling layers of this project's builds (label
# org.opencontainers.image.title=oauth-rs) are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

cold=false
for arg in "$@"; do
    case "$arg" in
        --cold) cold=true ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-oauth-rs-check}
AUTH=http://127.0.0.1:8081
RESOURCE=http://127.0.0.1:8080
IMAGE=oauth-rs:local
DEPS_TAG=oauth-rs-cache:deps
BUILD_TAG=oauth-rs-cache:build
CHANGED_TAG=oauth-rs-check:source-change
OURS=org.opencontainers.image.title=oauth-rs
MAX_IMAGE_MB=120

work=$(mktemp -d /var/tmp/oauth-rs-docker-check.XXXXXX)
figures=()
started_dockerd=
stack_started=false

step() { echo; echo "== docker-check: $*"; }
say() { echo "docker-check: $*"; }
fail() { echo "docker-check: FAILED: $*" >&2; exit 1; }
figure() { figures+=("$1"); say "$1"; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }
compose() { docker-compose --ansi never "$@"; }

# The lines of a classic-builder log worth reading: the steps, whether each used the cache, the
# workspace's own crates being compiled (their sources are under /src), and a count of the rest.
build_summary() {
    awk '{ gsub(/\033\[[0-9;]*m/, "") }
        /^Step [0-9]+\/[0-9]+ : / { print substr($0, 1, 110); fflush(); next }
        /---> Using cache/ { print "    (cached)"; fflush(); next }
        /^ *Compiling .*\(\/src\// { sub(/^ +/, ""); print "    " $0; own++; fflush(); next }
        /^ *Compiling / { deps++ }
        /^ *Finished / { sub(/^ +/, ""); print "    " $0; fflush() }
        END { if (deps + own) printf "    (%d crates compiled, %d of them the workspace'"'"'s)\n", deps + own, own }'
}

# Whether the first `RUN cargo build` step of a build log (the dependency layer) used the cache.
deps_step_cached() {
    awk '{ gsub(/\033\[[0-9;]*m/, "") }
        found == 0 && /^Step [0-9]+\/[0-9]+ : RUN cargo build/ { found = 1; next }
        found == 1 && /--->/ { exit ($0 ~ /Using cache/) ? 0 : 1 }
        END { if (found == 0) exit 1 }' "$1"
}

cleanup() {
    local status=$?
    set +e
    if $stack_started; then
        if [ "$status" -ne 0 ]; then
            step "the stack's last log lines, after the failure"
            compose logs --no-color --tail=30
        fi
        step "teardown: docker-compose down -v"
        compose --profile redis down -v --remove-orphans 2>&1 | sed 's/^/    /'
        left=$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
        volumes=$(docker volume ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME")
        if [ -n "$left$volumes" ]; then
            say "FAILED: left behind: containers [$left] volumes [$volumes]" >&2
            status=1
        else
            say "nothing of project $COMPOSE_PROJECT_NAME is left (no container, no volume)"
        fi
    fi
    if [ -n "$(image_id "$CHANGED_TAG")" ]; then docker rmi "$CHANGED_TAG" > /dev/null; fi
    # Layers of this project's earlier builds that no tag uses any more (the kept tags stop it).
    docker image prune -f --filter "label=$OURS" > /dev/null
    if [ -n "$started_dockerd" ]; then
        say "stopping the dockerd this check started (pid $started_dockerd)"
        kill "$started_dockerd" 2>/dev/null
        for _ in $(seq 1 60); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -rf "$work"
    if [ "$status" -eq 0 ]; then say "passed"; else say "FAILED (exit status $status)" >&2; fi
    exit "$status"
}
trap cleanup EXIT

# --- 1. tools and engine -------------------------------------------------------------------------
step "tools"
missing=()
command -v dockerd > /dev/null || missing+=(docker.io)
command -v docker-compose > /dev/null || missing+=(docker-compose)
command -v debootstrap > /dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian's packages)"
    apt-get update -qq > "$work/apt.log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >> "$work/apt.log" 2>&1 \
        || { tail -20 "$work/apt.log" >&2; fail "apt-get install ${missing[*]}"; }
fi

if ! docker info > /dev/null 2>&1; then
    log=/var/log/oauth-rs-dockerd.log
    say "no Docker engine answers: starting dockerd (its log: $log)"
    setsid dockerd > "$log" 2>&1 < /dev/null &
    started_dockerd=$!
    for _ in $(seq 1 120); do docker info > /dev/null 2>&1 && break; sleep 0.5; done
    docker info > /dev/null 2>&1 || { tail -20 "$log" >&2; fail "dockerd did not start"; }
fi
say "engine $(docker version -f '{{.Server.Version}}'), storage $(docker info -f '{{.Driver}}'), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"

# A run that was killed may have left its stack: clear it before the ports are checked.
compose --profile redis down -v --remove-orphans > /dev/null 2>&1 || true
for port in 8081 8080; do
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        fail "something already listens on 127.0.0.1:$port; the stack publishes that port"
    fi
done

# --- 2. stand-ins ---------------------------------------------------------------------------------
step "stand-in base images (tests/docker/stand-ins.sh)"
started=$SECONDS
tests/docker/stand-ins.sh
figure "stand-ins ready in $((SECONDS - started)) s"

# Every base image the two files name must be a stand-in or already here: nothing can be pulled.
mapfile -t stand_ins < <(tests/docker/stand-ins.sh --list)
mapfile -t named < <(
    awk 'toupper($1) == "FROM" { image[++n] = $2; if (toupper($3) == "AS") stage[$4] = 1 }
         END { for (i = 1; i <= n; i++) if (!(image[i] in stage)) print image[i] }' Dockerfile
    /usr/bin/python3 -c '
import sys, yaml
for service in (yaml.safe_load(open("docker-compose.yml"))["services"] or {}).values():
    if "build" not in service:
        print(service["image"])'
)
for image in $(printf '%s\n' "${named[@]}" | sort -u); do
    if [[ " ${stand_ins[*]} " == *" $image "* ]]; then
        say "base image $image: a stand-in"
    elif [ -n "$(image_id "$image")" ]; then
        say "base image $image: present (not a stand-in)"
    else
        fail "the Dockerfile or docker-compose.yml names $image, which no stand-in provides (stand-ins.sh makes: ${stand_ins[*]}) and no registry can give here"
    fi
done

# --- 3. builds ------------------------------------------------------------------------------------
if $cold; then
    step "--cold: dropping this project's build cache (the stand-ins stay)"
    for tag in "$IMAGE" "$DEPS_TAG" "$BUILD_TAG"; do
        if [ -n "$(image_id "$tag")" ]; then docker rmi "$tag" > /dev/null; fi
    done
    docker image prune -f --filter "label=$OURS" | tail -1
fi

# `docker build -q`, its errors shown but not the classic builder's deprecation notice.
build_quiet() {
    if ! docker build -q "$@" 2> "$work/build-quiet.err"; then
        cat "$work/build-quiet.err" >&2
        fail "docker build $*"
    fi
}

step "build: docker-compose build"
deps_kept=$(image_id "$DEPS_TAG")
started=$SECONDS
if ! compose build 2>&1 | tee "$work/build.log" | build_summary; then
    tail -30 "$work/build.log" | sed 's/\x1b\[[0-9;]*m//g'
    fail "docker-compose build (the end of its output above)"
fi
build_seconds=$((SECONDS - started))
if deps_step_cached "$work/build.log"; then
    figure "build: ${build_seconds} s, dependency layer cached"
elif [ -n "$deps_kept" ]; then
    figure "build: ${build_seconds} s, dependency layer rebuilt (a manifest or Cargo.lock differs from the kept one)"
else
    figure "build: ${build_seconds} s, dependency layer built (cold: no build cache)"
fi
# Tags that keep the dependency layer and the build stage in the cache (see the header).
build_quiet --target deps -t "$DEPS_TAG" . > /dev/null
build_quiet --target build -t "$BUILD_TAG" . > /dev/null

step "build after a source-only change (a copy of the sources, one comment added)"
copy="$work/source-change"
mkdir -p "$copy"
tar -C "$root" --exclude=./.git --exclude=./target --exclude=./fuzz/target --exclude=node_modules \
    -c . | tar -C "$copy" -x
changed=$(cd "$copy" && { ls crates/shared/src/lib.rs 2> /dev/null || ls crates/*/src/lib.rs | head -1; })
echo "// docker-check: a source-only change, $(date -u +%FT%T.%NZ)" >> "$copy/$changed"
say "changed: $changed"
started=$SECONDS
if ! docker build -t "$CHANGED_TAG" "$copy" 2>&1 | sed '/^DEPRECATED: The legacy builder/,/environment-variable/d' | tee "$work/source-change.log" | build_summary; then
    tail -30 "$work/source-change.log" | sed 's/\x1b\[[0-9;]*m//g'
    fail "the build after a source change (the end of its output above)"
fi
change_seconds=$((SECONDS - started))
deps_after=$(build_quiet --target deps "$copy")
if [ "$deps_after" != "$(image_id "$DEPS_TAG")" ] || ! deps_step_cached "$work/source-change.log"; then
    fail "a source-only change rebuilt the dependency layer ($deps_after, kept: $(image_id "$DEPS_TAG")): the planner stage's output must depend on the manifests only"
fi
figure "build after a source change: ${change_seconds} s, dependency layer cached (${deps_after:7:12}, the same image)"
docker rmi "$CHANGED_TAG" > /dev/null

# --- 4. size ----------------------------------------------------------------------------------------
step "the runtime image"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
base=$(docker image inspect -f '{{.Size}}' debian:bookworm-slim)
binaries=$(docker run --rm --entrypoint stat "$IMAGE" -c %s /usr/local/bin/auth-server /usr/local/bin/resource-server \
    | awk '{ s += $1 } END { print s }')
figure "$IMAGE: $(mb "$size") MB (debian:bookworm-slim $(mb "$base") MB, both binaries $(mb "$binaries") MB)"
if [ "$size" -gt $((MAX_IMAGE_MB * 1000000)) ]; then
    fail "the runtime image is $(mb "$size") MB, over $MAX_IMAGE_MB MB"
fi

# --- 5. start order ---------------------------------------------------------------------------------
wait_healthy() {
    local service=$1 deadline=$((SECONDS + 120)) id health
    id=$(compose ps -q "$service")
    while true; do
        health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")
        [ "$health" = healthy ] && return 0
        if [ "$(docker inspect -f '{{.State.Running}}' "$id")" != true ]; then
            compose logs --no-color --tail=20 "$service"
            fail "$service stopped (exit code $(docker inspect -f '{{.State.ExitCode}}' "$id"))"
        fi
        [ $SECONDS -lt $deadline ] || fail "$service not healthy after 120 s (last: $health)"
        sleep 1
    done
}

step "the auth server started before its database exists"
stack_started=true
compose up -d --no-deps auth-server 2>&1 | sed 's/^/    /'
auth_id=$(compose ps -q auth-server)
auth_started_at=$(docker inspect -f '{{.State.StartedAt}}' "$auth_id")
# The auth server's log so far, in a file: grep -q on a pipe would end the writer early, and
# pipefail would count that as a failure.
auth_log() { compose logs --no-color auth-server > "$work/auth.log" 2>&1 || true; }
for _ in $(seq 1 30); do
    auth_log
    grep -q 'does not answer yet' "$work/auth.log" && break
    sleep 1
done
grep 'does not answer yet' "$work/auth.log" | head -2 | cut -c1-260 | sed 's/^/    /' || true
grep -q 'does not answer yet' "$work/auth.log" \
    || fail "the auth server did not say that it waits for its database"

# --- 6. the stack -----------------------------------------------------------------------------------
step "docker-compose up --build -d"
started=$SECONDS
compose up --build -d 2>&1 | tee "$work/up.log" | sed -E '/^ ---> |^Step |^Removing intermediate|^\s*$/d; s/^/    /'
for service in postgres auth-server resource-server; do wait_healthy "$service"; done
figure "stack healthy $((SECONDS - started)) s after up (build cached)"
if [ "$(compose ps -q auth-server)" != "$auth_id" ] \
    || [ "$(docker inspect -f '{{.State.StartedAt}}' "$auth_id")" != "$auth_started_at" ] \
    || [ "$(docker inspect -f '{{.RestartCount}}' "$auth_id")" != 0 ]; then
    fail "the auth server did not wait for its database: it was restarted or replaced"
fi
auth_log
attempts=$(grep -c 'does not answer yet' "$work/auth.log" || true)
say "the auth server waited for its database ($attempts attempts logged), then started: same container, same process, no restart"
compose ps | sed 's/^/    /'

step "both servers run as a non-root user"
for service in auth-server resource-server; do
    uid=$(compose exec -T "$service" awk '/^Uid:/ { print $2 }' /proc/1/status)
    name=$(compose exec -T "$service" cat /proc/1/comm)
    [ -n "$uid" ] && [ "$uid" != 0 ] || fail "$service's process runs as uid '$uid'"
    say "$service: pid 1 ($name) runs as uid $uid"
done

# --- 7. the walkthrough -----------------------------------------------------------------------------
step "scripts/demo.sh against $AUTH and $RESOURCE"
AUTH_URL=$AUTH RESOURCE_URL=$RESOURCE scripts/demo.sh > "$work/demo.log" 2>&1 \
    || { tail -30 "$work/demo.log"; fail "scripts/demo.sh against the stack"; }
grep -q 'using the servers already running' "$work/demo.log" \
    || { head -5 "$work/demo.log"; fail "scripts/demo.sh did not use the stack's servers"; }
say "scripts/demo.sh passed against the stack ($(grep -c '' "$work/demo.log") lines of output; its last ones:)"
tail -4 "$work/demo.log" | sed 's/^/    /'

step "/metrics on the published metrics ports, /health/ready"
# The walkthrough's requests are counted: tokens issued, and /hi answered by the resource server.
for check in "127.0.0.1:9181 oauth_tokens_issued_total{grant_type=\"password\"}" \
    "127.0.0.1:9180 http_requests_total{method=\"GET\",route=\"/hi\",status=\"200\"}"; do
    address=${check%% *}
    series=${check#* }
    value=$(curl -sf "http://$address/metrics" | grep -F "$series " | awk '{print $2}')
    [ -n "$value" ] && [ "${value%.*}" -gt 0 ] \
        || fail "http://$address/metrics has no $series above 0"
    say "http://$address/metrics: $series $value"
done
for base in "$AUTH" "$RESOURCE"; do
    ready=$(curl -s -w ' %{http_code}' "$base/health/ready")
    [ "$ready" = '{"status":"UP"} 200' ] || fail "$base/health/ready answered $ready"
    say "$base/health/ready: $ready"
done

# --- 8. the database restarts under the running servers ---------------------------------------------
token_for_admin() {
    curl -s -u dev:11 -d 'grant_type=password&username=admin&password=123456' "$AUTH/oauth/token" \
        | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
step "docker-compose restart postgres, under the running servers"
compose restart postgres 2>&1 | sed 's/^/    /'
wait_healthy postgres
token=
for attempt in $(seq 1 20); do
    token=$(token_for_admin)
    [ -n "$token" ] && break
    sleep 1
done
[ -n "$token" ] || fail "no token from the auth server after the database restarted"
[ "$(docker inspect -f '{{.State.StartedAt}}' "$auth_id")" = "$auth_started_at" ] \
    || fail "the auth server restarted with its database"
say "a token issued after the database restart (attempt $attempt); the auth server kept running"

# --- 9. down, then up without -v ------------------------------------------------------------------------
hi() {
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$RESOURCE/hi?name=docker-check"
}
step "down, then up without -v: a token issued before still validates"
[ "$(hi "$token")" = 200 ] || fail "the resource server refused a fresh token"
say "before: token ${token:0:8}… gives 200 at $RESOURCE/hi"
started=$SECONDS
compose down 2>&1 | sed 's/^/    /'
docker volume inspect "${COMPOSE_PROJECT_NAME}_pgdata" > /dev/null || fail "down removed the database volume"
compose up -d 2>&1 | sed 's/^/    /'
for service in postgres auth-server resource-server; do wait_healthy "$service"; done
figure "restart (down, up): healthy again in $((SECONDS - started)) s"
code=$(hi "$token")
[ "$code" = 200 ] || fail "after the restart, the token issued before gives $code at /hi"
active=$(curl -s -u resource:resource-secret -d "token=$token" "$AUTH/oauth2/introspect")
case "$active" in *'"active":true'*) ;; *) fail "after the restart, introspection says: $active" ;; esac
say "after: the same token gives 200 at $RESOURCE/hi, and introspection says active"

# --- 10. the redis profile -----------------------------------------------------------------------------
password_grant() { # password: the HTTP status of admin's password grant
    curl -s -o "$work/grant.json" -w '%{http_code}' -u dev:11 \
        -d "grant_type=password&username=admin&password=$1" "$AUTH/oauth/token"
}
step "the redis profile: failed sign-ins counted in Redis (APP__BRUTE_FORCE__STORE=redis)"
started=$SECONDS
APP__BRUTE_FORCE__STORE=redis compose --profile redis up -d 2>&1 | sed 's/^/    /'
for service in redis postgres auth-server resource-server; do wait_healthy "$service"; done
figure "stack with Redis healthy $((SECONDS - started)) s after up"
[ "$(password_grant 123456)" = 200 ] || fail "no token with the store in Redis: $(cat "$work/grant.json")"
compose stop redis 2>&1 | sed 's/^/    /'
code=$(password_grant 123456)
[ "$code" = 503 ] && grep -q 'sign-in limit store does not answer' "$work/grant.json" \
    || fail "with Redis stopped, a password check gave $code: $(cat "$work/grant.json")"
client=$(curl -s -o /dev/null -w '%{http_code}' -u dev:11 -d grant_type=client_credentials "$AUTH/oauth/token")
[ "$client" = 200 ] || fail "with Redis stopped, client_credentials gave $client"
say "Redis stopped: the password grant answers 503 ($(cat "$work/grant.json")), client_credentials 200"
compose start redis 2>&1 | sed 's/^/    /'
wait_healthy redis
for attempt in $(seq 1 20); do
    code=$(password_grant 123456)
    [ "$code" = 200 ] && break
    sleep 1
done
[ "$code" = 200 ] || fail "password checks did not resume after Redis came back (last: $code)"
say "Redis started again: a token at attempt $attempt, the auth server not restarted"
codes=()
for n in 1 2 3 4 5; do codes+=("$(password_grant "wrong$n")"); done
codes+=("$(password_grant 123456)")
[ "${codes[*]}" = "400 400 400 400 400 429" ] || fail "five wrong passwords, then the right one: ${codes[*]}"
compose exec -T redis redis-cli --scan --pattern 'auth-server:sign-in:*' > "$work/keys" 2>&1 || true
grep -q '^auth-server:sign-in:user:[0-9a-f]\{64\}$' "$work/keys" \
    || fail "no hashed account key in Redis: $(cat "$work/keys")"
! grep -q admin "$work/keys" || fail "a username in a Redis key: $(cat "$work/keys")"
say "five wrong passwords, then the right one: ${codes[*]}; the keys in Redis:"
sed 's/^/    /' "$work/keys"

step "figures"
for line in "${figures[@]}"; do say "$line"; done
