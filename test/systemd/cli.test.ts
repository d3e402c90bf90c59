import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/paths';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSystemdUnitCommand } from '../../src/cli/commands/systemd-unit';
import { parseUnitFile, single, splitExecLine } from './unit-file';

const BIN = path.join(ROOT, 'bin', 'smartworkers');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], cwd: string, uid = 1000): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const program = new Command('smartworkers').exitOverride();
  registerSystemdUnitCommand(program, {
    io: { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, cwd, env: {} },
    setExitCode: (c) => (code = c),
    currentUser: () => ({ username: uid === 0 ? 'root' : 'deploy', uid }),
  });
  await program.parseAsync(['node', 'smartworkers', 'systemd-unit', ...args]);
  return { code, stdout, stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-unit-cli-'));
  writeFileSync(path.join(dir, 'app.js'), '');
  writeFileSync(path.join(dir, 'two.yaml'), 'apps:\n  - name: a\n    app: app.js\n    graceful_timeout: 10s\n  - name: b\n    app: app.js\n    graceful_timeout: 2m\n    boot_timeout: 100s\n');
  writeFileSync(path.join(dir, 'pm2.yaml'), 'apps:\n  - name: web\n    script: app.js\n    kill_timeout: 5000\n');
  writeFileSync(path.join(dir, 'bad.yaml'), 'app: app.js\ngraceful_timeout: soon\n');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('smartworkers systemd-unit', () => {
  it('renders a unit from a workers.yaml, with TimeoutStopSec from its graceful_timeout', async () => {
    const cwd = path.join(ROOT, 'examples', 'systemd');
    const result = await run(['--config', 'workers.yaml', '--user', 'myapp', '--watchdog', '20'], cwd);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const unit = parseUnitFile(result.stdout);
    expect(single(unit, 'Service', 'Type')).toBe('notify');
    expect(single(unit, 'Service', 'User')).toBe('myapp');
    expect(single(unit, 'Service', 'WorkingDirectory')).toBe(cwd);
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe('45');
    expect(single(unit, 'Service', 'WatchdogSec')).toBe('20');
    expect(single(unit, 'Unit', 'Description')).toBe('app (smartworkers)');
    expect(splitExecLine(single(unit, 'Service', 'ExecStart'))).toEqual([process.execPath, BIN, 'start', '--config', path.join(cwd, 'workers.yaml')]);
  });

  it('takes the longest graceful_timeout and boot_timeout of several apps, and the current user', async () => {
    const unit = parseUnitFile((await run(['-c', 'two.yaml'], dir)).stdout);
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe(String(120 + 15));
    expect(single(unit, 'Service', 'TimeoutStartSec')).toBe(String(100 + 30));
    expect(single(unit, 'Service', 'User')).toBe('deploy');
    expect(single(unit, 'Unit', 'Description')).toBe('a, b (smartworkers)');
  });

  it('leaves User= out (with a comment) when run as root without --user', async () => {
    const result = await run(['-c', 'two.yaml'], dir, 0);
    expect(parseUnitFile(result.stdout).Service.User).toBeUndefined();
    expect(result.stdout).toContain('# No User= given');
  });

  it('reads a pm2 ecosystem file, passes --env on, and prints its warnings on stderr', async () => {
    const cwd = path.join(ROOT, 'examples', 'pm2-migration');
    const result = await run(['--config', 'ecosystem.config.js', '--env', 'production'], cwd);
    expect(result.code).toBe(0);
    const unit = parseUnitFile(result.stdout);
    expect(splitExecLine(single(unit, 'Service', 'ExecStart')).slice(2)).toEqual(['start', '--config', path.join(cwd, 'ecosystem.config.js'), '--env', 'production']);
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe(String(30 + 15));
    const warnings = result.stderr.trim().split('\n');
    expect(warnings).toHaveLength(1);
    expect(warnings.every((w) => w.startsWith('smartworkers: warning: `'))).toBe(true);
  });

  it('reads an ES-module ecosystem file through the real, bundled CLI (its import() runs outside the code cache)', () => {
    writeFileSync(path.join(dir, 'ecosystem.config.mjs'), "export default { apps: [{ name: 'esm-app', script: 'app.js', kill_timeout: 7000 }] };\n");
    const stdout = execFileSync(process.execPath, [BIN, 'systemd-unit', '--config', 'ecosystem.config.mjs'], { cwd: dir, encoding: 'utf8' });
    const unit = parseUnitFile(stdout);
    expect(single(unit, 'Unit', 'Description')).toBe('esm-app (smartworkers)');
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe(String(7 + 15));
  });

  it('tells a pm2 YAML ecosystem from a workers.yaml by its content', async () => {
    const unit = parseUnitFile((await run(['-c', 'pm2.yaml'], dir)).stdout);
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe(String(5 + 15));
    expect(single(unit, 'Unit', 'Description')).toBe('web (smartworkers)');
  });

  it('refuses an invalid config with one line and exit code 2, printing no unit', async () => {
    const result = await run(['-c', 'bad.yaml'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^smartworkers: .*graceful_timeout.* \[SW_CONFIG_INVALID\]\n$/);
  });
});
