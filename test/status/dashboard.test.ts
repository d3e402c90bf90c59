/**
 * The dashboard's server side without a browser: the recycle timeline against the real policy,
 * and the HTTP rules (token, Origin, Host, CSP, the stream's cost when no page is open). The
 * page itself is tested in Chromium: test/tools/dashboard.tools.test.ts.
 */
import http from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY, createDashboard, hostName, sameOrigin, type DashboardPayload } from '../../src/status/dashboard';
import { createTimeline } from '../../src/status/dashboard/timeline';
import { createHistory, type HistorySample } from '../../src/status/dashboard/history';
import { startStatusServer, type StatusServer } from '../../src/status/server';
import type { SupervisorEvent } from '../../src/supervisor/state';
import { FakeControl } from '../control/fake-control';
import { settingsWith, Sim } from '../supervisor/helpers';

/** Sim steps seen by a timeline, as the supervisor's observer sees them. */
function observed(sim: Sim, timeline: ReturnType<typeof createTimeline>) {
  return (event: SupervisorEvent) => {
    const before = sim.state;
    const effects = sim.send(event);
    timeline.observer(before, sim.state, event, effects);
  };
}

describe('recycle timeline', () => {
  it('records a max_requests recycle at retirement, then its task wait and exit', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10, maxTaskWait: 60_000, timeout: 600_000 }));
    let clock = 5_000;
    const timeline = createTimeline(50, () => clock);
    const send = observed(sim, timeline);
    sim.boot();
    const w = sim.worker(1);
    send({ type: 'message', id: 1, message: { $sw: 'report', served: 10, inflight: 0, connections: 0, loopDelayMs: 1, tasks: { started: 1, completed: 0, failed: 0, cancelled: 0, activeByType: { email: 1 } } } });
    for (const r of sim.workers('starting')) send({ type: 'listening', id: r.id });
    const [entry] = timeline.entries();
    expect(entry).toMatchObject({ app: w.app, slot: 0, workerId: 1, reason: 'max_requests', at: 5_000, exitedAt: null, tasksAtRetire: 1 });
    expect(entry.replacementId).not.toBeNull();
    send({ type: 'message', id: 1, message: { $sw: 'drained', activeTasks: 1 } });
    sim.advance(3_000);
    clock = 8_000;
    const version = timeline.version;
    send({ type: 'exit', id: 1, code: 0, signal: null });
    expect(timeline.version).toBeGreaterThan(version);
    expect(timeline.entries()[0]).toMatchObject({ workerId: 1, reason: 'max_requests', exitedAt: 8_000, taskWaitMs: 3_000, tasksLost: 0, code: 0 });
  });

  it('records a crash with its replacement, lost tasks, and stays bounded', () => {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 600_000 }));
    const timeline = createTimeline(3);
    const send = observed(sim, timeline);
    sim.boot();
    let id = 1;
    for (let i = 0; i < 5; i++) {
      sim.advance(60_000); // past min_uptime: restarted at once
      send({ type: 'message', id, message: { $sw: 'report', served: 3, inflight: 0, connections: 0, loopDelayMs: 1, tasks: { started: 2, completed: 0, failed: 0, cancelled: 0, activeByType: { sms: 2 } } } });
      send({ type: 'exit', id, code: 1, signal: null });
      const [entry] = timeline.entries();
      expect(entry).toMatchObject({ workerId: id, reason: 'crash', tasksLost: 2, code: 1 });
      expect(entry.replacementId).toBe(sim.workers()[0]?.id ?? null);
      id = sim.workers()[0].id;
      sim.readyAll();
    }
    expect(timeline.entries()).toHaveLength(3);
  });
});

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(token?: string): Promise<{ url: string; control: FakeControl }> {
  const control = new FakeControl();
  const server = await startStatusServer({ listen: '127.0.0.1:0', control, minReady: 1, token });
  servers.push(server);
  return { url: server.url, control };
}

/** Reads server-sent events until `count` have arrived, then closes the stream. */
async function events(url: string, count: number, headers: Record<string, string> = {}): Promise<DashboardPayload[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/api/events`, { headers, signal: abort.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const out: DashboardPayload[] = [];
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const data = text.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
      text = text.slice(end + 2);
      if (data) out.push(JSON.parse(data.slice(6)) as DashboardPayload);
    }
    if (out.length >= count) break;
  }
  abort.abort();
  return out;
}

const post = (url: string, kind: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${url}/api/actions/${kind}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('dashboard over HTTP', () => {
  it('serves the page, its script and uPlot with a strict CSP, and the CSP on every other answer too', async () => {
    const { url } = await start();
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|\*/);
    expect(await page.text()).toContain('<script src="/dashboard/app.js" defer></script>');
    for (const asset of ['/dashboard/app.js', '/dashboard/app.css', '/dashboard/vendor/uPlot.iife.min.js', '/dashboard/vendor/uPlot.min.css']) {
      const res = await fetch(`${url}${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.text()).length, asset).toBeGreaterThan(500);
    }
    expect((await fetch(`${url}/dashboard/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/status`)).headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it('streams the snapshot and the timeline at once, then once a second; no action without a token', async () => {
    const { url, control } = await start();
    const [first, second] = await events(url, 2);
    expect(first.snapshot).toEqual(control.current);
    expect(first.canAct).toBe(false);
    expect(first.timeline).toEqual([]);
    expect(second.time - first.time).toBeGreaterThanOrEqual(900);
    expect(await (await fetch(`${url}/api/session`)).json()).toEqual({ tokenRequired: false, authorized: true, actions: false });
    const refused = await post(url, 'reload', {}, { Origin: url });
    expect(refused.status).toBe(403);
    expect(control.actions()).toEqual([]);
  });

  it('without a token, answers only a loopback Host name (DNS rebinding)', async () => {
    const { url } = await start();
    const port = new URL(url).port;
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/', headers: { Host: host }, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    expect(await status('evil.example')).toBe(421);
    expect(await status(`evil.example:${port}`)).toBe(421);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`[::1]:${port}`)).toBe(200);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
  });

  it('with a token: the stream needs it in the header, and an action needs it, its own Origin and JSON', async () => {
    const token = 'a-token-of-the-test';
    const { url, control } = await start(token);
    const auth = { Authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/`)).status).toBe(200); // the page holds no data
    expect((await fetch(`${url}/api/events`)).status).toBe(401);
    expect((await fetch(`${url}/api/events`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect(await (await fetch(`${url}/api/session`)).json()).toEqual({ tokenRequired: true, authorized: false, actions: false });
    const [first] = await events(url, 1, auth);
    expect(first.canAct).toBe(true);

    expect((await post(url, 'reload', { app: 'api' }, { Origin: url })).status).toBe(401);
    expect((await post(url, 'reload', { app: 'api' }, { ...auth, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(url, 'reload', { app: 'api' }, { ...auth, Origin: 'null' })).status).toBe(403);
    expect((await post(url, 'reload', { app: 'api' }, auth)).status).toBe(403); // no Origin
    const form = await fetch(`${url}/api/actions/reload`, { method: 'POST', headers: { ...auth, Origin: url, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'app=api' });
    expect(form.status).toBe(415);
    expect((await post(url, 'recycle', { app: 'api' }, { ...auth, Origin: url })).status).toBe(400);
    expect((await post(url, 'explode', {}, { ...auth, Origin: url })).status).toBe(404);
    expect((await fetch(`${url}/api/actions/reload`, { headers: auth })).status).toBe(405);
    expect(control.actions()).toEqual([]);

    const reload = await post(url, 'reload', { app: 'api' }, { ...auth, Origin: url });
    expect(reload.status).toBe(202);
    expect(await reload.json()).toMatchObject({ ok: true, action: { id: 1, kind: 'reload', label: 'reload api', targets: [1, 2] } });
    expect((await post(url, 'recycle', { app: 'api', slot: 1 }, { ...auth, Origin: url })).status).toBe(202);
    expect((await post(url, 'scale', { app: 'api', workers: 3 }, { ...auth, Origin: url })).status).toBe(202);
    expect(control.actions()).toEqual([
      { method: 'reload', app: 'api', wait: true },
      { method: 'recycle', target: { app: 'api', slot: 1 }, force: false, wait: true },
      { method: 'scale', spec: { app: 'api', absolute: 3 }, wait: true },
    ]);
    const [after] = await events(url, 1, auth);
    expect(after.actions.map((a) => [a.label, a.ok, a.message])).toEqual([
      ['scale api to 3', true, 'done'],
      ['recycle api slot 1', true, 'done'],
      ['reload api', true, 'done'],
    ]);
  });

  it('costs nothing while no page is open: no timer, no snapshot', async () => {
    const control = new FakeControl();
    const dashboard = createDashboard({ control, token: undefined, authorized: () => false });
    const server = http.createServer((req, res) => dashboard.handle(req, res, (req.url ?? '/').split('?')[0]));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://localhost:${(server.address() as { port: number }).port}`;
      expect(dashboard.streaming).toBe(false);
      expect(control.calls).toEqual([]);
      await events(url, 2);
      await vi.waitFor(() => expect(dashboard.clients).toBe(0));
      expect(dashboard.streaming).toBe(false);
    } finally {
      dashboard.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('parses Host and Origin', () => {
    expect(hostName('localhost:9100')).toBe('localhost');
    expect(hostName('[::1]:9100')).toBe('::1');
    expect(hostName(undefined)).toBe('');
    expect(sameOrigin('http://127.0.0.1:9100', '127.0.0.1:9100')).toBe(true);
    expect(sameOrigin('https://dash.example.com', 'dash.example.com')).toBe(true);
    expect(sameOrigin('http://127.0.0.1:9101', '127.0.0.1:9100')).toBe(false);
    expect(sameOrigin('null', '127.0.0.1:9100')).toBe(false);
  });
});

describe('chart history', () => {
  it('keeps at most one sample a second, the last `capacity` of them oldest first, with only what the charts draw', () => {
    const snapshot = new FakeControl().snapshot();
    const history = createHistory(3, 1000);
    for (const t of [0, 500, 1000, 2000, 2999, 3000, 4000]) history.add(t, snapshot);
    expect(history.samples().map((s) => s.time)).toEqual([2000, 3000, 4000]);
    const [sample] = history.samples();
    expect(Object.keys(sample.snapshot).sort()).toEqual(['apps', 'totals', 'workers']);
    expect(sample.snapshot.workers).toHaveLength(snapshot.workers.length);
    for (const w of sample.snapshot.workers) expect(Object.keys(w).sort()).toEqual(['activeTasks', 'app', 'id', 'loopDelayMs', 'rssBytes', 'served', 'slot']);
  });

  it('GET /api/history: the samples taken while a page streamed, kept after it closed; needs the token when one is set', async () => {
    const token = 'history-token-0123456789abcdef';
    const { url } = await start(token);
    const auth = { Authorization: `Bearer ${token}` };
    expect((await fetch(`${url}/api/history`)).status).toBe(401);
    const empty = (await (await fetch(`${url}/api/history`, { headers: auth })).json()) as { samples: HistorySample[] };
    expect(empty.samples).toEqual([]);
    await events(url, 3, auth);
    const kept = (await (await fetch(`${url}/api/history`, { headers: auth })).json()) as { samples: HistorySample[] };
    expect(kept.samples.length).toBeGreaterThanOrEqual(2);
    const times = kept.samples.map((s) => s.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(kept.samples[0].snapshot.workers.length).toBeGreaterThan(0);
  });
});
