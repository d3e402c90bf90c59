import http from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TAG } from '../../src/protocol';
import { FixtureCluster, get, isKind, killAll } from './harness';
import type { Relayed } from './harness';

const APP = 'app.cjs';

afterEach(killAll);

const isExit = (e: Relayed): boolean => e.type === 'exit';
const isMessage = (kind: string) => (e: Relayed): boolean => e.type === 'worker-message' && isKind(e.message, kind);

/** Resolves when the agent's one pooled socket closes. */
function pooledSocketClosed(agent: http.Agent): Promise<void> {
  const sockets = Object.values(agent.freeSockets).flat() as Socket[];
  expect(sockets).toHaveLength(1);
  return new Promise((resolve) => sockets[0].once('close', () => resolve()));
}

describe('retire', () => {
  it('stops accepting at once, closes keep-alive with Connection: close, sends drained, exits after its task', async () => {
    const { cluster, port } = await FixtureCluster.start(APP);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const warm = await get(port, '/', agent);
    expect(warm.headers.connection).toBe('keep-alive');
    await cluster.command({ app: 'start-task', name: 't1', type: 'email', description: 'to a@example.com' }, 'task-started');

    // A long idle grace: the pooled connection stays open for the next request.
    cluster.send({ [TAG]: 'retire', reason: 'test', idleGraceMs: 30_000 });
    await cluster.waitFor((e) => e.type === 'handle-closed');
    // The worker was the only one on the port: the primary closed it.
    await expect(get(port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const last = await get(port, '/', agent);
    expect(last.reusedSocket).toBe(true);
    expect(last.status).toBe(200);
    expect(last.headers.connection).toBe('close');

    const drained = await cluster.waitForMessage('drained');
    expect(drained.activeTasks).toBe(1);
    // Still alive after drained, with the task running.
    cluster.send({ [TAG]: 'list-tasks', requestId: 1 });
    const listed = await cluster.waitForMessage('tasks');
    expect(listed.tasks).toMatchObject([{ id: 't1', type: 'email', description: 'to a@example.com' }]);
    expect(cluster.indexOf(isExit)).toBe(-1);

    await cluster.command({ app: 'open', name: 't1' }, 'opened');
    const exit = await cluster.waitFor(isExit);
    expect(exit).toMatchObject({ code: 0, signal: null });
    const reports = cluster.messages('report');
    expect(reports[reports.length - 1].tasks).toMatchObject({ completed: 1, activeByType: {} });
    expect(cluster.stdout).toContain('task-done t1');
    expect(cluster.indexOf(isMessage('drained'))).toBeLessThan(cluster.indexOf(isExit));
    agent.destroy();
  });

  it('closes an idle connection only after the grace, waits for an in-flight request, then exits', async () => {
    const { cluster, port } = await FixtureCluster.start(APP);
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await get(port, '/', idleAgent);
    const busyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const holding = cluster.waitForReply('holding');
    const held = get(port, '/hold?name=h1', busyAgent);
    await holding;

    const idleClosed = pooledSocketClosed(idleAgent);
    const retiredAt = Date.now();
    cluster.send({ [TAG]: 'retire', reason: 'test', idleGraceMs: 300 });
    await idleClosed;
    expect(Date.now() - retiredAt).toBeGreaterThanOrEqual(250);
    // The held request is still in flight: no drained yet, whatever the timing.
    await cluster.waitForMessage('report', (m) => m.connections === 1 && m.inflight === 1);
    expect(cluster.indexOf(isMessage('drained'))).toBe(-1);

    await cluster.command({ app: 'open', name: 'h1' }, 'opened');
    const response = await held;
    expect(response.body).toBe('released');
    expect(response.headers.connection).toBe('close');
    expect(await cluster.waitForMessage('drained')).toMatchObject({ activeTasks: 0 });
    expect(await cluster.waitFor(isExit)).toMatchObject({ code: 0 });
    idleAgent.destroy();
    busyAgent.destroy();
  });

  it('with no task, exits right after drained and its final report', async () => {
    const { cluster } = await FixtureCluster.start(APP);
    cluster.send({ [TAG]: 'retire', reason: 'test', idleGraceMs: 100 });
    await cluster.waitForMessage('drained', (m) => m.activeTasks === 0);
    expect(await cluster.waitFor(isExit)).toMatchObject({ code: 0 });
    const drainedAt = cluster.indexOf(isMessage('drained'));
    expect(cluster.messages('report', drainedAt).length).toBeGreaterThanOrEqual(1);
    // The exit barrier: one round trip with the primary, then the final report, then the exit.
    const syncAt = cluster.indexOf(isMessage('sync'));
    expect(syncAt).toBeGreaterThan(drainedAt);
    expect(cluster.messages('sync')).toHaveLength(1);
    expect(cluster.messages('report', syncAt).length).toBeGreaterThanOrEqual(1);
  });
});

describe('abandon', () => {
  it('sends lost with the running tasks, then exits at once', async () => {
    const { cluster } = await FixtureCluster.start(APP);
    await cluster.command({ app: 'start-task', name: 't1', type: 'sms', description: '+33 6 00 00 00 00' }, 'task-started');
    cluster.send({ [TAG]: 'retire', reason: 'test', idleGraceMs: 100 });
    await cluster.waitForMessage('drained', (m) => m.activeTasks === 1);
    cluster.send({ [TAG]: 'abandon' });
    const lost = await cluster.waitForMessage('lost');
    expect(lost.tasks).toEqual([{ id: 't1', type: 'sms', description: '+33 6 00 00 00 00', startedAt: expect.any(Number) }]);
    expect(await cluster.waitFor(isExit)).toMatchObject({ code: 0 });
    expect(cluster.indexOf(isMessage('sync'))).toBeGreaterThan(cluster.indexOf(isMessage('lost')));
    expect(cluster.stdout).not.toContain('task-done');
  });
});

describe('messages that are not the runtime’s', () => {
  it('leaves untagged messages to the app and ignores malformed tagged ones', async () => {
    const { cluster, port } = await FixtureCluster.start(APP);
    cluster.send({ [TAG]: 'retire' }); // missing reason and idleGraceMs
    cluster.send({ [TAG]: 'self-destruct' });
    cluster.send({ [TAG]: 'list-tasks', requestId: 'x' });
    await cluster.command('shutdown', 'got-shutdown'); // pm2's convention reaches the app
    await cluster.command({ app: 'ping' }, 'pong');
    // Messages are ordered: the malformed ones have been handled by now, and nothing drained.
    expect((await get(port, '/')).status).toBe(200);
    expect(cluster.messages('drained')).toEqual([]);
    expect(cluster.messages('tasks')).toEqual([]);
    expect(cluster.indexOf(isExit)).toBe(-1);
  });
});
