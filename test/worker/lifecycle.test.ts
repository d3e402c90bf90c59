import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { TAG } from '../../src/protocol';
import { FixtureCluster, get, killAll, runtimePath } from './harness';

afterEach(killAll);

const run = promisify(execFile);

describe('when the primary dies', () => {
  it('the worker finishes its task, then exits (no orphan, no cut task)', async () => {
    const { cluster } = await FixtureCluster.start('app.cjs', { gracefulTimeoutMs: 10_000 });
    await cluster.command({ app: 'timed-task', name: 'after-primary', ms: 500 }, 'task-started');
    cluster.child.kill('SIGKILL');
    // node:cluster alone would exit the worker the moment the channel closes; the shared
    // stdout ends only once the worker has exited too.
    await cluster.allExited();
    expect(cluster.stdout).toContain('task-done after-primary');
    expect(cluster.stderr).toContain('disconnected from the primary; finishing 0 request(s) and 1 task(s)');
    expect(cluster.stderr).not.toContain('lost task');
  });

  it('gives up after gracefulTimeoutMs and names the lost task', async () => {
    const { cluster } = await FixtureCluster.start('app.cjs', { gracefulTimeoutMs: 300 });
    await cluster.command({ app: 'start-task', name: 'stuck', type: 'batch', description: 'never ends' }, 'task-started');
    cluster.child.kill('SIGKILL');
    await cluster.allExited();
    expect(cluster.stderr).toMatch(/graceful timeout \(300 ms\) passed without the primary; exiting with 0 request\(s\) in flight and 1 task\(s\) lost/);
    expect(cluster.stderr).toMatch(/lost task stuck type=batch description="never ends"/);
  });
});

describe('signals sent to the worker itself', () => {
  it('SIGINT and SIGTERM do not kill it: it tells the primary', async () => {
    const { cluster } = await FixtureCluster.start('app.cjs');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const from = cluster.events.length;
      process.kill(cluster.workerPid, signal);
      expect(await cluster.waitForMessage('signal', () => true, from)).toEqual({ [TAG]: 'signal', signal });
    }
    await cluster.command({ app: 'ping' }, 'pong');
    expect(cluster.indexOf((e) => e.type === 'exit')).toBe(-1);
  });

  it('SIGHUP, SIGTTIN and SIGTTOU are ignored, and the app’s own listener still runs', async () => {
    const { cluster, port } = await FixtureCluster.start('app.cjs');
    const appHeard = cluster.waitForReply('app-got-signal', (r) => r.signal === 'SIGHUP');
    for (const signal of ['SIGHUP', 'SIGTTIN', 'SIGTTOU'] as const) process.kill(cluster.workerPid, signal);
    await appHeard;
    // Signals are delivered before the message that follows is read.
    await cluster.command({ app: 'ping' }, 'pong');
    expect((await get(port, '/')).status).toBe(200);
    expect(cluster.indexOf((e) => e.type === 'exit')).toBe(-1);
    expect(cluster.messages('signal')).toEqual([]);
    // One runtime listener each (plus the app's own SIGHUP listener).
    const { counts } = await cluster.command({ app: 'signal-listeners' }, 'signal-listeners');
    expect(counts).toEqual({ SIGINT: 1, SIGTERM: 1, SIGHUP: 2 });
  });
});

describe('the app runs unchanged as the main module', () => {
  it.each([
    ['app.cjs', 'cjs'],
    ['app.mjs', 'esm'],
  ])('%s: main module, worker info, and one task registry with the runtime', async (app, format) => {
    const { cluster, port } = await FixtureCluster.start(app);
    const info = JSON.parse((await get(port, '/info')).body);
    expect(info).toMatchObject({
      pid: cluster.workerPid,
      format,
      isMain: true,
      argv1: path.resolve(__dirname, '../fixtures/worker', app),
      isWorker: true,
      workerInfo: { app: 'fixture', slot: 0, generation: 1 },
    });
    // The app's `tasks` (require or import) feeds the runtime's reports.
    await cluster.command({ app: 'start-task', name: 'x', type: `${format}-task` }, 'task-started');
    await cluster.waitForMessage('report', (m) => m.tasks.activeByType[`${format}-task`] === 1);
  });
});

describe('outside a smartworkers worker', () => {
  const probe = `
    const { tasks, isWorker, workerInfo } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/index.js'))});
    const id = tasks.register({ type: 'local' });
    tasks.unregister(id);
    console.log(JSON.stringify({
      isWorker, info: workerInfo(), stats: tasks.stats(),
      listeners: ['SIGINT', 'SIGTERM', 'SIGHUP', 'message', 'disconnect'].map((e) => process.listenerCount(e)),
    }));`;

  it('the preloaded runtime does nothing, even with SMARTWORKERS_RUNTIME set, and tasks work locally', async () => {
    const { stdout } = await run(process.execPath, ['--require', runtimePath, '-e', probe], {
      env: { ...process.env, SMARTWORKERS_RUNTIME: '{}' },
    });
    expect(JSON.parse(stdout)).toEqual({
      isWorker: false,
      info: null,
      stats: { started: 1, completed: 1, failed: 0, cancelled: 0, active: 0, byType: { local: expect.any(Object) } },
      listeners: [0, 0, 0, 0, 0],
    });
  });
});
