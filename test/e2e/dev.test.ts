/**
 * `smartworkers dev`: edit the app's file while it serves under light load. A change reloads it
 * surge-then-retire (no failed request); a syntax error leaves the running worker serving and
 * prints the error. The app lives in a temp dir (the dev watcher watches its cwd).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, clientLoad, get, isMsg, run, tempDir, type Cluster } from './harness';

afterEach(cleanup);

function appSource(body: string): string {
  return [
    "'use strict';",
    "const http = require('node:http');",
    `const body = ${body};`,
    "const server = http.createServer((req, res) => res.end(body));",
    "server.listen(0, '127.0.0.1', () => {",
    "  process.stdout.write(JSON.stringify({ fixture: 'listening', port: server.address().port, pid: process.pid }) + '\\n');",
    '});',
    '',
  ].join('\n');
}

async function devCluster(): Promise<{ cluster: Cluster; dir: string; port: number; file: string }> {
  const dir = tempDir();
  const file = path.join(dir, 'app.js');
  fs.writeFileSync(file, appSource("'v1'"));
  const cluster = run(['dev', 'app.js', '--log-format', 'json'], {}, dir);
  const port = await cluster.port();
  await cluster.waitFor(isMsg('watching'));
  await cluster.waitFor(isMsg('worker ready'));
  return { cluster, dir, port, file };
}


/** The exit code, or a failure naming what the cluster last did. */
async function exitCode(cluster: Cluster, timeoutMs = 20_000): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const tail = cluster.lines.slice(-12).map((l) => JSON.stringify(l)).join('\n');
      reject(new Error(`still running ${timeoutMs} ms after SIGTERM\nstderr: ${cluster.stderr()}\nlog: ${tail}`));
    }, timeoutMs);
  });
  try {
    return (await Promise.race([cluster.exited, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}

/** Writes the file the way editors do: a temp file renamed over it. */
function save(file: string, text: string): void {
  const temp = `${file}.swp-${process.pid}`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}

const reloaded = (generation: number) => (l: { msg?: string; reason?: unknown; generation?: unknown }) =>
  l.msg === 'worker retiring' && l.reason === 'reload' && l.generation === generation;

describe('smartworkers dev', () => {
  it('runs one worker with the watcher on, and a saved change is served after a reload that fails no request', async () => {
    const { cluster, port, file } = await devCluster();
    expect(cluster.lines.find(isMsg('primary started'))?.apps).toEqual([{ name: 'app', workers: 1 }]);
    expect((await get(port)).body).toBe('v1');

    const load = clientLoad(port, { connections: 4 });
    save(file, appSource("'v2'"));
    const change = await cluster.waitFor(isMsg('changed: app.js'));
    expect(change.app).toBe('app');
    await cluster.waitFor(reloaded(0), 10_000, 'the old worker retiring');
    expect((await get(port)).body).toBe('v2');
    const result = await load.stop();
    expect(result.ok).toBeGreaterThan(0);
    expect(result).toMatchObject({ failed: 0, refused: 0 });

    cluster.signal('SIGTERM');
    expect(await exitCode(cluster)).toBe(0);
  });

  it('keeps the running worker serving when the saved file has a syntax error, prints the error, and reloads once fixed', async () => {
    const { cluster, port, file } = await devCluster();
    const load = clientLoad(port, { connections: 4 });
    save(file, appSource("'v2' +")); // `const body = 'v2' +;`
    await cluster.waitFor(isMsg('replacement failed to boot'), 10_000);
    expect(cluster.stderr()).toContain('SyntaxError');
    expect(cluster.stderr()).toContain(file);
    expect((await get(port)).body).toBe('v1');
    // Not retried in a loop: the next change is what reloads.
    expect(cluster.lines.filter(isMsg('forking replacement'))).toHaveLength(1);

    save(file, appSource("'v3'"));
    await cluster.waitFor(reloaded(0), 10_000, 'the old worker retiring');
    expect((await get(port)).body).toBe('v3');
    const result = await load.stop();
    expect(result.ok).toBeGreaterThan(0);
    expect(result).toMatchObject({ failed: 0, refused: 0 });
  });
});
