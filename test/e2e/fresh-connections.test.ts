/**
 * Recycling under load where every request opens its own connection (no keep-alive), as many
 * clients and health checkers do. node:cluster's round-robin may hand a worker a connection
 * just before the worker closes its listening handle; a worker that then exits at once would
 * strand it in the primary, unanswered. The exit barrier (`sync` / `sync-ack`) prevents that.
 */
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, FIXTURES, isMsg, run } from './harness';

afterEach(cleanup);

interface FreshLoad {
  stop(): Promise<{ ok: number; failed: string[] }>;
}

/** `connections` loops, each sending one request per new connection; a request unanswered in 5 s fails. */
function freshLoad(port: number, connections: number): FreshLoad {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failed.push(`status ${res.statusCode}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', (err) => {
        failed.push(err.message);
        resolve();
      });
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) await one();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed };
    },
  };
}

describe('recycling with a new connection per request', () => {
  it('answers every request while workers recycle every few dozen requests', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--max-requests', '25', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const load = freshLoad(port, 8);
    // Each recycle forks and boots a replacement: on a busy machine 30 of them take a while.
    await cluster.waitForCount((l) => l.msg === 'worker exited' && l.reason === 'max_requests', 30, 150_000, '30 max_requests recycles');
    const { ok, failed } = await load.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(700);
  }, 180_000);
});
