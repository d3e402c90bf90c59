import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderSystemdUnit } from '../../src/systemd/unit';
import { parseUnitFile, single, splitExecLine } from '../systemd/unit-file';
import { exampleFile, loadExampleConfig, readText, readYaml } from './helpers';

const unitText = readText('systemd', 'myapp.service');
const unit = parseUnitFile(unitText);
const config = readYaml('systemd', 'workers.yaml');
const settings = loadExampleConfig('systemd', 'workers.yaml');
const app = settings.apps[0];

describe('examples/systemd', () => {
  it('is exactly what `smartworkers systemd-unit` renders for its workers.yaml', () => {
    expect(unitText).toBe(
      renderSystemdUnit({
        configFile: '/srv/myapp/workers.yaml',
        cwd: '/srv/myapp',
        user: 'myapp',
        gracefulTimeoutMs: app.gracefulTimeout,
        bootTimeoutMs: app.bootTimeout,
        execPath: '/usr/bin/node',
        binPath: '/srv/myapp/node_modules/smartworkers/bin/smartworkers',
        description: 'myapp (smartworkers)',
        environment: { NODE_ENV: 'production' },
      }),
    );
  });

  it('is a notify service that reloads with SIGHUP and lets the primary drain', () => {
    expect(single(unit, 'Service', 'Type')).toBe('notify');
    expect(single(unit, 'Service', 'NotifyAccess')).toBe('all');
    expect(single(unit, 'Service', 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(single(unit, 'Service', 'KillMode')).toBe('mixed');
    expect(single(unit, 'Service', 'Restart')).toBe('on-failure');
    expect(single(unit, 'Service', 'User')).toBe('myapp');
    expect(single(unit, 'Install', 'WantedBy')).toBe('multi-user.target');
  });

  it('gives systemd more time to stop than graceful_timeout, and more to start than boot_timeout', () => {
    const stopMs = Number(single(unit, 'Service', 'TimeoutStopSec')) * 1000;
    expect(app.gracefulTimeout).toBe(30_000);
    expect(stopMs).toBeGreaterThan(app.gracefulTimeout);
    expect(app.maxTaskWait).toBeLessThanOrEqual(app.gracefulTimeout);
    expect(Number(single(unit, 'Service', 'TimeoutStartSec')) * 1000).toBeGreaterThan(app.bootTimeout);
  });

  it("starts smartworkers with this workers.yaml, installed in the unit's working directory", () => {
    const cwd = single(unit, 'Service', 'WorkingDirectory');
    const command = splitExecLine(single(unit, 'Service', 'ExecStart'));
    expect(command.slice(0, 3)).toEqual(['/usr/bin/node', `${cwd}/node_modules/smartworkers/bin/smartworkers`, 'start']);
    expect(command.slice(3)).toEqual(['--config', path.join(cwd, 'workers.yaml')]);
    expect(existsSync(exampleFile('systemd', String(config.app)))).toBe(true);
    expect(app.script).toBe(exampleFile('systemd', 'app.js'));
  });
});
