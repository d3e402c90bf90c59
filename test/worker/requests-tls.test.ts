/**
 * The request tracker loads `tls` and `https` only once the app has a TLS server (every worker
 * loads the runtime before the app: an HTTP-only worker must not pay for them at each boot), and
 * still tracks an https server as before: its requests, its address, its upgrades.
 * The certificate in test/fixtures/tls is a self-signed one for localhost, made once with openssl.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestTracker } from '../../src/worker/requests';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'test/fixtures/tls');
const servers: https.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function getOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('request tracking of TLS servers', () => {
  it('loads neither tls nor https with the runtime (dist/worker/runtime.js)', () => {
    const runtime = path.join(root, 'dist/worker/runtime.js');
    const probe = `require(${JSON.stringify(runtime)}); console.log(JSON.stringify(process.moduleLoadList.filter((m) => m === 'NativeModule tls' || m === 'NativeModule https')))`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }))).toEqual([]);
  });

  it("counts an https server's requests, knows its address, and watches its upgrades", async () => {
    let listeningChanges = 0;
    const tracker = new RequestTracker({ onRequest: () => {}, onSettle: () => {}, onServers: () => listeningChanges++ });
    tracker.start();
    const server = https.createServer({ key: readFileSync(path.join(fixtures, 'localhost.key')), cert: readFileSync(path.join(fixtures, 'localhost.crt')) }, (_req, res) => res.end('ok'));
    servers.push(server);
    server.on('upgrade', (_req, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect(tracker.listening()).toEqual([`127.0.0.1:0`]);
    expect(listeningChanges).toBeGreaterThan(0);
    // The tracker's upgrade listener goes first, beside the app's own.
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.listenerCount('upgrade')).toBe(2);
    expect(await getOnce(port)).toBe(200);
    expect(tracker.counts().served).toBe(1);
  });
});
