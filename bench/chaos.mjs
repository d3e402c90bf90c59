#!/usr/bin/env node
// npm run chaos — the reliability suite: each scenario runs a real cluster under keep-alive load on
// loopback, bounded in time, and reports requests sent / failed, tasks started / completed / lost,
// whether the primary survived, whether the worker count came back, and — after the stop — whether
// any process of the cluster was left behind (by pid, and by process group), alive or zombie.
//
//   node bench/chaos.mjs [--quick] [--only kill,hang,…] [--peers smartworkers,bare,pm2] [--compare]
//
// By default only smartworkers runs; --compare (or --peers) adds the bare node:cluster primary and
// pm2 on the scenarios that make sense for them. Each scenario's `checks` are its invariants (never
// timings); `test/bench/chaos.test.ts` runs the "short" variant inside `npm test` and asserts them.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PEERS, NotAvailable, BENCH_DIR, installCleanup, stopAll, pm2Available } from './lib/peers.mjs';
import { startLoad } from './lib/load.mjs';
import * as proc from './lib/proc.mjs';
import { sleep, get, fire, markdownTable, fmt } from './lib/util.mjs';
import { CORE_SCENARIOS } from './chaos/core.mjs';
import { newResult, check, settle, killRandomWorkers } from './lib/scenario.mjs';

const CONNECTIONS = 50;
const WORKERS = 2;

/** Scenario sizes per variant. The counts from the issue (10,000 IPC messages, 1,000 control
 * requests, 20 SIGHUPs, 500 tasks) are cheap and kept in every variant; durations shrink. */
export const VARIANTS = {
  full: { killS: 20, loadS: 10, leakS: 10, tasks: 500, ipcN: 10000, ctlN: 1000, hups: 20 },
  quick: { killS: 6, loadS: 5, leakS: 6, tasks: 500, ipcN: 10000, ctlN: 1000, hups: 20 },
  short: { killS: 4, loadS: 3, leakS: 5, tasks: 200, ipcN: 10000, ctlN: 1000, hups: 20 },
};

// ------------------------------------------------------------------ helpers

/** Zombie children of the primary that stay zombies for a second (a transient one is being reaped). */
async function persistentZombies(pid) {
  if (!pid) return [];
  const first = new Set(proc.zombieChildren(pid));
  if (first.size === 0) return [];
  await sleep(1000);
  return proc.zombieChildren(pid).filter((z) => first.has(z));
}

/** Failed requests from a load summary, leaving out "connection refused" after `stopAt` (expected once the cluster is gone). */
function failedBefore(load, summary, stopAt) {
  if (!stopAt) return summary.failed;
  const expected = load.errorLog.filter((e) => e.t >= stopAt && e.code === 'ECONNREFUSED').length;
  return summary.failed - expected;
}

/** Seconds (in 100 ms buckets) during which connections were refused: no worker was listening. */
function refusingS(load) {
  const buckets = new Set(load.errorLog.filter((e) => e.code === 'ECONNREFUSED').map((e) => Math.floor(e.t / 100)));
  return buckets.size / 10;
}

/** Error codes with when they happened relative to `t0` (s), for notes. */
function errorTimeline(load, t0) {
  const byCode = {};
  for (const e of load.errorLog) {
    const k = e.code;
    byCode[k] = byCode[k] || [];
    if (byCode[k].length < 5) byCode[k].push(((e.t - t0) / 1000).toFixed(2));
  }
  return Object.entries(byCode).map(([k, ts]) => `${k} at ${ts.join(',')} s`).join('; ');
}

function startedWithFlags(peer, app, { env = {}, flags = {}, args = [], ...rest } = {}) {
  return PEERS[peer].start({ app, workers: WORKERS, env, flags, args, ...rest });
}

/** Stops the instance and records the after-stop facts common to every scenario. */
export async function finish(r, inst, { expectExit0 = true } = {}) {
  r.zombies = await persistentZombies(inst.primaryPid);
  const s = await inst.stop();
  r.exitCode = s.code;
  r.stopMs = s.ms;
  r.leftovers = s.leftovers;
  check(r, 'no zombie worker while running', r.zombies.length === 0, r.zombies.join(','));
  check(r, 'nothing left after stop (pids and process group)', s.leftovers.length === 0, JSON.stringify(s.leftovers));
  if (expectExit0) check(r, 'stop: exit code 0, not forced', s.code === 0 && !s.forced, `code ${s.code}${s.forced ? ', forced' : ''}`);
  return s;
}

function swLogs(inst, msg) {
  return (inst.logs || []).filter((l) => (msg instanceof RegExp ? msg.test(l.msg) : l.msg === msg));
}

// ------------------------------------------------------------------ scenarios

export const SCENARIOS = {
  ...CORE_SCENARIOS,
  kill: {
    title: 'SIGKILL a random worker every 500 ms',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer, v) {
      const r = newResult('kill', peer);
      const inst = await startedWithFlags(peer, 'hello');
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: v.killS + 1 });
      await sleep(500);
      const kills = await killRandomWorkers(inst, v.killS, 500);
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 30000);
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(`${kills} kills, ${(sum.failed / Math.max(1, kills)).toFixed(1)} failed per kill (${JSON.stringify(sum.errorCodes)}); no worker listening for ≈ ${refusingS(load)} s`);
      r.kills = kills;
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      check(r, `failed requests ≤ in flight on killed workers (≤ ${CONNECTIONS} connections × kills)`, sum.failed <= kills * CONNECTIONS, `${sum.failed} failed, ${kills} kills`);
      await finish(r, inst);
      return r;
    },
  },

  hang: {
    title: 'a worker blocks its event loop',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer, v) {
      const r = newResult('hang', peer);
      const timeoutMs = 2000;
      const inst = await startedWithFlags(peer, 'block', { flags: { timeout: `${timeoutMs}ms` } });
      const old = new Set(inst.readyPids());
      const durationS = Math.max(v.loadS, 5);
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS, timeoutS: 3 });
      await sleep(1000);
      const blockedAt = Date.now();
      fire(`${inst.url}/block`);
      const replaced = await inst.waitNewPid(old, { timeoutMs: peer === 'smartworkers' ? timeoutMs + 10000 : durationS * 1000 });
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(replaced ? `replaced ${replaced.t - blockedAt} ms after the block (timeout ${timeoutMs} ms)` : `not replaced within ${durationS} s`);
      r.notes.push(`failures: ${JSON.stringify(sum.errorCodes)}`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'hung worker replaced', Boolean(replaced));
      r.workersRestored = replaced ? await settle(inst, WORKERS, 15000) : false;
      check(r, 'worker count restored', r.workersRestored);
      await finish(r, inst, { expectExit0: Boolean(replaced) });
      return r;
    },
  },

  leak: {
    title: 'a worker leaks memory (max_memory 110MB)',
    peers: ['smartworkers'],
    async run(peer, v) {
      const r = newResult('leak', peer);
      const inst = await startedWithFlags(peer, 'memory', { env: { LEAK_BYTES: '2000' }, flags: { maxMemory: '110MB', maxMemoryHard: '400MB', memoryCheckInterval: '250ms' } });
      const old = new Set(inst.readyPids());
      const t0 = Date.now();
      // The leak grows with requests served, so a loaded machine leaks slower: keep the load on in
      // rounds until the ceiling has been crossed at least twice (bounded at 4 rounds).
      const sum = { sent: 0, failed: 0, errorCodes: {} };
      let recycles = 0;
      for (let round = 0; round < 4 && recycles < 2; round++) {
        const part = await startLoad({ url: inst.url, connections: CONNECTIONS, durationS: v.leakS }).done;
        sum.sent += part.sent;
        sum.failed += part.failed;
        for (const [code, n] of Object.entries(part.errorCodes)) sum.errorCodes[code] = (sum.errorCodes[code] ?? 0) + n;
        inst.poll();
        recycles = new Set(inst.ready.filter((e) => e.t >= t0 && !old.has(e.pid)).map((e) => e.pid)).size;
      }
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 20000);
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(`${recycles} memory recycles; ${swLogs(inst, /retir/).length} retire log lines`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'leaking workers recycled', recycles >= 1, `${recycles} recycles`);
      check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
      check(r, 'worker count restored', r.workersRestored);
      await finish(r, inst);
      return r;
    },
  },

  'boot-crash': {
    title: 'the app crashes at boot',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer) {
      const r = newResult('boot-crash', peer);
      const boundMs = 30000;
      const inst = await PEERS[peer].start({ app: 'crashy', workers: WORKERS, env: { CRASH_AT_BOOT: '1' }, waitReady: false });
      const t0 = inst.startedAt;
      let cpu = 0;
      let exited = null;
      const observeMs = peer === 'smartworkers' ? boundMs : 6000;
      while (Date.now() - t0 < observeMs) {
        const c = proc.cpuSeconds(inst.primaryPid);
        if (c !== null) cpu = c;
        if (inst.exit) {
          exited = inst.exit;
          break;
        }
        if (inst.workerPids) inst.workerPids();
        await sleep(100);
      }
      const wallS = ((exited ? exited.at : Date.now()) - t0) / 1000;
      const forks = inst.seenPids.size;
      r.primarySurvived = peer === 'smartworkers' ? 'exits (expected)' : inst.primaryAlive();
      r.notes.push(exited ? `exited with code ${exited.code} after ${wallS.toFixed(1)} s` : `still running after ${wallS.toFixed(1)} s`);
      r.notes.push(`primary CPU ${cpu.toFixed(2)} s over ${wallS.toFixed(1)} s; ${forks} worker pids seen`);
      if (peer === 'smartworkers') {
        const shown = /broken at boot/.test(inst.stderr) || inst.stdoutLines.some((l) => /broken at boot/.test(l));
        check(r, `exits non-zero within ${boundMs / 1000} s`, exited && exited.code !== 0, exited ? `code ${exited.code} after ${wallS.toFixed(1)} s` : 'still running');
        check(r, "shows the app's own error", shown);
        // Startup itself costs some CPU (module loading): allow 0.5 s of it, then at most half a core.
        check(r, 'no CPU spin in the primary (≤ 0.5 s + 50% of one core)', cpu <= 0.5 + wallS * 0.5, `${cpu.toFixed(2)} s CPU in ${wallS.toFixed(1)} s`);
      }
      const s = await finish(r, inst, { expectExit0: false });
      if (peer !== 'smartworkers') r.exitCode = s.code;
      return r;
    },
  },

  'crash-1-in-100': {
    title: 'the app crashes on 1 request in 100',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer, v) {
      const r = newResult('crash-1-in-100', peer);
      const inst = await startedWithFlags(peer, 'crashy', { env: { CRASH_EVERY: '100' }, flags: { maxRestartDelay: '1s' } });
      const rate = 100;
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 4), rate });
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 20000);
      inst.poll();
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(`${rate} req/s offered; ${inst.seenPids.size - WORKERS} crashes replaced; ${sum.ok2xx} answered 2xx (${JSON.stringify(sum.errorCodes)}); no worker listening for ≈ ${refusingS(load)} s`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      check(r, 'kept serving (most requests answered)', sum.ok2xx > sum.sent / 2, `${sum.ok2xx} of ${sum.sent}`);
      await finish(r, inst);
      return r;
    },
  },

  'ipc-garbage': {
    title: 'the app sends 10,000 random and malformed IPC messages',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer, v) {
      const r = newResult('ipc-garbage', peer);
      const inst = await startedWithFlags(peer, 'ipc-garbage');
      const before = new Set(inst.readyPids());
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 3) });
      await sleep(500);
      let sent = 0;
      const hit = new Set();
      for (let i = 0; i < 2; i++) {
        const res = JSON.parse((await get(`${inst.url}/garbage?n=${v.ipcN / 2}`, 20000)).body);
        sent += res.sent;
        hit.add(res.pid);
      }
      const sum = await load.done;
      await sleep(500);
      r.primarySurvived = inst.primaryAlive();
      const now = new Set(inst.readyPids());
      const unchanged = before.size === now.size && [...before].every((p) => now.has(p));
      r.workersRestored = unchanged;
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(`${sent} messages sent from ${hit.size} worker(s); ${(inst.logs || []).filter((l) => l.level >= 40).length} warn/error log lines`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'no worker restarted', unchanged);
      check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
      check(r, `${v.ipcN} messages sent`, sent === v.ipcN, sent);
      await finish(r, inst);
      return r;
    },
  },

  'control-garbage': {
    title: '1,000 garbage requests on the control socket',
    peers: ['smartworkers'],
    async run(peer, v) {
      const r = newResult('control-garbage', peer);
      const inst = await startedWithFlags(peer, 'hello');
      const sock = inst.controlSocket;
      const deadline = Date.now() + 3000;
      while (!fs.existsSync(sock) && Date.now() < deadline) await sleep(50);
      if (!fs.existsSync(sock)) {
        await inst.stop();
        throw new NotAvailable(`no control socket at ${sock}`);
      }
      const before = new Set(inst.readyPids());
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: Math.max(v.loadS, 3) });
      const stats = await controlGarbage(sock, v.ctlN);
      const status = await controlRequest(sock, { v: 1, id: 'after', cmd: 'status', args: {} });
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      const now = new Set(inst.readyPids());
      r.workersRestored = before.size === now.size && [...before].every((p) => now.has(p));
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      r.notes.push(`${stats.sent} garbage requests: ${stats.replies} error replies, ${stats.closed} closed by the server, ${stats.timeouts} unanswered after 2 s`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'no worker restarted', r.workersRestored);
      check(r, 'control socket still answers status', status && status.ok === true, status ? JSON.stringify(status).slice(0, 120) : 'no reply');
      check(r, 'no garbage request was obeyed (ok replies)', stats.okReplies === 0, stats.okReplies);
      check(r, '0 failed requests', sum.failed === 0, sum.failed);
      await finish(r, inst);
      return r;
    },
  },

  'sighup-storm': {
    title: '20 SIGHUPs in one second, tasks running',
    peers: ['smartworkers', 'bare'],
    async run(peer, v) {
      const r = newResult('sighup-storm', peer);
      const inst = await startedWithFlags(peer, 'tasks', { env: { TASK_MIN_MS: '100', TASK_MAX_MS: '500' } });
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: v.loadS + 2, rate: 1000 });
      await sleep(1000);
      for (let i = 0; i < v.hups; i++) {
        inst.signal('SIGHUP');
        await sleep(1000 / v.hups);
      }
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 60000);
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      await finish(r, inst);
      r.tasks = inst.taskCountsAtStop;
      r.notes.push(`${inst.seenPids.size - WORKERS} workers replaced in all`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
      check(r, '0 tasks lost', r.tasks.lost === 0, JSON.stringify(r.tasks));
      return r;
    },
  },

  'sigterm-mid-reload': {
    title: 'SIGTERM in the middle of a reload, tasks running',
    peers: ['smartworkers', 'bare'],
    async run(peer, v) {
      const r = newResult('sigterm-mid-reload', peer);
      const inst = await startedWithFlags(peer, 'tasks', { env: { TASK_MIN_MS: '500', TASK_MAX_MS: '1500' } });
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: 60, rate: 1000 });
      await sleep(1000);
      inst.signal('SIGHUP');
      await sleep(200);
      const stopAt = Date.now();
      const stopping = finish(r, inst);
      await stopping;
      load.stop();
      const sum = await load.done;
      r.requestsSent = sum.sent;
      r.requestsFailed = failedBefore(load, sum, stopAt);
      r.tasks = inst.taskCountsAtStop;
      r.primarySurvived = 'stopped (expected)';
      r.notes.push(`stop took ${r.stopMs} ms; ${sum.failed - r.requestsFailed} refused after the stop began (expected); ${errorTimeline(load, stopAt)} (relative to SIGTERM)`);
      check(r, '0 failed requests before the listener closed', r.requestsFailed === 0, `${r.requestsFailed} (${JSON.stringify(sum.errorCodes)})`);
      check(r, '0 tasks lost', r.tasks.lost === 0, JSON.stringify(r.tasks));
      return r;
    },
  },

  'sigterm-tasks': {
    title: 'SIGTERM with 500 tasks in flight',
    peers: ['smartworkers', 'bare', 'pm2'],
    async run(peer, v) {
      const r = newResult('sigterm-tasks', peer);
      const inst = await startedWithFlags(peer, 'tasks', { env: { TASKS_PER_REQUEST: '0' } });
      const per = v.tasks / 2;
      const hit = new Set();
      for (let i = 0; i < 2; i++) hit.add(JSON.parse((await get(`${inst.url}/spawn?n=${per}&ms=2000`)).body).pid);
      const started = inst.taskCounts().started;
      await finish(r, inst);
      r.tasks = inst.taskCountsAtStop;
      r.primarySurvived = 'stopped (expected)';
      r.notes.push(`${started} tasks of 2 s in flight on ${hit.size} worker(s) at the stop; stop took ${r.stopMs} ms`);
      check(r, `${v.tasks} tasks in flight at the stop`, started === v.tasks, started);
      check(r, 'every task completed, 0 lost', r.tasks.completed === v.tasks && r.tasks.lost === 0, JSON.stringify(r.tasks));
      return r;
    },
  },
};
Object.assign(SCENARIOS, (await import('./chaos/outside.mjs')).scenarios({ newResult, check, finish, settle, startedWithFlags, NotAvailable, CONNECTIONS, WORKERS, VARIANTS }));

Object.assign(SCENARIOS, (await import('./chaos/runtime.mjs')).SCENARIOS);

// ------------------------------------------------------------------ control socket garbage

function controlRequest(sock, obj, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const c = net.createConnection(sock);
    let buf = '';
    const done = (v) => {
      c.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), timeoutMs);
    c.on('connect', () => c.write(`${JSON.stringify(obj)}\n`));
    c.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(t);
        try {
          done(JSON.parse(buf.slice(0, i)));
        } catch {
          done(null);
        }
      }
    });
    c.on('error', () => {
      clearTimeout(t);
      done(null);
    });
  });
}

function garbageLine(i) {
  const r = i % 12;
  switch (r) {
    case 0: return Buffer.from(Array.from({ length: 1 + (i % 300) }, () => Math.floor(Math.random() * 256)).filter((b) => b !== 10));
    case 1: return '{"v":1,"id":';
    case 2: return JSON.stringify([1, 2, 3]);
    case 3: return JSON.stringify({ v: 99, id: i, cmd: 'status', args: {} });
    case 4: return JSON.stringify({ v: 1, id: i, cmd: 'rm -rf', args: {} });
    case 5: return JSON.stringify({ v: 1, id: i, cmd: 'scale', args: { delta: 'x' } });
    case 6: return JSON.stringify({ v: 1, id: i, cmd: 'recycle', args: { slot: -1 } });
    case 7: return JSON.stringify({ v: 1, id: i, cmd: 'stop', args: { force: 'yes' } });
    case 8: return 'x'.repeat(100 * 1024); // oversized
    case 9: return JSON.stringify({ v: 1, id: { nested: true }, cmd: 'status', args: {} });
    case 10: return '\0\0\0null';
    default: return JSON.stringify({ v: 1, id: i, cmd: 'reload', args: { app: 'no-such-app', wait: 'sometimes', extra: 1 } });
  }
}

async function controlGarbage(sock, n) {
  const stats = { sent: 0, replies: 0, okReplies: 0, closed: 0, timeouts: 0 };
  let next = 0;
  const one = (i) =>
    new Promise((resolve) => {
      const c = net.createConnection(sock);
      let buf = '';
      let settled = false;
      const done = (kind) => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        stats[kind]++;
        c.destroy();
        resolve();
      };
      const t = setTimeout(() => done('timeouts'), 2000);
      c.on('connect', () => {
        stats.sent++;
        const line = garbageLine(i);
        if (i % 50 === 49) c.end(line); // no newline, then hang up
        else c.write(Buffer.concat([Buffer.from(line), Buffer.from('\n')]));
      });
      c.on('data', (d) => {
        buf += d;
        const j = buf.indexOf('\n');
        if (j >= 0) {
          try {
            if (JSON.parse(buf.slice(0, j)).ok === true) stats.okReplies++;
          } catch {
            /* not JSON */
          }
          done('replies');
        }
      });
      c.on('close', () => done('closed'));
      c.on('error', () => done('closed'));
    });
  const worker = async () => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return stats;
}

// ------------------------------------------------------------------ runner

/** Runs one scenario for one peer, bounded; never throws (errors land in `error`). */
export async function runScenario(name, peer = 'smartworkers', variant = 'quick') {
  const v = VARIANTS[variant];
  const s = SCENARIOS[name];
  const t0 = Date.now();
  const boundMs = s.boundMs ?? 120000;
  let r;
  try {
    r = await Promise.race([
      s.run(peer, v, variant),
      sleep(boundMs).then(() => {
        throw new Error(`scenario exceeded ${boundMs / 1000} s`);
      }),
    ]);
  } catch (e) {
    r = newResult(name, peer);
    r.error = e instanceof NotAvailable ? `n/a: ${e.message}` : e.stack || e.message;
    r.notAvailable = e instanceof NotAvailable;
    await stopAll();
  }
  r.title = s.title;
  r.durationMs = Date.now() - t0;
  r.passed = !r.error && r.checks.every((c) => c.ok);
  return r;
}

export function tableOf(results) {
  const rows = results.map((r) => [
    r.peer === 'smartworkers' ? r.title : `${r.title} — ${r.peer}`,
    r.requestsSent ?? '–',
    r.requestsFailed ?? '–',
    r.tasks ? `${r.tasks.started} / ${r.tasks.completed} / ${r.tasks.lost}` : '–',
    r.primarySurvived === null ? '–' : r.primarySurvived === true ? 'yes' : r.primarySurvived === false ? '**no**' : r.primarySurvived,
    r.workersRestored === null ? '–' : r.workersRestored ? 'yes' : '**no**',
    r.error ? '–' : r.leftovers.length === 0 && r.zombies.length === 0 ? 'none' : `**${r.leftovers.length + r.zombies.length}**`,
    r.error ? (r.notAvailable ? 'n/a' : 'error') : r.passed ? 'pass' : `**fail**: ${r.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail ?? ''})`).join('; ')}`,
    (r.error ? r.error.split('\n')[0] : r.notes.join('; ')).replace(/\|/g, '\\|'),
  ]);
  return markdownTable(['scenario', 'requests sent', 'failed', 'tasks started / completed / lost', 'primary survived', 'workers restored', 'left after stop', 'invariants', 'notes'], rows);
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : fallback;
  };
  const variant = argv.includes('--quick') ? 'quick' : argv.includes('--short') ? 'short' : 'full';
  const only = opt('only', Object.keys(SCENARIOS).join(',')).split(',').filter((n) => SCENARIOS[n]);
  const peers = (opt('peers', argv.includes('--compare') ? 'smartworkers,bare,pm2' : 'smartworkers')).split(',').filter((p) => PEERS[p]);
  installCleanup();
  process.stderr.write(`smartworkers chaos (${variant}): ${only.join(', ')} × ${peers.join(', ')}; node ${process.version}, ${os.cpus().length} cores\n`);
  const t0 = Date.now();
  const results = [];
  for (const name of only) {
    for (const peer of peers) {
      if (!SCENARIOS[name].peers.includes(peer)) continue;
      process.stderr.write(`  ${name} × ${peer} … `);
      const r = await runScenario(name, peer, variant);
      process.stderr.write(`${r.error ? `ERROR ${r.error.split('\n')[0]}` : r.passed ? 'pass' : 'FAIL'} (${(r.durationMs / 1000).toFixed(1)} s)\n`);
      results.push(r);
    }
  }
  const pm2 = peers.includes('pm2') ? pm2Available() : null;
  const meta = { date: new Date().toISOString(), node: process.version, pm2: pm2?.ok ? pm2.version : undefined, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, variant, durationS: Math.round((Date.now() - t0) / 1000) };
  const md = `Machine: ${meta.cpus} cores (${meta.cpuModel}); Node ${meta.node}${meta.pm2 ? `; pm2 ${meta.pm2}` : ''}; ${meta.date.slice(0, 10)}; ${variant} run, ${meta.durationS} s.\n\n${tableOf(results)}`;
  console.log(md);
  const out = opt('out', path.join(BENCH_DIR, 'results', `chaos-${meta.date.slice(0, 10)}${variant === 'full' ? '' : `-${variant}`}.json`));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ meta, results, markdown: md }, null, 2)}\n`);
  process.stderr.write(`\nwrote ${path.relative(process.cwd(), out)}\n`);
  const failed = results.filter((r) => r.peer === 'smartworkers' && !r.passed && !r.notAvailable);
  process.exitCode = failed.length ? 1 : 0;
  await stopAll();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch(async (e) => {
    console.error(e);
    await stopAll();
    process.exit(1);
  });
}
