// The worker-side cost of one log line: smartworkers' writer (stamp, queue, one write per turn)
// vs console.log of a self-stamped line to a file (a bare cluster worker whose stdout is a file).
//   node bench/logging-per-line.cjs sw     (writes $OUT or /tmp/micro-sw.log)
//   node bench/logging-per-line.cjs bare > /tmp/micro-bare.log
const fs = require('fs');
const mode = process.argv[2];
const N = 200000;
if (mode === 'sw') {
  require('../dist/logs/writer.js').installLogWriter({ app: 'a', slot: 0, out: process.env.OUT ?? '/tmp/micro-sw.log', json: false, date: 'YYYY-MM-DDTHH:mm:ss.SSSZ' });
}
const t0 = process.cpuUsage();
let i = 0;
function batch() {
  // 50 lines per turn of the loop, as 50 connections' requests would be
  for (let k = 0; k < 50 && i < N; k++, i++) {
    if (mode === 'sw') console.log(`${process.pid} request ${i} GET /`);
    else console.log(`${new Date().toISOString()}: ${process.pid} request ${i} GET /`);
  }
  if (i < N) setImmediate(batch);
  else setImmediate(() => { const u = process.cpuUsage(t0); fs.writeSync(2, `${mode}: ${((u.user + u.system) / N * 1000).toFixed(0)} ns CPU per line\n`); });
}
batch();
