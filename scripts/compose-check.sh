#!/usr/bin/env bash
# Proves docker-compose.yml and the Dockerfile without a Docker engine (see compose_check.py):
# builds with the Dockerfile's command, starts each service natively with the compose file's
# environment (PostgreSQL from TEST_DATABASE_URL), and runs scripts/demo.sh against them.
#
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test scripts/compose-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install --quiet pyyaml
exec python3 scripts/compose_check.py
