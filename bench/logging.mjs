// Scenario i, "logging" (issue 12): an app writing one line per request, 2 workers, 50 keep-alive
// connections, output to files with a timestamp on each line, side by side:
//   - smartworkers with out_file/error_file and `time` (each worker appends its own lines; default
//     rotation at 10MB stays on, so rotations happen during the run);
//   - a bare node:cluster primary whose workers' stdout is a file it opened with O_APPEND (the app
//     stamps its own lines): the floor;
//   - pm2 with --output/--error and --time (its daemon reads every worker's pipe and writes the file).
// Peers run at once and the load alternates between them in short slices, in A B B A order (each
// round reverses the last: a machine whose load drifts during a round favours no peer), and the
// ratio to bare is the median of the per-round ratios. On a shared machine the throughput moves
// with the other jobs; the CPU the whole cluster (primary and workers) spends per line moves much
// less, so it is reported too. Reported: median throughput and its ratio to bare, the cluster's
// and the primary's CPU per line, and the lines found in the files against the requests answered.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { PEERS, stopAll } from './lib/peers.mjs';
import { runLoad } from './lib/load.mjs';
import * as proc from './lib/proc.mjs';
import { fmt, markdownTable, median, sleep } from './lib/util.mjs';

export const LOGGING_TITLE = 'i. Logging: a line per request to files with timestamps, 2 workers, 50 keep-alive connections (peers alternating in slices; medians over rounds)';

const CONNECTIONS = 50;
const WORKERS = 2;

function countLines(dir) {
  let lines = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!/\.log(\.gz)?$/.test(name)) continue;
    let data = fs.readFileSync(path.join(dir, name));
    if (name.endsWith('.gz')) data = zlib.gunzipSync(data);
    for (let i = 0; i < data.length; i++) if (data[i] === 10) lines++;
  }
  return lines;
}

async function startPeer(peer, dir) {
  const out = path.join(dir, 'out.log');
  const err = path.join(dir, 'error.log');
  if (peer === 'smartworkers') {
    return PEERS.smartworkers.start({ app: 'log-line', workers: WORKERS, flags: { outFile: out, errorFile: err, time: true } });
  }
  if (peer === 'bare') {
    return PEERS.bare.start({ app: 'log-line', workers: WORKERS, primary: 'bare-logging-primary.cjs', env: { LOG_FILE: out, LOG_TIMESTAMP: '1' } });
  }
  return PEERS.pm2.start({ app: 'log-line', workers: WORKERS, args: ['--output', out, '--error', err, '--time'] });
}

export async function scenarioLogging({ quick, peers, log, target }) {
  const rounds = quick ? 4 : 10;
  const sliceS = quick ? 2 : 3;
  log(`i. logging: ${rounds} rounds of ${sliceS} s per peer, ${CONNECTIONS} keep-alive connections, ${WORKERS} workers, a line per request to files with timestamps`);
  const insts = {};
  const dirs = {};
  const answered = {};
  const trials = Object.fromEntries(peers.map((p) => [p, []]));
  const errors = {};
  try {
    for (const peer of peers) {
      dirs[peer] = fs.mkdtempSync(path.join(os.tmpdir(), `swb-log-${peer}-`));
      try {
        insts[peer] = await startPeer(peer, dirs[peer]);
        const warm = await runLoad({ url: insts[peer].url, connections: CONNECTIONS, durationS: 2 });
        answered[peer] = warm.ok2xx ?? warm.total;
      } catch (e) {
        errors[peer] = e.message;
        log(`  i ${peer}: ERROR ${e.message}`);
      }
    }
    const running = peers.filter((p) => insts[p]);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? running : [...running].reverse();
      for (const peer of order) {
        const inst = insts[peer];
        // pm2: its daemon is the primary; its workers are in the ready file as everyone's.
        const pids = [inst.primaryPid, ...inst.readyPids().filter((p) => p !== inst.primaryPid)];
        const cpu0 = pids.map((p) => proc.cpuSeconds(p));
        const r = await runLoad({ url: inst.url, connections: CONNECTIONS, durationS: sliceS });
        const cpus = pids.map((p, i) => (proc.cpuSeconds(p) ?? cpu0[i] ?? 0) - (cpu0[i] ?? 0));
        const cpu = cpus[0];
        const clusterCpu = cpus.reduce((a, b) => a + b, 0);
        answered[peer] += r.ok2xx ?? r.total;
        const lines = Math.max(1, r.total);
        trials[peer].push({ round, rps: r.rps, failed: r.failed, cpuPer100k: (cpu / lines) * 100_000, clusterUs: (clusterCpu / lines) * 1e6, p99: r.p99 });
        log(`  i ${peer} round ${round + 1}: rps=${r.rps.toFixed(0)} primary cpu=${cpu.toFixed(2)} s, cluster ${((clusterCpu / lines) * 1e6).toFixed(0)} µs per line, ${r.total} lines`);
        await sleep(100);
      }
    }
  } finally {
    for (const inst of Object.values(insts)) await inst.stop();
  }
  const found = {};
  for (const peer of Object.keys(insts)) {
    try {
      found[peer] = countLines(dirs[peer]);
    } catch (e) {
      found[peer] = null;
      log(`  i ${peer}: cannot count lines: ${e.message}`);
    }
    fs.rmSync(dirs[peer], { recursive: true, force: true });
  }

  const ratio = (peer) =>
    median(trials[peer].map((t) => {
      const b = trials.bare?.find((x) => x.round === t.round);
      return b ? t.rps / b.rps : null;
    }).filter((x) => x !== null));
  const rows = peers.map((p) => {
    if (errors[p] || trials[p].length === 0) return [p, 'error', '', '', '', '', ''];
    return [
      p,
      fmt.n(median(trials[p].map((t) => t.rps))),
      trials.bare?.length ? `${ratio(p).toFixed(3)}×` : 'n/a',
      fmt.n(median(trials[p].map((t) => t.clusterUs)), 0),
      fmt.n(median(trials[p].map((t) => t.cpuPer100k)), 2),
      fmt.n(median(trials[p].map((t) => t.p99)), 1),
      found[p] === null ? 'n/a' : `${fmt.n(found[p])} / ${fmt.n(answered[p])}`,
    ];
  });
  const table = markdownTable(['peer', 'req/s (= lines/s)', 'ratio to bare', 'cluster CPU µs per line', 'primary CPU s per 100k lines', 'p99 ms', 'lines in files / requests answered'], rows);
  if (trials.smartworkers?.length && trials.bare?.length) {
    const r = ratio('smartworkers');
    target('i', 'logging throughput ≥ 0.95× the bare primary writing to a file', `${r.toFixed(3)}×`, r >= 0.95);
    if (trials.pm2?.length) {
      const sw = median(trials.smartworkers.map((t) => t.rps));
      const pm = median(trials.pm2.map((t) => t.rps));
      target('i', 'logging throughput ahead of pm2 with out_file', `${fmt.n(sw)} vs ${fmt.n(pm)} req/s (${(sw / pm).toFixed(2)}×)`, sw > pm);
    }
    if (found.smartworkers !== null) target('i', 'every line in the files (none lost across rotations)', `${fmt.n(found.smartworkers)} lines for ${fmt.n(answered.smartworkers)} requests answered`, found.smartworkers >= answered.smartworkers);
  } else target('i', 'logging ≥ 0.95× bare, ahead of pm2', 'n/a', null, 'a peer failed');
  await stopAll();
  return { trials, table, found, answered };
}
