import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load';
import { formatEffectiveConfig } from '../../src/config/print';

const dir = mkdtempSync(join(tmpdir(), 'sw-print-'));
writeFileSync(join(dir, 'app.js'), '');
writeFileSync(join(dir, 'jobs.js'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadFile(name: string, text: string, script?: string) {
  writeFileSync(join(dir, name), text);
  return loadSettings({ configFile: name, script, flags: {}, env: {}, cwd: dir });
}

describe('formatEffectiveConfig', () => {
  it('prints one app flat, with durations and sizes readable', () => {
    const settings = loadFile('one.yaml', 'workers: 2\nmax_memory: 1.5GB\nmax_task_wait: 90\nstatus:\n  listen: 127.0.0.1:9100\n', 'app.js');
    const text = formatEffectiveConfig(settings);
    expect(text.split('\n')[0]).toBe(`# effective configuration (from ${join(dir, 'one.yaml')}; flags and SMARTWORKERS_* env vars applied)`);
    const printed = parse(text) as Record<string, unknown>;
    expect(printed).toMatchObject({
      log_format: 'json',
      log_level: 'info',
      status: { listen: '127.0.0.1:9100' },
      min_ready: 1,
      summary_interval: '30s',
      app: join(dir, 'app.js'),
      name: 'app',
      cwd: dir,
      workers: 2,
      max_memory: '1536MB',
      max_memory_hard: 0,
      max_task_wait: '90s',
      restart_delay: '100ms',
      memory_check_interval: '1s',
      max_retiring: 2,
      wait_ready: false,
      args: [],
      env: {},
    });
    expect(printed).not.toHaveProperty('apps');
  });

  it('never prints the status token', () => {
    const settings = loadFile('token.yaml', 'status:\n  listen: 0.0.0.0:9100\n  token: s3cret-value\n', 'app.js');
    const text = formatEffectiveConfig(settings);
    expect(text).not.toContain('s3cret-value');
    expect((parse(text) as { status: { token: string } }).status.token).toBe('<hidden>');
  });

  it('prints several apps as `apps:` and loads back to the same settings', () => {
    const settings = loadFile(
      'many.yaml',
      'timeout: 1m\napps:\n  - name: api\n    app: app.js\n    workers: 3\n    env: {PORT: 3000}\n  - name: jobs\n    app: jobs.js\n    workers: 1\n    node_args: [--inspect]\n',
    );
    const text = formatEffectiveConfig(settings);
    expect((parse(text) as { apps: unknown[] }).apps).toHaveLength(2);
    const reloaded = loadFile('printed.yaml', text);
    expect({ ...reloaded, configFile: undefined }).toEqual({ ...settings, configFile: undefined });
  });

  it('prints one app that loads back to the same settings', () => {
    const settings = loadSettings({
      script: 'app.js',
      flags: { maxRequests: '5000', maxMemoryHard: '1GB', bootTimeout: '2500ms', workerEnv: ['A=1'] },
      env: {},
      cwd: dir,
    });
    const reloaded = loadFile('printed-one.yaml', formatEffectiveConfig(settings));
    expect({ ...reloaded, configFile: undefined }).toEqual({ ...settings, configFile: undefined });
  });
});
