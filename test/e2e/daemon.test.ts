/**
 * `start --daemon`: the real CLI returns once every app is ready (exit 0), or when the start
 * failed, with the app's own error and a foreground start's exit code.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { cli, killDaemons, registeredPids, useStateDir } from './daemon-helpers';
import { alive, cleanup, FIXTURES, tempDir } from './harness';

afterEach(async () => {
  killDaemons();
  await cleanup();
});

function config(dir: string, apps: string): string {
  const file = path.join(dir, 'workers.yaml');
  writeFileSync(file, `summary_interval: 0\napps:\n${apps}`);
  return file;
}

describe('start --daemon', () => {
  it('returns once every app is ready, with its logs in the state directory; the cluster keeps running', async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const file = config(dir, `  - name: api\n    app: ${JSON.stringify(path.join(FIXTURES, 'http.cjs'))}\n    workers: 2\n  - name: jobs\n    app: ${JSON.stringify(path.join(FIXTURES, 'http.cjs'))}\n    workers: 1\n`);

    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^smartworkers: \S+ started in the background \(primary pid \d+\): api 2 ready, jobs 1 ready\n  logs: .*\.out\.log, .*\.err\.log\n  control socket: .*\.sock\n$/);
    expect(started.stdout).toContain(path.join(stateDir, 'logs'));

    // Ready when it returned: the very next status shows every worker ready.
    const status = await cli(env, '/', 'status', '--json');
    const snapshot = JSON.parse(status.stdout) as StatusSnapshot;
    expect(snapshot.workers.filter((w) => w.state === 'ready')).toHaveLength(3);
    const [pid] = registeredPids(stateDir);
    expect(snapshot.primary.pid).toBe(pid);

    expect((await cli(env, '/', 'stop')).code).toBe(0);
    expect(alive(pid!)).toBe(false);
  }, 90_000);

  it("an app that cannot boot: exit 3 with the app's own error, nothing left running", async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const file = config(dir, `  - name: api\n    app: ${JSON.stringify(path.join(FIXTURES, 'boot-fail.cjs'))}\n    workers: 2\n`);

    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.code).toBe(3);
    expect(started.stdout).toBe('');
    expect(started.stderr).toContain('Error: database URL missing: set DATABASE_URL');
    expect(started.stderr).toMatch(/smartworkers: no worker of app 'api' could boot; stopping \[SW_BOOT_FAILED\]/);
    expect(started.stderr).toMatch(/smartworkers: the daemon exited with code 3 before every app was ready; logs: \S+\.out\.log, \S+\.err\.log\n$/);
    expect(registeredPids(stateDir)).toEqual([]);
  }, 90_000);

  it('a bad config: exit 2 before anything starts', async () => {
    const env = useStateDir(tempDir());
    const dir = tempDir();
    const file = config(dir, `  - name: api\n    app: ${JSON.stringify(path.join(FIXTURES, 'http.cjs'))}\n    workers: lots\n`);
    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.code).toBe(2);
    expect(started.stderr).toMatch(/workers.*\[SW_CONFIG_INVALID\]\n$/);
  }, 30_000);
});
