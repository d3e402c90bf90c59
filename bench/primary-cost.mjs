// Scenario h, "primary cost vs workers" (issue 13): the primary is the accept loop of every
// connection, so its own CPU is taken from every request. Measures, side by side with a bare
// node:cluster primary in the same run:
//   - the primary's CPU (% of one core, from /proc/<pid>/stat over a window) and RSS with 2, 16,
//     64 and 256 idle workers, and with 16 and 64 workers each reporting at its maximum rate;
//   - 256 workers failing their boot at the same moment: the primary's own CPU time, its event-loop
//     busy time and delay histogram from the moment they fail until it has exited (the bare primary
//     beside: one that forks once and exits when its last worker has).
// Workers are whole node processes (~40 MB each): the 256 cases run once per peer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, installCleanup, PEERS, stopAll } from './lib/peers.mjs';
import * as proc from './lib/proc.mjs';
import { fmt, markdownTable, sleep } from './lib/util.mjs';

const PROBE = path.join(BENCH_DIR, 'lib', 'loop-probe.cjs');
/** A paced worker runs a tracked task this often: its runtime then reports at its maximum rate. */
const PACE_MS = 20;

export const PRIMARY_COST_TITLE = 'h. Primary cost vs workers (CPU % of one core and RSS of the primary; bare node:cluster primary beside)';

/** Cases: [label, workers, reporting]. */
function cases({ quick, idle, reporting }) {
  idle ??= quick ? [2, 16, 64] : [2, 16, 64, 256];
  reporting ??= [16, 64];
  return [...idle.map((n) => [`${n} idle`, n, false]), ...reporting.map((n) => [`${n} reporting`, n, true])];
}

async function measureCost(peer, workers, paced, windowS) {
  const inst = await PEERS[peer].start({
    app: 'idle',
    workers,
    env: paced ? { PACE_MS: String(PACE_MS) } : {},
    flags: peer === 'smartworkers' ? { bootTimeout: '600s' } : {},
    readyTimeoutMs: 600_000,
  });
  try {
    await sleep(3000); // boots settle (late `online`s, first memory samples)
    const cpu0 = proc.cpuSeconds(inst.primaryPid);
    const t0 = Date.now();
    await sleep(windowS * 1000);
    const cpu1 = proc.cpuSeconds(inst.primaryPid);
    if (cpu1 === null || !inst.primaryAlive()) {
      throw new Error(`the primary exited during the window (code ${inst.exit?.code}, signal ${inst.exit?.signal}): ${inst.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    return { cpuPct: ((cpu1 - cpu0) / seconds) * 100, rssBytes: proc.rss(inst.primaryPid), live: inst.workerPids().length };
  } finally {
    await inst.stop({ timeoutMs: 120_000 });
  }
}

/**
 * N workers that never become ready all exit 1 at once: smartworkers then stops (SW_BOOT_FAILED,
 * exit 3); the bare primary (bench/peers/bare-once-primary.cjs) exits once the last one is gone.
 * The probe measures the primary from the moment they fail until it exits: its own CPU time (what
 * it spent), its loop's busy time (ELU active: also counts the time it was runnable but waited for a
 * core among N exiting processes) and a loop-delay histogram. `cpuProf`: a directory for the
 * primary's V8 CPU profile (`--cpu-prof`).
 */
async function bootFailStorm(peer, workers, { cpuProf } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swb-storm-'));
  const trigger = path.join(dir, 'fail-now');
  const out = path.join(dir, 'probe.json');
  const inst = await PEERS[peer].start({
    app: 'boot-fail',
    workers,
    waitReady: false,
    ...(peer === 'smartworkers' ? { flags: { bootTimeout: '600s' } } : { primary: 'bare-once-primary.cjs' }),
    env: {
      BOOT_FAIL_TRIGGER: trigger,
      LOOP_PROBE_TRIGGER: trigger,
      LOOP_PROBE_OUT: out,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${PROBE}`.trim(),
      ...(cpuProf ? { LOOP_PROBE_CPU_PROF: path.resolve(cpuProf, `storm-${peer}.cpuprofile`) } : {}),
    },
  });
  try {
    const deadline = Date.now() + 600_000;
    while (inst.workerPids().length < workers && Date.now() < deadline) {
      if (!inst.primaryAlive()) throw new Error(`the primary exited before its workers were forked: ${inst.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      await sleep(500);
    }
    const forked = inst.workerPids().length;
    await sleep(3000);
    fs.writeFileSync(trigger, '');
    const exit = await inst.waitExit(300_000);
    const probe = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null;
    return { forked, exitCode: exit?.code ?? null, ...(probe ?? { error: 'the probe wrote nothing' }) };
  } finally {
    await inst.stop({ timeoutMs: 10_000 });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `idle`, `reporting`: worker counts of each kind of case (defaults: 2, 16, 64 (, 256) idle; 16, 64
 * reporting); `storm`: workers failing their boot at once (0 = skip); `windowS`: each measurement;
 * `cpuProf`: a directory for the storm primaries' CPU profiles (`<dir>/<peer>/*.cpuprofile`).
 */
export async function scenarioPrimaryCost({ quick, peers, log, target, idle, reporting, storm: stormWorkers = quick ? 64 : 256, windowS = quick ? 5 : 10, cpuProf }) {
  const rows = [];
  const trials = {};
  for (const [label, workers, paced] of cases({ quick, idle, reporting })) {
    const row = { label };
    for (const peer of peers.filter((p) => p !== 'pm2')) {
      try {
        row[peer] = await measureCost(peer, workers, paced, windowS);
      } catch (e) {
        row[peer] = { error: e.message };
        await stopAll();
      }
      log(`  h ${label} ${peer}: ${JSON.stringify(row[peer])}`);
    }
    trials[label] = row;
    const sw = row.smartworkers;
    const bare = row.bare;
    const cpu = (r) => (r && !r.error ? `${fmt.n(r.cpuPct, 2)} %` : 'error');
    const rss = (r) => (r && !r.error ? fmt.mb(r.rssBytes) : 'error');
    const rssDelta = sw && bare && !sw.error && !bare.error ? `${((sw.rssBytes - bare.rssBytes) / 1048576).toFixed(1)} MB` : 'n/a';
    rows.push([label, cpu(sw), cpu(bare), rss(sw), rss(bare), rssDelta]);
  }
  const at = (label) => trials[label]?.smartworkers;
  const pct = (r, max) => (r && !r.error ? [`${fmt.n(r.cpuPct, 2)} %`, r.cpuPct <= max] : ['n/a', null]);
  if (at('64 idle')) target('h', 'idle primary CPU ≤ 1 % of one core at 64 workers', ...pct(at('64 idle'), 1));
  if (at('256 idle')) target('h', 'idle primary CPU ≤ 3 % at 256 workers', ...pct(at('256 idle'), 3));
  if (at('64 reporting')) target('h', 'primary CPU ≤ 5 % with 64 workers reporting at the maximum rate', ...pct(at('64 reporting'), 5));
  const sw64 = at('64 idle');
  const bare64 = trials['64 idle']?.bare;
  if (sw64 && bare64 && !sw64.error && !bare64.error) {
    const d = (sw64.rssBytes - bare64.rssBytes) / 1048576;
    target('h', 'primary RSS at 64 workers within 15 MB of the bare primary', `${d.toFixed(1)} MB more`, d <= 15);
  }

  const table = () => markdownTable(['workers', 'smartworkers CPU', 'bare CPU', 'smartworkers RSS', 'bare RSS', 'RSS difference'], rows);
  if (!stormWorkers) return { trials, table: table() };
  if (cpuProf) fs.mkdirSync(cpuProf, { recursive: true });
  const storm = {};
  for (const peer of peers.filter((p) => p !== 'pm2')) {
    try {
      storm[peer] = await bootFailStorm(peer, stormWorkers, { cpuProf });
    } catch (e) {
      storm[peer] = { error: e.message };
      await stopAll();
    }
    log(`  h storm ${stormWorkers} ${peer}: ${JSON.stringify(storm[peer])}`);
  }
  // The primary's own CPU is what it spent; loop busy (ELU active) also counts the time it waited
  // for a core among the exiting workers, so on a loaded machine only CPU compares across runs.
  const stormCell = (r) => (!r ? 'n/a' : r.error ? 'error' : `CPU ${fmt.ms(r.cpuMs)}, loop busy ${fmt.ms(r.busyMs)} (delay p99 ${r.delay.p99} ms, max ${r.delay.max} ms)`);
  const sws = storm.smartworkers;
  const forked = sws && !sws.error ? `, ${sws.forked} forked, exit ${sws.exitCode}` : '';
  rows.push([`${stormWorkers} fail boot at once (until the primary exits${forked})`, stormCell(sws), stormCell(storm.bare), '', '', '']);
  if (sws && !sws.error) {
    const bareCpu = storm.bare && !storm.bare.error ? `; bare CPU ${fmt.ms(storm.bare.cpuMs)}, busy ${fmt.ms(storm.bare.busyMs)}` : '';
    target('h', `${stormWorkers} workers failing boot at once: primary loop busy ≤ 100 ms in total`, `busy ${fmt.ms(sws.busyMs)}, CPU ${fmt.ms(sws.cpuMs)} (delay max ${sws.delay.max} ms)${bareCpu}`, sws.busyMs <= 100);
  }
  return { trials: { ...trials, storm }, table: table() };
}

// Alone: node bench/primary-cost.mjs [--idle 2,16,64,256] [--reporting 16,64] [--storm 256] [--window 10]
//   [--peers smartworkers,bare] [--quick] [--cpu-prof DIR]   (a list may be empty: --reporting '')
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const option = (name) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i].includes('=') ? argv[i].split('=').slice(1).join('=') : (argv[i + 1] ?? '');
  };
  const list = (name) => {
    const v = option(name);
    return v === undefined ? undefined : v.split(',').filter(Boolean).map(Number);
  };
  const quick = argv.includes('--quick');
  const targets = [];
  installCleanup();
  const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
  const { table } = await scenarioPrimaryCost({
    quick,
    peers: (option('peers') ?? 'smartworkers,bare').split(','),
    log,
    target: (id, text, value, met) => targets.push(`${met === true ? 'met' : met === false ? 'MISSED' : '?'}  ${text}: ${value}`),
    idle: list('idle'),
    reporting: list('reporting'),
    storm: option('storm') === undefined ? undefined : Number(option('storm')),
    windowS: option('window') === undefined ? undefined : Number(option('window')),
    cpuProf: option('cpu-prof'),
  });
  console.log(`${PRIMARY_COST_TITLE}\n\n${table}\n\n${targets.join('\n')}`);
  process.exit(0);
}
