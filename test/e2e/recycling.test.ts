/**
 * Recycling end to end: a real primary, real workers, real keep-alive load on loopback.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, clientLoad, FIXTURES, get, isMsg, load, readTaskLog, run, tempDir } from './harness';

const HTTP = path.join(FIXTURES, 'http.cjs');

afterEach(cleanup);

describe('recycling', () => {
  it('recycles on max_requests under keep-alive load with zero failed requests', async () => {
    const cluster = run(['start', HTTP, '--workers', '2', '--max-requests', '500', '--max-requests-jitter', '100', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const tenRecycles = cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'max_requests', 10, 60_000);
    const result = await load(port, { seconds: 60, connections: 50, until: tenRecycles });
    const retired = cluster.lines.filter((l) => l.msg === 'worker retiring' && l.reason === 'max_requests');
    expect(result.requests).toBeGreaterThan(2_000);
    expect(retired.length).toBeGreaterThanOrEqual(10);
    expect(result).toMatchObject({ failed: 0, errors: 0, non2xx: 0, timeouts: 0 });
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });

  it('keeps a retired worker alive until its background task ends', async () => {
    const dir = tempDir();
    const taskLog = path.join(dir, 'tasks.log');
    const cluster = run(['start', HTTP, '--workers', '1', '--max-requests', '3', '--log-format', 'json'], { TASK_LOG: taskLog });
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    await get(port, '/task?ms=2500');
    await get(port, '/');
    await get(port, '/'); // the third request reaches the limit
    const waiting = await cluster.waitFor(isMsg('worker waiting for 1 task'));
    const exited = await cluster.waitFor((l) => l.msg === 'worker exited' && l.worker === waiting.worker, 15_000);
    expect(exited.reason).toBe('max_requests');
    const tasks = readTaskLog(taskLog);
    expect(tasks.started.size).toBe(1);
    expect(tasks.done).toEqual(tasks.started); // done before the worker exited
    expect(cluster.lines.some(isMsg('task lost'))).toBe(false);
    expect((await get(port, '/')).status).toBe(200); // the replacement serves
  });

  it('gives up on a task once max_task_wait passes, and reports it lost', async () => {
    const cluster = run(['start', HTTP, '--workers', '1', '--max-requests', '2', '--max-task-wait', '1s', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    await get(port, '/task?ms=60000');
    await get(port, '/');
    const lost = await cluster.waitFor(isMsg('task lost'), 15_000);
    expect(lost.task).toMatchObject({ type: 'job' });
    expect(String((lost.task as { description: string }).description)).toMatch(/^job /);
    await cluster.waitFor((l) => l.msg === 'worker exited' && l.worker === lost.worker);
    expect((await get(port, '/')).status).toBe(200);
  });

  it('recycles over max_memory (soft) and replaces over max_memory_hard, reporting lost tasks', async () => {
    const soft = run(['start', HTTP, '--workers', '1', '--max-memory', '150MB', '--memory-check-interval', '200ms', '--log-format', 'json']);
    const softPort = await soft.port();
    await soft.waitFor(isMsg('worker ready'));
    await get(softPort, '/leak?mb=200');
    const retiring = await soft.waitFor(isMsg('worker retiring'));
    expect(retiring.reason).toBe('memory');
    await soft.waitFor((l) => l.msg === 'worker exited' && l.worker === retiring.worker);

    const hard = run(['start', HTTP, '--workers', '1', '--max-memory-hard', '150MB', '--memory-check-interval', '200ms', '--log-format', 'json']);
    const hardPort = await hard.port();
    await hard.waitFor(isMsg('worker ready'));
    await get(hardPort, '/task?ms=60000');
    await get(hardPort, '/leak?mb=200');
    const lost = await hard.waitFor(isMsg('task lost'), 15_000);
    expect(lost.task).toMatchObject({ type: 'job' });
    const exited = await hard.waitFor((l) => l.msg === 'worker exited' && l.worker === lost.worker);
    expect(exited.reason).toBe('memory_hard');
    expect((await get(hardPort, '/')).status).toBe(200);
  });

  it('keeps the old worker serving while its replacement fails to boot, retrying with backoff', async () => {
    const cluster = run(['start', HTTP, '--workers', '1', '--max-requests', '3', '--restart-delay', '200ms', '--log-format', 'json'], {
      BREAK_FROM_GENERATION: '1',
    });
    const port = await cluster.port();
    const first = await cluster.waitFor(isMsg('worker ready'));
    for (let i = 0; i < 3; i++) expect((await get(port, '/')).status).toBe(200);
    const failures = await cluster.waitForCount(isMsg('replacement failed to boot'), 2, 15_000);
    expect(failures[1]!.retryInMs).toBeGreaterThan(failures[0]!.retryInMs as number); // backoff grows
    expect(cluster.stderr()).toContain('broken build (generation 1)');
    for (let i = 0; i < 5; i++) {
      const res = await get(port, '/');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).pid).toBe(first.pid); // the old worker still serves
    }
  });

  it('replaces a hung worker within timeout', async () => {
    const cluster = run(['start', HTTP, '--workers', '2', '--timeout', '2s', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    await get(port, '/block');
    const killed = await cluster.waitFor(isMsg('worker silent'), 10_000);
    const replacement = await cluster.waitFor((l) => l.msg === 'worker ready' && l.slot === killed.slot && l.worker !== killed.worker, 10_000);
    expect(Number(replacement.time) - Number(killed.time)).toBeLessThan(10_000);
    for (let i = 0; i < 4; i++) expect((await get(port, '/')).status).toBe(200);
  });

  it('replaces a crashed worker after a backoff while another serves, and the last one at once', async () => {
    const cluster = run(['start', HTTP, '--workers', '2', '--restart-delay', '200ms', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    await get(port, '/crash').catch(() => undefined);
    const crashed = await cluster.waitFor(isMsg('worker crashed'));
    const backoff = await cluster.waitFor(isMsg(`restarting slot ${crashed.slot}`));
    expect(backoff.delayMs).toBe(200); // the other worker serves meanwhile
    expect((await get(port, '/')).status).toBe(200);
    await cluster.waitForCount(isMsg('worker ready'), 3);

    const single = run(['start', HTTP, '--workers', '1', '--restart-delay', '5s', '--log-format', 'json']);
    const singlePort = await single.port();
    await single.waitFor(isMsg('worker ready'));
    await get(singlePort, '/crash').catch(() => undefined);
    await single.waitFor(isMsg('worker crashed'));
    await single.waitForCount(isMsg('worker ready'), 2, 4_000); // well inside the 5 s restart_delay
    expect(single.lines.some(isMsg('restarting slot'))).toBe(false);
  });

  it('keeps serving with zero failed requests while every request starts a 1–3 s task during recycling', async () => {
    const dir = tempDir();
    const taskLog = path.join(dir, 'tasks.log');
    const cluster = run(['start', HTTP, '--workers', '2', '--max-requests', '200', '--max-requests-jitter', '50', '--log-format', 'json'], {
      TASK_LOG: taskLog,
    });
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const traffic = clientLoad(port, { connections: 10, path: () => `/task?ms=${1000 + Math.floor(Math.random() * 2000)}` });
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'max_requests', 3, 30_000);
    const result = await traffic.stop();
    cluster.signal('SIGTERM');
    const { code } = await cluster.exited;
    const tasks = readTaskLog(taskLog);
    expect(result).toMatchObject({ failed: 0, refused: 0 }); // recycling never closes the port
    expect(result.ok).toBeGreaterThan(100);
    expect(tasks.started.size).toBe(result.ok);
    expect(tasks.done.size).toBe(tasks.started.size);
    expect(code).toBe(0);
  });
});
