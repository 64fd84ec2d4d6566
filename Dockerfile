# Both binaries in one image: a Rust build whose dependencies sit in their own cached layer, and a
# small Debian runtime that runs them as an unprivileged user.
#
#   docker compose up --build                      (BuildKit)
#   DOCKER_BUILDKIT=0 docker build -t oauth-rs .   (the classic builder, as scripts/docker-check.sh)
#
# No `# syntax=` line: it would make BuildKit fetch a frontend image, and nothing here needs one.
# scripts/docker-check.sh builds this file with a real engine and runs the stack it makes.

# --- planner: the inputs of the dependency layer -------------------------------------------------
# Every workspace manifest, Cargo.lock, and a placeholder at every target's source path, as
# `cargo metadata` lists them: no member is named here, so adding, moving or renaming a member
# needs no change to this file. The result changes only when a manifest does, which is what keeps
# the dependency layer below cached across source changes (COPY compares contents, not times).
FROM rust:1.95-bookworm AS planner
# Every stage carries this label, so that scripts/docker-check.sh can tell this project's build
# layers from others when it removes the ones no tag uses any more.
LABEL org.opencontainers.image.title="oauth-rs"
WORKDIR /src
COPY . .
RUN set -eu; \
    cargo metadata --no-deps --format-version 1 --offline > /tmp/metadata.json; \
    mkdir -p /skeleton; \
    cp Cargo.toml Cargo.lock /skeleton/; \
    for extra in .cargo rust-toolchain rust-toolchain.toml; do \
        if [ -e "$extra" ]; then cp -R "$extra" /skeleton/; fi; \
    done; \
    for manifest in $(grep -o '"manifest_path":"[^"]*"' /tmp/metadata.json | cut -d'"' -f4); do \
        relative="${manifest#/src/}"; \
        mkdir -p "/skeleton/$(dirname "$relative")"; \
        cp "$relative" "/skeleton/$relative"; \
    done; \
    for source in $(grep -o '"src_path":"[^"]*"' /tmp/metadata.json | cut -d'"' -f4); do \
        relative="${source#/src/}"; \
        mkdir -p "/skeleton/$(dirname "$relative")"; \
        printf '#![allow(dead_code)]\nfn main() {}\n' > "/skeleton/$relative"; \
    done

# --- deps: every dependency of both binaries, compiled against the placeholders ------------------
# The release profile without debug info, stripped (the workspace's profile keeps line tables for
# local profiling): the two binaries shrink from about 190 MB to about 21 MB. Keeping the symbol
# names (STRIP=debuginfo) would add about 7 MB, too much for an image meant to stay under 120 MB.
FROM rust:1.95-bookworm AS deps
LABEL org.opencontainers.image.title="oauth-rs"
WORKDIR /src
ENV CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=symbols
COPY --from=planner /skeleton/ ./
RUN cargo build --release --locked --bin auth-server --bin resource-server

# --- build: the workspace's own crates over the cached dependencies ------------------------------
FROM deps AS build
COPY . .
# The sources may be older than the placeholders compiled above (a checkout keeps no times that
# cargo can trust here): make every file newer, so cargo rebuilds our crates and only them.
RUN find . -path ./target -prune -o -type f -exec touch {} + \
    && cargo build --release --locked --bin auth-server --bin resource-server

# --- runtime -------------------------------------------------------------------------------------
FROM debian:bookworm-slim
LABEL org.opencontainers.image.title="oauth-rs" \
      org.opencontainers.image.description="OAuth 2.0 authorization server (auth-server) and resource server (resource-server)"
# libssl3: the bundled PostgreSQL client library links it; curl: the health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --create-home oauth
COPY --from=build /src/target/release/auth-server /src/target/release/resource-server /usr/local/bin/
# Numeric, so that an orchestrator's "must not run as root" check can verify it.
USER 10001:10001
WORKDIR /app
ENV APP__SERVER__HOST=0.0.0.0 RUST_LOG=info
EXPOSE 8081 8080
CMD ["auth-server", "serve"]
