// Scenario i, "limited task types" (issue 14): tasks of a type with a cluster-wide `concurrency`
// each wait for a permit the primary holds. Measures, with 2 workers each keeping 64 tasks
// outstanding (tasks that do no work, so the permit round trip is all there is):
//   - tasks/s acquired and released across the cluster, and the primary's CPU (% of one core, and
//     CPU ms per 10,000 tasks, from /proc/<pid>/stat over the window);
//   - the same workers running an unlimited type: the primary's CPU then (no IPC per task).
// Targets: ≥ 5,000 limited tasks/s across the cluster with the primary under 30 % of one core.
// The unlimited type's own cost per task (< 1 µs, ≤ 50 IPC msgs/s per worker) is scenario g.
import { PEERS } from './lib/peers.mjs';
import * as proc from './lib/proc.mjs';
import { fmt, get, markdownTable, sleep } from './lib/util.mjs';

export const TASK_LIMITS_TITLE = 'i. Limited task types: permits through the primary (2 workers, 64 tasks outstanding each)';

/**
 * Cluster-wide limits measured. A type with no work per task is bound by limit ÷ the permit's
 * round trip (worker → primary → worker, a few ms on a loaded 2-core machine): the target is
 * read at 64; 16 shows the latency bound.
 */
const LIMITS = [16, 64];
const TARGET_LIMIT = 64;

/** Both workers drive tasks at once; retried until the two requests reach different workers. */
async function driveBoth(inst, type, ms) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const cpu0 = proc.cpuSeconds(inst.primaryPid);
    const t0 = Date.now();
    const replies = await Promise.all([0, 1].map(() => get(`${inst.url}/limited?type=${type}&ms=${ms}&inflight=64`, ms + 60_000)));
    const seconds = (Date.now() - t0) / 1000;
    const cpu1 = proc.cpuSeconds(inst.primaryPid);
    const results = replies.map((r) => JSON.parse(r.body));
    if (results[0].pid === results[1].pid) continue;
    const completed = results[0].completed + results[1].completed;
    const cpuS = cpu1 - cpu0;
    return { tasksPerSec: completed / seconds, completed, primaryCpuPct: (cpuS / seconds) * 100, primaryCpuMsPer10k: completed > 0 ? (cpuS * 1000 * 10_000) / completed : null };
  }
  throw new Error('both requests kept reaching the same worker');
}

export async function scenarioTaskLimits({ quick, log, target }) {
  log(`j. limited task types: concurrency ${LIMITS.join(' and ')} cluster-wide, 2 workers`);
  const ms = quick ? 3000 : 8000;
  const reps = quick ? 1 : 3;
  const limited = Object.fromEntries(LIMITS.map((l) => [l, []]));
  const unlimited = [];
  for (let rep = 0; rep < reps; rep++) {
    const inst = await PEERS.smartworkers.start({
      app: 'limited',
      workers: 2,
      flags: { taskTypes: JSON.stringify(Object.fromEntries(LIMITS.map((l) => [`limited${l}`, { concurrency: l }]))), summaryInterval: '0' },
    });
    try {
      await sleep(1000);
      for (const limit of LIMITS) {
        const l = await driveBoth(inst, `limited${limit}`, ms);
        log(`  j #${rep + 1}: limit ${limit}: ${fmt.n(l.tasksPerSec)} tasks/s, primary ${fmt.n(l.primaryCpuPct, 1)} % (${fmt.n(l.primaryCpuMsPer10k, 1)} ms/10k)`);
        limited[limit].push(l);
      }
      const u = await driveBoth(inst, 'plain', ms);
      log(`  j #${rep + 1}: unlimited ${fmt.n(u.tasksPerSec)} tasks/s, primary ${fmt.n(u.primaryCpuPct, 1)} %`);
      unlimited.push(u);
    } finally {
      await inst.stop();
    }
  }
  const med = (xs, key) => {
    const v = xs.map((x) => x[key]).filter((x) => typeof x === 'number').sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : null;
  };
  const table = markdownTable(
    ['type', 'tasks/s (cluster)', 'primary CPU % of one core', 'primary CPU ms per 10k tasks'],
    [
      ...LIMITS.map((l) => [`limited (concurrency ${l})`, fmt.n(med(limited[l], 'tasksPerSec')), fmt.n(med(limited[l], 'primaryCpuPct'), 1), fmt.n(med(limited[l], 'primaryCpuMsPer10k'), 1)]),
      ['unlimited (no settings)', fmt.n(med(unlimited, 'tasksPerSec')), fmt.n(med(unlimited, 'primaryCpuPct'), 1), fmt.n(med(unlimited, 'primaryCpuMsPer10k'), 2)],
    ],
  );
  const rate = med(limited[TARGET_LIMIT], 'tasksPerSec');
  const cpu = med(limited[TARGET_LIMIT], 'primaryCpuPct');
  target('j', `≥ 5,000 limited tasks/s across 2 workers (concurrency ${TARGET_LIMIT}), primary < 30 % of one core`, `${fmt.n(rate)} tasks/s, primary ${fmt.n(cpu, 1)} %`, rate !== null && rate >= 5000 && cpu !== null && cpu < 30);
  return { limited, unlimited, table };
}
