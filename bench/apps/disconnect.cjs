'use strict';
// GET /disconnect?n=5&ms=1500: starts n tracked tasks of ms each, answers, then closes the
// worker's IPC channel with process.disconnect(). Each task appends `S <pid> <n>` when it starts
// and `C <pid> <n>` when it completes to BENCH_TASK_LOG, so "lost" is counted by the app itself.
const fs = require('node:fs');
const path = require('node:path');
const { serve, hello, query } = require('./_common.cjs');
const { tasks } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const logFd = process.env.BENCH_TASK_LOG ? fs.openSync(process.env.BENCH_TASK_LOG, 'a') : null;
const line = (text) => logFd !== null && fs.writeSync(logFd, `${text}\n`);
let seq = 0;

serve((req, res) => {
  if (!req.url.startsWith('/disconnect')) return hello(req, res);
  const q = query(req);
  const n = Number(q.get('n') || 5);
  const ms = Number(q.get('ms') || 1500);
  for (let i = 0; i < n; i++) {
    const id = ++seq;
    line(`S ${process.pid} ${id}`);
    tasks.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      line(`C ${process.pid} ${id}`);
    }, { type: 'job', description: `job ${id}` });
  }
  res.end(JSON.stringify({ pid: process.pid, started: n }), () => process.disconnect());
});
