/**
 * `smartworkers check <file> [--env NAME]`: reads a workers.yaml or a pm2 ecosystem file (any
 * format), converts and validates it exactly as `start` would, without starting anything, and
 * prints every warning and every error of the file at once, then what each app resolved to:
 * its kind, the command its workers run, how many, and where. Exit 2 when there is any error.
 */
import { loadSettings } from '../../config/load';
import { commandLine } from '../../config/runner';
import type { AppSettings, Settings } from '../../config/types';
import { isEcosystemConfig, looksLikeEcosystemFile } from '../../ecosystem/read';
import { EXIT, SmartworkersError, SmartworkersErrors } from '../../errors';
import type { CommandIO } from './io';

export interface CheckOptions {
  /** `--env <name>`: an ecosystem file's env_<name>. */
  env?: string;
}

interface Checked {
  settings: Settings;
  warnings: readonly string[];
  notes: readonly string[];
}

function read(file: string, options: CheckOptions, io: CommandIO): Checked {
  const base = { flags: {}, env: io.env, cwd: io.cwd, isTTY: false };
  if (looksLikeEcosystemFile(file) && isEcosystemConfig(file)) {
    const { loadEcosystemSettingsSync } = require('../../ecosystem/settings') as typeof import('../../ecosystem/settings');
    return loadEcosystemSettingsSync({ ...base, file, envName: options.env });
  }
  if (options.env !== undefined) {
    throw new SmartworkersError('SW_USAGE', `\`--env <name>\` selects a pm2 ecosystem file's env_<name> block; ${file} is a workers.yaml`);
  }
  return { settings: loadSettings({ ...base, configFile: file }), warnings: [], notes: [] };
}

/** How a worker counts as ready, for the summary line. */
function readiness(app: AppSettings): string {
  if (app.readyProbe !== undefined) return `ready when ${app.readyProbe} answers`;
  if (app.readyOn === 'message') return "ready on process.send('ready')";
  if (app.readyOn === 'online') return app.kind === 'process' ? 'ready once started' : 'ready when online';
  return 'ready when listening';
}

export function describeApps(settings: Settings): string[] {
  return settings.apps.map((app) => {
    const stop = app.kind === 'process' ? ` · stop ${app.stopSignal}, SIGKILL after ${app.gracefulTimeout / 1000}s` : '';
    return `app ${JSON.stringify(app.name)}: ${app.kind} · ${app.workers} worker${app.workers === 1 ? '' : 's'} · ${commandLine(app)} · cwd ${app.cwd} · ${readiness(app)}${stop}`;
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function runCheck(file: string, options: CheckOptions, io: CommandIO): number {
  let checked: Checked;
  try {
    checked = read(file, options, io);
  } catch (error) {
    if (!(error instanceof SmartworkersError)) throw error;
    const errors = error instanceof SmartworkersErrors ? error.errors : [error];
    const warnings = error instanceof SmartworkersErrors ? error.warnings : [];
    io.stderr.write(`${error.toLine()}\n`);
    io.stdout.write(`${file}: ${plural(errors.length, 'error')}, ${plural(warnings.length, 'warning')}; nothing would start\n`);
    return Math.max(...errors.map((e) => e.exitCode));
  }
  const { settings, warnings, notes } = checked;
  for (const warning of warnings) io.stderr.write(`smartworkers: warning: ${warning}\n`);
  const lines = [
    `${file}: ${plural(settings.apps.length, 'app')}, 0 errors, ${plural(warnings.length, 'warning')}`,
    ...describeApps(settings),
    ...notes.map((note) => `  resolved: ${note}`),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
