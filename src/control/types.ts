/**
 * What the control socket, the CLI commands and the HTTP status server need from a running
 * primary. The supervisor implements it; tests may use a fake.
 */
import type { QueuesResult } from './protocol';
import type { LogsResult } from '../logs/query';
import type { TaskHistoryEntry, TaskInfo } from '../protocol';
import type { StatusSnapshot } from '../status/snapshot';
import type { ClusterState, Effect, SupervisorEvent } from '../supervisor/state';

/** One step of the supervisor as an observer sees it: the state before and after, the event, its effects. */
export type StepObserver = (before: ClusterState, after: ClusterState, event: SupervisorEvent, effects: readonly Effect[]) => void;

export interface ActiveTask extends TaskInfo {
  app: string;
  /** worker id (fork id) */
  workerId: number;
  slot: number;
  pid: number | null;
}

/** What an action did, once it has completed (or been refused). */
export interface ActionResult {
  ok: boolean;
  /** One line for humans, e.g. "reloaded 4 workers of api in 3.2s". */
  message: string;
  /** Structured details for --json (worker ids retired / started, durations…). */
  details?: Record<string, unknown>;
}

export interface RecycleTarget {
  /** App name; undefined = the only app (an error if there are several). */
  app?: string;
  /** A slot number, or 'all'. */
  slot: number | 'all';
}

export interface ScaleSpec {
  app?: string;
  /** Exactly one of absolute / delta. */
  absolute?: number;
  delta?: number;
}

export interface ClusterControl {
  /** Built on request from state the primary already holds. */
  snapshot(): StatusSnapshot;
  /** Asks every live worker for its active tasks (bounded wait; a silent worker is skipped). */
  listTasks(): Promise<ActiveTask[]>;
  /** Rolling reload, surge-then-retire. Resolves when every worker has been replaced (or `wait` is false: at once). */
  reload(app: string | undefined, wait: boolean): Promise<ActionResult>;
  recycle(target: RecycleTarget, force: boolean, wait: boolean): Promise<ActionResult>;
  scale(spec: ScaleSpec, wait: boolean): Promise<ActionResult>;
  /** Graceful stop (force = as a second SIGTERM). Resolves when the stop has begun; the primary then exits. */
  stop(force: boolean): Promise<ActionResult>;
  /** Rolls the cluster onto another config file (`smartworkers deploy`); absent when the primary cannot. */
  deploy?(configFile: string, envName: string | undefined, wait: boolean): Promise<ActionResult>;
  /**
   * BullMQ queues (`smartworkers/bullmq`): the known queues with their latest counts, or pause /
   * resume one queue (or every known one) in Redis, through a worker that processes it.
   */
  queues?(action: 'list' | 'pause' | 'resume', queue: string | undefined): Promise<QueuesResult>;
  /** True while at least `minReady` workers are ready and the cluster is not stopping. */
  isReady(minReady: number): boolean;
  /** Where each app's workers write (`smartworkers logs`); src/logs/query.ts. */
  logs?(): LogsResult;
  /** Calls `observer` after every step until the returned function is called (the dashboard's recycle timeline). */
  observe?(observer: StepObserver): () => void;
  // Managed tasks (optional: a control without them answers SW_CONTROL_ACTION_FAILED).
  /** Cancels a running or queued task by id, whichever worker runs it. */
  cancelTask?(id: string): Promise<ActionResult>;
  /** The last ended tasks of every worker, exited ones included, oldest first. */
  taskHistory?(filter: { app?: string; type?: string; failed?: boolean }): Promise<TaskHistoryResult>;
  /** Pauses (or resumes) new `run` calls of a type, or of every type, in every worker of the app(s). */
  pauseTasks?(app: string | undefined, type: string | undefined, paused: boolean): Promise<ActionResult>;
}

export interface HistoryRow extends TaskHistoryEntry {
  app: string;
  workerId: number;
  slot: number;
  /** The worker has exited since (its history was kept by the primary). */
  exited: boolean;
}

export interface TaskHistoryResult {
  entries: HistoryRow[];
}
