#!/usr/bin/env bash
# Retired: it ran the Dockerfile's last `cargo build` line natively, which could not see the
# dependency stage break. scripts/docker-check.sh runs docker-compose.yml and the Dockerfile for
# real; this name only forwards to it until .ci/run calls it directly.
exec "$(dirname "$0")/docker-check.sh" "$@"
