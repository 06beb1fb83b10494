#!/usr/bin/env bash
# One command from a fresh clone to a running platform: dependencies, local Postgres and NATS,
# build, then all five services (migrations run as each starts). Ctrl-C stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found: $(node -v 2>/dev/null || echo none))." >&2
  echo "On Debian/Ubuntu: https://github.com/nodesource/distributions or your distribution's nodejs 20 package." >&2
  exit 1
fi

echo "== dependencies"
npm ci --no-audit --no-fund

echo "== PostgreSQL and NATS"
bash tools/ensure-services.sh

echo "== chromium (console browser tests) and poppler-utils (invoice PDF tests)"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null
fi

echo "== build"
NX_DAEMON=false npx nx run-many -t build --output-style=static

echo "== starting the platform"
exec node tools/start.js
