'use strict';
// The logging scenario's floor: bench/peers/bare-primary.cjs whose workers' stdout is a file the
// primary opened with O_APPEND (LOG_FILE): each worker's console.log is one write(2) to it, and
// the primary never sees a line. The app stamps its own lines (LOG_TIMESTAMP=1).
const cluster = require('node:cluster');
const fs = require('node:fs');
const n = Number(process.env.WORKERS || 2);
const fd = fs.openSync(process.env.LOG_FILE, 'a', 0o644);
cluster.setupPrimary({ exec: process.argv[2], args: process.argv.slice(3), stdio: ['ignore', fd, 'inherit', 'ipc'] });
let stopping = false;
for (let i = 0; i < n; i++) cluster.fork();
cluster.on('exit', (w) => { if (!stopping && !w.exitedAfterDisconnect) cluster.fork(); });
process.on('SIGTERM', () => { stopping = true; for (const w of Object.values(cluster.workers)) w.disconnect(); });
