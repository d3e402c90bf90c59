/**
 * The app runs unchanged: CommonJS and ESM, its own env, its own errors, its own IPC.
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, FIXTURES, get, isMsg, run, tempDir } from './harness';

afterEach(cleanup);

describe('apps', () => {
  it('runs a CommonJS app with a stable slot and generation in its env', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '2', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const slots = new Set<string>();
    for (let i = 0; i < 6; i++) slots.add(JSON.parse((await get(port, '/')).body).slot);
    expect([...slots].sort()).toEqual(['0', '1']);
  });

  it('runs an ESM app as its main module', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.mjs'), '--workers', '1', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    expect(JSON.parse((await get(port, '/')).body)).toEqual({ ok: true, kind: 'esm', hasTasks: true, url: true });
  });

  it('exits 3 within seconds when no worker can boot, showing the app’s own error', async () => {
    const started = Date.now();
    const cluster = run(['start', path.join(FIXTURES, 'boot-fail.cjs'), '--workers', '2', '--log-format', 'json']);
    const { code } = await cluster.exited;
    expect(code).toBe(3);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(cluster.stderr()).toContain('database URL missing: set DATABASE_URL');
    expect(cluster.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('SW_BOOT_FAILED'))).toBe(true);
  });

  it('leaves the app’s own IPC messages alone and drops malformed smartworkers ones without harm', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', '1', '--log-format', 'json']);
    const port = await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    await get(port, '/ipc-garbage');
    const dropped = await cluster.waitFor(isMsg('dropped a malformed smartworkers message'));
    expect(dropped.code).toBe('SW_IPC_MALFORMED');
    for (let i = 0; i < 20; i++) expect((await get(port, '/')).status).toBe(200);
    // Rate-limited: 400 malformed messages, a handful of lines.
    expect(cluster.lines.filter(isMsg('dropped a malformed')).length).toBeLessThan(10);
    expect(cluster.lines.some(isMsg('worker crashed'))).toBe(false);
  });

  it('reads a YAML config file, and flags win over it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'workers.yaml');
    fs.writeFileSync(file, `app: ${path.join(FIXTURES, 'http.cjs')}\nworkers: 3\nmax_requests: 1000\n`);
    const cluster = run(['start', '--config', file, '--workers', '1', '--log-format', 'json']);
    await cluster.port();
    await cluster.waitFor(isMsg('worker ready'));
    const started = cluster.lines.find(isMsg('primary started'));
    expect(started?.apps).toEqual([{ name: 'http', workers: 1 }]);
  });
});

describe('bad configuration: one line, exit 2, nothing started', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown key in the file', ['max_request: 10'], /unknown key `max_request`.*did you mean `max_requests`/],
    ['a wrong type', ['workers: many'], /`workers`.*got "many"/],
    ['an out-of-range value', ['max_requests: -5'], /`max_requests`.*-5/],
    ['a bad duration', ['timeout: soon'], /`timeout`.*"soon"/],
    ['a bad size', ['max_memory: lots'], /`max_memory`.*"lots"/],
  ];
  for (const [what, yamlLines, pattern] of cases) {
    it(`rejects ${what}`, async () => {
      const file = path.join(tempDir(), 'workers.yaml');
      fs.writeFileSync(file, `app: ${path.join(FIXTURES, 'http.cjs')}\n${yamlLines.join('\n')}\n`);
      const cluster = run(['start', '--config', file]);
      const { code } = await cluster.exited;
      expect(code).toBe(2);
      const lines = cluster.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(cluster.lines.some(isMsg('forking'))).toBe(false);
    });
  }

  it('rejects a bad flag value and a missing script', async () => {
    const bad = run(['start', path.join(FIXTURES, 'http.cjs'), '--workers', 'zero']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toMatch(/`workers`.*"zero"/);
    const missing = run(['start', path.join(FIXTURES, 'nope.js')]);
    expect((await missing.exited).code).toBe(2);
    expect(missing.stderr()).toMatch(/nope\.js/);
  });

  it('rejects a bad env var', async () => {
    const cluster = run(['start', path.join(FIXTURES, 'http.cjs')], { SMARTWORKERS_MAX_MEMORY: 'big' });
    expect((await cluster.exited).code).toBe(2);
    expect(cluster.stderr()).toMatch(/SMARTWORKERS_MAX_MEMORY/);
  });

  it('config check prints the effective config of a valid file', async () => {
    const file = path.join(tempDir(), 'workers.yaml');
    fs.writeFileSync(file, `app: ${path.join(FIXTURES, 'http.cjs')}\nworkers: 3\nmax_memory: 400MB\n`);
    const check = run(['config', 'check', file]);
    expect((await check.exited).code).toBe(0);
  });
});
