/** `smartworkers tasks [--json]` — every active background task in every worker. */
import { sendCommand } from '../../control/client';
import type { TasksResult } from '../../control/protocol';
import type { ActiveTask } from '../../control/types';
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

/** Adds running time (on the primary's clock) and the overdue flag; longest running first. */
export function viewTasks(result: TasksResult): TaskView[] {
  return result.tasks
    .map((task) => {
      const runningMs = Math.max(0, result.now - task.startedAt);
      return { ...task, runningMs, overdue: task.estimatedMs !== undefined && runningMs > task.estimatedMs };
    })
    .sort((a, b) => b.runningMs - a.runningMs);
}

export function renderTasks(tasks: readonly TaskView[]): string {
  if (tasks.length === 0) return 'no active tasks';
  const headers = ['APP', 'SLOT', 'WORKER', 'PID', 'TASK', 'TYPE', 'RUNNING', 'ESTIMATE', 'DESCRIPTION'];
  const rows = tasks.map((t) => [
    t.app,
    String(t.slot),
    String(t.workerId),
    t.pid === null ? '-' : String(t.pid),
    t.id,
    t.type,
    formatDuration(t.runningMs),
    t.estimatedMs === undefined ? '-' : `${formatDuration(t.estimatedMs)}${t.overdue ? ' OVERDUE' : ''}`,
    t.description ?? '',
  ]);
  const overdue = tasks.filter((t) => t.overdue).length;
  const footer = `${tasks.length} active ${tasks.length === 1 ? 'task' : 'tasks'}${overdue > 0 ? `, ${overdue} past the estimate` : ''}`;
  return `${renderTable(headers, rows, new Set([1, 2, 3, 6]))}\n\n${footer}`;
}
