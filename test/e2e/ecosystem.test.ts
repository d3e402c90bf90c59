/**
 * The pm2 example, started by the real CLI as pm2 would start it:
 * `smartworkers start ecosystem.config.js --env production`. The test's ecosystem file is the
 * example itself with two changes, the API's fixed port 3000 set to 0 (tests never bind fixed
 * ports) and jobs' `out_file` in a temporary directory; the apps and their `cwd` are the example's.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, isMsg, ROOT, run, tempDir, type LogLine } from './harness';

afterEach(cleanup);

const EXAMPLE = path.join(ROOT, 'examples', 'pm2-migration', 'ecosystem.config.js');

function portZeroVariant(): string {
  const dir = tempDir();
  const file = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(
    file,
    [
      `const example = require(${JSON.stringify(EXAMPLE)});`,
      'module.exports = {',
      '  ...example,',
      "  apps: example.apps.map((app) => (app.env && app.env.PORT !== undefined ? { ...app, env: { ...app.env, PORT: 0 } } : app))",
      `    .map((app) => (app.out_file ? { ...app, out_file: ${JSON.stringify(path.join(dir, 'logs', 'jobs.out.log'))} } : app)),`,
      '};',
      '',
    ].join('\n'),
  );
  outFile = path.join(dir, 'logs', 'jobs.out-0.log');
  return file;
}

/** Where jobs' stdout goes: its `out_file`, one file per slot as in pm2. */
let outFile = '';

/** Waits (polling: a file has no event to wait on) until jobs' log file has a line matching. */
async function fileLine(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
    if (text.split('\n').some((l) => pattern.test(l))) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)} in ${outFile}: ${text.slice(-500)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One request on its own connection, so round-robin spreads them over the workers. */
function getJson(port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
      })
      .on('error', reject);
  });
}

const raw = (pattern: RegExp) => (l: LogLine) => typeof l.raw === 'string' && pattern.test(l.raw);

describe('examples/pm2-migration via the CLI', () => {
  it('starts both apps with --env production, warns once per unsupported field, and stops cleanly', async () => {
    const cluster = run(['start', portZeroVariant(), '--env', 'production', '--log-format', 'json']);
    await cluster.waitForCount(isMsg('worker ready'), 3, 20_000, 'api ×2 and jobs ready');
    expect(cluster.lines.find(isMsg('primary started'))?.apps).toEqual([
      { name: 'api', workers: 2 },
      { name: 'jobs', workers: 1 },
    ]);

    // The warnings, each once, on stderr.
    const warnings = cluster.stderr().split('\n').filter((l) => l.startsWith('smartworkers: warning: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^smartworkers: warning: `exec_mode` \(app jobs\) is fork: it runs as node:cluster workers/);

    // api: the production env, both instances serving one port.
    const listening = await cluster.waitFor(raw(/^api \d+ listening on :\d+$/));
    const port = Number(/:(\d+)$/.exec(listening.raw as string)![1]);
    const instances = new Set<unknown>();
    for (let i = 0; i < 8 && instances.size < 2; i++) {
      const body = await getJson(port);
      expect(body).toMatchObject({ app: 'api', env: 'production' });
      instances.add(body.instance);
    }
    expect([...instances].sort()).toEqual(['0', '1']);

    // jobs: env_production's queue, its jobs run as tracked tasks; its stdout in its out_file.
    await fileLine(/^jobs \d+ consuming production$/);
    await fileLine(/^jobs: done production#1$/);

    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
    expect(cluster.lines.some(isMsg('task lost'))).toBe(false);
  });
});
