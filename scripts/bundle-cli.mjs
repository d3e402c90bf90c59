// Bundles the CLI (dist/cli/main.js and what it requires, pino and commander included) into one
// file, dist/cli/smartworkers.js, which bin/smartworkers runs, and writes its V8 code cache
// (dist/cli/smartworkers.js.cache, see src/cli/code-cache.ts). Why: the primary starts and forks
// its workers sooner, and stays lighter, when it parses one file instead of resolving ~80 modules,
// and sooner still when V8 need not compile that file (README, Performance: figures).
// Kept external, and so loaded only when used: yaml (config files), prom-client (status_listen),
// pidusage (first memory sample, after the workers are forked). The bundle sits in dist/cli/ so
// every __dirname-relative path (worker runtime, bin) resolves as it does from main.js.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

// The ecosystem reader's `import()` cannot run inside the code-cached bundle: that module stays
// outside, required from where tsc put it (dist/ecosystem/, seen from dist/cli/).
const importOutside = {
  name: 'import-module-outside',
  setup(b) {
    b.onResolve({ filter: /\/import-module$/ }, () => ({ path: '../ecosystem/import-module.js', external: true }));
  },
};

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/cli/smartworkers.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['yaml', 'prom-client', 'pidusage'],
  logLevel: 'warning',
  plugins: [importOutside],
});
if (/\bimport\(/.test(readFileSync('dist/cli/smartworkers.js', 'utf8'))) {
  throw new Error('dist/cli/smartworkers.js contains import(), which the code-cached bundle cannot run: move it to a module kept outside the bundle (see src/ecosystem/import-module.ts)');
}

// In a fresh process, so the cache holds what a real start compiles: the module's top level and
// the path up to the fork (warmUp). Made by this Node; another Node ignores it and compiles.
execFileSync(
  process.execPath,
  [
    '-e',
    `const path = require('node:path');
     const bundle = require('./dist/cli/code-cache.js').loadWithCodeCache(path.resolve('dist/cli/smartworkers.js'));
     bundle.exports.warmUp(path.resolve('dist/cli/main.js'));
     bundle.writeCache();`,
  ],
  { stdio: 'inherit' },
);
