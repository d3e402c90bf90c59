/**
 * The status document: what `smartworkers status --json`, `GET /status` and `/metrics`
 * are built from. The supervisor builds it on request from state it already holds.
 */

export type WorkerStateName = 'starting' | 'ready' | 'retiring' | 'waiting-for-tasks' | 'stopping' | 'exited' | 'failed-boot';

/** Why a slot is left empty until the next reload. */
export type SlotStopReason = 'autorestart' | 'max_restarts';

export const SLOT_STOP_REASONS: readonly SlotStopReason[] = ['autorestart', 'max_restarts'];

export type RecycleReason = 'max_requests' | 'memory' | 'memory_hard' | 'timeout' | 'reload' | 'manual' | 'crash' | 'scale' | 'signal' | 'max_tasks' | 'hard_time_limit';

export const RECYCLE_REASONS: readonly RecycleReason[] = [
  'max_requests', 'memory', 'memory_hard', 'timeout', 'reload', 'manual', 'crash', 'scale', 'signal', 'max_tasks', 'hard_time_limit',
];

export interface WorkerStatus {
  app: string;
  /** Unique id of this fork (also node:cluster's worker.id). */
  id: number;
  slot: number;
  pid: number | null;
  generation: number;
  state: WorkerStateName;
  /** ms since fork */
  uptimeMs: number;
  served: number;
  /** 0 = no limit */
  requestLimit: number;
  inflight: number;
  connections: number;
  activeTasks: number;
  activeTasksByType: Record<string, number>;
  rssBytes: number | null;
  cpuPercent: number | null;
  loopDelayMs: number | null;
  /** ms since the last heartbeat; null before the first */
  heartbeatAgeMs: number | null;
  /** restarts of this slot so far */
  restarts: number;
  /** why it is retiring, when it is */
  retireReason: RecycleReason | null;
}

export interface ClusterTotals {
  tasksStarted: number;
  tasksCompleted: number;
  tasksFailed: number;
  tasksCancelled: number;
  tasksLost: number;
  activeTasksByType: Record<string, number>;
  recyclesByReason: Record<RecycleReason, number>;
  /** Recycles whose worker had to wait for tasks before exiting. */
  recyclesDelayedByTasks: number;
  /** Total time retired workers spent waiting on tasks, ms. */
  taskWaitTotalMs: number;
  requestsServed: number;
  /** Processes workers left running after they exited, ended by the primary (Linux). */
  processesKilled: number;
}

export interface AppStatus {
  name: string;
  script: string;
  desiredWorkers: number;
  readyWorkers: number;
  /** Slots left empty until the next reload: the app exited with `autorestart: false`, or crashed `max_restarts` times in a row. */
  stoppedSlots: Array<{ slot: number; reason: SlotStopReason }>;
}

export interface StatusSnapshot {
  version: 1;
  primary: {
    pid: number;
    uptimeMs: number;
    /** 'running' | 'reloading' | 'stopping' */
    phase: string;
    configSource: string;
    node: string;
    rssBytes: number;
  };
  apps: AppStatus[];
  workers: WorkerStatus[];
  totals: ClusterTotals;
  /** Managed background tasks by app (permits, queues, time limits); absent when no app has task settings. */
  taskManagement?: Record<string, import('../supervisor/task-broker').TaskManagementStatus>;
}
