/**
 * The status document: what `smartworkers status --json`, `GET /status` and `/metrics`
 * are built from. The supervisor builds it on request from state it already holds.
 */

import type { QueueStatus } from '../bullmq/board';

export type WorkerStateName = 'starting' | 'ready' | 'retiring' | 'waiting-for-tasks' | 'stopping' | 'failed-boot';

/** Why a slot is left empty until the next reload. */
export type SlotStopReason = 'autorestart' | 'max_restarts' | 'boot_failed';

export const SLOT_STOP_REASONS: readonly SlotStopReason[] = ['autorestart', 'max_restarts', 'boot_failed'];

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
  /** Keep-alive connections with nothing in flight. */
  idleConnections: number;
  /** Upgraded connections (WebSocket) open; each counted once in `served`. */
  upgradedConnections: number;
  /** Responses whose headers went out and which have not ended (SSE, downloads); part of `inflight`. */
  streamingResponses: number;
  /** A draining worker: ms until its long-lived connections are cut (drain_timeout); null otherwise. */
  drainLeftMs: number | null;
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
  /** Apps given up because their first workers could not boot (the others kept running). */
  appsFailed?: number;
  /** Requests, streams and upgraded connections smartworkers ended before the app did. */
  connectionsCutTotal: number;
  /** The same, by kind (`request`, `stream`, `upgraded`) and reason (`drain_timeout`, `abandoned`, `killed`). */
  connectionsCut: Record<string, Record<string, number>>;
}

/** Retired and stopping workers still draining: the old generation after a reload, shown rather than waited for. */
export interface DrainingStatus {
  workers: number;
  /** Requests in flight and upgraded connections they still hold. */
  connections: number;
  /** Of those, WebSockets and streaming responses. */
  longLived: number;
  tasks: number;
  /** Until the last of their long-lived connections is cut, ms. */
  msLeft: number;
}

export interface AppStatus {
  name: string;
  script: string;
  desiredWorkers: number;
  readyWorkers: number;
  /** Slots left empty until the next reload: the app exited with `autorestart: false`, or crashed `max_restarts` times in a row. */
  stoppedSlots: Array<{ slot: number; reason: SlotStopReason }>;
  /** `max_requests` (before each worker's jitter); 0 = none. */
  maxRequests?: number;
  /** `max_memory`, bytes; 0 = off. */
  maxMemoryBytes?: number;
  /** `max_memory_hard`, bytes; 0 = off. */
  maxMemoryHardBytes?: number;
  /** `cluster` (node:cluster workers) or `process` (plain child processes). */
  kind?: 'cluster' | 'process';
  /** What each worker runs: `node [node_args] script [args]`, or the process's command line. */
  command?: string;
  /** Why the app was given up (its first workers could not boot); absent while it runs. */
  failure?: string;
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
  /** Absent from an older primary. */
  draining?: DrainingStatus;
  /** BullMQ queues (`smartworkers/bullmq`), present once a worker reported one. */
  queues?: QueueStatus[];
  /** Managed background tasks by app (permits, queues, time limits); absent when no app has task settings. */
  taskManagement?: Record<string, import('../supervisor/task-broker').TaskManagementStatus>;
}
