'use strict';
// The smallest worker that counts as ready: one server listening, nothing else. With PACE_MS set,
// it also runs an empty tracked task every PACE_MS ms, so the smartworkers runtime always has a
// changed count to send: it reports at its maximum rate (a bare primary's workers run the same).
const path = require('node:path');
const { serve, hello } = require('./_common.cjs');

serve(hello);
const pace = Number(process.env.PACE_MS || 0);
if (pace > 0) {
  let tasks = null;
  try {
    ({ tasks } = require(path.join(__dirname, '..', '..', 'dist', 'index.js')));
  } catch {
    tasks = null;
  }
  setInterval(() => {
    if (tasks) tasks.run(async () => {}, { type: 'pace' });
  }, pace);
}
