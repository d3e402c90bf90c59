// Copies the dashboard's page (src/status/dashboard/public: HTML, CSS, plain browser JavaScript,
// no build step) into dist/, and vendors uPlot from node_modules beside it, so the published
// package serves every file itself: no CDN at run time, and uPlot stays a devDependency.
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const out = 'dist/status/dashboard/public';
cpSync('src/status/dashboard/public', out, { recursive: true });
mkdirSync(path.join(out, 'vendor'), { recursive: true });
const uplot = path.dirname(require.resolve('uplot/package.json'));
for (const file of ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css', 'LICENSE']) {
  cpSync(path.join(uplot, file), path.join(out, 'vendor', path.basename(file) === 'LICENSE' ? 'uPlot.LICENSE' : path.basename(file)));
}
