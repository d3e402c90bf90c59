import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SmartworkersError } from '../../src/errors';
import { defaultBinPath, quoteExecArg, renderSystemdUnit, stopTimeoutSeconds } from '../../src/systemd/unit';
import { parseUnitFile, single, splitExecLine } from './unit-file';
import { lintUnit, UNIT_FAULTS, verifiedUnitOptions } from './unit-lint';

const base = {
  configFile: '/srv/api/workers.yaml',
  cwd: '/srv/api',
  user: 'api',
  gracefulTimeoutMs: 30_000,
  execPath: '/usr/bin/node',
  binPath: '/srv/api/node_modules/smartworkers/bin/smartworkers',
};

describe('renderSystemdUnit', () => {
  it('writes the settings a notify service with a draining primary needs', () => {
    const unit = parseUnitFile(renderSystemdUnit(base));
    expect(single(unit, 'Service', 'Type')).toBe('notify');
    expect(single(unit, 'Service', 'NotifyAccess')).toBe('all');
    expect(single(unit, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(single(unit, 'Service', 'KillMode')).toBe('mixed');
    expect(single(unit, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(single(unit, 'Service', 'Restart')).toBe('on-failure');
    expect(single(unit, 'Service', 'RestartPreventExitStatus')).toBe('2');
    expect(single(unit, 'Service', 'WorkingDirectory')).toBe('/srv/api');
    expect(single(unit, 'Service', 'User')).toBe('api');
    expect(splitExecLine(single(unit, 'Service', 'ExecStart'))).toEqual([
      '/usr/bin/node', base.binPath, 'start', '--config', '/srv/api/workers.yaml',
    ]);
    expect(single(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
    expect(unit.Service.TimeoutStartSec).toBeUndefined();
    expect(unit.Service.WatchdogSec).toBeUndefined();
  });

  it('sets TimeoutStopSec above graceful_timeout', () => {
    for (const gracefulTimeoutMs of [0, 1, 1600, 30_000, 30_001, 600_000]) {
      const stop = Number(single(parseUnitFile(renderSystemdUnit({ ...base, gracefulTimeoutMs })), 'Service', 'TimeoutStopSec'));
      expect(stop).toBe(stopTimeoutSeconds(gracefulTimeoutMs));
      expect(stop * 1000).toBeGreaterThan(gracefulTimeoutMs);
      expect(stop * 1000 - gracefulTimeoutMs).toBeGreaterThanOrEqual(10_000);
    }
  });

  it('adds the optional settings: script, extra args, group, environment, start timeout, watchdog', () => {
    const unit = parseUnitFile(
      renderSystemdUnit({
        ...base,
        configFile: '/srv/api/ecosystem.config.js',
        script: 'server.js',
        extraArgs: ['--env', 'production'],
        group: 'www-data',
        environment: { NODE_ENV: 'production', GREETING: 'hello world' },
        bootTimeoutMs: 120_000,
        watchdogSec: 30,
        description: 'API (100% up)',
      }),
    );
    expect(splitExecLine(single(unit, 'Service', 'ExecStart'))).toEqual([
      '/usr/bin/node', base.binPath, 'start', 'server.js', '--config', '/srv/api/ecosystem.config.js', '--env', 'production',
    ]);
    expect(single(unit, 'Service', 'Group')).toBe('www-data');
    expect(unit.Service.Environment).toEqual(['NODE_ENV=production', '"GREETING=hello world"']);
    expect(single(unit, 'Service', 'TimeoutStartSec')).toBe('150');
    expect(single(unit, 'Service', 'WatchdogSec')).toBe('30');
    expect(single(unit, 'Unit', 'Description')).toBe('API (100%% up)');
  });

  it('quotes paths with spaces and escapes $ and % so systemd passes them through unchanged', () => {
    expect(quoteExecArg('/opt/my app/workers.yaml')).toBe('"/opt/my app/workers.yaml"');
    expect(quoteExecArg('cost$5%')).toBe('cost$$5%%');
    expect(quoteExecArg('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(quoteExecArg('')).toBe('""');
    const unit = parseUnitFile(renderSystemdUnit({ ...base, configFile: '/opt/my app/$HOME%.yaml', cwd: '/opt/my app' }));
    expect(splitExecLine(single(unit, 'Service', 'ExecStart')).slice(3)).toEqual(['--config', '/opt/my app/$HOME%.yaml']);
  });

  it('warns in a comment when no user is given', () => {
    const text = renderSystemdUnit({ ...base, user: undefined });
    expect(parseUnitFile(text).Service.User).toBeUndefined();
    expect(text).toMatch(/# No User= given: the service runs as root/);
  });

  it('defaults node to the running one and the bin to this package', () => {
    const unit = parseUnitFile(renderSystemdUnit({ cwd: '/srv/api', gracefulTimeoutMs: 1000 }));
    expect(splitExecLine(single(unit, 'Service', 'ExecStart'))).toEqual([process.execPath, defaultBinPath(), 'start']);
    expect(defaultBinPath()).toBe(path.resolve(__dirname, '..', '..', 'bin', 'smartworkers'));
  });

  it.each([
    [{ cwd: 'srv/api' }, /`cwd` to be an absolute path, got "srv\/api"/],
    [{ configFile: 'workers.yaml' }, /`configFile` to be an absolute path/],
    [{ execPath: 'node' }, /`execPath` to be an absolute path/],
    [{ user: 'root; rm -rf /' }, /`user` to be a user or group name/],
    [{ gracefulTimeoutMs: -1 }, /`gracefulTimeoutMs` to be a number of ms >= 0, got -1/],
    [{ watchdogSec: 0.5 }, /`watchdogSec` to be a whole number/],
    [{ environment: { 'BAD-NAME': 'x' } }, /environment variable name/],
  ])('refuses %j with one line and SW_SYSTEMD_UNIT', (override, message) => {
    let error: unknown;
    try {
      renderSystemdUnit({ ...base, ...override });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SmartworkersError);
    expect((error as SmartworkersError).code).toBe('SW_SYSTEMD_UNIT');
    expect((error as SmartworkersError).message).toMatch(message);
    expect((error as SmartworkersError).message).not.toContain('\n');
  });

  it('passes the checks of `systemd-analyze verify` (the real one: test/tools/), with and without the optional keys', () => {
    expect(lintUnit(renderSystemdUnit(verifiedUnitOptions('/srv/api')))).toEqual([]);
    expect(lintUnit(renderSystemdUnit({ ...base, execPath: process.execPath, group: 'www-data', environment: { NODE_ENV: 'production', A_B: 'x y "z"' }, watchdogSec: 20 }))).toEqual([]);
  });

  it.each(UNIT_FAULTS)('the check catches %s', (_what, line, problem) => {
    const text = renderSystemdUnit(verifiedUnitOptions('/srv/api')).replace('[Service]\n', `[Service]\n${line}\n`);
    expect(lintUnit(text)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});
