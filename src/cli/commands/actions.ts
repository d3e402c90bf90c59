/**
 * `smartworkers reload | recycle | scale | stop`. Each waits until the action has completed
 * (unless `--no-wait`) and prints what happened; exit code 0 when it succeeded, 1 when the
 * primary reports it did not.
 */
import { sendCommand, stopCluster } from '../../control/client';
import type { CommandArgs } from '../../control/protocol';
import type { ActionResult } from '../../control/types';
import { EXIT, SmartworkersError } from '../../errors';
import { runReportingErrors, timeoutMs, type CommandIO, type ConnectionOptions } from './io';
import { resolveSocketPath } from './socket';

export interface ActionOptions extends ConnectionOptions {
  json?: boolean;
  /** false with `--no-wait` */
  wait?: boolean;
}

/** With --no-wait the primary answers once the action has begun. */
const NO_WAIT_TIMEOUT_MS = 10_000;
/** A waited action takes as long as draining and tasks take: no bound unless --timeout. */
const WAIT_TIMEOUT_MS = 0;

function actionTimeout(options: ActionOptions): number {
  return timeoutMs(options, options.wait === false ? NO_WAIT_TIMEOUT_MS : WAIT_TIMEOUT_MS);
}

function report(result: ActionResult, options: ActionOptions, io: CommandIO): number {
  if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else (result.ok ? io.stdout : io.stderr).write(`${result.ok ? '' : 'smartworkers: '}${result.message}\n`);
  return result.ok ? EXIT.ok : EXIT.failure;
}

// ---------------------------------------------------------------- reload

export function runReload(app: string | undefined, options: ActionOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const args: CommandArgs['reload'] = { wait: options.wait !== false };
    if (app !== undefined) args.app = app;
    return report(await sendCommand(socketPath, 'reload', args, actionTimeout(options)), options, io);
  });
}

// ---------------------------------------------------------------- recycle

export interface RecycleOptions extends ActionOptions {
  force?: boolean;
}

/** `3`, `all`, `api:3`, `api:all` → the protocol's recycle target. */
export function parseRecycleTarget(text: string): Pick<CommandArgs['recycle'], 'app' | 'slot'> {
  // The app is everything before the last `:`, so names with spaces or colons work (`"My API:all"`).
  const match = /^(?:([^]+):)?(all|\d+)$/.exec(text.trim());
  if (!match) {
    throw new SmartworkersError('SW_USAGE', `Expected the recycle target to be <slot>, all, <app>:<slot> or <app>:all, got ${JSON.stringify(text)}`);
  }
  const slot = match[2] === 'all' ? 'all' : Number(match[2]);
  return match[1] === undefined ? { slot } : { app: match[1], slot };
}

export function runRecycle(target: string, options: RecycleOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const parsed = parseRecycleTarget(target);
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const args: CommandArgs['recycle'] = { ...parsed, force: options.force === true, wait: options.wait !== false };
    return report(await sendCommand(socketPath, 'recycle', args, actionTimeout(options)), options, io);
  });
}

// ---------------------------------------------------------------- scale

export interface ScaleOptions extends ActionOptions {
  app?: string;
}

/** `4` → absolute, `+2` / `-1` → delta. */
export function parseScaleCount(text: string): Pick<CommandArgs['scale'], 'absolute' | 'delta'> {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { absolute: Number(trimmed) };
  if (/^[+-]\d+$/.test(trimmed) && Number(trimmed) !== 0) return { delta: Number(trimmed) };
  throw new SmartworkersError('SW_USAGE', `Expected the worker count to be N, +K or -K (e.g. 4, +2, -1), got ${JSON.stringify(text)}`);
}

/** `scale <N|+K|-K> [--app name]` or `scale <app> <N|+K|-K>`. */
export function parseScaleArguments(first: string, second: string | undefined, appOption: string | undefined): CommandArgs['scale'] {
  if (second === undefined) {
    const count = parseScaleCount(first);
    return appOption === undefined ? count : { app: appOption, ...count };
  }
  if (appOption !== undefined) {
    throw new SmartworkersError('SW_USAGE', `give the app once: either \`scale ${first} ${second}\` or \`scale ${second} --app ${appOption}\``);
  }
  return { app: first, ...parseScaleCount(second) };
}

export function runScale(first: string, second: string | undefined, options: ScaleOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const args = { ...parseScaleArguments(first, second, options.app), wait: options.wait !== false };
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    return report(await sendCommand(socketPath, 'scale', args, actionTimeout(options)), options, io);
  });
}

// ---------------------------------------------------------------- stop

export interface StopOptions extends ActionOptions {
  force?: boolean;
}

const STOP_REPLY_TIMEOUT_MS = 10_000;

/**
 * Asks the primary to stop; unless `--no-wait`, then waits until it has exited (the control
 * connection closes with it) and says so.
 */
export function runStop(options: StopOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const waitForExit = options.wait !== false;
    const { result, exited } = await stopCluster(socketPath, options.force === true, {
      timeoutMs: STOP_REPLY_TIMEOUT_MS,
      waitForExit,
      exitTimeoutMs: timeoutMs(options, 0),
    });
    if (!waitForExit || !result.ok) return report(result, options, io);
    const outcome: ActionResult = exited
      ? { ...result, message: `${result.message}; the cluster has stopped`, details: { ...result.details, exited: true } }
      : { ok: false, message: `${result.message}; the cluster had not stopped within ${options.timeout}s`, details: { ...result.details, exited: false } };
    return report(outcome, options, io);
  });
}
