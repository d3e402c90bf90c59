import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, TAG, parseWorkerMessage } from '../../src/protocol';
import { FixtureCluster, get, isKind, killAll } from './harness';

const APP = 'app.cjs';

afterEach(killAll);

describe('worker reports', () => {
  it('sends hello first, then well-formed reports as a heartbeat', async () => {
    const { cluster } = await FixtureCluster.start(APP, { heartbeatMs: 200 });
    const first = cluster.events.find((e) => e.type === 'worker-message');
    expect(first?.type === 'worker-message' && first.message).toEqual({
      [TAG]: 'hello',
      protocol: PROTOCOL_VERSION,
      pid: cluster.workerPid,
      node: process.version,
    });
    // Nothing happens in the app; the heartbeat alone keeps reports coming.
    await cluster.waitForMessage('report');
    const from = cluster.events.length;
    await cluster.waitForMessage('report', () => true, from);
    for (const e of cluster.events) {
      if (e.type === 'worker-message' && isKind(e.message, 'report')) {
        expect(parseWorkerMessage(e.message as { [TAG]: unknown })).toMatchObject({ ok: true });
      }
    }
  });

  it('counts served and in-flight requests, including a held one', async () => {
    const { cluster, port } = await FixtureCluster.start(APP);
    const holding = cluster.waitForReply('holding');
    const held = get(port, '/hold?name=h1');
    await holding;
    await cluster.waitForMessage('report', (m) => m.inflight === 1 && m.served === 1 && m.connections === 1);
    await get(port, '/');
    await cluster.waitForMessage('report', (m) => m.inflight === 1 && m.served === 2);
    await cluster.command({ app: 'open', name: 'h1' }, 'opened');
    expect((await held).body).toBe('released');
    await cluster.waitForMessage('report', (m) => m.inflight === 0 && m.served === 2);
  });

  it('counts an aborted request as finished when its response closes', async () => {
    const { cluster, port } = await FixtureCluster.start(APP);
    const holding = cluster.waitForReply('holding');
    const request = http.get({ host: '127.0.0.1', port, path: '/hold?name=aborted', agent: false });
    request.on('error', () => {});
    await holding;
    await cluster.waitForMessage('report', (m) => m.inflight === 1);
    request.destroy();
    await cluster.waitForMessage('report', (m) => m.inflight === 0 && m.connections === 0 && m.served === 1);
  });

  it('batches: 2,000 requests produce a handful of reports, not one per request', async () => {
    const { cluster, port } = await FixtureCluster.start(APP, { heartbeatMs: 60_000 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
    const from = cluster.events.length;
    const startedAt = Date.now();
    const total = 2_000;
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < total) {
        next++;
        expect((await get(port, '/', agent)).status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 10 }, client));
    agent.destroy();
    await cluster.waitForMessage('report', (m) => m.served === total && m.inflight === 0, from);
    const elapsedMs = Date.now() - startedAt;
    const reports = cluster.messages('report', from).length;
    // At most one per 100 ms window (plus the edges), whatever the request rate.
    expect(reports).toBeLessThanOrEqual(Math.ceil(elapsedMs / 100) + 2);
    expect(reports).toBeLessThan(total / 10);
  });

  it('reports at once when served reaches the request limit', async () => {
    // A 30 s coalescing window: only the limit can make a report arrive within the wait.
    const { cluster, port } = await FixtureCluster.start(APP, { requestLimit: 5, reportIntervalMs: 30_000, heartbeatMs: 60_000 });
    for (let i = 0; i < 5; i++) await get(port, '/');
    const report = await cluster.waitForMessage('report');
    expect(report.served).toBe(5);
  });

  it('reports task counts by type as they change', async () => {
    const { cluster } = await FixtureCluster.start(APP);
    await cluster.command({ app: 'start-task', name: 't1', type: 'email', description: 'to a@example.com' }, 'task-started');
    await cluster.command({ app: 'start-task', name: 't2', type: 'email' }, 'task-started');
    await cluster.command({ app: 'start-task', name: 't3', type: 'sms' }, 'task-started');
    await cluster.waitForMessage('report', (m) => m.tasks.started === 3 && m.tasks.activeByType.email === 2 && m.tasks.activeByType.sms === 1);
    await cluster.command({ app: 'open', name: 't1' }, 'opened');
    await cluster.command({ app: 'open', name: 't3' }, 'opened');
    const report = await cluster.waitForMessage('report', (m) => m.tasks.completed === 2);
    expect(report.tasks).toEqual({ started: 3, completed: 2, failed: 0, cancelled: 0, activeByType: { email: 1 } });
  });

  it('answers list-tasks with the active tasks', async () => {
    const { cluster } = await FixtureCluster.start(APP);
    await cluster.command({ app: 'start-task', name: 'job-1', type: 'batch', description: 'nightly' }, 'task-started');
    cluster.send({ [TAG]: 'list-tasks', requestId: 41 });
    const reply = await cluster.waitForMessage('tasks');
    expect(reply.requestId).toBe(41);
    expect(reply.tasks).toEqual([{ id: 'job-1', type: 'batch', description: 'nightly', startedAt: expect.any(Number) }]);
  });

  it('reports event-loop delay after the loop was blocked', async () => {
    const { cluster } = await FixtureCluster.start(APP);
    const from = cluster.events.length;
    await cluster.command({ app: 'block', ms: 400 }, 'blocked');
    // Without a working monitor no report ever shows it, and the wait fails.
    await cluster.waitForMessage('report', (m) => m.loopDelayMs >= 300, from);
  });
});
