# syntax=docker/dockerfile:1
# Both binaries in one image: a Rust build stage (dependencies in their own cached layer) and a
# small Debian runtime that runs as an unprivileged user. scripts/compose-check.sh runs the last
# `RUN cargo build` line of the build stage natively, so what CI checks is what this file builds.

FROM rust:1.95-bookworm AS build
WORKDIR /src

# Dependencies only, against placeholder sources: rebuilt only when a manifest or Cargo.lock
# changes.
COPY Cargo.toml Cargo.lock ./
COPY crates/shared/Cargo.toml crates/shared/
COPY crates/auth-server/Cargo.toml crates/auth-server/
COPY crates/resource-server/Cargo.toml crates/resource-server/
RUN for crate in shared auth-server resource-server; do \
        mkdir -p crates/$crate/src crates/$crate/tests/api \
        && touch crates/$crate/src/lib.rs crates/$crate/tests/api/main.rs; \
    done \
    && echo 'fn main() {}' > crates/auth-server/src/main.rs \
    && echo 'fn main() {}' > crates/resource-server/src/main.rs \
    && cargo build --release --locked --bin auth-server --bin resource-server \
    && rm -rf crates/*/src crates/*/tests

# The application. Touching the sources makes cargo rebuild our crates over the placeholders.
COPY crates crates
COPY migrations migrations
COPY config config
RUN find crates -name '*.rs' -exec touch {} +
RUN cargo build --release --locked --bin auth-server --bin resource-server

FROM debian:bookworm-slim
# libssl3: the PostgreSQL client library links it; curl: the health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --create-home oauth
COPY --from=build /src/target/release/auth-server /src/target/release/resource-server /usr/local/bin/
USER oauth
WORKDIR /app
ENV APP__SERVER__HOST=0.0.0.0 RUST_LOG=info
EXPOSE 8081 8080
CMD ["auth-server", "serve"]
