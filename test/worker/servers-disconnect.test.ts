/**
 * The runtime's side of two primary rules: it reports the servers it listens on (a replacement is
 * ready only on all of them), and when the app closes the channel with `process.disconnect()` it
 * sends its last counts first, finishes its tasks, and lets its exit code tell whether it did.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FixtureCluster, killAll } from './harness';

afterEach(killAll);

describe('servers', () => {
  it('reports each server that starts or stops listening, a port-0 server by the port it asked for', async () => {
    // Both servers of the fixture listen on port 0: node:cluster gives a later generation other
    // ephemeral ports, so they are named by what they asked for, and counted as two.
    const { cluster, port } = await FixtureCluster.start('app.cjs');
    expect(port).toBeGreaterThan(0);
    await cluster.waitForMessage('servers', (m) => JSON.stringify(m.listening) === JSON.stringify(['127.0.0.1:0']));
    const from = cluster.events.length;
    await cluster.command({ app: 'listen-second' }, 'second-listening');
    await cluster.waitForMessage('servers', (m) => JSON.stringify(m.listening) === JSON.stringify(['127.0.0.1:0', '127.0.0.1:0']), from);
    const closing = cluster.events.length;
    await cluster.command({ app: 'close-second' }, 'second-closed');
    await cluster.waitForMessage('servers', (m) => JSON.stringify(m.listening) === JSON.stringify(['127.0.0.1:0']), closing);
  });
});

describe('process.disconnect()', () => {
  it('sends its counts before the channel closes, finishes its tasks and exits 0', async () => {
    const { cluster } = await FixtureCluster.start('app.cjs');
    await cluster.command({ app: 'timed-task', name: 'd1', ms: 400 }, 'task-started');
    await cluster.command({ app: 'timed-task', name: 'd2', ms: 400 }, 'task-started');
    const from = cluster.events.length;
    cluster.send({ app: 'disconnect' });
    // The report the runtime flushes ahead of the close names both tasks.
    await cluster.waitForMessage('report', (m) => m.tasks.activeByType.timed === 2, from);
    const exit = await cluster.waitFor((e) => e.type === 'exit');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(cluster.stdout).toContain('task-done d1');
    expect(cluster.stdout).toContain('task-done d2');
  });

  it('exits non-zero, naming the task, when it gives up on one without a primary', async () => {
    const { cluster } = await FixtureCluster.start('app.cjs', { gracefulTimeoutMs: 300 });
    await cluster.command({ app: 'start-task', name: 'stuck', type: 'batch' }, 'task-started');
    cluster.send({ app: 'disconnect' });
    const exit = await cluster.waitFor((e) => e.type === 'exit');
    expect(exit).toMatchObject({ code: 1 });
    expect(cluster.stderr).toMatch(/lost task stuck type=batch/);
  });
});
