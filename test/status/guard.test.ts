/**
 * Outside clients cannot starve the probes or make the primary render for them: half-open and
 * idle connections, scrape floods. Real sockets on loopback; the floods come from another
 * process, as they would.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRequestBudget } from '../../src/status/guard';
import { startStatusServer, type StatusServer, type StatusServerOptions } from '../../src/status/server';
import type { StatusMetrics } from '../../src/status/metrics';
import { FakeControl } from '../control/fake-control';
import { openIdleConnections } from '../control/idle-connections';

const servers: StatusServer[] = [];
const children: Array<() => void> = [];

afterEach(async () => {
  for (const kill of children.splice(0)) kill();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<StatusServerOptions> = {}): Promise<StatusServer> {
  const server = await startStatusServer({ listen: '127.0.0.1:0', control: new FakeControl(), minReady: 1, ...options });
  servers.push(server);
  return server;
}

describe('status server: probes are never starved', () => {
  it('answers /healthz and /readyz under 500 half-open connections', async () => {
    const server = await start();
    // Half send nothing, half send headers they never finish.
    const attack = await openIdleConnections(server.port, 500, (i) => (i % 2 ? 'GET /metrics HTTP/1.1\r\nHost: x\r\n' : ''));
    children.push(attack.stop);
    expect(attack.opened).toBe(500);
    for (const path of ['/healthz', '/readyz', '/healthz']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
    }
    // The oldest were closed to make room: at most 32 from one address stay open.
    await expect.poll(() => attack.closedByServer(), { timeout: 10_000 }).toBeGreaterThanOrEqual(500 - 32);
  }, 30_000);

  it('closes a connection that does not finish its headers within headersTimeoutMs', async () => {
    const server = await start({ headersTimeoutMs: 300 });
    const slow = net.connect(server.port, '127.0.0.1');
    slow.on('error', () => {});
    await once(slow, 'connect');
    slow.write('GET /healthz HTTP/1.1\r\n');
    let answer = '';
    slow.on('data', (chunk) => (answer += chunk));
    await once(slow, 'close'); // closed by the server (Node checks every 300 ms here, not every 30 s)
    expect(answer).toBe('');
  });

  it('answers a probe while scrapes wait for their budget', async () => {
    const server = await start({ scrapesPerSecond: 1 });
    const order: string[] = [];
    const scrapes = Array.from({ length: 4 }, (_, i) =>
      fetch(`${server.url}/status`).then((res) => {
        order.push(`status ${i}`);
        return res.status;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    const probe = await fetch(`${server.url}/healthz`);
    order.push('healthz');
    expect(probe.status).toBe(200);
    expect(await Promise.all(scrapes)).toEqual([200, 200, 200, 200]);
    // Four scrapes at one a second: at least the last ones were answered after the probe.
    expect(order.indexOf('healthz')).toBeLessThan(order.length - 1);
  });
});

describe('status server: a scrape flood costs one rendering per interval', () => {
  it('renders /metrics once for many concurrent and repeated scrapes', async () => {
    let renders = 0;
    const metrics: StatusMetrics = {
      registry: undefined as never,
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      async render() {
        renders += 1;
        return `smartworkers_test ${renders}\n`;
      },
    };
    const server = await start({ metrics, scrapeCacheMs: 60_000, scrapesPerSecond: 1000 });
    const bodies = await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/metrics`).then((r) => r.text())));
    bodies.push(await (await fetch(`${server.url}/metrics`)).text());
    expect(new Set(bodies)).toEqual(new Set(['smartworkers_test 1\n']));
    expect(renders).toBe(1);
  });

  it('renders again after a failed rendering', async () => {
    let fail = true;
    const metrics: StatusMetrics = {
      registry: undefined as never,
      contentType: 'text/plain',
      async render() {
        if (fail) throw new Error('not now');
        return 'ok\n';
      },
    };
    const server = await start({ metrics, scrapeCacheMs: 60_000 });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    fail = false;
    expect(await (await fetch(`${server.url}/metrics`)).text()).toBe('ok\n');
  });
});

describe('request budget', () => {
  it('runs work at once within the budget, queues the rest in order, and drops past the queue bound', async () => {
    let t = 0;
    const budget = createRequestBudget(2, 2, () => t);
    const ran: number[] = [];
    const dropped: number[] = [];
    for (let i = 0; i < 5; i++) budget.run(() => ran.push(i), () => dropped.push(i));
    expect(ran).toEqual([0, 1]);
    expect(budget.queued).toBe(2);
    expect(dropped).toEqual([4]);
    t = 1000; // a second later the budget has refilled: the timer runs the queued work in order
    await expect.poll(() => ran, { timeout: 5_000 }).toEqual([0, 1, 2, 3]);
    budget.stop();
  });
});

describe('request budget: clients that left', () => {
  it('skips queued work whose client has gone, without spending the budget, and makes room for new work', async () => {
    let t = 0;
    const budget = createRequestBudget(1, 2, () => t);
    const ran: string[] = [];
    const dropped: string[] = [];
    let goneAlive = true;
    budget.run(() => ran.push('first'), () => dropped.push('first'));
    budget.run(() => ran.push('gone'), () => dropped.push('gone'), () => goneAlive);
    budget.run(() => ran.push('gone too'), () => dropped.push('gone too'), () => goneAlive);
    goneAlive = false;
    budget.run(() => ran.push('live'), () => dropped.push('live')); // the queue is full of dead work: room is made
    expect(dropped).toEqual([]);
    t = 1000;
    await expect.poll(() => ran, { timeout: 5_000 }).toEqual(['first', 'live']);
    budget.stop();
  });
});
