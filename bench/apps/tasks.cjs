'use strict';
// Every request starts a tracked background task (tasks.run) of TASK_MIN_MS..TASK_MAX_MS.
// With BENCH_TASK_LOG set, each task appends `S <pid> <n>` when it starts and `C <pid> <n>` when it
// completes (synchronous O_APPEND writes, so a killed worker loses nothing already written):
// started − completed after the cluster has stopped = tasks lost, whatever the manager.
//
//   GET /spawn?n=250&ms=2000   start n tasks of ms each (for "SIGTERM with 500 tasks in flight")
//   GET /taskbench?n=200000    cost per tracked task in this worker (CPU ns), vs. the same work untracked
//   GET /ipcrate?rate=100000&ms=3000
//                              run tasks at `rate` per second for `ms` and count the IPC messages
//                              the smartworkers runtime sends meanwhile
//
// Outside smartworkers (bare primary, pm2) the tasks API runs locally; without dist/ at all a
// stand-in keeps the app usable so the harness can be tested before the core is built.
const fs = require('node:fs');
const path = require('node:path');
const { serve, hello, query } = require('./_common.cjs');

let tasks;
let tasksSource = 'smartworkers';
try {
  ({ tasks } = require(path.join(__dirname, '..', '..', 'dist', 'index.js')));
  if (!tasks || typeof tasks.run !== 'function') throw new Error('no tasks.run');
} catch {
  tasksSource = 'stand-in';
  tasks = { run: async (fn) => fn(), register: () => 0, unregister: () => {}, stats: () => ({}) };
}

const logFd = process.env.BENCH_TASK_LOG ? fs.openSync(process.env.BENCH_TASK_LOG, 'a') : null;
const minMs = Number(process.env.TASK_MIN_MS || 1000);
const maxMs = Number(process.env.TASK_MAX_MS || 3000);
const perRequest = process.env.TASKS_PER_REQUEST !== '0';
let seq = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startTask(ms) {
  const n = ++seq;
  if (logFd !== null) fs.writeSync(logFd, `S ${process.pid} ${n}\n`);
  tasks
    .run(async () => {
      await sleep(ms);
      if (logFd !== null) fs.writeSync(logFd, `C ${process.pid} ${n}\n`);
    }, { type: 'bench', description: `bench task ${n}`, estimatedMs: ms })
    .catch(() => {});
}

// Counts the smartworkers messages this worker sends: process.send ends in process._send,
// looked up at call time, so patching it here catches the runtime's sends too.
let ipcCount = 0;
if (typeof process._send === 'function') {
  const original = process._send;
  process._send = function (message, ...rest) {
    if (message && typeof message === 'object' && '$sw' in message) ipcCount++;
    return original.call(this, message, ...rest);
  };
}

// Measured fairly on a shared machine: the process's CPU time, not the wall clock (time spent
// preempted by other processes is not the cost of a task), over interleaved rounds, median per
// kind (a GC or a cold cache landing in one round is not charged to one kind alone).
const ROUNDS = 9;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

async function taskbench(n) {
  const noop = async () => 1;
  // warm both paths
  for (let i = 0; i < 10000; i++) { await noop(); await tasks.run(noop, { type: 'warm' }); }
  // At least ~20k per round: CPU time is read in µs.
  const per = Math.max(20000, Math.floor(n / ROUNDS));
  const canRegister = typeof tasks.register === 'function' && typeof tasks.unregister === 'function';
  const plain = [];
  const run = [];
  const reg = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t = cpuNs();
    for (let i = 0; i < per; i++) await noop();
    plain.push((cpuNs() - t) / per);
    t = cpuNs();
    for (let i = 0; i < per; i++) await tasks.run(noop, { type: 'bench' });
    run.push((cpuNs() - t) / per);
    if (canRegister) {
      t = cpuNs();
      for (let i = 0; i < per; i++) tasks.unregister(tasks.register({ type: 'bench' }), 'completed');
      reg.push((cpuNs() - t) / per);
    }
  }
  // Overhead per round (run − plain of the same round), then the median: both loops saw the same machine.
  const overhead = run.map((x, i) => x - plain[i]);
  return { pid: process.pid, tasksSource, n: per * ROUNDS, rounds: ROUNDS, plainNs: median(plain), runNs: median(run), overheadNs: median(overhead), registerUnregisterNs: canRegister ? median(reg) : null, registerUnregisterEachRound: reg.map((x) => Math.round(x)) };
}

async function ipcrate(rate, ms) {
  const tickMs = 10;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const quick = () => new Promise((resolve) => setImmediate(resolve));
  // idle baseline first: heartbeats only
  let before = ipcCount;
  await sleep(1000);
  const idlePerSec = ipcCount - before;
  before = ipcCount;
  const t0 = Date.now();
  let started = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - t0;
      if (elapsed >= ms) { clearInterval(timer); resolve(); return; }
      // catch up to the target rate if a tick ran late
      const due = Math.floor((elapsed * rate) / 1000) + perTick - started;
      for (let i = 0; i < due; i++) { started++; tasks.run(quick, { type: 'rate' }); }
    }, tickMs);
  });
  const elapsed = Date.now() - t0;
  await sleep(200);
  const messages = ipcCount - before;
  return { pid: process.pid, tasksSource, targetRate: rate, achievedRate: Math.round((started * 1000) / elapsed), tasks: started, ms: elapsed, ipcMessages: messages, ipcPerSec: (messages * 1000) / elapsed, idleIpcPerSec: idlePerSec };
}

const json = (res, value) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(value)); };

serve((req, res) => {
  const url = req.url;
  if (url.startsWith('/spawn')) {
    const q = query(req);
    const n = Number(q.get('n') || 250);
    const ms = Number(q.get('ms') || 2000);
    for (let i = 0; i < n; i++) startTask(ms);
    return json(res, { pid: process.pid, started: n });
  }
  if (url.startsWith('/taskbench')) {
    taskbench(Number(query(req).get('n') || 200000)).then((r) => json(res, r), (e) => { res.statusCode = 500; res.end(String(e)); });
    return;
  }
  if (url.startsWith('/ipcrate')) {
    const q = query(req);
    ipcrate(Number(q.get('rate') || 100000), Number(q.get('ms') || 3000)).then((r) => json(res, r), (e) => { res.statusCode = 500; res.end(String(e)); });
    return;
  }
  if (perRequest) startTask(minMs + Math.floor(Math.random() * (maxMs - minMs + 1)));
  hello(req, res);
});
