import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEcosystemSettings, loadEcosystemSettingsSync } from '../../src/ecosystem/settings';
import { SmartworkersError } from '../../src/errors';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-ecosystem-settings-'));
  // The loader checks that each app's script exists.
  for (const script of ['server.js', 'jobs.js', 'a.js']) writeFileSync(path.join(dir, script), '');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, ecosystem: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, `module.exports = ${JSON.stringify(ecosystem, null, 2)};\n`);
  return file;
}

const MIB = 1024 * 1024;

describe('loadEcosystemSettings', () => {
  it('gives the loader values it accepts for every pm2 field with a smartworkers key', async () => {
    const file = write('full.config.js', {
      apps: [
        {
          name: 'api',
          script: 'server.js',
          args: '--port 3000',
          instances: 'max',
          env: { A: 1 },
          env_production: { A: 2 },
          port: 8080,
          node_args: '--enable-source-maps',
          max_memory_restart: '300M',
          kill_timeout: 5000,
          wait_ready: true,
          listen_timeout: 8000,
          min_uptime: '10s',
          exp_backoff_restart_delay: 100,
          max_requests: 1000,
        },
        { name: 'jobs', script: 'jobs.js', instances: -1, restart_delay: 2500, max_memory_restart: 1048576, pid_file: 'x' },
      ],
      status: { listen: '127.0.0.1:9100' },
      log_format: 'json',
    });
    const { settings, warnings } = await loadEcosystemSettings({ file, envName: 'production', flags: {}, env: {}, cwd: dir });
    expect(warnings).toEqual([
      expect.stringMatching(/^`pid_file` \(app jobs\) is ignored/),
      '--env production: jobs has no `env_production`; using `env` only (as pm2 does).',
    ]);
    expect(settings.configFile).toBe(file);
    expect(settings.statusListen).toBe('127.0.0.1:9100');
    expect(settings.logFormat).toBe('json');
    const [api, jobs] = settings.apps;
    expect(api).toMatchObject({
      name: 'api',
      script: path.join(dir, 'server.js'),
      cwd: dir,
      args: ['--port', '3000'],
      nodeArgs: ['--enable-source-maps'],
      env: { A: '2', PORT: '8080' },
      workers: availableParallelism(),
      maxMemory: 300 * MIB,
      gracefulTimeout: 5000,
      waitReady: true,
      bootTimeout: 8000,
      minUptime: 10_000,
      restartDelay: 100,
      maxRestartDelay: 15_000,
      maxRequests: 1000,
    });
    expect(jobs).toMatchObject({
      name: 'jobs',
      workers: Math.max(1, availableParallelism() - 1),
      restartDelay: 2500,
      maxRestartDelay: 2500,
      maxMemory: MIB,
    });
  });

  it('lets flags and env vars win over the file, as for workers.yaml', () => {
    const file = write('flags.config.js', { apps: [{ name: 'api', script: 'a.js', instances: 2, kill_timeout: 1000 }] });
    const { settings } = loadEcosystemSettingsSync({
      file,
      flags: { workers: '3' },
      env: { SMARTWORKERS_GRACEFUL_TIMEOUT: '45s' },
      cwd: dir,
    });
    expect(settings.apps[0]).toMatchObject({ workers: 3, gracefulTimeout: 45_000 });
  });

  it("reports a bad smartworkers value in an ecosystem file with the loader's one line, naming the file", async () => {
    const file = write('bad.config.js', { apps: [{ name: 'api', script: 'a.js', max_requests: 'lots' }] });
    const error = await loadEcosystemSettings({ file, flags: {}, env: {}, cwd: dir }).then(
      () => null,
      (err: unknown) => err as SmartworkersError,
    );
    expect(error).toBeInstanceOf(SmartworkersError);
    expect(error!.code).toBe('SW_CONFIG_INVALID');
    expect(error!.message).toContain('max_requests');
    expect(error!.message).toContain(file);
    expect(error!.message).not.toContain('\n');
  });

  it('passes the pm2 fields smartworkers used to lack through the loader, without a warning', async () => {
    const file = write('pm2-only.config.js', {
      apps: [
        {
          name: 'api',
          script: 'a.js',
          instances: 2,
          max_restarts: 10,
          min_uptime: 2000,
          autorestart: false,
          instance_var: 'INSTANCE_ID',
          increment_var: 'PORT',
          cron_restart: '0 3 * * *',
          watch: ['lib'],
          ignore_watch: ['logs', '*.tmp'],
          shutdown_with_message: true,
          env: { PORT: 3000 },
        },
      ],
    });
    const { settings, warnings } = await loadEcosystemSettings({ file, flags: {}, env: {}, cwd: dir });
    expect(warnings).toEqual([]);
    expect(settings.apps[0]).toMatchObject({
      maxRestarts: 10,
      minUptime: 2000,
      autorestart: false,
      instanceVar: 'INSTANCE_ID',
      incrementVar: 'PORT',
      cronRestart: '0 3 * * *',
      watch: [path.join(dir, 'lib')],
      ignoreWatch: ['logs', '*.tmp'],
      shutdownWithMessage: true,
    });
  });
});
