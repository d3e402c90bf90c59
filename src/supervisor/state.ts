/**
 * The supervisor's state, events and effects. The policy (`policy.ts`) turns
 * state + event into the next state + effects; `supervisor.ts` performs the effects.
 */
import type { AppSettings, Settings } from '../config/types';
import type { KilledProcess } from '../host/processTree';
import type { APP_SHUTDOWN, CutKind, CutReason, PolicyMessage, PrimaryMessage, TaskCounters } from '../protocol';
import type { RecycleReason, SlotStopReason, WorkerStateName } from '../status/snapshot';

export type { RecycleReason, WorkerStateName };

/** A recycle the policy has decided on but not finished: the worker keeps serving meanwhile. */
export interface PendingRecycle {
  reason: RecycleReason;
  /** Ignore tasks (hard memory ceiling, `recycle --force`). */
  force: boolean;
  since: number;
  /** Replacement boot attempts that failed so far. */
  failedAttempts: number;
  /** Do not try a replacement before this (backoff after a failed boot). */
  retryAt: number;
  /** Logged once when postponed by the surge cap. */
  postponedLogged: boolean;
}

export interface WorkerRecord {
  /** Unique per fork, never reused. */
  id: number;
  app: string;
  slot: number;
  generation: number;
  pid: number | null;
  state: WorkerStateName;
  forkedAt: number;
  readyAt: number | null;
  lastHeartbeatAt: number | null;
  /** max_requests + this worker's jitter draw; 0 = none. */
  requestLimit: number;
  /** max_tasks + this worker's jitter draw; 0 = none. */
  taskLimit: number;
  served: number;
  inflight: number;
  connections: number;
  /** Keep-alive connections with nothing in flight. */
  idle: number;
  /** Upgraded connections (WebSocket) open. */
  upgraded: number;
  /** Responses streaming (headers out, not ended); part of `inflight`. */
  streaming: number;
  /** When a draining worker cuts the long-lived connections still open (drain_timeout); null while it serves. */
  drainDeadline: number | null;
  /** The worker reported the connections it cut after `abandon`: its last counts are not cut again at exit. */
  cutReported: boolean;
  activeTasks: number;
  tasks: TaskCounters;
  loopDelayMs: number | null;
  rssBytes: number | null;
  cpuPercent: number | null;
  recycle: PendingRecycle | null;
  /**
   * This worker was forked to replace that one (surge, then retire). The one link between the two:
   * the other end is derived (`replacementOf` in queries.ts); once that worker has exited, this
   * one simply holds the slot.
   */
  replacesId: number | null;
  /** Its server has listened (node:cluster routes connections to it), ready or not. */
  listening: boolean;
  /**
   * It asked node:cluster to listen (`queryServer`): the round-robin may already hand it
   * connections, though its `listening` has not arrived yet. A stop ends it gracefully, never by kill.
   */
  listenRequested: boolean;
  /** Servers listening in it now, as its runtime reports them (`servers` message). */
  servers: string[];
  /** Servers it must listen on before it counts as ready: those its slot had listening when it was forked. */
  requiredServers: string[];
  /** It closed its IPC channel (`process.disconnect()`): no report, no command reaches it; its exit code tells. */
  untracked: boolean;
  /** Why it is retiring / stopping / being killed. */
  exitReason: RecycleReason | 'stop' | 'disconnect' | null;
  /** When the worker reported its requests done while tasks still ran. */
  waitingSince: number | null;
  /** When `abandon` is sent (tasks given up). */
  deadline: number | null;
  /** When SIGKILL is sent if the worker is still alive. */
  killAt: number | null;
  abandonSent: boolean;
  /** SIGKILL sent: waiting for the exit. */
  killSent: boolean;
  /** Lost tasks already counted from a `lost` message. */
  lostReported: boolean;
}

export interface SlotRecord {
  /** Consecutive crashes; reset once a worker in this slot stays up for min_uptime. */
  crashes: number;
  /** A fork for this slot waits until then (crash backoff). */
  nextForkAt: number;
  /** Highest generation forked in this slot: also the number of restarts. */
  generation: number;
  /** pm2's `pm_id`: unique across every app, taken in fork order (config order at the start), kept for the slot's life. */
  pmId: number;
  /** Consecutive unexpected exits before min_uptime (pm2's unstable restarts); reset by a stable run. */
  unstable: number;
  /** Why the slot is no longer restarted (until the next reload of its app); null = it is. */
  stopped: SlotStopReason | null;
  /** The last unexpected exit of the slot's worker was `exit(0)` (no signal). */
  lastExitClean: boolean;
  /** Servers the slot's ready worker listens on: what its next worker must listen on to be ready. */
  servers: string[];
}

export interface AppRuntime {
  settings: AppSettings;
  desired: number;
  slots: SlotRecord[];
  /** Some worker of this app has been ready once. */
  everReady: boolean;
  /** Added to a running cluster by a reload or `deploy`: its boot failures never stop the cluster (the others serve). */
  addedLater?: boolean;
  /** First-generation workers that failed to boot before any was ready. */
  bootFailures: number;
  /** When `cron_restart` next reloads the app (epoch ms); null = no schedule. */
  nextCronAt: number | null;
  /** The app was given up: its first workers could not boot (policy/isolation.ts); null = it runs. */
  failure: AppFailure | null;
}

export interface AppFailure {
  /** One line: what failed, for `status`, `/status` and the log. */
  error: string;
  at: number;
}

export interface Totals {
  /** Task counters of workers that have exited (live workers are added on read). */
  exitedTasks: { started: number; completed: number; failed: number; cancelled: number };
  exitedServed: number;
  tasksLost: number;
  recyclesByReason: Record<RecycleReason, number>;
  recyclesDelayedByTasks: number;
  taskWaitTotalMs: number;
  /** Processes workers left running after they exited, which the primary had to end. */
  processesKilled: number;
  /** Requests, streams and upgraded connections smartworkers ended before the app did, by kind and reason. */
  connectionsCut: Record<CutKind, Record<ConnectionCutReason, number>>;
  /** Apps given up because their first workers could not boot (policy/isolation.ts). */
  appsFailed: number;
}

/** Why a connection was cut: the worker's own reasons, or `killed` (the worker was SIGKILLed with it open). */
export type ConnectionCutReason = CutReason | 'killed';

export type Phase = 'running' | 'stopping';
export type StopMode = 'graceful' | 'fast' | 'force';

export interface ClusterState {
  /** The settings besides the apps' (each app holds its own, `AppRuntime.settings`): as last loaded. */
  globals: Omit<Settings, 'apps'>;
  phase: Phase;
  stopMode: StopMode | null;
  stopDeadline: number | null;
  /** Exit code decided when the stop began (boot failure), else computed at the end. */
  exitCode: number | null;
  startedAt: number;
  nextWorkerId: number;
  /** The next free pm_id (see SlotRecord.pmId). */
  nextPmId: number;
  apps: Record<string, AppRuntime>;
  workers: Record<number, WorkerRecord>;
  totals: Totals;
  /** A reload waits for the config file to be re-read. */
  reloadPending: boolean;
  /** The app a pending reload is for; null = every app. */
  reloadScope: string | null;
  /** When the last tick ran: a longer gap means the primary's own loop did not run (see STALL_MS). */
  lastTickAt: number | null;
  /** When the primary last resumed after such a stall: worker silence is judged from here at most. */
  resumedAt: number | null;
  /** Exited workers whose leftover processes are still being ended: the primary waits for them to exit. */
  reaping: number;
}

export type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGQUIT';
export type PrimarySignal = StopSignal | 'SIGHUP' | 'SIGTTIN' | 'SIGTTOU';

export type Command =
  | { kind: 'reload'; app?: string }
  | { kind: 'recycle'; app?: string; slot: number | 'all'; force: boolean }
  | { kind: 'scale'; app?: string; absolute?: number; delta?: number }
  | { kind: 'stop'; force: boolean };

export interface MemorySample {
  id: number;
  rssBytes: number;
  cpuPercent: number;
}

export type SupervisorEvent =
  | { type: 'start' }
  | { type: 'tick' }
  | { type: 'forked'; id: number; pid: number }
  | { type: 'listening'; id: number }
  /** The worker asked node:cluster for a listening handle: connections may reach it from now on. */
  | { type: 'listen-requested'; id: number }
  | { type: 'app-ready'; id: number }
  | { type: 'online'; id: number }
  | { type: 'message'; id: number; message: PolicyMessage }
  | { type: 'memory'; samples: MemorySample[] }
  /**
   * `reaping`: the host looks for processes it left running, and says so with `reaped`. `more`:
   * another exit of the same burst follows at once, and reconciles for both (N exits at once cost
   * one pass over the cluster, not N).
   */
  | { type: 'exit'; id: number; code: number | null; signal: string | null; reaping?: boolean; more?: boolean }
  /** Processes an exited worker left running have been ended (see host/processTree.ts). */
  | { type: 'reaped'; id: number; app: string; slot: number; pid: number | null; leftovers: KilledProcess[] }
  /** The worker closed its IPC channel while it still runs (the app called `process.disconnect()`). */
  | { type: 'disconnect'; id: number }
  | { type: 'signal'; signal: PrimarySignal }
  | { type: 'command'; command: Command }
  | { type: 'settings'; settings: Settings }
  | { type: 'settings-error'; error: string };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type Effect =
  | { type: 'fork'; id: number; app: string; slot: number; generation: number; requestLimit: number; pmId: number; instances: number }
  | { type: 'send'; id: number; message: PrimaryMessage }
  /** A plain message to the app itself (pm2's `'shutdown'`), outside smartworkers' protocol. */
  | { type: 'app-message'; id: number; message: typeof APP_SHUTDOWN }
  | { type: 'kill'; id: number; signal: 'SIGKILL' | 'SIGTERM' }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { type: 'reload-settings' }
  /** A command the policy refused, and why (one line): logged, and the control server's answer. */
  | { type: 'rejected'; command: Command; reason: string }
  | { type: 'exit'; code: number };

/** What the policy may ask of the outside world besides the event: the time and chance. */
export interface PolicyEnv {
  now: number;
  random: () => number;
}
