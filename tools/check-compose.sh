#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine (docker-compose v1 parses it offline).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "installing the docker-compose client (validation only)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; } >/dev/null 2>&1 || true
fi
if command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f docker-compose.yml config -q
  echo "docker-compose.yml is valid"
else
  echo "docker-compose client unavailable (no apt access?): could not validate docker-compose.yml" >&2
  exit 1
fi
