'use strict';
// Limited task type throughput: GET /limited?ms=5000&inflight=64&type=limited keeps `inflight`
// tasks.run calls of `type` outstanding in this worker for `ms` (each task does no work: the
// cost measured is the permit's round trip through the primary), and answers how many ended.
// &rate=R paces this worker at R tasks/s (the primary's CPU at a given rate, not flat out).
// Run with `task_types: { limited: { concurrency: N } }` so every task waits for a permit.
const path = require('node:path');
const { serve, hello, query } = require('./_common.cjs');
const { tasks } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

// Grant messages from the primary (one per batch of permits): tasks per message is the batching.
let grantMessages = 0;
process.on('message', (m) => {
  if (m !== null && typeof m === 'object' && m.$sw === 'grant') grantMessages++;
});

// rate > 0: paced at `rate` tasks/s (still at most `inflight` outstanding), topped up every 5 ms.
function drive(type, ms, inflight, rate = 0) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const grants0 = grantMessages;
    let done = 0;
    let started = 0;
    let outstanding = 0;
    let finished = false;
    const noop = () => 1;
    const allowed = () => (rate > 0 ? Math.floor(((Date.now() - t0) * rate) / 1000) : Infinity);
    const pacer = rate > 0 ? setInterval(() => fill(), 5) : null;
    const next = () => {
      if (finished) return;
      if (Date.now() - t0 >= ms) {
        if (outstanding === 0) {
          finished = true;
          if (pacer) clearInterval(pacer);
          resolve({ pid: process.pid, completed: done, ms: Date.now() - t0, grantMessages: grantMessages - grants0 });
        }
        return;
      }
      if (outstanding >= inflight || started >= allowed()) return;
      outstanding++;
      started++;
      tasks.run(noop, { type }).then(
        () => {
          outstanding--;
          done++;
          next();
        },
        () => {
          outstanding--;
          next();
        },
      );
    };
    const fill = () => {
      // Each call below starts a task (the same conditions as next()'s own), so the loop ends.
      while (!finished && Date.now() - t0 < ms && outstanding < inflight && started < allowed()) next();
      if (Date.now() - t0 >= ms) next();
    };
    for (let i = 0; i < inflight; i++) next();
  });
}

serve((req, res) => {
  if (req.url.startsWith('/limited')) {
    const q = query(req);
    drive(q.get('type') || 'limited', Number(q.get('ms') || 5000), Number(q.get('inflight') || 64), Number(q.get('rate') || 0)).then((r) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(r));
    });
    return;
  }
  hello(req, res);
});
