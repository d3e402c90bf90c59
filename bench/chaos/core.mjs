// Chaos scenarios of the supervisor core (issue 17 items 1 and 2), merged into bench/chaos.mjs's
// SCENARIOS. Each one keeps the result shape and invariants of the others (see chaos.mjs).
import { PEERS } from '../lib/peers.mjs';
import { startLoad } from '../lib/load.mjs';
import { sleep } from '../lib/util.mjs';
import { finish } from '../chaos.mjs';
import { check, newResult } from '../lib/scenario.mjs';

const PAUSE_S = 5;
const TIMEOUT_MS = 3000;

export const CORE_SCENARIOS = {
  'primary-pause': {
    title: `SIGSTOP the primary ${PAUSE_S} s under load, tasks running (timeout ${TIMEOUT_MS / 1000} s)`,
    peers: ['smartworkers'],
    async run(peer, v) {
      const r = newResult('primary-pause', peer);
      const inst = await PEERS[peer].start({
        app: 'tasks',
        workers: 2,
        env: { TASK_MIN_MS: '500', TASK_MAX_MS: '2000' },
        flags: { timeout: `${TIMEOUT_MS}ms` },
      });
      const before = new Set(inst.workerPids());
      // Requests queued while the primary (the accept loop) is stopped are answered after SIGCONT.
      const load = startLoad({ url: inst.url, connections: 20, durationS: PAUSE_S + v.loadS, timeoutS: PAUSE_S + 10 });
      await sleep(1500);
      inst.signal('SIGSTOP');
      await sleep(PAUSE_S * 1000);
      inst.signal('SIGCONT');
      const sum = await load.done;
      await sleep(1000);
      const after = new Set(inst.workerPids());
      const killed = [...before].filter((pid) => !after.has(pid));
      const silentKills = inst.logs.filter((l) => /^worker silent/.test(l.msg));
      r.primarySurvived = inst.primaryAlive();
      r.workersRestored = killed.length === 0;
      r.requestsSent = sum.sent;
      r.requestsFailed = sum.failed;
      const s = await finish(r, inst, { expectExit0: false });
      r.tasks = inst.taskCountsAtStop;
      r.notes.push(`${killed.length} of ${before.size} workers killed; ${silentKills.length} heartbeat kill(s); failures ${JSON.stringify(sum.errorCodes)}`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'no worker killed after the pause', killed.length === 0 && silentKills.length === 0, `${killed.length} killed, ${silentKills.length} heartbeat kills`);
      check(r, '0 tasks lost', r.tasks && r.tasks.lost === 0, JSON.stringify(r.tasks));
      check(r, 'stop: exit code 0 (nothing lost), not forced', s.code === 0 && !s.forced, `code ${s.code}${s.forced ? ', forced' : ''}`);
      return r;
    },
  },

  'loss-exit-code': {
    title: 'a worker exits mid-task, then a clean stop: the exit code says so',
    peers: ['smartworkers'],
    async run(peer) {
      const r = newResult('loss-exit-code', peer);
      const inst = await PEERS[peer].start({ app: 'tasks', workers: 2, env: { TASK_MIN_MS: '60000', TASK_MAX_MS: '60000', TASKS_PER_REQUEST: '0' } });
      const { pid: victim } = await fetch(`${inst.url}/spawn?n=5&ms=60000`).then((res) => res.json());
      await sleep(1500); // the worker's next report carries its 5 tasks
      process.kill(victim, 'SIGKILL');
      await sleep(2000);
      r.primarySurvived = inst.primaryAlive();
      const lostLogs = inst.logs.filter((l) => /task\(s\) still running: lost/.test(l.msg));
      const s = await finish(r, inst, { expectExit0: false });
      r.exitCode = s.code;
      r.notes.push(`${lostLogs.length} loss line(s): ${lostLogs.map((l) => JSON.stringify(l.lostByType)).join(' ')}; exit code ${s.code}`);
      check(r, 'primary survived', r.primarySurvived);
      check(r, 'the loss is logged with counts by type', lostLogs.length > 0 && lostLogs.every((l) => l.lostByType && Object.keys(l.lostByType).length > 0));
      check(r, 'exit code 1 after a loss, even with a clean stop', s.code === 1 && !s.forced, `code ${s.code}`);
      return r;
    },
  },
};
