// Bundles the worker runtime (dist/worker/runtime.js and the modules it requires) into that one
// file, in place. Every worker preloads it (`--require`) before the app: as ~19 separate modules it
// cost ~25–35 ms of CPU at each boot on the 2-core machine of the bench, bundled ~9 ms — a
// replacement in a kill storm listens that much sooner (README, Reliability). Only Node builtins
// stay outside. The modules the app itself may load (dist/index.js: tasks, onDrain) keep their
// state on global symbols, so the bundle's copies and the app's share it (see src/worker/tasks.ts).
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/worker/runtime.js'],
  outfile: 'dist/worker/runtime.js',
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
