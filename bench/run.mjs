#!/usr/bin/env node
// npm run bench — smartworkers side by side with a bare node:cluster primary and pm2 cluster mode:
// same app (bench/apps/), same worker count, runs interleaved (A/B/C, rotated each repetition),
// medians and ratios to the bare primary. Prints markdown tables and writes bench/results/<date>.json.
//
//   node bench/run.mjs [--quick] [--only a,b,…] [--reps N] [--peers smartworkers,bare,pm2]
//
// Scenarios (issue 5): a steady throughput and latency; b two rolling reloads under load; c a recycle
// storm; d start-to-ready and the primary's RSS; e memory ceiling to replacement; f hang to
// replacement; g cost of task tracking and IPC rate; h the primary's own cost as workers grow
// (bench/primary-cost.mjs); i a line per request to log files (bench/logging.mjs); j limited task types through the
// primary's permits (bench/task-limits.mjs). This machine is shared and noisy: read ratios,
// not absolute figures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PEERS, NotAvailable, BENCH_DIR, REPO, installCleanup, stopAll, pm2Available } from './lib/peers.mjs';
import { startLoad, runLoad } from './lib/load.mjs';
import { runWrk, wrkAvailable } from './lib/wrk.mjs';
import * as proc from './lib/proc.mjs';
import { sleep, median, get, fire, fmt, markdownTable } from './lib/util.mjs';
import { PRIMARY_COST_TITLE, scenarioPrimaryCost } from './primary-cost.mjs';
import { LOGGING_TITLE, scenarioLogging } from './logging.mjs';
import { TASK_LIMITS_TITLE, scenarioTaskLimits } from './task-limits.mjs';

// ------------------------------------------------------------------ options

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : argv[i + 1];
};
if (flag('help')) {
  console.log('usage: node bench/run.mjs [--quick] [--only a,b,c,d,e,f,g,h,i,j] [--reps N] [--peers smartworkers,bare,pm2] [--out FILE]');
  process.exit(0);
}
const QUICK = flag('quick');
const ONLY = new Set((option('only', 'a,b,c,d,e,f,g,h,i,j') || '').split(',').map((s) => s.trim()).filter(Boolean));
const REPS = Number(option('reps', QUICK ? 1 : 3));
const PEER_NAMES = option('peers', 'smartworkers,bare,pm2').split(',').filter((p) => PEERS[p]);

const CFG = QUICK
  ? { warmS: 1, steadyS: 3, reloadS: 6, stormS: 5, pm2MemoryWaitMs: 0, hangWaitPeersMs: 0, taskbenchN: 50000, ipcMs: 2000 }
  : { warmS: 2, steadyS: 8, reloadS: 10, stormS: 10, pm2MemoryWaitMs: 40000, hangWaitPeersMs: 8000, taskbenchN: 200000, ipcMs: 3000 };
const CONNECTIONS = 50;
const WORKERS = 2;
const SW_TIMEOUT = '3s';
const SW_TIMEOUT_MS = 3000;
const MAX_MEMORY_MB = 200;

installCleanup();

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);

// ------------------------------------------------------------------ machinery

const availability = {};
for (const name of PEER_NAMES) {
  try {
    availability[name] = PEERS[name].available();
  } catch (e) {
    availability[name] = { ok: false, reason: e.message };
  }
  if (!availability[name].ok) log(`peer ${name}: n/a — ${availability[name].reason}`);
}
const activePeers = PEER_NAMES.filter((p) => availability[p].ok);

/** Rotated order per repetition: A B C, B C A, C A B … */
const orderFor = (rep, peers = activePeers) => peers.map((_, i) => peers[(i + rep) % peers.length]);

/**
 * Runs `trial(peerName, rep)` for every peer, REPS times, interleaved. Returns {peer: [results]};
 * an error in one trial is recorded as {error} and the run goes on.
 */
async function interleave(label, trial, { peers = activePeers, reps = REPS } = {}) {
  const out = Object.fromEntries(peers.map((p) => [p, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const peer of orderFor(rep, peers)) {
      const t0 = Date.now();
      let r;
      try {
        r = await trial(peer, rep);
      } catch (e) {
        r = { error: e instanceof NotAvailable ? `n/a: ${e.message}` : e.message };
        await stopAll();
      }
      out[peer].push(r);
      log(`  ${label} ${peer} #${rep + 1}: ${r.error ? `ERROR ${r.error}` : summarize(r)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      await sleep(300);
    }
  }
  return out;
}

function summarize(r) {
  return Object.entries(r)
    .filter(([, v]) => typeof v === 'number' || typeof v === 'string' || v === null)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(2) : v}`)
    .join(' ');
}

const ok = (trials) => (trials || []).filter((t) => !t.error);
const med = (trials, key) => median(ok(trials).map((t) => t[key]));
const sum = (trials, key) => ok(trials).reduce((s, t) => s + (t[key] || 0), 0);
const firstError = (trials) => (trials || []).find((t) => t.error)?.error;
const naReason = (peer) => (availability[peer] && !availability[peer].ok ? availability[peer].reason : undefined);
const cellOr = (trials, value, peer) => (ok(trials).length ? value : naReason(peer) ? 'n/a' : firstError(trials) ? 'error' : 'n/a');

/** Samples a pid's RSS every `everyMs` until stopped; returns {stop() → max bytes}. */
function rssSampler(pid, everyMs = 200) {
  let max = proc.rss(pid) || 0;
  const timer = setInterval(() => {
    const r = proc.rss(pid);
    if (r && r > max) max = r;
  }, everyMs);
  return { stop: () => (clearInterval(timer), max) };
}

const results = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    platform: `${os.type()} ${os.release()}`,
    mode: QUICK ? 'quick' : 'full',
    reps: REPS,
    connections: CONNECTIONS,
    workers: WORKERS,
    commit: gitCommit(),
    peers: Object.fromEntries(PEER_NAMES.map((p) => [p, availability[p]])),
    pm2Version: PEER_NAMES.includes('pm2') ? pm2Available().version ?? null : null,
  },
  scenarios: {},
  targets: [],
  tables: {},
};

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

function target(id, text, value, met, note) {
  results.targets.push({ id, target: text, value, met, note });
}

// ------------------------------------------------------------------ a. steady throughput

/** wrk when it is there (a Node client would take the core the primaries compete for), else autocannon. */
const loadClient = () => (wrkAvailable() ? 'wrk' : 'autocannon');

/** Keep-alive load for a throughput figure (a, c: the same client, so c's "× own steady" compares like with like). */
function throughputLoad(url, durationS) {
  return loadClient() === 'wrk' ? runWrk({ url, connections: CONNECTIONS, durationS }) : runLoad({ url, connections: CONNECTIONS, durationS });
}

async function scenarioA() {
  // Every peer runs at once (idle ones cost nearly nothing) and the load alternates between them in
  // short slices, rotated each round: drift on this shared machine then hits every peer alike, and
  // each round gives one ratio to the bare primary. Reported: medians over rounds.
  const rounds = QUICK ? 3 : 3 * REPS;
  const sliceS = QUICK ? 2 : 3;
  const client = loadClient();
  const measure = (url) => throughputLoad(url, sliceS);
  log(`a. steady: ${rounds} rounds of ${sliceS} s per peer at ${CONNECTIONS} keep-alive connections (${client}), ${WORKERS} workers, peers alternating`);
  const insts = {};
  const trials = Object.fromEntries(PEER_NAMES.map((p) => [p, []]));
  try {
    for (const peer of activePeers) {
      try {
        insts[peer] = await PEERS[peer].start({ app: 'hello', workers: WORKERS });
        await runLoad({ url: insts[peer].url, connections: CONNECTIONS, durationS: CFG.warmS });
      } catch (e) {
        trials[peer].push({ error: e.message });
      }
    }
    const running = activePeers.filter((p) => insts[p]);
    for (let round = 0; round < rounds; round++) {
      for (const peer of orderFor(round, running)) {
        const inst = insts[peer];
        const rss = rssSampler(inst.primaryPid);
        const r = await measure(inst.url);
        trials[peer].push({ round, rps: r.rps, p50: r.p50, p99: r.p99, failed: r.failed, primaryRssLoad: rss.stop() });
        log(`  a ${peer} round ${round + 1}: rps=${r.rps.toFixed(0)} p50=${r.p50?.toFixed(2)} p99=${r.p99?.toFixed(2)}`);
        await sleep(200);
      }
    }
  } finally {
    for (const inst of Object.values(insts)) await inst.stop();
  }
  // per-round ratios to bare
  const ratio = (peer, key) => median(ok(trials[peer]).map((t) => {
    const b = ok(trials.bare).find((x) => x.round === t.round);
    return b && b[key] ? t[key] / b[key] : null;
  }));
  const base = { rps: med(trials.bare, 'rps'), p50: med(trials.bare, 'p50'), p99: med(trials.bare, 'p99') };
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    return [
      p,
      cellOr(t, fmt.n(med(t, 'rps')), p),
      cellOr(t, fmt.ratio(ratio(p, 'rps')), p),
      cellOr(t, fmt.n(med(t, 'p50'), 2), p),
      cellOr(t, fmt.ratio(ratio(p, 'p50')), p),
      cellOr(t, fmt.n(med(t, 'p99'), 2), p),
      cellOr(t, fmt.ratio(ratio(p, 'p99')), p),
      cellOr(t, String(sum(t, 'failed')), p),
    ];
  });
  const table = markdownTable(['peer', 'req/s', '× bare (median of per-round ratios)', 'p50 ms', '× bare', 'p99 ms', '× bare', 'failed'], rows);
  const swRatio = ratio('smartworkers', 'rps');
  const pm2Ratio = ratio('pm2', 'rps');
  if (ok(trials.smartworkers).length) {
    target('a', '≥ 0.97× the bare primary and ahead of pm2', `${fmt.ratio(swRatio)} bare; pm2 ${fmt.ratio(pm2Ratio)}`, swRatio >= 0.97 && (pm2Ratio === null || swRatio > pm2Ratio));
  } else target('a', '≥ 0.97× the bare primary and ahead of pm2', 'n/a', null, 'smartworkers not available');
  return { trials, base, rounds, sliceS, client, table };
}

// ------------------------------------------------------------------ b. two rolling reloads under load

async function scenarioB(steady) {
  const at = [0.3, 0.65].map((f) => f * CFG.reloadS * 1000);
  log(`b. two rolling reloads during ${CFG.reloadS} s of load (at ${at.map((x) => x / 1000).join(' s, ')} s)`);
  const trials = await interleave('b', async (peer) => {
    const inst = await PEERS[peer].start({ app: 'hello', workers: WORKERS });
    try {
      await runLoad({ url: inst.url, connections: CONNECTIONS, durationS: 1 });
      const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: CFG.reloadS });
      const reloadMs = [];
      for (const when of at) {
        const wait = load.startedAt + when - Date.now();
        if (wait > 0) await sleep(wait);
        const before = new Set(inst.readyPids());
        const t0 = Date.now();
        await inst.reload();
        // reload time: from the trigger to every worker replaced and listening
        try {
          const done = await inst.waitWorkers(WORKERS, { since: t0, timeoutMs: 20000 });
          reloadMs.push(done - t0);
        } catch {
          reloadMs.push(null);
        }
        void before;
      }
      const r = await load.done;
      return { failed: r.failed, errors: r.errors, non2xx: r.non2xx, timeouts: r.timeouts, rps: r.rps, reload1Ms: reloadMs[0], reload2Ms: reloadMs[1], errorCodes: JSON.stringify(r.errorCodes) };
    } finally {
      await inst.stop();
    }
  });
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    const steadyRps = steady ? med(steady.trials[p], 'rps') : null;
    return [
      p,
      cellOr(t, ok(t).map((x) => x.failed).join(', '), p),
      cellOr(t, fmt.n(med(t, 'failed')), p),
      cellOr(t, fmt.n(med(t, 'rps')), p),
      cellOr(t, steadyRps ? fmt.ratio(med(t, 'rps') / steadyRps) : 'n/a', p),
      cellOr(t, fmt.ms(median(ok(t).flatMap((x) => [x.reload1Ms, x.reload2Ms])) ?? NaN), p),
    ];
  });
  const table = markdownTable(['peer', 'failed requests (each run)', 'median failed', 'req/s', '× own steady', 'reload time (median)'], rows);
  if (ok(trials.smartworkers).length) {
    const worst = Math.max(...ok(trials.smartworkers).map((x) => x.failed));
    target('b', '0 failed requests over two reloads (pm2: 120–130)', `${worst} failed (worst run); pm2 median ${fmt.n(med(trials.pm2, 'failed'))}`, worst === 0);
  } else target('b', '0 failed requests over two reloads', 'n/a', null, 'smartworkers not available');
  return { trials, table };
}

// ------------------------------------------------------------------ c. recycle storm

async function scenarioC(steady) {
  // max_requests so that each worker recycles every 1–2 s: about one second of its steady share.
  let totalRps = steady ? med(steady.trials.bare, 'rps') : null;
  if (!totalRps) {
    const inst = await PEERS.bare.start({ app: 'hello', workers: WORKERS });
    try {
      totalRps = (await throughputLoad(inst.url, 2)).rps;
    } finally {
      await inst.stop();
    }
  }
  const perWorker = totalRps / WORKERS;
  const maxRequests = Math.max(100, Math.round(perWorker * 0.6));
  const jitter = Math.round(perWorker * 0.3);
  log(`c. recycle storm: max_requests ${maxRequests} + jitter ${jitter} (≈ ${Math.round(perWorker)} req/s per worker), ${CFG.stormS} s of load`);
  const trials = await interleave('c', async (peer) => {
    const inst =
      peer === 'smartworkers'
        ? await PEERS[peer].start({ app: 'hello', workers: WORKERS, flags: { maxRequests, maxRequestsJitter: jitter } })
        : await PEERS[peer].start({ app: 'exit-after', workers: WORKERS, env: { EXIT_AFTER: String(maxRequests), EXIT_AFTER_JITTER: String(jitter) } });
    try {
      const t0 = Date.now();
      const r = await throughputLoad(inst.url, CFG.stormS);
      inst.poll();
      const recycles = new Set(inst.ready.filter((e) => e.t >= t0).map((e) => e.pid)).size;
      return { failed: r.failed, rps: r.rps, recycles, recyclesPerWorkerPerS: recycles / WORKERS / r.durationS, primaryAlive: inst.primaryAlive() ? 1 : 0 };
    } finally {
      await inst.stop();
    }
  });
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    const steadyRps = steady ? med(steady.trials[p], 'rps') : totalRps;
    const rps = med(t, 'rps');
    return [
      p === 'smartworkers' ? 'smartworkers (max_requests)' : `${p} (app exits after N)`,
      cellOr(t, fmt.n(med(t, 'recycles')), p),
      cellOr(t, fmt.n(med(t, 'recyclesPerWorkerPerS'), 2), p),
      cellOr(t, ok(t).map((x) => x.failed).join(', '), p),
      cellOr(t, fmt.n(rps), p),
      cellOr(t, fmt.ratio(rps / steadyRps), p),
    ];
  });
  const table = markdownTable(['peer', 'recycles', 'per worker per s', 'failed requests (each run)', 'req/s', '× own steady'], rows);
  if (ok(trials.smartworkers).length) {
    const worst = Math.max(...ok(trials.smartworkers).map((x) => x.failed));
    const ratio = med(trials.smartworkers, 'rps') / (steady ? med(steady.trials.smartworkers, 'rps') : totalRps);
    target('c', '0 failed requests and ≥ 0.5× steady throughput', `${worst} failed (worst run), ${fmt.ratio(ratio)} steady, ${fmt.n(med(trials.smartworkers, 'recycles'))} recycles`, worst === 0 && ratio >= 0.5);
  } else target('c', '0 failed requests and ≥ 0.5× steady throughput', 'n/a', null, 'smartworkers not available');
  return { maxRequests, jitter, trials, table };
}

// ------------------------------------------------------------------ d. start-to-ready and primary RSS

async function scenarioD(steady) {
  log('d. start to every worker ready (N = 2 and N = 8), primary RSS idle');
  const out = {};
  for (const n of [2, 8]) {
    out[n] = await interleave(`d N=${n}`, async (peer) => {
      const inst = await PEERS[peer].start({ app: 'hello', workers: n, readyTimeoutMs: 60000 });
      try {
        // From the spawn of the manager's command (after the bench's own setup) to the last worker listening.
        const readyMs = inst.readyAt - inst.startedAt;
        await sleep(1000);
        return { readyMs, primaryRssIdle: proc.rss(inst.primaryPid) };
      } finally {
        await inst.stop();
      }
    });
  }
  const base2 = med(out[2].bare, 'readyMs');
  const base8 = med(out[8].bare, 'readyMs');
  const baseRss = med(out[2].bare, 'primaryRssIdle');
  const rows = PEER_NAMES.map((p) => {
    const label = p === 'pm2' ? 'pm2 (daemon)' : p;
    const loadRss = steady ? med(steady.trials[p], 'primaryRssLoad') : null;
    return [
      label,
      cellOr(out[2][p], fmt.ms(med(out[2][p], 'readyMs')), p),
      cellOr(out[2][p], fmt.ratio(med(out[2][p], 'readyMs') / base2), p),
      cellOr(out[8][p], fmt.ms(med(out[8][p], 'readyMs')), p),
      cellOr(out[8][p], fmt.ratio(med(out[8][p], 'readyMs') / base8), p),
      cellOr(out[2][p], fmt.mb(med(out[2][p], 'primaryRssIdle')), p),
      loadRss ? fmt.mb(loadRss) : 'n/a',
    ];
  });
  const table = markdownTable(['peer', 'ready, N=2', '× bare', 'ready, N=8', '× bare', 'primary RSS idle', 'primary RSS under load (a)'], rows);
  if (ok(out[2].smartworkers).length) {
    const r2 = med(out[2].smartworkers, 'readyMs') / base2;
    const r8 = med(out[8].smartworkers, 'readyMs') / base8;
    const pm2Ratios = ok(out[2].pm2 ?? []).length ? `; pm2 ${fmt.ratio(med(out[2].pm2, 'readyMs') / base2)}, ${fmt.ratio(med(out[8].pm2, 'readyMs') / base8)}` : '';
    target('d', 'start-to-ready within 1.3× the bare primary', `N=2 ${fmt.ratio(r2)}, N=8 ${fmt.ratio(r8)}${pm2Ratios}`, r2 <= 1.3 && r8 <= 1.3);
    const dRss = med(out[2].smartworkers, 'primaryRssIdle') - baseRss;
    target('d', 'primary RSS within 10 MB of the bare primary', `${fmt.mb(med(out[2].smartworkers, 'primaryRssIdle'))} vs ${fmt.mb(baseRss)} (+${fmt.mb(dRss)})`, dRss <= 10 * 1048576);
  } else target('d', 'start-to-ready within 1.3× bare; primary RSS within 10 MB', 'n/a', null, 'smartworkers not available');
  return { trials: out, table };
}

// ------------------------------------------------------------------ e. memory ceiling

async function scenarioE() {
  log(`e. memory ceiling ${MAX_MEMORY_MB} MB: a worker allocates 250 MB; time to its replacement listening`);
  const peers = activePeers.filter((p) => p !== 'bare' && (p !== 'pm2' || CFG.pm2MemoryWaitMs > 0));
  const trials = {};
  const one = async (peer) => {
    const inst =
      peer === 'smartworkers'
        ? await PEERS.smartworkers.start({ app: 'memory', workers: WORKERS, flags: { maxMemory: `${MAX_MEMORY_MB}MB` } })
        : await PEERS.pm2.start({ app: 'memory', workers: WORKERS, args: ['--max-memory-restart', `${MAX_MEMORY_MB}M`] });
    try {
      const old = new Set(inst.readyPids());
      const res = await get(`${inst.url}/alloc?mb=250`, 10000);
      const crossedAt = Date.now();
      const { rss } = JSON.parse(res.body);
      const limit = peer === 'pm2' ? CFG.pm2MemoryWaitMs : 15000;
      const e = await inst.waitNewPid(old, { timeoutMs: limit });
      return { workerRss: rss, replacedMs: e ? e.t - crossedAt : null, timedOut: e ? 0 : limit };
    } finally {
      await inst.stop();
    }
  };
  // pm2 samples every 30 s: one run of it (in full mode only), smartworkers REPS times.
  const swTrials = peers.includes('smartworkers') ? await interleave('e', one, { peers: ['smartworkers'] }) : {};
  const pmTrials = peers.includes('pm2') ? await interleave('e', one, { peers: ['pm2'], reps: 1 }) : {};
  Object.assign(trials, swTrials, pmTrials);
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    if (p === 'bare') return [p, 'no memory ceiling', 'n/a'];
    if (p === 'pm2' && !t) return ['pm2 (--max-memory-restart)', QUICK ? 'skipped in --quick (samples every 30 s)' : 'n/a', 'n/a'];
    const timedOut = ok(t).filter((x) => x.replacedMs === null);
    const v = timedOut.length ? `not replaced within ${fmt.ms(timedOut[0].timedOut)}` : fmt.ms(med(t, 'replacedMs'));
    return [p === 'pm2' ? 'pm2 (--max-memory-restart)' : 'smartworkers (max_memory)', cellOr(t, v, p), cellOr(t, ok(t).map((x) => fmt.ms(x.replacedMs ?? NaN)).join(', '), p)];
  });
  const table = markdownTable(['peer', 'crossing → replacement listening (median)', 'each run'], rows);
  if (ok(trials.smartworkers).length) {
    const m = med(trials.smartworkers, 'replacedMs');
    const all = ok(trials.smartworkers).every((x) => x.replacedMs !== null);
    target('e', '≤ 2 s from crossing max_memory to the replacement serving', all ? fmt.ms(m) : 'not replaced', all && m <= 2000, 'smartworkers default memory_check_interval');
  } else target('e', '≤ 2 s memory ceiling to replacement', 'n/a', null, 'smartworkers not available');
  return { trials, table };
}

// ------------------------------------------------------------------ f. hang

async function scenarioF() {
  log(`f. hang: GET /block blocks a worker's loop; smartworkers --timeout ${SW_TIMEOUT}`);
  const one = async (peer) => {
    const inst = peer === 'smartworkers'
      ? await PEERS.smartworkers.start({ app: 'block', workers: WORKERS, flags: { timeout: SW_TIMEOUT } })
      : await PEERS[peer].start({ app: 'block', workers: WORKERS });
    try {
      const old = new Set(inst.readyPids());
      await sleep(SW_TIMEOUT_MS / 2); // let heartbeats settle
      const blockedAt = Date.now();
      fire(`${inst.url}/block`);
      const limit = peer === 'smartworkers' ? SW_TIMEOUT_MS + 10000 : CFG.hangWaitPeersMs;
      const e = await inst.waitNewPid(old, { timeoutMs: limit });
      return { replacedMs: e ? e.t - blockedAt : null, waitedMs: limit };
    } finally {
      await inst.stop({ timeoutMs: 15000 });
    }
  };
  const sw = activePeers.includes('smartworkers') ? await interleave('f', one, { peers: ['smartworkers'] }) : {};
  const others = CFG.hangWaitPeersMs > 0 ? await interleave('f', one, { peers: activePeers.filter((p) => p !== 'smartworkers'), reps: 1 }) : {};
  const trials = { ...sw, ...others };
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    if (!t) return [p, p === 'smartworkers' ? 'n/a' : 'skipped in --quick (no hang detection)', 'n/a'];
    const never = ok(t).filter((x) => x.replacedMs === null);
    const v = never.length ? `not replaced within ${fmt.ms(never[0].waitedMs)}` : fmt.ms(med(t, 'replacedMs'));
    return [p === 'smartworkers' ? `smartworkers (timeout ${SW_TIMEOUT})` : p, cellOr(t, v, p), cellOr(t, ok(t).map((x) => fmt.ms(x.replacedMs ?? NaN)).join(', '), p)];
  });
  const table = markdownTable(['peer', 'loop blocked → replacement listening (median)', 'each run'], rows);
  if (ok(trials.smartworkers).length) {
    const all = ok(trials.smartworkers).every((x) => x.replacedMs !== null);
    const m = med(trials.smartworkers, 'replacedMs');
    target('f', `≤ timeout + 1 s (${SW_TIMEOUT_MS + 1000} ms)`, all ? fmt.ms(m) : 'not replaced', all && m <= SW_TIMEOUT_MS + 1000);
  } else target('f', '≤ timeout + 1 s', 'n/a', null, 'smartworkers not available');
  return { trials, table };
}

// ------------------------------------------------------------------ g. task tracking

async function scenarioG() {
  log('g. task tracking: cost per tracked task in a worker; IPC messages per second at 100,000 tasks/s');
  const peers = activePeers.filter((p) => p !== 'pm2');
  const trials = await interleave('g', async (peer) => {
    const inst = await PEERS[peer].start({ app: 'tasks', workers: WORKERS, env: { TASKS_PER_REQUEST: '0' } });
    try {
      const loadavg = os.loadavg()[0];
      const bench = JSON.parse((await get(`${inst.url}/taskbench?n=${CFG.taskbenchN}`, 60000)).body);
      const rate = JSON.parse((await get(`${inst.url}/ipcrate?rate=100000&ms=${CFG.ipcMs}`, 60000)).body);
      return {
        tasksSource: bench.tasksSource,
        plainNs: bench.plainNs,
        runNs: bench.runNs,
        overheadNs: bench.overheadNs,
        registerUnregisterNs: bench.registerUnregisterNs,
        achievedRate: rate.achievedRate,
        ipcPerSec: rate.ipcPerSec,
        idleIpcPerSec: rate.idleIpcPerSec,
        loadavg,
      };
    } finally {
      await inst.stop();
    }
  }, { peers });
  const rows = PEER_NAMES.map((p) => {
    const t = trials[p];
    if (p === 'pm2') return ['pm2', 'no task tracking', 'n/a', 'n/a', 'n/a', 'n/a'];
    const label = p === 'bare' ? 'bare (tasks API in local mode)' : p;
    return [
      label,
      cellOr(t, fmt.n(med(t, 'overheadNs')), p),
      cellOr(t, fmt.n(med(t, 'registerUnregisterNs')), p),
      cellOr(t, fmt.n(med(t, 'achievedRate')), p),
      cellOr(t, fmt.n(med(t, 'ipcPerSec'), 1), p),
      cellOr(t, fmt.n(med(t, 'idleIpcPerSec'), 1), p),
    ];
  });
  const table = markdownTable(['peer', 'tasks.run overhead ns/task', 'register+unregister ns', 'tasks/s achieved', 'IPC msgs/s (1 worker, under that rate)', 'IPC msgs/s idle'], rows);
  if (ok(trials.smartworkers).length) {
    const cost = med(trials.smartworkers, 'registerUnregisterNs') ?? med(trials.smartworkers, 'overheadNs');
    const ipc = Math.max(...ok(trials.smartworkers).map((x) => x.ipcPerSec));
    target('g', '< 1 µs per tracked task', `${fmt.n(cost)} ns (register+unregister); tasks.run adds ${fmt.n(med(trials.smartworkers, 'overheadNs'))} ns`, cost < 1000);
    target('g', '≤ 50 IPC messages/s per worker at 100,000 tasks/s', `${fmt.n(ipc, 1)} msgs/s at ${fmt.n(med(trials.smartworkers, 'achievedRate'))} tasks/s`, ipc <= 50);
  } else target('g', '< 1 µs per task; ≤ 50 IPC msgs/s per worker', 'n/a', null, 'smartworkers not available');
  return { trials, table };
}

// ------------------------------------------------------------------ main

const TITLES = {
  a: `a. Steady throughput, ${WORKERS} workers, ${CONNECTIONS} keep-alive connections, load from ${loadClient()} (peers alternating in slices; medians over rounds)`,
  b: 'b. Two rolling reloads during load',
  c: `c. Recycle storm (each worker recycled every 1–2 s; load from ${loadClient()})`,
  d: 'd. Start to every worker listening; the primary’s RSS',
  e: `e. Memory ceiling (${MAX_MEMORY_MB} MB)`,
  f: 'f. Hung worker (event loop blocked)',
  g: 'g. Task tracking in a worker',
  h: PRIMARY_COST_TITLE,
  i: LOGGING_TITLE,
  j: TASK_LIMITS_TITLE,
};

async function main() {
  const started = Date.now();
  log(`smartworkers bench (${QUICK ? 'quick' : 'full'}): ${REPS} rep(s), peers ${activePeers.join(', ') || 'none'}; node ${process.version}, ${os.cpus().length} cores`);
  const s = results.scenarios;
  if (ONLY.has('a')) s.a = await scenarioA();
  if (ONLY.has('b')) s.b = await scenarioB(s.a);
  if (ONLY.has('c')) s.c = await scenarioC(s.a);
  if (ONLY.has('d')) s.d = await scenarioD(s.a);
  if (ONLY.has('e')) s.e = await scenarioE();
  if (ONLY.has('f')) s.f = await scenarioF();
  if (ONLY.has('g')) s.g = await scenarioG();
  if (ONLY.has('h')) s.h = await scenarioPrimaryCost({ quick: QUICK, peers: activePeers, log, target });
  if (ONLY.has('i')) s.i = await scenarioLogging({ quick: QUICK, peers: activePeers, log, target });
  if (ONLY.has('j') && activePeers.includes('smartworkers')) s.j = await scenarioTaskLimits({ quick: QUICK, log, target, reps: option('reps') !== undefined ? REPS : undefined });
  results.meta.durationS = Math.round((Date.now() - started) / 1000);

  const m = results.meta;
  const lines = [
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.platform}; Node ${m.node}; pm2 ${m.pm2Version ?? 'n/a'}; ${m.date.slice(0, 10)}; commit ${m.commit}; ${m.mode} run, ${m.reps} rep(s) interleaved, ${m.durationS} s.`,
    '',
  ];
  for (const [k, v] of Object.entries(s)) {
    results.tables[k] = v.table;
    lines.push(`**${TITLES[k]}**`, '', v.table, '');
  }
  lines.push('**Targets**', '');
  lines.push(markdownTable(['', 'target', 'measured', 'met'], results.targets.map((t) => [t.id, t.target, t.value, t.met === null ? `n/a${t.note ? ` (${t.note})` : ''}` : t.met ? 'yes' : '**no**'])));
  const md = lines.join('\n');
  console.log(md);

  const outFile = option('out', path.join(BENCH_DIR, 'results', `${m.date.slice(0, 10)}${QUICK ? '-quick' : ''}.json`));
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify({ ...results, markdown: md }, null, 2)}\n`);
  log(`\nwrote ${path.relative(process.cwd(), outFile)}`);
}

main()
  .catch(async (e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
  });
