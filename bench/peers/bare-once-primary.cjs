'use strict';
// A bare node:cluster primary for a boot-failure storm (bench h): fork N, never fork again, exit
// once every worker has exited. The floor of what handling N exits costs a primary: Node's own
// cluster bookkeeping and nothing else.
const cluster = require('node:cluster');
const n = Number(process.env.WORKERS || 2);
cluster.setupPrimary({ exec: process.argv[2], args: process.argv.slice(3) });
for (let i = 0; i < n; i++) cluster.fork();
let left = n;
cluster.on('exit', () => {
  if (--left === 0) process.exit(3);
});
process.on('SIGTERM', () => {
  for (const w of Object.values(cluster.workers)) w.kill();
});
