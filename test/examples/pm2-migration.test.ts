import { afterEach, describe, expect, it } from 'vitest';
import { loadEcosystem } from '../../src/ecosystem/read';
import { loadEcosystemSettings } from '../../src/ecosystem/settings';
import { exampleFile, ROOT } from './helpers';
import { runApp, type RunningApp } from './processes';

const dir = exampleFile('pm2-migration');
const file = exampleFile('pm2-migration', 'ecosystem.config.js');

const running: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

describe('examples/pm2-migration', () => {
  it('converts with --env production into two apps, warning about what differs', async () => {
    const { raw, warnings } = await loadEcosystem(file, { env: 'production', cwd: ROOT, cpus: 4 });
    expect(raw).toEqual({
      apps: [
        {
          name: 'api',
          app: `${dir}/api.js`,
          cwd: dir,
          workers: 2,
          env: { PORT: '3000', NODE_ENV: 'production' },
          wait_ready: true,
          boot_timeout: '10000ms',
          graceful_timeout: '20000ms',
          max_memory: '300MB',
          restart_delay: '100ms',
          max_restart_delay: '15s',
          max_requests: 10000,
          max_requests_jitter: 1000,
        },
        {
          name: 'jobs',
          app: `${dir}/jobs.js`,
          cwd: dir,
          workers: 1,
          env: { QUEUE: 'production', JOB_INTERVAL_MS: '1000' },
          wait_ready: true,
          graceful_timeout: '30000ms',
          restart_delay: '1000ms',
          max_restart_delay: '1000ms',
          out_file: `${dir}/logs/jobs.out.log`,
        },
      ],
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^`exec_mode` \(app jobs\) is fork: it runs as node:cluster workers/);
  });

  it('passes the config loader as two apps with the timeouts pm2 had', async () => {
    const { settings } = await loadEcosystemSettings({ file, envName: 'production', flags: {}, env: {}, cwd: ROOT });
    expect(settings.configFile).toBe(file);
    expect(settings.apps.map((a) => [a.name, a.workers, a.waitReady, a.gracefulTimeout, a.bootTimeout, a.restartDelay, a.maxRestartDelay])).toEqual([
      ['api', 2, true, 20_000, 10_000, 100, 15_000],
      ['jobs', 1, true, 30_000, 30_000, 1000, 1000],
    ]);
    expect(settings.apps[0].maxMemory).toBe(300 * 1024 * 1024);
    expect(settings.apps[1].env).toEqual({ QUEUE: 'production', JOB_INTERVAL_MS: '1000' });
  });

  it('uses env alone without --env', async () => {
    const { raw } = await loadEcosystem(file, { cwd: ROOT, cpus: 4 });
    expect(raw.apps.map((a) => a.env)).toEqual([
      { PORT: '3000', NODE_ENV: 'development' },
      { QUEUE: 'default', JOB_INTERVAL_MS: '1000' },
    ]);
  });

  it('has an api that serves and says ready (wait_ready), as under pm2', async () => {
    const api = runApp(`${dir}/api.js`, { PORT: '0', NODE_ENV: 'production' }, dir);
    running.push(api);
    await api.message('ready');
    const port = Number(/listening on :(\d+)/.exec(await api.line(/listening on :\d+/))![1]);
    const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { app: string; env: string };
    expect(body).toMatchObject({ app: 'api', env: 'production' });
  });

  it("has a jobs consumer that says ready, runs its jobs as tasks, and stops on pm2's shutdown message", async () => {
    const jobs = runApp(`${dir}/jobs.js`, { QUEUE: 'production', JOB_INTERVAL_MS: '50' }, dir);
    running.push(jobs);
    await jobs.message('ready');
    await jobs.line(/^jobs: done production#2$/);
    jobs.child.send('shutdown');
    expect(await jobs.exited()).toEqual({ code: 0, signal: null });
  });
});
