/**
 * Long-lived connections end to end: real WebSocket, socket.io, SSE, download and upload
 * clients on loopback against a real cluster, through reloads, recycles and stops. Each test
 * asserts what the clients saw, the log lines, the counters and the exit code.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { BIN, cleanup, FIXTURES, isMsg, run, type Cluster, type LogLine } from './harness';
import { download, sseClient, upload, wsClient } from './long-lived-clients';

const APP = path.join(FIXTURES, 'longlived.cjs');

afterEach(cleanup);

/** Results are also printed, so one run shows the clients' side next to the cluster's. */
const REPORT = process.env.LONG_LIVED_REPORT === '1';
function show(title: string, value: unknown): void {
  if (!REPORT) return;
  // One line per client or log line: compact enough to read side by side.
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value.map((v) => JSON.stringify(v)).join('\n')
        : Object.entries(value as Record<string, unknown>)
            .map(([k, v]) => (Array.isArray(v) ? `${k}:\n${v.map((x) => `  ${JSON.stringify(x)}`).join('\n')}` : `${k}: ${JSON.stringify(v)}`))
            .join('\n');
  process.stdout.write(`\n=== ${title}\n${text}\n`);
}

function cli(cluster: Cluster, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--socket', cluster.controlSocket], { timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function status(cluster: Cluster): Promise<StatusSnapshot> {
  const r = await cli(cluster, 'status', '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as StatusSnapshot;
}

async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ cluster: Cluster; port: number; statusUrl: string }> {
  const cluster = run(
    ['start', APP, '--workers', '2', '--status-listen', '127.0.0.1:0', '--summary-interval', '0', '--log-format', 'json', ...args],
    env,
  );
  const ready = await cluster.waitFor(isMsg('control socket ready'), 30_000);
  await cluster.waitForCount(isMsg('worker ready'), 2, 30_000);
  return { cluster, port: await cluster.port(), statusUrl: ready.statusUrl as string };
}

const cuts = (cluster: Cluster): LogLine[] => cluster.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('connection cut'));
const readyPids = (s: StatusSnapshot): number[] => s.workers.filter((w) => w.state === 'ready').map((w) => w.pid!);
const sum = (s: StatusSnapshot, key: 'upgradedConnections' | 'streamingResponses' | 'idleConnections'): number =>
  s.workers.reduce((n, w) => n + (w[key] ?? 0), 0);

async function metric(statusUrl: string, name: string): Promise<string[]> {
  const text = await (await fetch(`${statusUrl}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name) && !l.endsWith(' 0'));
}

describe('long-lived connections', () => {
  it('an app without an upgrade listener answers an upgrade request as a plain request, as without smartworkers', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '1', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    const http = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, headers: { connection: 'Upgrade', upgrade: 'websocket' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
    });
    expect(status).toBe(200);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });

  it('ws with the drain API: every client sees 1001 on reload, reconnects to a new pid, no message lost; stop exits 0', async () => {
    const { cluster, port, statusUrl } = await start([], { DRAIN: 'api' });
    const clients = Array.from({ length: 10 }, () => wsClient(port));
    await Promise.all(clients.map((c) => c.acks(3)));
    const before = await status(cluster);
    expect(sum(before, 'upgradedConnections')).toBe(10);
    // Upgrades are served traffic.
    expect(before.workers.every((w) => w.served > 0)).toBe(true);
    const oldPids = readyPids(before);

    const reload = await cli(cluster, 'reload');
    expect(reload.code).toBe(0);
    show('ws + drain API: reload prints', reload.stdout);
    expect(reload.stdout).toMatch(/reload: 2 worker\(s\) replaced in [\d.]+s/);
    await Promise.all(clients.map((c) => c.openOnOtherThan(oldPids)));
    await Promise.all(clients.map((c) => c.acks(3)));
    const results = await Promise.all(clients.map((c) => c.stop()));
    show('ws + drain API: clients', results);
    for (const r of results) {
      expect(r.closeCodes.slice(0, 1)).toEqual([1001]);
      expect(r.reconnects).toBeGreaterThanOrEqual(1);
      expect(r.lost).toBe(0);
      expect(r.pids.some((pid) => !oldPids.includes(pid))).toBe(true);
    }
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'reload', 2, 30_000);
    expect(cuts(cluster)).toEqual([]);
    const after = await status(cluster);
    expect(after.totals.connectionsCutTotal).toBe(0);
    expect(await metric(statusUrl, 'smartworkers_connections_cut_total')).toEqual([]);
    cluster.signal('SIGTERM');
    const exit = await cluster.exited;
    show('ws + drain API: exit', { ...exit, primaryExiting: cluster.lines.find(isMsg('primary exiting')) });
    expect(exit.code).toBe(0);
  });

  it('ws without the drain API: cut at drain_timeout with 1006, logged and counted; the exit code says so', async () => {
    const { cluster, port, statusUrl } = await start(['--drain-timeout', '1s']);
    const clients = Array.from({ length: 10 }, () => wsClient(port));
    await Promise.all(clients.map((c) => c.acks(3)));
    const oldPids = readyPids(await status(cluster));

    const reload = await cli(cluster, 'reload');
    expect(reload.code).toBe(0);
    show('ws, no drain API: reload prints', reload.stdout);
    expect(reload.stdout).toMatch(/still draining \d+ connection\(s\) \(\d+ long-lived\)/);
    await Promise.all(clients.map((c) => c.openOnOtherThan(oldPids)));
    const results = await Promise.all(clients.map((c) => c.stop()));
    show('ws, no drain API: clients', results);
    for (const r of results) {
      expect(r.closeCodes[0]).toBe(1006);
      expect(r.lost).toBe(0); // the client resent what was not acknowledged
    }
    // A rolling reload: a client cut from the first old worker may land on the second before it
    // retires, and be cut once more. Every 1006 a client saw is one cut smartworkers logged.
    const closes1006 = results.reduce((n, r) => n + r.closeCodes.filter((c) => c === 1006).length, 0);
    const cut = await cluster.waitForCount(isMsg('connection cut'), closes1006, 30_000);
    show('ws, no drain API: smartworkers logged', cut);
    expect(cut).toHaveLength(closes1006);
    for (const line of cut) {
      expect(line).toMatchObject({ kind: 'upgraded', reason: 'drain_timeout', path: '/ws' });
      expect(line.openMs).toBeGreaterThan(0);
      expect(oldPids).toContain(line.pid);
    }
    const s = await status(cluster);
    expect(s.totals.connectionsCut.upgraded.drain_timeout).toBe(closes1006);
    expect(s.totals.connectionsCutTotal).toBe(closes1006);
    const m = await metric(statusUrl, 'smartworkers_connections_cut_total');
    show('ws, no drain API: /metrics', m);
    expect(m).toEqual([`smartworkers_connections_cut_total{kind="upgraded",reason="drain_timeout"} ${closes1006}`]);
    cluster.signal('SIGTERM');
    const exit = await cluster.exited;
    show('ws, no drain API: exit', { ...exit, lines: cluster.lines.filter((l) => /connection\(s\) were cut|primary exiting/.test(String(l.msg))) });
    expect(exit.code).toBe(1);
    expect(cluster.lines.find(isMsg('primary exiting'))).toMatchObject({ code: 1, connectionsCut: closes1006 });
  });

  it('SSE through a recycle: the app ends its streams (shutdown message), clients resume on a new worker without a gap', async () => {
    const { cluster, port } = await start(['--shutdown-with-message'], { DRAIN: 'message' });
    const clients = Array.from({ length: 6 }, () => sseClient(port));
    await Promise.all(clients.map((c) => c.events(3)));
    const before = await status(cluster);
    expect(sum(before, 'streamingResponses')).toBe(6);
    const oldPids = readyPids(before);
    const recycle = await cli(cluster, 'recycle', 'all');
    expect(recycle.code).toBe(0);
    await Promise.all(clients.map((c) => c.openOnOtherThan(oldPids)));
    await Promise.all(clients.map((c) => c.events(3)));
    const results = clients.map((c) => c.stop());
    show('SSE through a recycle: clients', results);
    for (const r of results) {
      expect(r).toMatchObject({ gaps: 0, errors: 0 });
      expect(r.ended).toBeGreaterThanOrEqual(1);
    }
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'manual', 2, 30_000);
    expect(cuts(cluster)).toEqual([]);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });

  it('socket.io with the drain API: clients reconnect to a new worker, every ack arrives', async () => {
    const { io } = await import('socket.io-client');
    const { cluster, port } = await start([], { DRAIN: 'api', SOCKETIO: '1' });
    const sockets = Array.from({ length: 4 }, () => io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 200 }));
    const reasons: string[] = [];
    for (const s of sockets) s.on('disconnect', (reason) => reasons.push(reason));
    const ack = (s: (typeof sockets)[number], seq: number): Promise<{ ack: number; pid: number }> =>
      new Promise((resolve) => s.emit('msg', { seq }, resolve));
    const first = await Promise.all(sockets.map((s, i) => ack(s, i)));
    const oldPids = [...new Set(first.map((a) => a.pid))];
    expect((await cli(cluster, 'reload')).code).toBe(0);
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'reload', 2, 30_000);
    // Emits while disconnected are buffered by socket.io and sent on reconnect.
    const second = await Promise.all(sockets.map((s, i) => ack(s, 100 + i)));
    show('socket.io: disconnect reasons and pids', { reasons, before: first, after: second });
    expect(second.every((a) => !oldPids.includes(a.pid))).toBe(true);
    expect(reasons.every((r) => r === 'transport close')).toBe(true);
    for (const s of sockets) s.close();
    expect(cuts(cluster)).toEqual([]);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });

  it('a 20 s download and a 20 s upload through a reload complete within drain_timeout; exit 0', async () => {
    const { cluster, port } = await start([]);
    const bytes = 100 * 1024;
    const down = download(port, bytes, 20_000);
    const up = upload(port, bytes, 20_000);
    await Promise.all([down.started, up.started]);
    const reload = await cli(cluster, 'reload');
    expect(reload.code).toBe(0);
    show('20 s transfers: reload prints', reload.stdout);
    const [d, u] = await Promise.all([down.done, up.done]);
    show('20 s transfers: clients', { download: d, upload: u });
    expect(d).toMatchObject({ bytes, complete: true, error: null });
    expect(u).toMatchObject({ bytes, complete: true, error: null });
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'reload', 2, 30_000);
    expect(cuts(cluster)).toEqual([]);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  }, 60_000);

  it('a download and an upload longer than drain_timeout are cut, logged with kind and path, counted; exit 1', async () => {
    const { cluster, port, statusUrl } = await start(['--drain-timeout', '1s']);
    const bytes = 100 * 1024;
    const down = download(port, bytes, 8_000);
    const up = upload(port, bytes, 8_000);
    await Promise.all([down.started, up.started]);
    await cluster.waitFor(() => true); // the log is flowing
    expect((await cli(cluster, 'reload')).code).toBe(0);
    const [d, u] = await Promise.all([down.done, up.done]);
    show('transfers cut: clients', { download: d, upload: u });
    expect(d.complete).toBe(false);
    expect(d.bytes).toBeLessThan(bytes);
    expect(u.complete).toBe(false);
    const cut = await cluster.waitForCount(isMsg('connection cut'), 2, 30_000);
    show('transfers cut: smartworkers logged', cut);
    expect(cut.map((l) => `${l.kind} ${l.path} ${l.reason}`).sort()).toEqual([
      'request /upload drain_timeout',
      `stream /download?bytes=${bytes}&ms=8000 drain_timeout`,
    ]);
    const m = await metric(statusUrl, 'smartworkers_connections_cut_total');
    show('transfers cut: /metrics', m);
    expect(m.sort()).toEqual([
      'smartworkers_connections_cut_total{kind="request",reason="drain_timeout"} 1',
      'smartworkers_connections_cut_total{kind="stream",reason="drain_timeout"} 1',
    ]);
    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(1);
  });

  it('two reloads 1 s apart with streams open: each finishes once its replacements serve; the drains are shown; a stop cuts them', async () => {
    // max_retiring 1: a worker held only by streams must not count against the surge cap, or the
    // second slot of each reload would wait for the first old worker's drain (60 s). The stop's
    // graceful_timeout (2 s) then gives up on the old workers: their cut is deterministic, not a race with the clock.
    const { cluster, port } = await start(['--drain-timeout', '60s', '--graceful-timeout', '2s', '--max-retiring', '1', '--summary-interval', '1s']);
    const clients = Array.from({ length: 4 }, () => sseClient(port));
    const sockets = Array.from({ length: 4 }, () => wsClient(port));
    await Promise.all([...clients.map((c) => c.events(2)), ...sockets.map((c) => c.acks(2))]);
    const first = await cli(cluster, 'reload');
    // The scenario itself: the second reload comes 1 s after the first finished.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const second = await cli(cluster, 'reload');
    show('two reloads: first prints', first.stdout);
    show('two reloads: second prints', second.stdout);
    for (const r of [first, second]) {
      expect(r.code).toBe(0);
      const seconds = Number(/replaced in ([\d.]+)s/.exec(r.stdout)?.[1]);
      // Not held by the old generations' streams (drain_timeout 60s), even on a loaded machine.
      expect(seconds).toBeLessThan(30);
    }
    expect(second.stdout).toMatch(/[2-4] old worker\(s\) still draining \d+ connection\(s\) \([1-9]\d* long-lived\)/);
    // (A retired worker holding nothing may still postpone a recycle for the moment it takes to exit.)
    const s = await status(cluster);
    expect(s.primary.phase).toBe('running');
    expect(s.draining!.workers).toBeGreaterThanOrEqual(2);
    expect(s.draining!.longLived).toBe(8);
    expect(s.draining!.msLeft).toBeGreaterThan(0);
    const table = await cli(cluster, 'status');
    show('two reloads: status while draining', table.stdout);
    expect(table.stdout).toMatch(/^primary \d+ · running/);
    expect(table.stdout).toMatch(/^draining: \d+ worker\(s\) · \d+ connection\(s\) left \(8 long-lived\)/m);
    expect(table.stdout).toMatch(/retiring \(reload\) · cut in /);
    const summary = await cluster.waitFor((l) => typeof l.msg === 'string' && /4 ws · 4 streaming \(8 draining, cut in/.test(l.msg), 10_000);
    show('two reloads: summary line', summary.msg);
    const oldPids = s.workers.filter((w) => w.state === 'retiring').map((w) => w.pid);

    const gone = { sse: clients.map((c) => c.closed()), ws: sockets.map((c) => c.closed()) };
    cluster.signal('SIGTERM');
    const exit = await cluster.exited;
    const results = { sse: await Promise.all(gone.sse), ws: await Promise.all(gone.ws) };
    const logged = cluster.lines.filter((l) => /connection cut|were cut|primary exiting/.test(String(l.msg)));
    show('two reloads, then stop: clients', results);
    show('two reloads, then stop: smartworkers logged', logged);
    for (const r of results.ws) expect(r.closeCodes[r.closeCodes.length - 1]).toBe(1006);
    for (const r of results.sse) expect(r.errors).toBe(1);
    const cut = cuts(cluster);
    expect(cut).toHaveLength(8);
    expect(cut.every((l) => l.reason === 'abandoned' && oldPids.includes(l.pid as number))).toBe(true);
    expect(cut.map((l) => l.kind).sort()).toEqual(['stream', 'stream', 'stream', 'stream', 'upgraded', 'upgraded', 'upgraded', 'upgraded']);
    expect(exit.code).toBe(1);
    expect(cluster.lines.find(isMsg('primary exiting'))).toMatchObject({ code: 1, connectionsCut: 8 });
  }, 90_000);

  it('a stop with streams open: the app closes them with the drain API (exit 0), or they are cut at drain_timeout (exit 1)', async () => {
    for (const drain of ['api', 'none'] as const) {
      const { cluster, port } = await start(['--drain-timeout', '1s'], drain === 'api' ? { DRAIN: 'api' } : {});
      const sse = sseClient(port);
      const ws = wsClient(port);
      const down = download(port, 50 * 1024, drain === 'api' ? 600 : 8_000);
      await Promise.all([sse.events(2), ws.acks(2), down.started]);
      const sseGone = sse.closed();
      const wsGone = ws.closed();
      cluster.signal('SIGTERM');
      const exit = await cluster.exited;
      const clients = { sse: await sseGone, ws: await wsGone, download: await down.done };
      const logged = cluster.lines.filter((l) => /connection cut|were cut|primary exiting/.test(String(l.msg)));
      show(`stop, drain ${drain}: clients`, clients);
      show(`stop, drain ${drain}: smartworkers logged`, logged);
      if (drain === 'api') {
        expect(clients.ws.closeCodes).toEqual([1001]);
        expect(clients.sse.ended).toBe(1);
        expect(clients.download.complete).toBe(true);
        expect(cuts(cluster)).toEqual([]);
        expect(exit.code).toBe(0);
      } else {
        expect(clients.ws.closeCodes).toEqual([1006]);
        expect(clients.sse.errors).toBe(1);
        expect(clients.download.complete).toBe(false);
        expect(cuts(cluster).map((l) => l.kind).sort()).toEqual(['stream', 'stream', 'upgraded']);
        expect(exit.code).toBe(1);
        expect(cluster.lines.find(isMsg('primary exiting'))).toMatchObject({ code: 1, connectionsCut: 3 });
      }
    }
  }, 60_000);
});
