/**
 * `smartworkers tasks [--json]` — every running and queued background task in every worker;
 * `tasks cancel <id>`, `tasks history [--type T] [--failed]`, `tasks pause|resume [type]`.
 * Exit codes: 0 done, 1 refused (unknown or ended id, unknown type, no such app), 2 usage.
 */
import { sendCommand } from '../../control/client';
import type { CommandArgs, TasksResult } from '../../control/protocol';
import type { ActionResult, ActiveTask, HistoryRow } from '../../control/types';
import { EXIT } from '../../errors';
import { formatDuration, renderTable } from './format';
import { runReportingErrors, timeoutMs, type CommandIO, type ConnectionOptions } from './io';
import { resolveSocketPath } from './socket';

export interface TasksOptions extends ConnectionOptions {
  json?: boolean;
}

/** A task as printed: how long it has run and whether it runs past the estimate. */
export interface TaskView extends ActiveTask {
  runningMs: number;
  overdue: boolean;
}

/** Waits for every worker to answer (the primary bounds that wait), plus a margin. */
const TASKS_TIMEOUT_MS = 10_000;

export function runTasks(options: TasksOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const result = await sendCommand(socketPath, 'tasks', {}, timeoutMs(options, TASKS_TIMEOUT_MS));
    const tasks = viewTasks(result);
    io.stdout.write(options.json ? `${JSON.stringify({ now: result.now, tasks }, null, 2)}\n` : `${renderTasks(tasks)}\n`);
    return EXIT.ok;
  });
}

/**
 * Adds running time (on the primary's clock; for a queued task, how long it has waited) and the
 * overdue flag; running tasks first, longest running first, then queued ones by priority.
 */
export function viewTasks(result: TasksResult): TaskView[] {
  return result.tasks
    .map((task) => {
      const runningMs = Math.max(0, result.now - task.startedAt);
      const overdue = task.overdue === true || (task.state !== 'queued' && task.estimatedMs !== undefined && runningMs > task.estimatedMs);
      return { ...task, runningMs, overdue };
    })
    .sort(
      (a, b) =>
        Number(a.state === 'queued') - Number(b.state === 'queued') ||
        (a.state === 'queued' ? (b.priority ?? 0) - (a.priority ?? 0) : 0) ||
        b.runningMs - a.runningMs,
    );
}

export function renderTasks(tasks: readonly TaskView[]): string {
  if (tasks.length === 0) return 'no active tasks';
  // The state and priority columns appear once a task type has settings (queued tasks exist then).
  const managed = tasks.some((t) => t.state !== undefined);
  const headers = managed
    ? ['APP', 'SLOT', 'WORKER', 'PID', 'TASK', 'TYPE', 'PRIORITY', 'STATE', 'FOR', 'ESTIMATE', 'DESCRIPTION']
    : ['APP', 'SLOT', 'WORKER', 'PID', 'TASK', 'TYPE', 'RUNNING', 'ESTIMATE', 'DESCRIPTION'];
  const rows = tasks.map((t) => [
    t.app,
    String(t.slot),
    String(t.workerId),
    t.pid === null ? '-' : String(t.pid),
    t.id,
    t.type,
    ...(managed ? [t.priority === undefined ? '-' : String(t.priority), t.state ?? 'running'] : []),
    formatDuration(t.runningMs),
    t.estimatedMs === undefined ? (t.overdue ? 'OVERDUE' : '-') : `${formatDuration(t.estimatedMs)}${t.overdue ? ' OVERDUE' : ''}`,
    t.description ?? '',
  ]);
  const overdue = tasks.filter((t) => t.overdue).length;
  const queued = tasks.filter((t) => t.state === 'queued').length;
  const split = managed ? ` (${tasks.length - queued} running, ${queued} queued)` : '';
  const footer = `${tasks.length} active ${tasks.length === 1 ? 'task' : 'tasks'}${split}${overdue > 0 ? `, ${overdue} past the estimate` : ''}`;
  return `${renderTable(headers, rows, new Set(managed ? [1, 2, 3, 6, 8] : [1, 2, 3, 6]))}\n\n${footer}`;
}

// ---------------------------------------------------------------- cancel, history, pause, resume

export function runTaskCancel(id: string, options: TasksOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    return report(await sendCommand(socketPath, 'task-cancel', { id }, timeoutMs(options, TASKS_TIMEOUT_MS)), options, io);
  });
}

export interface HistoryOptions extends TasksOptions {
  type?: string;
  failed?: boolean;
  app?: string;
}

export function runTaskHistory(options: HistoryOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const args: CommandArgs['task-history'] = {};
    if (options.type !== undefined) args.type = options.type;
    if (options.failed) args.failed = true;
    if (options.app !== undefined) args.app = options.app;
    const result = await sendCommand(socketPath, 'task-history', args, timeoutMs(options, TASKS_TIMEOUT_MS));
    io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderHistory(result.entries)}\n`);
    return EXIT.ok;
  });
}

export function renderHistory(entries: readonly HistoryRow[]): string {
  if (entries.length === 0) return 'no ended tasks';
  const headers = ['APP', 'SLOT', 'WORKER', 'TASK', 'TYPE', 'STATUS', 'DURATION', 'ENDED', 'ERROR'];
  const rows = entries.map((e) => [
    e.app,
    String(e.slot),
    `${e.workerId}${e.exited ? ' (exited)' : ''}`,
    e.id,
    e.type,
    e.status,
    formatDuration(e.durationMs),
    new Date(e.startedAt + e.durationMs).toISOString().slice(11, 23),
    e.error ?? '',
  ]);
  const failed = entries.filter((e) => e.status === 'failed').length;
  return `${renderTable(headers, rows, new Set([1, 6]))}\n\n${entries.length} ended ${entries.length === 1 ? 'task' : 'tasks'}${failed > 0 ? `, ${failed} failed` : ''}`;
}

export function runTaskPause(type: string | undefined, paused: boolean, options: HistoryOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const args: CommandArgs['task-pause'] = {};
    if (type !== undefined) args.type = type;
    if (options.app !== undefined) args.app = options.app;
    return report(await sendCommand(socketPath, paused ? 'task-pause' : 'task-resume', args, timeoutMs(options, TASKS_TIMEOUT_MS)), options, io);
  });
}

function report(result: ActionResult, options: TasksOptions, io: CommandIO): number {
  if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else (result.ok ? io.stdout : io.stderr).write(`${result.ok ? '' : 'smartworkers: '}${result.message}\n`);
  return result.ok ? EXIT.ok : EXIT.failure;
}
