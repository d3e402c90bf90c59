// What every chaos scenario records (bench/chaos.mjs and its modules under bench/chaos/): a result
// of one shape, its invariant checks, and the wait for a cluster to be whole again.
import { sleep } from './util.mjs';

export function newResult(scenario, peer) {
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

export const check = (r, name, ok, detail) => r.checks.push({ name, ok: Boolean(ok), detail: detail === undefined ? undefined : String(detail) });

/** Waits until the manager has exactly `n` live workers, each of them listening. */
export async function settle(inst, n, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const workers = inst.workerPids();
    const listening = new Set(inst.readyPids());
    if (workers.length === n && workers.every((p) => listening.has(p))) return true;
    await sleep(100);
  }
  return false;
}

/** SIGKILLs a random live worker every `everyMs` for `seconds`; resolves with the number of kills. */
export async function killRandomWorkers(inst, seconds, everyMs) {
  let kills = 0;
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
  return kills;
}
