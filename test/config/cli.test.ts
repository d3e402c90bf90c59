import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { addSettingFlags, flagsFromOptions } from '../../src/config/cli';
import { loadSettings } from '../../src/config/load';
import { SETTINGS } from '../../src/config/settings';

function parse(args: string[]): { options: Record<string, unknown>; script: string | undefined } {
  const command = new Command('start').argument('[script]').option('-c, --config <file>').exitOverride();
  addSettingFlags(command);
  let script: string | undefined;
  command.action((given: string | undefined) => {
    script = given;
  });
  command.parse(args, { from: 'user' });
  return { options: command.opts(), script };
}

const dir = mkdtempSync(join(tmpdir(), 'sw-cli-'));
writeFileSync(join(dir, 'app.js'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('addSettingFlags', () => {
  it('adds a flag for every setting, and --no-<flag> for booleans', () => {
    const command = addSettingFlags(new Command('start'));
    const flags = command.options.map((option) => option.long);
    for (const setting of SETTINGS) {
      expect(flags).toContain(setting.flag);
      if (setting.kind === 'boolean') expect(flags).toContain(`--no-${setting.flag.slice(2)}`);
    }
  });

  it('sets no defaults, so flags not given stay undefined', () => {
    const { options } = parse(['app.js']);
    expect(flagsFromOptions(options)).toEqual({});
  });

  it('puts the description, default and env var in the help', () => {
    const help = addSettingFlags(new Command('start')).helpInformation();
    expect(help).toContain('--max-requests <n>');
    expect(help).toContain('SMARTWORKERS_MAX_REQUESTS');
    expect(help).toContain('--workers <n|auto>');
    expect(help).toContain('--log-format <json|pretty|auto>');
  });

  it('parses flags into values loadSettings accepts', () => {
    const { options, script } = parse([
      'app.js',
      '--workers', '3',
      '--max-requests', '5000',
      '--max-memory', '400MB',
      '--node-args', '--max-old-space-size=512 --inspect',
      '--worker-env', 'A=1',
      '--worker-env', 'B=2',
      '--wait-ready',
      '--status-listen', '127.0.0.1:9100',
      '--config', 'ignored.yaml',
    ]);
    expect(script).toBe('app.js');
    const flags = flagsFromOptions(options);
    expect(flags).not.toHaveProperty('config');
    const settings = loadSettings({ script, flags, env: {}, cwd: dir });
    expect(settings.apps[0]).toMatchObject({
      workers: 3,
      maxRequests: 5000,
      maxMemory: 400 * 1024 ** 2,
      nodeArgs: ['--max-old-space-size=512', '--inspect'],
      env: { A: '1', B: '2' },
      waitReady: true,
    });
    expect(settings.statusListen).toBe('127.0.0.1:9100');
  });

  it('--no-wait-ready gives false', () => {
    expect(flagsFromOptions(parse(['--no-wait-ready']).options)).toEqual({ waitReady: false });
  });
});
