// Chaos scenarios of the worker runtime and its process host (issue 17, items 3–6): a worker
// that disconnects its IPC channel, a server that listens late, processes a worker leaves behind,
// and a kill storm on a busy machine beside the bare node:cluster primary. Imported by
// bench/chaos.mjs; results and checks have the shape of every scenario's (bench/lib/scenario.mjs).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PEERS, REPO } from '../lib/peers.mjs';
import { startLoad } from '../lib/load.mjs';
import * as proc from '../lib/proc.mjs';
import { sleep, get, freePort } from '../lib/util.mjs';
import { newResult as result, check, settle} from '../lib/scenario.mjs';

const CONNECTIONS = 50;
const WORKERS = 2;

/** Per variant (the keys of VARIANTS in bench/chaos.mjs). */
const SIZES = {
  full: { stormS: 9, stormRounds: 3, recycles: 4, tasks: 5 },
  quick: { stormS: 9, stormRounds: 2, recycles: 2, tasks: 5 },
  short: { stormS: 4, stormRounds: 1, recycles: 1, tasks: 5 },
};

/** Stops the instance and records what every scenario records after a stop. */
async function stopInto(r, inst) {
  const s = await inst.stop();
  r.exitCode = s.code;
  r.stopMs = s.ms;
  r.leftovers = s.leftovers;
  check(r, 'nothing left after stop (pids and process group)', s.leftovers.length === 0, JSON.stringify(s.leftovers));
  return s;
}

/** Resolves with the log entries matching, once there are `n` (bounded: null on timeout). */
async function waitLogs(inst, test, n = 1, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (inst.logs || []).filter(test);
    if (found.length >= n) return found;
    if (Date.now() > deadline) return null;
    await sleep(50);
  }
}

const msg = (text) => (l) => typeof l.msg === 'string' && l.msg.startsWith(text);

/** `smartworkers recycle all` through the CLI, as an operator runs it; resolves once it is done. */
function recycleAll(inst) {
  return new Promise((resolve) => {
    // Not spawnSync: the load client runs in this process and must keep sending meanwhile.
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'smartworkers'), 'recycle', 'all'], {
      env: { ...process.env, SMARTWORKERS_CONTROL_SOCKET: inst.controlSocket },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, out: out.trim().split('\n').slice(-2).join(' ') });
    });
  });
}

/** Pids of live processes with `arg` among their arguments. */
function withArg(arg) {
  return proc.allStats().filter((s) => s.state !== 'Z' && proc.cmdline(s.pid).includes(arg)).map((s) => s.pid);
}

/** A process that keeps one core busy: the "other work on the machine" of a kill storm. */
function cpuHog() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

/**
 * SIGKILLs a random worker every `everyMs` for `seconds` under keep-alive load; failed requests per
 * kill, and where the time went (see `breakdown`).
 */
async function killStorm(peer, seconds, everyMs) {
  const inst = await PEERS[peer].start({ app: 'hello', workers: WORKERS });
  try {
    const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: seconds + 1 });
    await sleep(500);
    const kills = [];
    const seen = new Set(inst.workerPids());
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      const next = Date.now() + everyMs;
      const pids = inst.workerPids();
      for (const p of pids) seen.add(p);
      if (pids.length > 0) {
        const pid = pids[Math.floor(Math.random() * pids.length)];
        try {
          process.kill(pid, 'SIGKILL');
          const kill = { pid, t: Date.now(), choices: pids.length, forkedPid: null, forkSeenAt: null };
          kills.push(kill);
          // Its replacement: the first new child of the primary (polled every 10 ms, both managers alike).
          while (Date.now() < next) {
            const fresh = inst.workerPids().find((p) => !seen.has(p));
            if (fresh !== undefined) {
              seen.add(fresh);
              kill.forkedPid = fresh;
              kill.forkSeenAt = Date.now();
              break;
            }
            await sleep(10);
          }
        } catch {
          /* already gone */
        }
      }
      await sleep(Math.max(0, next - Date.now()));
    }
    const sum = await load.done;
    const restored = await settle(inst, WORKERS, 30000);
    const facts = breakdown(inst, kills, load);
    return { inst, sum, kills: kills.length, facts, restored, alive: inst.primaryAlive(), perKill: sum.failed / Math.max(1, kills.length) };
  } catch (err) {
    await inst.stop();
    throw err;
  }
}

/**
 * Where a kill storm's failures come from, for one manager: for each kill, whether the victim was
 * listening; for its replacement, kill → fork (the new process's start), fork → the app's first line
 * (the manager's preload), → listening; the time no worker listened (every connection refused); and
 * each failure by code in the window after each kill.
 */
function breakdown(inst, kills, load) {
  inst.poll();
  const listenedAt = new Map();
  for (const e of inst.ready) if (!listenedAt.has(e.pid)) listenedAt.set(e.pid, e.t);
  const boots = new Map(inst.boots().map((b) => [b.pid, b]));
  const killedAt = new Map(kills.map((k) => [k.pid, k.t]));
  const stages = { killToFork: [], forkToApp: [], appToListen: [], killToListen: [] };
  let victimsListening = 0;
  let noReplacementSeen = 0;
  for (const k of kills) {
    const at = listenedAt.get(k.pid);
    if (at !== undefined && at <= k.t) victimsListening++;
    const b = k.forkedPid === null ? undefined : boots.get(k.forkedPid);
    if (k.forkedPid === null) {
      noReplacementSeen++;
      continue;
    }
    // The process's own start time when it got as far as the app; else when the poll saw it.
    stages.killToFork.push((b ? b.startedAt : k.forkSeenAt) - k.t);
    if (!b) continue;
    stages.forkToApp.push(b.appAt - b.startedAt);
    const l = listenedAt.get(b.pid);
    const dead = killedAt.get(b.pid);
    if (l !== undefined && (dead === undefined || l <= dead)) {
      stages.appToListen.push(l - b.appAt);
      stages.killToListen.push(l - k.t);
    }
  }
  // Time with no worker listening, from the first kill to the last one + 1 s.
  const events = [];
  for (const [pid, t] of listenedAt) events.push({ t, d: 1, pid });
  for (const k of kills) if (listenedAt.has(k.pid) && listenedAt.get(k.pid) <= k.t) events.push({ t: k.t, d: -1, pid: k.pid });
  events.sort((a, b) => a.t - b.t);
  const from = kills[0]?.t ?? 0;
  const to = (kills.at(-1)?.t ?? 0) + 1000;
  let listening = 0;
  let noneMs = 0;
  let last = from;
  for (const e of events) {
    const t = Math.min(Math.max(e.t, from), to);
    if (listening === 0) noneMs += t - last;
    last = t;
    listening += e.d;
  }
  if (listening === 0) noneMs += to - last;
  const errs = {};
  for (const e of load.errorLog) errs[e.code] = (errs[e.code] || 0) + 1;
  const resets = load.errorLog.filter((e) => e.code === 'ECONNRESET').length;
  return { kills: kills.length, victimsListening, noReplacementSeen, stages, noneMs: Math.max(0, noneMs), resets, errs, choices: kills.reduce((a, k) => a + k.choices, 0) / Math.max(1, kills.length) };
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const p90 = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
};

/** One line per manager: the kill storm's breakdown over every round. */
function describeStorm(peer, runs) {
  const all = { killToFork: [], forkToApp: [], appToListen: [], killToListen: [] };
  let kills = 0;
  let victims = 0;
  let noneMs = 0;
  let resets = 0;
  let refused = 0;
  let other = 0;
  for (const r of runs) {
    for (const k of Object.keys(all)) all[k].push(...r.facts.stages[k]);
    kills += r.facts.kills;
    victims += r.facts.victimsListening;
    noneMs += r.facts.noneMs;
    resets += r.facts.resets;
    refused += r.facts.errs.ECONNREFUSED ?? 0;
    other += r.sum.failed - (r.facts.errs.ECONNREFUSED ?? 0) - r.facts.resets;
  }
  const ms = (k) => `${median(all[k]).toFixed(0)}/${p90(all[k]).toFixed(0)}`;
  return (
    `${peer}: ${kills} kills (${victims} of a listening worker): ${(resets / Math.max(1, kills)).toFixed(1)} resets + ` +
    `${(refused / Math.max(1, kills)).toFixed(1)} refused + ${(other / Math.max(1, kills)).toFixed(1)} other per kill; ` +
    `no worker listening ${(noneMs / 1000).toFixed(2)} s; replacement (median/p90 ms): kill→fork ${ms('killToFork')}, ` +
    `fork→app ${ms('forkToApp')}, app→listening ${ms('appToListen')}, kill→listening ${ms('killToListen')}`
  );
}

export const SCENARIOS = {
  disconnect: {
    title: 'the app calls process.disconnect() with 5 tasks running',
    peers: ['smartworkers'],
    async run(peer, v, variant) {
      const size = SIZES[variant];
      const r = result('disconnect', peer);
      const inst = await PEERS[peer].start({ app: 'disconnect', workers: WORKERS });
      const load = startLoad({ url: inst.url, connections: 10, durationS: 60 });
      await sleep(300);
      const reply = JSON.parse((await get(`${inst.url}/disconnect?n=${size.tasks}&ms=1500`)).body);
      const exited = await waitLogs(inst, (l) => msg('worker exited')(l) && l.pid === reply.pid);
      r.workersRestored = await settle(inst, WORKERS, 20000);
      load.stop();
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      const lostLines = (inst.logs || []).filter((l) => /lost/.test(l.msg));
      const finished = (inst.logs || []).find((l) => /task\(s\) it was running finished/.test(l.msg));
      await stopInto(r, inst);
      r.tasks = inst.taskCountsAtStop;
      r.notes.push(`worker ${reply.pid} disconnected with ${reply.started} tasks; ${finished ? `primary: "${finished.msg}"` : 'no "finished" line'}; ${lostLines.length} "lost" log lines`);
      check(r, 'the disconnected worker exited', exited, 'no exit logged within 30 s');
      check(r, 'every task completed (the app’s own log)', r.tasks.started === size.tasks && r.tasks.lost === 0, JSON.stringify(r.tasks));
      check(r, 'the primary counts none lost, and says they finished', lostLines.length === 0 && finished, lostLines.map((l) => l.msg).join(' | '));
      check(r, 'worker count restored', r.workersRestored);
      check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
      check(r, 'stop: exit code 0', r.exitCode === 0, r.exitCode);
      return r;
    },
  },

  'late-server': {
    title: 'a second server listens 2 s after the first; recycle all under load',
    peers: ['smartworkers', 'bare'],
    async run(peer, v, variant) {
      const size = SIZES[variant];
      const r = result('late-server', peer);
      const port2 = await freePort();
      const inst = await PEERS[peer].start({ app: 'two-servers', workers: WORKERS, env: { PORT2: String(port2), LATE_MS: '2000' } });
      const url2 = `http://127.0.0.1:${port2}`;
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && !(await get(url2, 1000).then(() => true, () => false))) await sleep(100);
      const first = startLoad({ url: inst.url, connections: CONNECTIONS / 2, durationS: 120 });
      const second = startLoad({ url: url2, connections: CONNECTIONS / 2, durationS: 120 });
      await sleep(500);
      const outcomes = [];
      for (let i = 0; i < size.recycles; i++) {
        if (peer === 'smartworkers') {
          outcomes.push(await recycleAll(inst));
        } else {
          // The bare primary's rolling restart: fork, wait for 'listening' (the first), disconnect the old
          // (which lingers while keep-alive clients hold it): done once every worker is new.
          const old = new Set(inst.readyPids());
          const since = Date.now();
          inst.signal('SIGHUP');
          const done = await inst.waitWorkers(WORKERS, { since, timeoutMs: 30000 }).then(() => true, () => false);
          outcomes.push({ ok: done, out: done ? '' : `not every worker replaced (${old.size} old)` });
        }
        await sleep(2500); // the new workers' second servers are up; traffic reaches them
      }
      first.stop();
      second.stop();
      const [s1, s2] = await Promise.all([first.done, second.done]);
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 20000);
      r.requestsSent = s1.sent + s2.sent;
      r.requestsFailed = s1.failed + s2.failed;
      r.notes.push(`${size.recycles} × ${peer === 'smartworkers' ? '`recycle all`' : 'SIGHUP'}; first server ${s1.failed} of ${s1.sent} failed, late server ${s2.failed} of ${s2.sent} failed (${JSON.stringify(s2.errorCodes)})`);
      check(r, 'every recycle done', outcomes.every((o) => o.ok), outcomes.map((o) => o.out).join(' | '));
      check(r, '0 failed requests on the late second server', s2.failed === 0, `${s2.failed} (${JSON.stringify(s2.errorCodes)})`);
      check(r, '0 failed requests on the first server', s1.failed === 0, `${s1.failed} (${JSON.stringify(s1.errorCodes)})`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      await stopInto(r, inst);
      return r;
    },
  },

  'process-tree': {
    title: 'workers leave children, detached children, grandchildren and daemons running',
    peers: ['smartworkers'],
    async run(peer) {
      const r = result('process-tree', peer);
      const run = String(Math.floor(Math.random() * 1e6));
      const marker = (pid) => `0.${run}${pid}`;
      const inst = await PEERS[peer].start({ app: 'spawner', workers: WORKERS, env: { TREE_RUN: run } });
      const first = inst.workerPids();
      const spawned = async (pids) => {
        const t = Date.now();
        while (Date.now() - t < 10000 && pids.some((p) => withArg(marker(p)).length < 5)) await sleep(100);
        return pids.map((p) => withArg(marker(p)).length);
      };
      const before = await spawned(first);
      const load = startLoad({ url: inst.url, connections: 10, durationS: 60 });
      const recycled = await recycleAll(inst);
      // Each old worker's exit, then what it left is ended and reported (`reaped`).
      const reported = await waitLogs(inst, msg('process left running by an exited worker'), before.reduce((a, n) => a + n, 0));
      const leftAfterRecycle = first.flatMap((p) => withArg(marker(p)));
      const second = inst.workerPids();
      await spawned(second);
      load.stop();
      const sum = await load.done;
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = await settle(inst, WORKERS, 20000);
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      const s = await stopInto(r, inst);
      const leftAfterStop = [...first, ...second].flatMap((p) => withArg(marker(p)));
      for (const pid of [...leftAfterRecycle, ...leftAfterStop]) {
        try {
          process.kill(pid, 'SIGKILL'); // never leak from the bench
        } catch {
          /* gone */
        }
      }
      const lines = (inst.logs || []).filter(msg('process left running by an exited worker'));
      const sample = lines[0];
      const summary = (inst.logs || []).find(msg('primary exiting'));
      r.notes.push(`each worker started ${before.join(', ')} processes; ${lines.length} reported ended (e.g. ${sample ? JSON.stringify({ worker: sample.worker, pid: sample.process?.pid, command: sample.process?.command }) : 'none'}); primary exiting ${JSON.stringify({ code: summary?.code, processesKilled: summary?.processesKilled })}`);
      check(r, 'recycle all done', recycled.ok, recycled.out);
      check(r, 'no process of an old worker left after recycle', leftAfterRecycle.length === 0 && reported, `${leftAfterRecycle.length} left: ${leftAfterRecycle.map((p) => proc.cmdline(p).join(' ')).join('; ')}`);
      check(r, 'no process of any worker left after stop', leftAfterStop.length === 0, `${leftAfterStop.length} left`);
      check(r, 'each one logged with its pid, command and worker', lines.length >= before.reduce((a, n) => a + n, 0) * 2 && lines.every((l) => l.process?.pid && l.process?.command && l.worker), `${lines.length} lines`);
      check(r, 'stop: exit code 1 (processes had to be ended)', s.code === 1 && !s.forced, `code ${s.code}`);
      check(r, '0 failed requests', sum.failed === 0, `${sum.failed} (${JSON.stringify(sum.errorCodes)})`);
      return r;
    },
  },

  'kill-storm': {
    title: 'SIGKILL a random worker every 700 ms on a busy machine, beside the bare primary',
    peers: ['smartworkers'],
    boundMs: 400000, // both managers, several rounds
    async run(peer, v, variant) {
      const size = SIZES[variant];
      const r = result('kill-storm', peer);
      const stopHog = cpuHog();
      const runs = { smartworkers: [], bare: [] };
      try {
        // Interleaved round by round, so both meet the same machine (its load drifts).
        for (let round = 0; round < size.stormRounds; round++) {
          for (const p of ['bare', 'smartworkers']) {
            const run = await killStorm(p, size.stormS, 700);
            const s = p === 'smartworkers' ? await stopInto(r, run.inst) : await run.inst.stop();
            runs[p].push({ ...run, stop: s });
          }
        }
      } finally {
        stopHog();
      }
      const total = (p, k) => runs[p].reduce((a, x) => a + x[k], 0);
      r.breakdown = { smartworkers: runs.smartworkers.map((x) => x.facts), bare: runs.bare.map((x) => x.facts) };
      const perKill = (p) => runs[p].reduce((a, x) => a + x.sum.failed, 0) / Math.max(1, total(p, 'kills'));
      const sw = perKill('smartworkers');
      const bare = perKill('bare');
      r.requestsSent = runs.smartworkers.reduce((a, x) => a + x.sum.sent, 0);
      r.requestsFailed = runs.smartworkers.reduce((a, x) => a + x.sum.failed, 0);
      r.primarySurvived = runs.smartworkers.every((x) => x.alive);
      r.workersRestored = runs.smartworkers.every((x) => x.restored);
      r.perKill = { smartworkers: sw, bare };
      const codes = (p) => JSON.stringify(runs[p].reduce((a, x) => { for (const [k, n] of Object.entries(x.sum.errorCodes)) a[k] = (a[k] || 0) + n; return a; }, {}));
      r.notes.push(`one core kept busy; ${size.stormRounds} round(s) each, interleaved`);
      r.notes.push(`smartworkers: ${total('smartworkers', 'kills')} kills, ${sw.toFixed(1)} failed per kill ${codes('smartworkers')}`);
      r.notes.push(`bare: ${total('bare', 'kills')} kills, ${bare.toFixed(1)} failed per kill ${codes('bare')}; ratio ${(sw / Math.max(bare, 1e-9)).toFixed(2)}×`);
      r.notes.push(describeStorm('smartworkers', runs.smartworkers));
      r.notes.push(describeStorm('bare', runs.bare));
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      check(r, 'stop: exit code 0', runs.smartworkers.every((x) => x.stop.code === 0 && !x.stop.forced), runs.smartworkers.map((x) => x.stop.code).join(','));
      // A count, not a timing — but a noisy one: the short variant (npm test) leaves it out.
      if (variant !== 'short') check(r, 'failed per kill ≤ 1.2× the bare primary’s', sw <= 1.2 * bare, `${sw.toFixed(1)} vs ${bare.toFixed(1)}`);
      return r;
    },
  },
};
