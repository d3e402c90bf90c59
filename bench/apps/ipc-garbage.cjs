'use strict';
// GET /garbage?n=10000 sends n random and malformed messages to the primary with process.send:
// plain values, smartworkers-tagged objects with wrong kinds and wrong field types, deep and large
// objects. Node's own internal messages (`cmd: 'NODE_*'`) are left out: those belong to node:cluster.
const { serve, hello, query } = require('./_common.cjs');

const TAG = '$sw';
const kinds = ['hello', 'report', 'drained', 'lost', 'signal', 'tasks', 'ready', 'retire', '', '__proto__', 'constructor'];
const junk = () => {
  const r = Math.random();
  if (r < 0.1) return null;
  if (r < 0.2) return -1;
  if (r < 0.3) return 'x'.repeat(Math.floor(Math.random() * 2000));
  if (r < 0.4) return [1, 'a', null, { a: [] }];
  if (r < 0.5) return { nested: { deeper: { deepest: Array.from({ length: 50 }, (_, i) => i) } } };
  if (r < 0.6) return 1e308;
  if (r < 0.7) return true;
  if (r < 0.8) return { started: 'NaN', completed: -5, activeByType: { a: 'b' } };
  if (r < 0.9) return [{ id: 1, type: null }];
  return Math.floor(Math.random() * 1e9);
};

function garbage(i) {
  switch (i % 8) {
    case 0: return junk() ?? 'ready';
    case 1: return 'ready';
    case 2: return { [TAG]: kinds[Math.floor(Math.random() * kinds.length)] };
    case 3: return { [TAG]: kinds[Math.floor(Math.random() * kinds.length)], served: junk(), inflight: junk(), connections: junk(), tasks: junk(), loopDelayMs: junk() };
    case 4: return { [TAG]: junk() };
    case 5: return { [TAG]: 'report', served: 1, inflight: 0, connections: 0, tasks: { started: 1, completed: 0, failed: 0, cancelled: 0, activeByType: junk() }, loopDelayMs: 0 };
    case 6: return { [TAG]: 'lost', tasks: junk() };
    default: return { type: 'app', payload: junk(), i };
  }
}

serve((req, res) => {
  if (req.url.startsWith('/garbage')) {
    const n = Number(query(req).get('n') || 10000);
    let sent = 0;
    let failed = 0;
    for (let i = 0; i < n; i++) {
      try {
        if (process.send) { process.send(garbage(i)); sent++; }
      } catch {
        failed++;
      }
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, sent, failed }));
    return;
  }
  hello(req, res);
});
