#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH. Node 24 comes from the npm package `node@24`,
# installed on demand into .cache/node24 (outside the package's own dependencies).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/node24"
if [ ! -x "$dir/node_modules/.bin/node" ]; then
  mkdir -p "$dir"
  (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd "$dir" && npm install --no-audit --no-fund --no-save node@24 >/dev/null)
fi
export PATH="$dir/node_modules/.bin:$PATH"
echo "node: $(node --version)"
exec "$@"
