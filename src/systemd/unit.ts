/**
 * `smartworkers systemd-unit`: an installable service unit for a cluster.
 *
 * - `Type=notify` + `NotifyAccess=all`: the primary sends READY=1 once every app's workers are ready
 *   (through a helper program, hence `all`: the message comes from a child of the main process).
 * - `ExecReload=/bin/kill -HUP $MAINPID`: a rolling reload, surge-then-retire.
 * - `KillMode=mixed`: SIGTERM to the primary only, which drains its workers (requests, then tasks)
 *   within graceful_timeout; SIGKILL to whatever is left of the unit only after `TimeoutStopSec`,
 *   which is therefore set above graceful_timeout.
 * - `Restart=on-failure`: a crash or a failed boot (exit 1 or 3) is restarted; a clean stop is not.
 */
import path from 'node:path';
import { SmartworkersError } from '../errors';

export interface SystemdUnitOptions {
  /** The YAML config file (or pm2 ecosystem file) passed as `--config`; absolute. */
  configFile?: string;
  /** The app script passed to `start`, when the config file has no `app`; absolute or relative to cwd. */
  script?: string;
  /** WorkingDirectory=; absolute. */
  cwd: string;
  /** User= (and Group= when given). Omitted: the unit runs as root, which the comment warns about. */
  user?: string;
  group?: string;
  /** The longest graceful_timeout of the cluster's apps, ms. */
  gracefulTimeoutMs: number;
  /** The longest boot_timeout, ms: TimeoutStartSec= is set above it when given. */
  bootTimeoutMs?: number;
  /** The node binary; absolute (default: the one running now). */
  execPath?: string;
  /** smartworkers' bin script; absolute (default: this package's `bin/smartworkers`). */
  binPath?: string;
  /** More arguments for `start` (e.g. `['--env', 'production']` for an ecosystem file). */
  extraArgs?: readonly string[];
  /** Description=. */
  description?: string;
  /** Environment= lines (e.g. NODE_ENV=production). */
  environment?: Readonly<Record<string, string>>;
  /** WatchdogSec= (seconds); the primary then sends WATCHDOG=1 at half that interval. */
  watchdogSec?: number;
}

/** Seconds of slack between graceful_timeout and systemd's SIGKILL: the primary's own exit, log flush. */
export const STOP_MARGIN_SECONDS = 15;
/** Seconds of slack above boot_timeout for the whole start (several workers, one retry). */
export const START_MARGIN_SECONDS = 30;

/** `TimeoutStopSec=` for a graceful_timeout: strictly above it, with a margin. */
export function stopTimeoutSeconds(gracefulTimeoutMs: number): number {
  return Math.ceil(gracefulTimeoutMs / 1000) + STOP_MARGIN_SECONDS;
}

/** `TimeoutStartSec=` for a boot_timeout: above it, and never below systemd's default 90 s. */
export function startTimeoutSeconds(bootTimeoutMs: number): number {
  return Math.max(90, Math.ceil(bootTimeoutMs / 1000) + START_MARGIN_SECONDS);
}

/** The smartworkers bin script of this package. */
export function defaultBinPath(): string {
  return path.resolve(__dirname, '..', '..', 'bin', 'smartworkers');
}

function unitError(message: string): SmartworkersError {
  return new SmartworkersError('SW_SYSTEMD_UNIT', message);
}

function requireAbsolute(name: string, value: string): string {
  if (!path.isAbsolute(value)) throw unitError(`Expected \`${name}\` to be an absolute path, got ${JSON.stringify(value)}`);
  if (/[\n\r]/.test(value)) throw unitError(`Expected \`${name}\` to be one line, got ${JSON.stringify(value)}`);
  return value;
}

/** `%` starts a specifier in every unit setting: write it as `%%`. */
function escapeSpecifiers(value: string): string {
  return value.replace(/%/g, '%%');
}

/**
 * One word of a command line in `ExecStart=`: `%` → `%%`, `$` → `$$` (no variable expansion), and
 * double quotes with C escapes around a word that has spaces, quotes or backslashes.
 */
export function quoteExecArg(arg: string): string {
  if (/[\n\r]/.test(arg)) throw unitError(`Expected a command-line argument on one line, got ${JSON.stringify(arg)}`);
  const escaped = escapeSpecifiers(arg).replace(/\$/g, '$$$$');
  if (escaped !== '' && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

/** `KEY=value` for `Environment=`, quoted as one word. */
function environmentLine(key: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw unitError(`Expected an environment variable name, got ${JSON.stringify(key)}`);
  return `Environment=${quoteExecArg(`${key}=${value}`)}`;
}

/** The unit file's text. Throws SW_SYSTEMD_UNIT on a relative path or an invalid name. */
export function renderSystemdUnit(options: SystemdUnitOptions): string {
  const cwd = requireAbsolute('cwd', options.cwd);
  const execPath = requireAbsolute('execPath', options.execPath ?? process.execPath);
  const binPath = requireAbsolute('binPath', options.binPath ?? defaultBinPath());
  if (!Number.isFinite(options.gracefulTimeoutMs) || options.gracefulTimeoutMs < 0) {
    throw unitError(`Expected \`gracefulTimeoutMs\` to be a number of ms >= 0, got ${String(options.gracefulTimeoutMs)}`);
  }
  for (const [key, value] of [['user', options.user], ['group', options.group]] as const) {
    if (value !== undefined && !NAME.test(value)) throw unitError(`Expected \`${key}\` to be a user or group name, got ${JSON.stringify(value)}`);
  }

  const command = [execPath, binPath, 'start'];
  if (options.script) command.push(options.script);
  if (options.configFile) command.push('--config', requireAbsolute('configFile', options.configFile));
  command.push(...(options.extraArgs ?? []));

  const description = options.description ?? 'Node.js app cluster (smartworkers)';
  const lines = [
    '# Generated by `smartworkers systemd-unit`. Install:',
    '#   sudo cp <name>.service /etc/systemd/system/ && sudo systemctl daemon-reload',
    '#   sudo systemctl enable --now <name>',
    '[Unit]',
    `Description=${escapeSpecifiers(description.replace(/[\r\n]+/g, ' '))}`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    '# The primary sends READY=1 once every worker is ready, RELOADING=1 / STOPPING=1, STATUS=.',
    'Type=notify',
    '# Notifications come from a helper the primary runs (systemd-notify), not from the primary itself.',
    'NotifyAccess=all',
    `WorkingDirectory=${escapeSpecifiers(cwd)}`,
  ];
  if (options.user) lines.push(`User=${options.user}`);
  else lines.push('# No User= given: the service runs as root. Set User= to an unprivileged account.');
  if (options.group) lines.push(`Group=${options.group}`);
  for (const [key, value] of Object.entries(options.environment ?? {})) lines.push(environmentLine(key, value));
  lines.push(
    `ExecStart=${command.map(quoteExecArg).join(' ')}`,
    '# A rolling reload: each worker is replaced only once its replacement serves.',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# SIGTERM to the primary only: it drains its workers (requests, then background tasks).',
    'KillMode=mixed',
    'KillSignal=SIGTERM',
    `# graceful_timeout (${Math.ceil(options.gracefulTimeoutMs / 1000)}s) + ${STOP_MARGIN_SECONDS}s: systemd's SIGKILL never cuts the primary's drain short.`,
    `TimeoutStopSec=${stopTimeoutSeconds(options.gracefulTimeoutMs)}`,
  );
  if (options.bootTimeoutMs !== undefined) lines.push(`TimeoutStartSec=${startTimeoutSeconds(options.bootTimeoutMs)}`);
  if (options.watchdogSec !== undefined) {
    if (!Number.isInteger(options.watchdogSec) || options.watchdogSec <= 0) {
      throw unitError(`Expected \`watchdogSec\` to be a whole number of seconds > 0, got ${String(options.watchdogSec)}`);
    }
    lines.push(`WatchdogSec=${options.watchdogSec}`);
  }
  lines.push(
    'Restart=on-failure',
    'RestartSec=2',
    '# Exit 2 is a configuration error: restarting would not fix it.',
    'RestartPreventExitStatus=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  );
  return lines.join('\n');
}
