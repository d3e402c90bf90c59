import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SmartworkersError } from '../../src/errors';
import { isLoopbackHost, parseListenAddress, startStatusServer, type StatusServer, type StatusServerOptions } from '../../src/status/server';
import { FakeControl, makeSnapshot } from '../control/fake-control';
import { parsePrometheusText } from './prometheus-text';

const servers: StatusServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Partial<StatusServerOptions> = {}): Promise<{ server: StatusServer; control: FakeControl }> {
  const control = (options.control as FakeControl | undefined) ?? new FakeControl();
  const server = await startStatusServer({ listen: '127.0.0.1:0', control, minReady: 1, ...options });
  servers.push(server);
  return { server, control };
}

/** Requests go to loopback even when the server listens on every interface. */
function url(server: StatusServer, path: string): string {
  return `http://127.0.0.1:${server.port}${path}`;
}

describe('status server endpoints', () => {
  it('GET /status is the status document', async () => {
    const { server } = await start();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const res = await fetch(`${server.url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual(makeSnapshot());
  });

  it('GET /metrics is a valid Prometheus exposition', async () => {
    const { server } = await start();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await res.text());
    expect(families.get('smartworkers_workers_ready')!.samples).toEqual([{ name: 'smartworkers_workers_ready', labels: { app: 'api' }, value: 2 }]);
    expect(families.has('smartworkers_primary_event_loop_lag_seconds')).toBe(true);
  });

  it('GET /readyz follows isReady(minReady)', async () => {
    const { server, control } = await start({ minReady: 2 });
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', minReady: 2 });

    control.current.workers[1].state = 'retiring';
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', minReady: 2 });

    control.current.workers[1].state = 'ready';
    control.ready = false; // stopping
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
  });

  it('GET /healthz is 200 while the loop turns and 503 when it lags badly', async () => {
    const { server } = await start({ maxLoopLagMs: 300, loopCheckIntervalMs: 20 });
    // One keep-alive connection, so the second request is already in the server's hands when the loop blocks.
    const socket = net.connect(server.port, '127.0.0.1');
    socket.setEncoding('utf8');
    let received = '';
    const nextResponse = (): Promise<{ status: number; body: { status: string; loopLagMs: number } }> =>
      new Promise((resolve) => {
        const onData = (chunk: string): void => {
          received += chunk;
          const match = /^HTTP\/1\.1 (\d+)[^]*?\r\n\r\n(\{.*\}\n)/.exec(received);
          if (!match) return;
          socket.off('data', onData);
          received = received.slice(match[0].length);
          resolve({ status: Number(match[1]), body: JSON.parse(match[2]) });
        };
        socket.on('data', onData);
      });
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    try {
      socket.write(request);
      const healthy = await nextResponse();
      expect(healthy.status).toBe(200);
      expect(healthy.body).toMatchObject({ status: 'ok', maxLoopLagMs: 300 });

      const lagging = nextResponse();
      socket.write(request);
      const until = Date.now() + 700;
      while (Date.now() < until) {
        // block the event loop, as a stuck primary would
      }
      const answer = await lagging;
      expect(answer.status).toBe(503);
      expect(answer.body.status).toBe('lagging');
      expect(answer.body.loopLagMs).toBeGreaterThan(300);
    } finally {
      socket.destroy();
    }
  });

  it('answers 404 for other paths, 405 for other methods, and HEAD without a body', async () => {
    const { server } = await start();
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('not found; endpoints: /, /status, /healthz, /readyz, /metrics\n');
    const post = await fetch(`${server.url}/status`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${server.url}/healthz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${server.url}/status?pretty=1`)).status).toBe(200);
  });

  it('answers 500 and keeps serving when the snapshot fails', async () => {
    const { server, control } = await start();
    const real = control.snapshot.bind(control);
    control.snapshot = () => {
      throw new Error('state is being rebuilt');
    };
    const res = await fetch(`${server.url}/status`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('internal error: state is being rebuilt\n');
    expect((await fetch(`${server.url}/metrics`)).status).toBe(500);
    control.snapshot = real;
    expect((await fetch(`${server.url}/status`)).status).toBe(200);
  });

  it('listens on IPv6 loopback', async () => {
    const { server } = await start({ listen: '[::1]:0' });
    expect(server.url).toBe(`http://[::1]:${server.port}`);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe('status server token rule', () => {
  it('refuses a non-loopback address without a token', async () => {
    const attempt = startStatusServer({ listen: '0.0.0.0:0', control: new FakeControl(), minReady: 1 });
    await expect(attempt).rejects.toBeInstanceOf(SmartworkersError);
    await expect(attempt).rejects.toMatchObject({ code: 'SW_STATUS_TOKEN_REQUIRED', message: expect.stringMatching(/set status\.token/) });
    await expect(startStatusServer({ listen: '0.0.0.0:0', token: '', control: new FakeControl(), minReady: 1 })).rejects.toMatchObject({
      code: 'SW_STATUS_TOKEN_REQUIRED',
    });
  });

  it('with a token, requires Authorization: Bearer <token> on /status, /metrics and unknown paths', async () => {
    const { server } = await start({ listen: '0.0.0.0:0', token: 's3cret-token' });
    for (const path of ['/status', '/metrics', '/nope']) {
      const none = await fetch(url(server, path));
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="smartworkers"');
      expect(await none.text()).not.toContain('4100');
      const wrong = await fetch(url(server, path), { headers: { Authorization: 'Bearer s3cret-tokeN' } });
      expect(wrong.status, path).toBe(401);
      const shorter = await fetch(url(server, path), { headers: { Authorization: 'Bearer s3cret' } });
      expect(shorter.status, path).toBe(401);
      const basic = await fetch(url(server, path), { headers: { Authorization: 'Basic s3cret-token' } });
      expect(basic.status, path).toBe(401);
    }
    for (const path of ['/status', '/metrics']) {
      const ok = await fetch(url(server, path), { headers: { Authorization: 'Bearer s3cret-token' } });
      expect(ok.status, path).toBe(200);
    }
    expect((await fetch(url(server, '/nope'), { headers: { Authorization: 'bearer s3cret-token' } })).status).toBe(404);
  });

  it('leaves the probes open: Kubernetes and load balancers cannot send a secret header', async () => {
    const { server, control } = await start({ listen: '0.0.0.0:0', token: 's3cret-token' });
    expect((await fetch(url(server, '/healthz'))).status).toBe(200);
    expect((await fetch(url(server, '/readyz'))).status).toBe(200);
    control.ready = false;
    expect((await fetch(url(server, '/readyz'))).status).toBe(503);
  });

  it('also requires the token on loopback when one is set', async () => {
    const { server } = await start({ token: 'abc' });
    expect((await fetch(`${server.url}/status`)).status).toBe(401);
    expect((await fetch(`${server.url}/status`, { headers: { Authorization: 'Bearer abc' } })).status).toBe(200);
  });
});

describe('status server address', () => {
  it('parses host:port and names the accepted forms', () => {
    expect(parseListenAddress('127.0.0.1:9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseListenAddress('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(parseListenAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    for (const bad of ['9100', '127.0.0.1', ':9100', '127.0.0.1:99999', '[nope]:1', '::1:9100', 'host:port']) {
      expect(() => parseListenAddress(bad), bad).toThrow(expect.objectContaining({ code: 'SW_STATUS_LISTEN', message: expect.stringMatching(/host:port/) }));
    }
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com']) expect(isLoopbackHost(host), host).toBe(false);
  });

  it('reports a port in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startStatusServer({ listen: `127.0.0.1:${port}`, control: new FakeControl(), minReady: 1 })).rejects.toMatchObject({
        code: 'SW_STATUS_LISTEN',
        message: expect.stringMatching(/EADDRINUSE/),
      });
    } finally {
      blocker.close();
    }
  });
});
