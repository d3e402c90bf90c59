/**
 * Signals end to end: graceful stop, reload, scaling, Ctrl-C to the process group, and a
 * primary killed outright — with load and background tasks in flight.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, cleanup, type Cluster, type LogLine, clientLoad, FIXTURES, groupPids, isMsg, load, readTaskLog, run, tempDir } from './harness';

const HTTP = path.join(FIXTURES, 'http.cjs');
const taskPath = () => `/task?ms=${800 + Math.floor(Math.random() * 700)}`;

afterEach(cleanup);

/** Warnings and errors the primary logged: shown when an exit code is not the expected one. */
const trouble = (lines: LogLine[]) => lines.filter((l) => typeof l.level === 'number' && l.level >= 40);

/** Waits until a condition holds, checking on an interval; for process exits, which emit no event here. */
async function until(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('signals', () => {
  /** A cluster under load where every request starts a task; `stop` signals it; checks nothing was lost. */
  async function stopUnderLoad(stop: (cluster: Cluster) => void): Promise<Cluster> {
    const taskLog = path.join(tempDir(), 'tasks.log');
    const cluster = run(['start', HTTP, '--workers', '2', '--log-format', 'json'], { TASK_LOG: taskLog });
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const traffic = clientLoad(port, { connections: 10, path: taskPath });
    await until(() => traffic.ok() >= 200, 60_000, () => `200 responses (${traffic.ok()} so far)`);
    stop(cluster);
    const { code } = await cluster.exited;
    const result = await traffic.stop();
    const tasks = readTaskLog(taskLog);
    expect(result).toMatchObject({ failed: 0 });
    expect(tasks.started.size).toBeGreaterThanOrEqual(200);
    expect(tasks.done.size).toBe(tasks.started.size);
    expect({ code, trouble: trouble(cluster.lines) }).toEqual({ code: 0, trouble: [] });
    return cluster;
  }

  it('SIGTERM under load with tasks in flight: exit 0, no failed request, every task completed', async () => {
    const cluster = await stopUnderLoad((c) => c.signal('SIGTERM'));
    expect(groupPids(cluster.pid)).toEqual([]);
  });

  it('SIGINT to the whole process group (Ctrl-C) with tasks in flight: every task completes', async () => {
    await stopUnderLoad((c) => c.signalGroup('SIGINT'));
  });

  it('a second SIGTERM forces the stop and reports the tasks lost', async () => {
    const cluster = run(['start', HTTP, '--workers', '1', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    await fetch(`http://127.0.0.1:${port}/task?ms=60000`).then((r) => r.text());
    cluster.signal('SIGTERM');
    await cluster.waitFor(isMsg('worker waiting for 1 task'));
    cluster.signal('SIGTERM');
    const { code } = await cluster.exited;
    expect(code).toBe(1);
    expect(cluster.lines.filter(isMsg('task lost'))).toHaveLength(1);
  });

  it('SIGHUP reloads every worker under load with zero failed requests', async () => {
    const cluster = run(['start', HTTP, '--workers', '2', '--log-format', 'json']);
    const port = await cluster.port();
    const ready = await cluster.waitForCount(isMsg('worker ready'), 2);
    const before = new Set(ready.map((l) => l.pid));
    const retiredByReload = (l: LogLine) => l.msg === 'worker exited' && l.reason === 'reload';
    // Two reloads in a row under load, each sent once the one before has replaced and retired both
    // workers; the load runs until then (its `seconds` is only a backstop).
    let firstResponse!: () => void;
    const loadStarted = new Promise<void>((resolve) => (firstResponse = resolve));
    const reloads = (async () => {
      await loadStarted;
      for (const total of [2, 4]) {
        cluster.signal('SIGHUP');
        await cluster.waitForCount(retiredByReload, total, 90_000, `${total} workers retired by SIGHUP reloads`);
      }
    })();
    const result = await load(port, { seconds: 200, connections: 50, until: reloads, onResponse: firstResponse });
    await reloads;
    const retiring = cluster.lines.filter((l) => l.msg === 'worker retiring' && l.reason === 'reload');
    expect(retiring.length).toBe(4);
    expect(result).toMatchObject({ failed: 0, errors: 0, non2xx: 0, timeouts: 0 });
    expect(result.requests).toBeGreaterThan(0);
    const nowReady = cluster.lines.filter(isMsg('worker ready')).slice(-2).map((l) => l.pid);
    expect(nowReady.some((pid) => before.has(pid))).toBe(false);
  }, 240_000);

  it('SIGTTIN adds a worker and SIGTTOU removes one', async () => {
    const cluster = run(['start', HTTP, '--workers', '1', '--log-format', 'json']);
    await cluster.waitFor(isMsg('worker ready'));
    cluster.signal('SIGTTIN');
    const second = await cluster.waitForCount(isMsg('worker ready'), 2);
    expect(second[1]!.slot).toBe(1);
    cluster.signal('SIGTTOU');
    const retired = await cluster.waitFor((l) => l.msg === 'worker exited' && l.reason === 'scale');
    expect(retired.slot).toBe(1);
    cluster.signal('SIGTTOU'); // never below one worker
    await cluster.waitFor(isMsg('scale to 0 refused'));
  });

  it('the primary SIGKILLed with tasks in flight: workers finish their tasks, then exit', async () => {
    const taskLog = path.join(tempDir(), 'tasks.log');
    const cluster = run(['start', HTTP, '--workers', '2', '--log-format', 'json'], { TASK_LOG: taskLog });
    const port = await cluster.port();
    const ready = await cluster.waitForCount(isMsg('worker ready'), 2);
    for (let i = 0; i < 6; i++) await fetch(`http://127.0.0.1:${port}/task?ms=1500`).then((r) => r.text());
    cluster.signal('SIGKILL');
    await cluster.exited;
    const workerPids = ready.map((l) => l.pid as number);
    expect(workerPids.some(alive)).toBe(true); // they outlive the primary for their tasks
    await until(() => !workerPids.some(alive), 60_000, () => `orphaned workers to exit (${workerPids.filter(alive).join(', ')} still running)`);
    const tasks = readTaskLog(taskLog);
    expect(tasks.started.size).toBe(6);
    expect(tasks.done.size).toBe(6);
  });
});
