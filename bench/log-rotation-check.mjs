// The primary's cost of watching log files for size rotation, as it grows with the number of
// files (issue 12): one app with W workers, an out and an error file per slot (2W files), none
// near log_max_size, every file growing a little; the rotation check runs for D seconds on its
// own timer, as in the primary, and this process's CPU is measured.
//   node bench/log-rotation-check.mjs [workers=8,64,256] [seconds=10]
// ROTATE_JS=<path of another build's dist/logs/rotate.js> measures that one (before/after).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';

const require = createRequire(import.meta.url);
const { startLogFiles } = require(process.env.ROTATE_JS ?? '../dist/logs/rotate.js');

const counts = (process.argv[2] ?? '8,64,256').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 10);
const quiet = { info() {}, warn() {} };

for (const workers of counts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swb-rotcheck-'));
  const app = { name: 'api', kind: 'cluster', workers, outFile: path.join(dir, 'out.log'), errorFile: path.join(dir, 'error.log'), mergeLogs: false, logMaxSize: 10 * 1024 * 1024, logRetain: 10, logCompress: false, logType: 'raw', time: false };
  const paths = [];
  for (let slot = 0; slot < workers; slot++) for (const s of ['out', 'error']) paths.push(path.join(dir, `${s}-${slot}.log`));
  // The files grow (a line a second each), written by another process as the workers would:
  // only the checker's CPU is this process's.
  const writer = spawn(process.execPath, ['-e', `const fs=require('fs');const p=${JSON.stringify(paths)};const fds=p.map(f=>fs.openSync(f,'a'));setInterval(()=>{for(const fd of fds)fs.writeSync(fd,'a line of the app\\n')},1000)`], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const files = startLogFiles({ apps: () => [app], liveWorkers: () => [], slots: () => workers, send() {}, logger: quiet });
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const used = process.cpuUsage(before);
  writer.kill();
  await files.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  const ms = (used.user + used.system) / 1000;
  console.log(`${workers} workers, ${paths.length} files: rotation check ${(ms / seconds).toFixed(2)} ms CPU per second (${((ms / seconds / 1000) * 100).toFixed(2)}% of a core)`);
}
