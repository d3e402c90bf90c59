'use strict';
// The floor: a bare node:cluster primary. Fork N, refork on exit, SIGHUP = rolling restart
// (fork the new worker, wait for `listening`, then worker.disconnect() the old), SIGTERM = disconnect all.
const cluster = require('node:cluster');
const n = Number(process.env.WORKERS || 2);
cluster.setupPrimary({ exec: process.argv[2], args: process.argv.slice(3) });
let stopping = false;
for (let i = 0; i < n; i++) cluster.fork();
cluster.on('exit', (w) => { if (!stopping && !w.exitedAfterDisconnect) cluster.fork(); });
process.on('SIGHUP', async () => {
  for (const old of Object.values(cluster.workers)) {
    await new Promise((ok) => cluster.fork().once('listening', ok));
    old.disconnect();
  }
});
process.on('SIGTERM', () => { stopping = true; for (const w of Object.values(cluster.workers)) w.disconnect(); });
