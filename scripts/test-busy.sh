#!/usr/bin/env bash
# The whole test suite while two busy loops keep both cores busy, as on a loaded CI machine or
# server: `npm run test:busy [-- vitest args]`. The loops are killed however the suite ends.
set -uo pipefail
cd "$(dirname "$0")/.."
pids=()
stop_loops() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait "${pids[@]}" 2>/dev/null
}
trap stop_loops EXIT
trap 'exit 130' INT TERM
for _ in 1 2; do
  node -e 'for (;;) {}' &
  pids+=("$!")
done
echo "test:busy: busy loops ${pids[*]} running"
npm test -- "$@"
