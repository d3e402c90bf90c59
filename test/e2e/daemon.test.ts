/**
 * `start --daemon`: the real CLI returns once every app is ready (exit 0), or when the start
 * failed, with the app's own error and a foreground start's exit code. The workers write default
 * log files in the state directory, which `smartworkers logs` reads.
 */
import fs, { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { cli, freePort, killDaemons, registeredPids, useStateDir } from './daemon-helpers';
import { alive, cleanup, FIXTURES, get, tempDir } from './harness';

/** Waits (polling files, which have no event to wait on) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The `<pid> <n>` lines in the files (live and rotated) whose names start with `prefix`. */
function countNumbered(dir: string, prefix: string): number {
  let n = 0;
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    n += fs.readFileSync(path.join(dir, name), 'utf8').split('\n').filter((l) => /: \d+ \d+$/.test(l)).length;
  }
  return n;
}

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
  it('returns once every app is ready; the workers log to default files in the state directory, rotated, read by `logs` from anywhere', async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const port = await freePort();
    const logger = JSON.stringify(path.join(FIXTURES, 'logger.cjs'));
    const file = config(
      dir,
      `  - name: api\n    app: ${logger}\n    workers: 2\n    env: { PORT: "${port}" }\n    time: true\n    log_max_size: 1KB\n` +
        `  - name: jobs\n    app: ${JSON.stringify(path.join(FIXTURES, 'http.cjs'))}\n    workers: 1\n` +
        `  - name: sh\n    app: ${JSON.stringify(path.join(FIXTURES, '..', 'process', 'worker.sh'))}\n    workers: 1\n`,
    );

    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^smartworkers: \S+ started in the background \(primary pid \d+\): api 2 ready, jobs 1 ready, sh 1 ready\n  logs: \S+\/ \(smartworkers logs\); the primary's own: .*\.out\.log, .*\.err\.log\n  control socket: .*\.sock\n$/);
    const appDir = /logs: (\S+)\/ /.exec(started.stdout)![1]!;
    expect(path.dirname(appDir)).toBe(path.join(stateDir, 'logs'));
    const daemonOut = path.join(stateDir, 'logs', `${path.basename(appDir)}.out.log`);

    // Ready when it returned: the very next status shows every worker ready.
    const status = await cli(env, '/', 'status', '--json');
    const snapshot = JSON.parse(status.stdout) as StatusSnapshot;
    expect(snapshot.workers.filter((w) => w.state === 'ready')).toHaveLength(4);
    const [pid] = registeredPids(stateDir);
    expect(snapshot.primary.pid).toBe(pid);
    const apiPids = snapshot.workers.filter((w) => w.app === 'api').map((w) => w.pid);

    // Each worker writes its own default file (pm2's names, one per slot), stamped.
    for (let i = 0; i < 120; i++) expect((await get(port, '/')).status).toBe(200);
    await until(() => countNumbered(appDir, 'api-out') >= 120, '120 numbered lines in api-out files');
    const names = fs.readdirSync(appDir);
    expect(names).toEqual(expect.arrayContaining(['api-out-0.log', 'api-out-1.log', 'api-error-0.log', 'api-error-1.log', 'jobs-out-0.log', 'jobs-error-0.log']));
    // Rotated like any log file (log_max_size 1KB): a renamed file beside each live one.
    await until(() => fs.readdirSync(appDir).some((n) => /^api-out-\d__\d{4}-.*\.log$/.test(n)), 'a rotated api-out file');
    // None of the workers' lines went to the daemon's own file.
    expect(fs.readFileSync(daemonOut, 'utf8')).not.toMatch(/^\d+ (listening|\d+)$/m);

    // `logs` from another directory: the workers' lines labelled app:slot. A rotation may just have
    // left both files empty: a few more requests until each slot's live file shows a line.
    const line = /^api:([01]) out \| \d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{2}:\d{2}: (\d+) \d+$/;
    let labelled: string[] = [];
    const deadline = Date.now() + 20_000;
    while (new Set(labelled.map((l) => line.exec(l)![1])).size < 2) {
      if (Date.now() > deadline) throw new Error(`logs never showed both slots: ${labelled.join(' / ')}`);
      for (let i = 0; i < 4; i++) await get(port, '/');
      const logs = await cli(env, '/', 'logs', 'api', '--lines', '200');
      expect(logs.code).toBe(0);
      expect(logs.stderr).toBe('');
      labelled = logs.stdout.split('\n').filter((l) => line.test(l));
    }
    for (const l of labelled) expect(apiPids).toContain(Number(line.exec(l)![2]));
    // A process app's output is its own, not the runtime's to write: it stays in the daemon's files, and `logs` says so.
    const sh = await cli(env, '/', 'logs', 'sh');
    expect(sh.stderr).toBe(`sh: stdout and stderr go to the primary's output, not to a file: the daemon's files ${daemonOut} and ${daemonOut.replace(/\.out\.log$/, '.err.log')}\n`);
    expect(fs.readFileSync(daemonOut, 'utf8')).toContain('"fixture":"started"');

    expect((await cli(env, '/', 'stop')).code).toBe(0);
    expect(alive(pid!)).toBe(false);
  }, 90_000);

  it("an app that cannot boot: exit 3 with the app's own error (from its error file), nothing left running", async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const file = config(dir, `  - name: api\n    app: ${JSON.stringify(path.join(FIXTURES, 'boot-fail.cjs'))}\n    workers: 2\n`);

    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.code).toBe(3);
    expect(started.stdout).toBe('');
    expect(started.stderr).toContain('Error: database URL missing: set DATABASE_URL');
    expect(started.stderr).toMatch(/smartworkers: no worker of app 'api' could boot; stopping \[SW_BOOT_FAILED\]/);
    expect(started.stderr).toMatch(/smartworkers: the daemon exited with code 3 before every app was ready; logs: \S+\/, \S+\.out\.log, \S+\.err\.log\n$/);
    expect(registeredPids(stateDir)).toEqual([]);
  }, 90_000);

  it('an app that says why it cannot boot with console.error and exits: exit 3 with that line, which is only in its error file', async () => {
    const stateDir = tempDir();
    const env = useStateDir(stateDir);
    const dir = tempDir();
    const file = config(dir, `  - name: db\n    app: ${JSON.stringify(path.join(FIXTURES, 'boot-fail-console.cjs'))}\n    workers: 1\n`);

    const started = await cli(env, dir, 'start', '--daemon', '--config', file);
    expect(started.code).toBe(3);
    expect(started.stderr).toContain('cannot reach the database at 127.0.0.1:1 (ECONNREFUSED): check DATABASE_URL');
    const appDir = /logs: (\S+)\/, /.exec(started.stderr)![1]!;
    expect(fs.readFileSync(path.join(appDir, 'db-error-0.log'), 'utf8')).toContain('cannot reach the database');
    expect(fs.readFileSync(`${appDir}.err.log`, 'utf8')).not.toContain('cannot reach the database');
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
