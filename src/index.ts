/**
 * smartworkers' package entry: the worker-side API.
 *
 * `import { tasks } from 'smartworkers'` and `require('smartworkers')` reach this same
 * CommonJS module (index.mjs re-exports it), and the task registry itself lives on a
 * global symbol, so every copy of the package in a process counts the same tasks.
 */
import cluster from 'node:cluster';
import { ENV } from './protocol';

export { tasks } from './worker/tasks';
export type { Tasks, TaskOptions, TaskStats, TaskTypeStats, AbortReason, CancelOutcome } from './worker/tasks';
export type { TaskInfo, TaskStatus, TaskHistoryEntry } from './protocol';
export { onDrain, drainDeadline } from './worker/drain-api';
export type { DrainInfo, DrainListener } from './worker/drain-api';

/** True in a worker process started by smartworkers; false under plain `node app.js`. */
export const isWorker: boolean = cluster.isWorker && process.env[ENV.runtime] !== undefined;

/** Who this worker is. */
export interface WorkerInfo {
  /** The app's name from the config. */
  app: string;
  /** Stable slot 0..N-1, inherited by a replacement (also `NODE_APP_INSTANCE`). */
  slot: number;
  /** Increases each time the slot's worker is replaced. */
  generation: number;
}

/** This worker's app, slot and generation, or null outside smartworkers. */
export function workerInfo(): WorkerInfo | null {
  if (!isWorker) return null;
  return {
    app: process.env[ENV.appName] ?? '',
    slot: toInt(process.env[ENV.workerId]),
    generation: toInt(process.env[ENV.generation]),
  };
}

function toInt(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
