/**
 * The source of the worker thread that evaluates an ES-module ecosystem file (see evaluate.ts).
 * It lives in its own file because the bundled CLI runs from a V8 code cache (src/cli/code-cache.ts)
 * and must not contain `import()`: scripts/bundle-cli.mjs keeps this module out of the bundle, so
 * it is loaded by Node's own loader from dist/ecosystem/.
 *
 * The worker is `eval`ed, where `module`, `exports` and `require` are globals: they are removed
 * first, so a CommonJS file in an ES-module package fails as it would under `node`, and the
 * reader can say what to rename. The result (the export as JSON, or the error) goes back over a
 * MessagePort, and a flag in shared memory wakes the waiting thread.
 */
export const ESM_EVALUATOR_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
for (const name of ['module', 'exports', 'require', '__filename', '__dirname']) delete globalThis[name];
const { href, flag, port, maxBytes } = workerData;
function done(out) {
  port.postMessage(out);
  const view = new Int32Array(flag);
  Atomics.store(view, 0, 1);
  Atomics.notify(view, 0);
}
import(href)
  .then((ns) => {
    const value = ns !== null && typeof ns === 'object' && 'default' in ns && !('apps' in ns) ? ns.default : ns;
    const json = JSON.stringify(value);
    if (json !== undefined && json.length > maxBytes) done({ ok: false, message: 'its export is larger than ' + maxBytes / 1048576 + ' MiB as JSON, the limit' });
    else done({ ok: true, json });
  })
  .then(undefined, (error) => done({ ok: false, message: String(error && error.message !== undefined ? error.message : error) }));
`;
