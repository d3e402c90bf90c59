/**
 * pm2's conventions on real processes: a worker group with no server (ready_on: online), the env
 * pm2 apps read, instance_var / increment_var, shutdown_with_message, cron_restart as a rolling
 * reload, and giving up (max_restarts, autorestart: false) with the exit code it implies.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, FIXTURES, isMsg, run, tempDir, type LogLine } from './harness';

afterEach(cleanup);

const CONSUMER = path.join(FIXTURES, 'consumer.cjs');

function config(lines: string[]): string {
  const file = path.join(tempDir(), 'workers.yaml');
  fs.writeFileSync(file, [`app: ${CONSUMER}`, 'name: consumer', 'ready_on: online', ...lines, ''].join('\n'));
  return file;
}

const fixture = (name: string) => (l: LogLine) => l.fixture === name;

describe('pm2 conventions', () => {
  it('runs a consumer without a server, gives it the env pm2 sets, and reloads it on cron_restart with the shutdown message', async () => {
    const file = config([
      'workers: 2',
      'instance_var: INSTANCE_ID',
      'increment_var: SHARD',
      'env: { SHARD: 10 }',
      'shutdown_with_message: true',
      "cron_restart: '*/2 * * * * *'", // every 2 s (six fields: seconds first)
    ]);
    const cluster = run(['start', '--config', file, '--log-format', 'json']);
    // One line per instance: on a loaded machine the first cron reload (2 s) can come before both
    // first workers have started, and a replacement prints the same env as the worker it replaces.
    const envOf = (l: LogLine) => l.env as Record<string, string | undefined>;
    const started = await Promise.all(['0', '1'].map((i) => cluster.waitFor((l) => fixture('consumer')(l) && envOf(l).INSTANCE_ID === i)));
    await cluster.waitForCount(isMsg('worker ready'), 2);
    const envs = started.map(envOf);
    expect(envs).toEqual([
      { name: 'consumer', pm_id: '0', instances: '2', exec_mode: 'cluster_mode', INSTANCE_ID: '0', SHARD: '10' },
      { name: 'consumer', pm_id: '1', instances: '2', exec_mode: 'cluster_mode', INSTANCE_ID: '1', SHARD: '11' },
    ]);

    await cluster.waitFor(isMsg('cron_restart (*/2 * * * * *): rolling reload of consumer'), 5_000);
    const retiring = await cluster.waitForCount((l) => l.msg === 'worker retiring' && l.reason === 'reload', 2, 10_000, 'both retired');
    // Each retired worker got pm2's 'shutdown' message, and only once its replacement was ready.
    const shutdownPids = (await cluster.waitForCount(fixture('shutdown'), 2)).map((l) => l.pid);
    expect(shutdownPids.sort()).toEqual(retiring.map((l) => l.pid).sort());
    // The cleanup each started on 'shutdown' (a tracked task) finished before its worker exited.
    const cleaned = (await cluster.waitForCount(fixture('cleanup-done'), 2)).map((l) => l.pid);
    expect(cleaned.sort()).toEqual(shutdownPids);
    for (const pid of shutdownPids) {
      const exited = await cluster.waitFor((l) => l.msg === 'worker exited' && l.pid === pid);
      expect(exited.code).toBe(0);
      expect(cluster.lines.indexOf(exited)).toBeGreaterThan(cluster.lines.findIndex((l) => l.fixture === 'cleanup-done' && l.pid === pid));
    }
    const firstRetire = cluster.lines.findIndex((l) => l.msg === 'worker retiring');
    const firstReplacementReady = cluster.lines.findIndex((l) => l.msg === 'worker ready' && l.generation === 1);
    expect(firstReplacementReady).toBeGreaterThan(-1);
    expect(firstReplacementReady).toBeLessThan(firstRetire);

    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
    expect(cluster.lines.some(isMsg('task lost'))).toBe(false);
  });

  it('gives a crashing slot up after max_restarts unstable restarts and exits 1 when nothing is left', async () => {
    const file = config(['workers: 1', 'max_restarts: 2', 'min_uptime: 5s', 'restart_delay: 50ms', 'env: { EXIT_AFTER_MS: 100 }']);
    const cluster = run(['start', '--config', file, '--log-format', 'json']);
    const { code } = await cluster.exited;
    expect(code).toBe(1);
    expect(cluster.lines.filter(fixture('consumer'))).toHaveLength(2);
    expect(cluster.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('slot 0 gave up after 2 unstable restarts'))).toMatchObject({
      level: 50,
      app: 'consumer',
    });
    expect(cluster.lines.some(isMsg('no worker is left and none will be restarted'))).toBe(true);
  });

  it('with autorestart: false, does not replace workers that exit, and exits 0 when each finished with 0', async () => {
    const file = config(['workers: 2', 'autorestart: false', 'env: { EXIT_AFTER_MS: 300, EXIT_CODE: 0 }']);
    const cluster = run(['start', '--config', file, '--log-format', 'json']);
    const { code } = await cluster.exited;
    expect(code).toBe(0);
    expect(cluster.lines.filter(fixture('consumer'))).toHaveLength(2);
    expect(cluster.lines.filter(isMsg('autorestart is off'))).toHaveLength(2);
  });
});
