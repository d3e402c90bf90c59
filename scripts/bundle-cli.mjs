// Bundles the CLI (dist/cli/main.js and what it requires, pino and commander included) into one
// file, dist/cli/smartworkers.js, which bin/smartworkers runs. Why: the primary starts and forks
// its workers sooner, and stays lighter, when it parses one file instead of resolving ~80 modules
// (measured here: 20-30 ms and ~5 MB RSS less than the tsc output; see the README's Performance).
// Kept external, and so loaded only when used: yaml (config files), prom-client (status_listen),
// pidusage (first memory sample, after the workers are forked). The bundle sits in dist/cli/ so
// every __dirname-relative path (worker runtime, bin) resolves as it does from main.js.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/smartworkers.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['yaml', 'prom-client', 'pidusage'],
  logLevel: 'warning',
});
