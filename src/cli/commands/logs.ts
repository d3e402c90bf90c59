/**
 * `smartworkers logs [app|app:slot] [--lines N] [--follow] [--json]`: the last lines of a running
 * cluster's log files and a live tail, merged in time order across workers, each line labelled
 * with its app and slot. The primary says which files (control command `logs`); the CLI reads
 * them itself, so a follow costs the primary nothing.
 */
import { sendCommand } from '../../control/client';
import { listClusters } from '../../control/registry';
import { stateDirectory } from '../../control/state-dir';
import { EXIT, SmartworkersError } from '../../errors';
import type { LogsResult } from '../../logs/query';
import { follow, readLast, type LogLine } from '../../logs/tail';
import { runReportingErrors, timeoutMs, type CommandIO, type ConnectionOptions } from './io';
import { resolveSocketPath } from './socket';

export interface LogsOptions extends ConnectionOptions {
  lines?: number;
  follow?: boolean;
  json?: boolean;
}

export function parseLogsTarget(target: string | undefined): { app?: string; slot?: number } {
  if (target === undefined || target === '') return {};
  const match = /^(.*):(\d+)$/.exec(target);
  return match ? { app: match[1], slot: Number(match[2]) } : { app: target };
}

export function formatLine(line: LogLine, json: boolean): string {
  if (json) return JSON.stringify({ app: line.app, slot: line.slot, stream: line.stream, time: line.time === null ? null : new Date(line.time).toISOString(), message: line.message });
  return `${line.app}:${line.slot ?? '*'} ${line.stream === 'err' ? 'err' : line.stream === 'combined' ? 'all' : 'out'} | ${line.text}`;
}

/** Where the lines of a stream inherited from the primary can be read. */
function whereInherited(result: LogsResult, daemon: { out: string; err: string } | undefined): string {
  // A daemon's primary writes to its own files (a process app's output lands there too).
  if (daemon !== undefined) return `the daemon's files ${daemon.out} and ${daemon.err}`;
  switch (result.stdout.kind) {
    case 'systemd':
      return result.stdout.unit ? `journalctl -u ${result.stdout.unit} -f` : 'journalctl (the primary runs under systemd)';
    case 'docker':
      return 'docker logs -f <container>';
    default:
      return "wherever the primary's stdout/stderr go (its terminal, or the file or pipe it was started with)";
  }
}

/** The daemon's own log files, when the cluster at `socketPath` runs as one (its registry record says). */
function daemonLogsOf(socketPath: string, env: NodeJS.ProcessEnv): { out: string; err: string } | undefined {
  try {
    return listClusters(stateDirectory(env)).find((c) => c.socket === socketPath)?.logs;
  } catch {
    return undefined;
  }
}

export function runLogs(target: string | undefined, options: LogsOptions, io: CommandIO, signal?: AbortSignal): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const result = await sendCommand(socketPath, 'logs', {}, timeoutMs(options, 10_000));
    const { app, slot } = parseLogsTarget(target);
    const names = result.apps.map((a) => a.name);
    const chosen = app === undefined ? result.apps : result.apps.filter((a) => a.name === app);
    if (app !== undefined && chosen.length === 0) {
      throw new SmartworkersError('SW_CONTROL_ACTION_FAILED', `no app named '${app}' is running; running: ${names.map((n) => `${n} (${result.apps.find((a) => a.name === n)!.slots} workers)`).join(', ')}`);
    }
    if (slot !== undefined && chosen[0] && slot >= chosen[0].slots) {
      throw new SmartworkersError('SW_CONTROL_ACTION_FAILED', `app '${app}' has no slot ${slot}; it runs slots 0-${chosen[0].slots - 1}`);
    }
    for (const entry of chosen) {
      if (entry.inherited.length === 0) continue;
      const what = entry.inherited.length === 2 ? 'stdout and stderr go' : `${entry.inherited[0] === 'out' ? 'stdout' : 'stderr'} goes`;
      io.stderr.write(`${entry.name}: ${what} to the primary's output, not to a file: ${whereInherited(result, daemonLogsOf(socketPath, io.env))}\n`);
    }
    const lines = options.lines ?? 20;
    const last = readLast({ apps: chosen, app, slot, lines });
    for (const line of last.lines) io.stdout.write(`${formatLine(line, options.json === true)}\n`);
    if (!options.follow) return EXIT.ok;
    const stop = signal ?? new AbortController().signal;
    await follow({ apps: chosen, app, slot, lines, positions: last.positions, signal: stop }, (batch) => {
      for (const line of batch) io.stdout.write(`${formatLine(line, options.json === true)}\n`);
    });
    return EXIT.ok;
  });
}
