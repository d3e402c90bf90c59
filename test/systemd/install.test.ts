/**
 * `systemd-unit --install`: as root, the unit is written and a real program named `systemctl`
 * (a stand-in on PATH that records its arguments: no systemd runs here) is run with
 * daemon-reload, then enable; not root, nothing is written and the commands are printed.
 */
import { Command } from 'commander';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerSystemdUnitCommand } from '../../src/cli/commands/systemd-unit';
import { parseUnitFile, single } from './unit-file';

let dir: string;
let project: string;
let unitDir: string;
let calls: string;
let env: NodeJS.ProcessEnv;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-install-'));
  project = path.join(dir, 'shop');
  mkdirSync(project);
  writeFileSync(path.join(project, 'app.js'), '');
  writeFileSync(path.join(project, 'workers.yaml'), 'app: app.js\ngraceful_timeout: 20s\n');
  unitDir = path.join(dir, 'units');
  calls = path.join(dir, 'systemctl.calls');
  const fakeBin = path.join(dir, 'bin');
  mkdirSync(fakeBin);
  // Records each call; `enable` of a unit named "broken" fails as systemctl would.
  writeFileSync(
    path.join(fakeBin, 'systemctl'),
    `#!/bin/sh\necho "$*" >> ${JSON.stringify(calls)}\ncase "$*" in *broken*) echo "Failed to enable unit: Unit file broken.service does not exist." >&2; exit 1;; esac\n`,
  );
  chmodSync(path.join(fakeBin, 'systemctl'), 0o755);
  env = { PATH: `${fakeBin}:/usr/bin:/bin` };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], uid: number): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code = -1;
  const program = new Command('smartworkers').exitOverride();
  registerSystemdUnitCommand(program, {
    io: { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, cwd: project, env },
    setExitCode: (c) => (code = c),
    currentUser: () => ({ username: uid === 0 ? 'root' : 'deploy', uid }),
  });
  await program.parseAsync(['node', 'smartworkers', 'systemd-unit', ...args]);
  return { code, stdout, stderr };
}

describe('systemd-unit --install', () => {
  it('as root: writes <unit-dir>/<project>.service, runs systemctl daemon-reload then enable, and says so', async () => {
    const result = await run(['--config', 'workers.yaml', '--user', 'app', '--install', '--unit-dir', unitDir], 0);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const file = path.join(unitDir, 'shop.service');
    expect(result.stdout).toBe(
      `smartworkers: wrote ${file}\nsmartworkers: ran systemctl daemon-reload\nsmartworkers: ran systemctl enable shop.service\n` +
        'smartworkers: start it now: systemctl start shop.service · logs: journalctl -u shop.service\n',
    );
    expect(readFileSync(calls, 'utf8')).toBe('daemon-reload\nenable shop.service\n');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const unit = parseUnitFile(readFileSync(file, 'utf8'));
    expect(single(unit, 'Service', 'User')).toBe('app');
    expect(single(unit, 'Service', 'TimeoutStopSec')).toBe('35');
  });

  it('a systemctl that fails: its own message, exit code of SW_SYSTEMD_UNIT, the unit left for inspection', async () => {
    const result = await run(['--config', 'workers.yaml', '--install', '--unit-dir', unitDir, '--name', 'broken'], 0);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `smartworkers: systemctl enable broken.service failed: Failed to enable unit: Unit file broken.service does not exist.; the unit is in ${path.join(unitDir, 'broken.service')} [SW_SYSTEMD_UNIT]\n`,
    );
    expect(readFileSync(calls, 'utf8')).toBe('daemon-reload\nenable broken.service\n');
  });

  it('not root: installs nothing, runs nothing, prints the commands (sudo and by hand); exit 1', async () => {
    const result = await run(['--config', 'workers.yaml', '--install', '--unit-dir', unitDir], 1000);
    expect(result.code).toBe(1);
    expect(existsSync(unitDir)).toBe(false);
    expect(existsSync(calls)).toBe(false);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('smartworkers: not root: nothing was installed. Run this command again as root:');
    expect(lines[1]).toMatch(
      new RegExp(`^smartworkers:   sudo \\S+ \\S+/bin/smartworkers systemd-unit --config ${path.join(project, 'workers.yaml')} --user deploy --unit-dir ${unitDir} --install$`),
    );
    expect(lines.slice(3)).toEqual(['smartworkers:   sudo systemctl daemon-reload', 'smartworkers:   sudo systemctl enable shop.service', '']);
  });
});
