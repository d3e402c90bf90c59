// The queue consumer of the pm2 example: no server. It "connects", says it is ready, then
// handles a job every JOB_INTERVAL_MS, each registered as a background task so that a stop or
// a recycle waits for the job in hand instead of cutting it.
'use strict';
const { tasks } = require('smartworkers');

const queue = process.env.QUEUE || 'default';
const interval = Number(process.env.JOB_INTERVAL_MS || 1000);
let next = 1;

function handle(job) {
  return new Promise((resolve) => setTimeout(resolve, 200)).then(() => console.log(`jobs: done ${job}`));
}

const timer = setInterval(() => {
  const job = `${queue}#${next++}`;
  tasks.run(() => handle(job), { type: 'job', description: job, estimatedMs: 200 }).catch((err) => console.error(err));
}, interval);

console.log(`jobs ${process.pid} consuming ${queue}`);
if (process.send) process.send('ready');

// Stop taking jobs on pm2's SIGINT, a SIGTERM or pm2's 'shutdown' message; exit once the job in
// hand is done. (Under smartworkers the worker also waits for its tasks on its own.)
function stop() {
  clearInterval(timer);
  const exitWhenIdle = () => (tasks.hasActive() ? setTimeout(exitWhenIdle, 50) : process.exit(0));
  exitWhenIdle();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('message', (msg) => msg === 'shutdown' && stop());
