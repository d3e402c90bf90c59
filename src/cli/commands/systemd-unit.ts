/**
 * `smartworkers systemd-unit [script] [--config FILE] [--env NAME] [--user NAME]`: prints an
 * installable systemd unit for the cluster the config describes (a workers.yaml or a pm2
 * ecosystem file). The config is loaded and validated exactly as `start` would load it, so the
 * unit's TimeoutStopSec is derived from the real graceful_timeout (the longest of all apps).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { userInfo } from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../config/load';
import type { Settings } from '../../config/types';
import { isEcosystemConfig } from '../../ecosystem/read';
import { loadEcosystemSettings } from '../../ecosystem/settings';
import { EXIT } from '../../errors';
import { defaultBinPath, renderSystemdUnit } from '../../systemd/unit';
import { processIO, runReportingErrors, type CommandIO } from './io';
import { clusterLabel, projectDirectory } from '../../control/socket-path';
import { DEFAULT_UNIT_DIR, installUnit, unitName } from '../../systemd/install';

/** The same command with absolute paths, to run again as root; the unit keeps running as this user. */
function rerunArgs(script: string | undefined, flags: UnitCommandFlags, cwd: string, username: string): string[] {
  const args: string[] = [];
  if (script !== undefined) args.push(path.resolve(cwd, script));
  if (flags.config !== undefined) args.push('--config', path.resolve(cwd, flags.config));
  if (flags.env !== undefined) args.push('--env', flags.env);
  args.push('--user', flags.user ?? username);
  if (flags.group !== undefined) args.push('--group', flags.group);
  if (flags.watchdog !== undefined) args.push('--watchdog', String(flags.watchdog));
  if (flags.description !== undefined) args.push('--description', flags.description);
  if (flags.name !== undefined) args.push('--name', flags.name);
  if (flags.unitDir !== undefined) args.push('--unit-dir', path.resolve(cwd, flags.unitDir));
  args.push('--install');
  return args;
}

export interface SystemdUnitCommandOptions {
  /** Where output goes and what cwd/env are (tests pass their own). Default: the process's. */
  io?: CommandIO;
  /** Receives the exit code. Default: sets `process.exitCode`. */
  setExitCode?: (code: number) => void;
  /** The current user's name and uid (tests pass their own). */
  currentUser?: () => { username: string; uid: number };
}

interface UnitCommandFlags {
  config?: string;
  env?: string;
  user?: string;
  group?: string;
  watchdog?: number;
  description?: string;
  install?: boolean;
  name?: string;
  unitDir?: string;
}

function parseWatchdog(value: string): number {
  const seconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || seconds <= 0) throw new InvalidArgumentError('expected a whole number of seconds > 0');
  return seconds;
}

/** The unit text for the given arguments; warnings of an ecosystem file go to `warn`. */
export async function systemdUnitText(
  script: string | undefined,
  flags: UnitCommandFlags,
  io: CommandIO,
  currentUser: () => { username: string; uid: number },
  warn: (line: string) => void,
): Promise<string> {
  const configFile = flags.config === undefined ? undefined : path.resolve(io.cwd, flags.config);
  const base = { script, flags: {}, env: io.env, cwd: io.cwd, isTTY: false };
  let settings: Settings;
  const extraArgs: string[] = [];
  if (configFile !== undefined && isEcosystemConfig(configFile)) {
    const loaded = await loadEcosystemSettings({ ...base, file: configFile, envName: flags.env });
    loaded.warnings.forEach(warn);
    settings = loaded.settings;
    if (flags.env) extraArgs.push('--env', flags.env);
  } else {
    settings = loadSettings({ ...base, configFile });
  }

  const me = currentUser();
  const user = flags.user ?? (me.uid === 0 ? undefined : me.username);
  const names = settings.apps.map((app) => app.name).join(', ');
  return renderSystemdUnit({
    configFile,
    script: script === undefined ? undefined : path.resolve(io.cwd, script),
    cwd: io.cwd,
    user,
    group: flags.group,
    gracefulTimeoutMs: Math.max(...settings.apps.map((app) => app.gracefulTimeout)),
    bootTimeoutMs: Math.max(...settings.apps.map((app) => app.bootTimeout)),
    execPath: process.execPath,
    binPath: defaultBinPath(),
    extraArgs,
    description: flags.description ?? `${names} (smartworkers)`,
    watchdogSec: flags.watchdog,
  });
}

export function registerSystemdUnitCommand(program: Command, options: SystemdUnitCommandOptions = {}): void {
  const setExitCode =
    options.setExitCode ??
    ((code: number) => {
      process.exitCode = code;
    });
  const currentUser = options.currentUser ?? (() => ({ username: userInfo().username, uid: userInfo().uid }));

  program
    .command('systemd-unit')
    .description('Print an installable systemd unit (Type=notify) that runs this cluster.')
    .argument('[script]', 'the app entry file, when the config has no `app`')
    .option('-c, --config <file>', 'YAML config file or pm2 ecosystem file')
    .option('--env <name>', 'with an ecosystem file: use its env_<name> sections')
    .option('--user <name>', 'User= of the service (default: the current user, unless root)')
    .option('--group <name>', 'Group= of the service')
    .option('--watchdog <seconds>', 'WatchdogSec=: systemd restarts the service if the primary stops answering', parseWatchdog)
    .option('--description <text>', 'Description= of the unit')
    .option('--install', 'as root: write the unit, run systemctl daemon-reload and enable (pm2 startup); otherwise print the commands')
    .option('--name <unit>', "the unit's name, without .service (default: the project directory's name)")
    .option('--unit-dir <dir>', `where --install writes the unit (default: ${DEFAULT_UNIT_DIR})`)
    .action(async (script: string | undefined, flags: UnitCommandFlags) => {
      const io = options.io ?? processIO();
      const code = await runReportingErrors(io, async () => {
        const text = await systemdUnitText(script, flags, io, currentUser, (line) => io.stderr.write(`smartworkers: warning: ${line}\n`));
        if (!flags.install) {
          io.stdout.write(text);
          return EXIT.ok;
        }
        const configFile = flags.config === undefined ? undefined : path.resolve(io.cwd, flags.config);
        const installed = installUnit({
          unitText: text,
          name: unitName(flags.name ?? clusterLabel(projectDirectory({ configFile, cwd: io.cwd }))),
          unitDir: path.resolve(io.cwd, flags.unitDir ?? DEFAULT_UNIT_DIR),
          isRoot: currentUser().uid === 0,
          rerun: [process.execPath, defaultBinPath(), 'systemd-unit', ...rerunArgs(script, flags, io.cwd, currentUser().username)],
          env: io.env,
          out: (line) => io.stdout.write(`smartworkers: ${line}\n`),
        });
        return installed ? EXIT.ok : EXIT.failure;
      });
      setExitCode(code);
    });
}
