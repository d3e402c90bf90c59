// Chaos scenarios of the worker runtime and its process host (issue 17, items 3–6): a worker
// that disconnects its IPC channel, a server that listens late, processes a worker leaves behind,
// and a kill storm on a busy machine beside the bare node:cluster primary. Imported by
// bench/chaos.mjs; each result has the shape of the other scenarios' (see `newResult` there).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { PEERS } from '../lib/peers.mjs';
import { startLoad } from '../lib/load.mjs';
import * as proc from '../lib/proc.mjs';
import { sleep, get } from '../lib/util.mjs';

const CONNECTIONS = 50;
const WORKERS = 2;

/** Per variant (the keys of VARIANTS in bench/chaos.mjs). */
const SIZES = {
  full: { stormS: 9, stormRounds: 2, recycles: 4, tasks: 5 },
  quick: { stormS: 9, stormRounds: 1, recycles: 2, tasks: 5 },
  short: { stormS: 4, stormRounds: 1, recycles: 1, tasks: 5 },
};

function result(scenario, peer) {
  return {
    scenario,
    peer,
    requestsSent: null,
    requestsFailed: null,
    tasks: null,
    primarySurvived: null,
    workersRestored: null,
    leftovers: [],
    zombies: [],
    exitCode: null,
    stopMs: null,
    checks: [],
    notes: [],
    error: null,
  };
}

const check = (r, name, ok, detail) => r.checks.push({ name, ok: Boolean(ok), detail: detail === undefined ? undefined : String(detail) });

/** Waits until the manager has exactly `n` live workers, each of them listening. */
async function settle(inst, n, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const workers = inst.workerPids();
    const listening = new Set(inst.readyPids());
    if (workers.length === n && workers.every((p) => listening.has(p))) return true;
    await sleep(100);
  }
  return false;
}

/** Stops the instance and records what every scenario records after a stop. */
async function stopInto(r, inst) {
  const s = await inst.stop();
  r.exitCode = s.code;
  r.stopMs = s.ms;
  r.leftovers = s.leftovers;
  check(r, 'nothing left after stop (pids and process group)', s.leftovers.length === 0, JSON.stringify(s.leftovers));
  return s;
}

/** A process that keeps one core busy: the "other work on the machine" of a kill storm. */
function cpuHog() {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

/** SIGKILLs a random worker every `everyMs` for `seconds` under keep-alive load; failed requests per kill. */
async function killStorm(peer, seconds, everyMs) {
  const inst = await PEERS[peer].start({ app: 'hello', workers: WORKERS });
  try {
    const load = startLoad({ url: inst.url, connections: CONNECTIONS, durationS: seconds + 1 });
    let kills = 0;
    await sleep(500);
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      const pids = inst.workerPids();
      if (pids.length > 0) {
        try {
          process.kill(pids[Math.floor(Math.random() * pids.length)], 'SIGKILL');
          kills++;
        } catch {
          /* already gone */
        }
      }
      await sleep(everyMs);
    }
    const sum = await load.done;
    const restored = await settle(inst, WORKERS, 30000);
    return { inst, sum, kills, restored, alive: inst.primaryAlive(), perKill: sum.failed / Math.max(1, kills) };
  } catch (err) {
    await inst.stop();
    throw err;
  }
}

export const SCENARIOS = {
  'kill-storm': {
    title: 'SIGKILL a random worker every 700 ms on a busy machine, beside the bare primary',
    peers: ['smartworkers'],
    async run(peer, v, variant) {
      const size = SIZES[variant];
      const r = result('kill-storm', peer);
      const stopHog = cpuHog();
      const runs = { smartworkers: [], bare: [] };
      try {
        // Interleaved, so both meet the same machine.
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
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'worker count restored', r.workersRestored);
      check(r, 'stop: exit code 0', runs.smartworkers.every((x) => x.stop.code === 0 && !x.stop.forced), runs.smartworkers.map((x) => x.stop.code).join(','));
      // Whatever was in flight on the killed worker fails: at most its share of the connections.
      check(r, `failed per kill ≤ in flight on one worker (${CONNECTIONS} connections)`, sw <= CONNECTIONS, sw.toFixed(1));
      // A count, not a timing — but a noisy one: the short variant (npm test) leaves it out.
      if (variant !== 'short') check(r, 'failed per kill ≤ 1.2× the bare primary’s', sw <= 1.2 * bare, `${sw.toFixed(1)} vs ${bare.toFixed(1)}`);
      return r;
    },
  },
};
