#!/usr/bin/env bash
# Local stand-ins for the base images that the Dockerfile and docker-compose.yml name, for a
# machine that reaches Debian's and crates.io's registries but no image registry. Each is tagged
# with exactly the name those files use, so neither file changes for the test:
#
#   debian:bookworm-slim   `debootstrap --variant=minbase bookworm`, slimmed as the official image
#                          is (no docs, manual pages or translations; no apt lists or caches)
#   rust:1.95-bookworm     that root + gcc, libc6-dev, make, pkg-config, libssl-dev, git, and
#                          this machine's Rust toolchain and CA bundle (rust/Dockerfile); the tag
#                          is made from this machine's `rustc --version`
#   postgres:15-bookworm   that root + Debian's postgresql-15 and an entrypoint that honours
#                          POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB (postgres/)
#   redis:7-bookworm       that root + Debian's redis-server (7.0) and an entrypoint that runs it
#                          as the redis user in /data, protected mode off as the official
#                          image builds it (redis/)
#
# They are kept between runs: an image is rebuilt only when what it is made from changed (this
# folder, the machine's toolchain or CA bundle, the image it is built on), which its label
# oauth-rs.stand-in records. An image of one of these names that this script did not make (a real
# one, pulled from a registry) is used as it is and never replaced.
#
#   tests/docker/stand-ins.sh          make the missing and outdated ones (about 3 minutes cold)
#   tests/docker/stand-ins.sh --list   print the names it provides, one a line
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DOCKER_BUILDKIT=0

rust_version=$(rustc --version | awk '{print $2}')
host=$(rustc -vV | sed -n 's/^host: //p')
DEBIAN=debian:bookworm-slim
RUST=rust:${rust_version%.*}-bookworm
POSTGRES=postgres:15-bookworm
REDIS=redis:7-bookworm
LABEL=oauth-rs.stand-in
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "${1:-}" = --list ]; then
    printf '%s\n' "$DEBIAN" "$RUST" "$POSTGRES" "$REDIS"
    exit 0
fi

say() { echo "stand-ins: $*"; }

# The fingerprint of what an image is made from.
fingerprint() {
    { cat "$here/stand-ins.sh"; for input in "$@"; do
        if [ -d "$input" ]; then find "$input" -type f | sort | xargs cat; else printf '%s\n' "$input"; fi
    done; } | sha256sum | cut -c1-16
}

# Runs a command with its output in a log, shown only when it fails.
logged() {
    local log="$work/$1.log"; shift
    if ! "$@" > "$log" 2>&1; then
        tail -30 "$log" >&2
        say "FAILED: $* (the end of its output above)" >&2
        exit 1
    fi
}

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# Whether NAME must be (re)built for FINGERPRINT; says why not when it need not.
needs_build() {
    local name=$1 wanted=$2 have
    if [ -z "$(image_id "$name")" ]; then
        return 0
    fi
    have=$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$name")
    if [ -z "$have" ] || [ "$have" = "<no value>" ]; then
        say "$name exists and is not a stand-in (a real image): used as it is"
        return 1
    fi
    if [ "$have" = "$wanted" ]; then
        say "$name: kept (stand-in $have)"
        return 1
    fi
    say "$name: its inputs changed ($have -> $wanted), rebuilding"
    return 0
}

work=$(mktemp -d /var/tmp/oauth-rs-stand-ins.XXXXXX)
trap 'rm -rf "$work"' EXIT

build_debian() {
    local wanted=$1 root="$work/root" started=$SECONDS
    say "$DEBIAN: debootstrap --variant=minbase bookworm from $MIRROR"
    logged debootstrap debootstrap --variant=minbase bookworm "$root" "$MIRROR"
    install -m 644 "$here/debian/dpkg-slim.cfg" "$root/etc/dpkg/dpkg.cfg.d/docker"
    install -m 644 "$here/debian/apt-docker-clean.conf" "$root/etc/apt/apt.conf.d/docker-clean"
    rm -f "$root/etc/apt/sources.list"
    install -m 644 "$here/debian/debian.sources" "$root/etc/apt/sources.list.d/debian.sources"
    # What dpkg-slim.cfg keeps out of every later install, out of the bootstrap too.
    find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    for dir in man groff info lintian linda locale; do
        rm -rf "${root:?}/usr/share/$dir"/*
    done
    rm -rf "${root:?}"/var/lib/apt/lists/* "${root:?}"/var/cache/apt/*
    find "$root/var/log" -type f -delete
    : > "$root/etc/machine-id"
    : > "$root/etc/resolv.conf"
    tar --numeric-owner -C "$root" -c . \
        | docker import -c 'CMD ["bash"]' -c "LABEL $LABEL=$wanted" - "$DEBIAN" > /dev/null
    rm -rf "$root"
    say "$DEBIAN: built in $((SECONDS - started)) s"
}

build_rust() {
    local wanted=$1 ctx="$work/rust" started=$SECONDS sysroot toolchain
    sysroot=$(rustc --print sysroot)
    toolchain="$rust_version-$host"
    say "$RUST: $DEBIAN + gcc and this machine's toolchain ($sysroot, without its docs)"
    mkdir -p "$ctx/rustup/toolchains/$toolchain" "$ctx/cargo/bin"
    tar -C "$sysroot" --exclude=./share/doc -c . | tar -C "$ctx/rustup/toolchains/$toolchain" -x
    if command -v rustup > /dev/null; then
        # As the official image: rustup's proxies on PATH, the one toolchain as the default.
        printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\n' "$toolchain" \
            > "$ctx/rustup/settings.toml"
        cp "$(command -v rustup)" "$ctx/cargo/bin/rustup"
        for proxy in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt rust-gdb rust-lldb; do
            ln -s rustup "$ctx/cargo/bin/$proxy"
        done
    else
        for tool in "$ctx/rustup/toolchains/$toolchain/bin"/*; do
            ln -s "../../rustup/toolchains/$toolchain/bin/$(basename "$tool")" "$ctx/cargo/bin/"
        done
    fi
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
    logged rust-build docker build --build-arg "RUST_VERSION=$rust_version" --label "$LABEL=$wanted" \
        -f "$here/rust/Dockerfile" -t "$RUST" "$ctx"
    rm -rf "$ctx"
    say "$RUST: built in $((SECONDS - started)) s"
}

build_postgres() {
    local wanted=$1 started=$SECONDS
    say "$POSTGRES: $DEBIAN + Debian's postgresql-15"
    logged postgres-build docker build --label "$LABEL=$wanted" -t "$POSTGRES" "$here/postgres"
    say "$POSTGRES: built in $((SECONDS - started)) s"
}

build_redis() {
    local wanted=$1 started=$SECONDS
    say "$REDIS: $DEBIAN + Debian's redis-server"
    logged redis-build docker build --label "$LABEL=$wanted" -t "$REDIS" "$here/redis"
    say "$REDIS: built in $((SECONDS - started)) s"
}

wanted=$(fingerprint "$here/debian" "$MIRROR")
if needs_build "$DEBIAN" "$wanted"; then build_debian "$wanted"; fi

wanted=$(fingerprint "$here/rust" "$(rustc -vV)" "$(sha256sum /etc/ssl/certs/ca-certificates.crt)" \
    "$(image_id "$DEBIAN")")
if needs_build "$RUST" "$wanted"; then build_rust "$wanted"; fi

wanted=$(fingerprint "$here/postgres" "$(image_id "$DEBIAN")")
if needs_build "$POSTGRES" "$wanted"; then build_postgres "$wanted"; fi

wanted=$(fingerprint "$here/redis" "$(image_id "$DEBIAN")")
if needs_build "$REDIS" "$wanted"; then build_redis "$wanted"; fi
