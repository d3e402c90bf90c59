/**
 * The one IPC protocol between the primary and its workers.
 *
 * Every smartworkers message is an object tagged with {@link TAG} (like Node's own
 * `cmd: 'NODE_CLUSTER'`); anything else on the channel belongs to the app and is
 * left alone. Workers never send one message per request or per task: counts are
 * cumulative and coalesced into `report`s, so a lost or merged report loses nothing.
 */

import { COUNT_KEYS, type QueueAction, type QueueActionResult, type QueueCounts } from './bullmq/types';

/** The tag key. Its value is the message kind. */
export const TAG = '$sw' as const;

/** Protocol version, sent in `hello`; bumped on an incompatible change. */
export const PROTOCOL_VERSION = 1;

export type TaskStatus = 'completed' | 'failed' | 'cancelled';

/** One background task as the worker describes it. */
export interface TaskInfo {
  id: string;
  type: string;
  description?: string;
  /** epoch ms */
  startedAt: number;
  estimatedMs?: number;
  /** `queued`: waiting for a permit of its type, for a paused type, or for a retry; absent = running. */
  state?: 'queued' | 'running';
  /** Its priority when its type has settings or a priority was given. */
  priority?: number;
  /** Past `stale_after` (or 3 × its estimate). */
  overdue?: boolean;
  /** Attempts so far when its type retries. */
  attempt?: number;
}

/** One ended task, as `tasks history` lists it. */
export interface TaskHistoryEntry {
  id: string;
  type: string;
  status: TaskStatus;
  /** epoch ms: when it started running (or was queued, if it never ran). */
  startedAt: number;
  durationMs: number;
  description?: string;
  /** The error message of a failed or timed out task. */
  error?: string;
}

/** Counters of managed tasks (types with settings); cumulative except the queued counts. */
export interface ManagedTaskCounters {
  /** Tasks waiting now (for a permit, a paused type or a retry), by type. */
  queuedByType: Record<string, number>;
  /** Tasks flagged overdue since the worker started. */
  overdue: number;
  softLimitHits: number;
  hardLimitHits: number;
  retries: number;
}

/** Cumulative task counters since the worker started. */
export interface TaskCounters {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Active tasks right now, by type. */
  activeByType: Record<string, number>;
  /** Only once a worker has managed tasks: the report stays as small as before otherwise. */
  managed?: ManagedTaskCounters;
}

// ---------------------------------------------------------------- worker → primary

/** First message, sent as soon as the runtime has loaded (before the app). */
export interface HelloMessage {
  [TAG]: 'hello';
  protocol: number;
  pid: number;
  node: string;
}

/**
 * Heartbeat and counters. Sent at least every heartbeat interval while the event loop
 * turns, and sooner (coalesced, at most every `reportIntervalMs`) when counts change.
 */
export interface ReportMessage {
  [TAG]: 'report';
  /** Requests started since the worker started (cumulative). */
  served: number;
  /** Requests in flight now. */
  inflight: number;
  /** Open HTTP connections now. */
  connections: number;
  /**
   * Long-lived traffic (optional: absent from an older runtime): keep-alive connections with no
   * request in flight, connections handed to an `upgrade` listener (WebSocket), and responses
   * whose headers went out but which have not ended (SSE, downloads; counted in `inflight` too).
   */
  idle?: number;
  upgraded?: number;
  streaming?: number;
  tasks: TaskCounters;
  /** Event-loop delay since the previous report, p99 in ms. */
  loopDelayMs: number;
}

/** A retiring or stopping worker has closed every connection and has no request in flight. */
export interface DrainedMessage {
  [TAG]: 'drained';
  activeTasks: number;
}

/** Sent just before a worker exits with tasks still running (abandoned or hard-recycled). */
export interface LostMessage {
  [TAG]: 'lost';
  tasks: TaskInfo[];
}

/** What a worker's connection carried when smartworkers ended it. */
export type CutKind = 'request' | 'stream' | 'upgraded';
export const CUT_KINDS: readonly CutKind[] = ['request', 'stream', 'upgraded'];
/** `drain_timeout`: the worker's own bound passed; `abandoned`: the primary gave up on the worker (stop deadline, forced stop, max_task_wait). */
export type CutReason = 'drain_timeout' | 'abandoned';

/** One connection a worker ended before the app did. */
export interface CutConnection {
  kind: CutKind;
  /** How long the request, stream or upgraded connection had been open, ms. */
  openMs: number;
  /** The request's path (or the upgrade's), when known; at most 256 characters. */
  path?: string;
}

/**
 * The worker ended connections the app had not ended: sent once per cut (at the drain
 * deadline, or on `abandon` just before `lost`). `connections` lists at most
 * {@link MAX_CUT_DETAILS}; `counts` counts every one.
 */
export interface CutMessage {
  [TAG]: 'cut';
  reason: CutReason;
  counts: Record<CutKind, number>;
  connections: CutConnection[];
}

export const MAX_CUT_DETAILS = 50;

/** The worker itself received a termination signal (e.g. Ctrl-C to the process group). */
export interface SignalMessage {
  [TAG]: 'signal';
  signal: 'SIGTERM' | 'SIGINT';
}

/** Reply to `list-tasks`. */
export interface TasksMessage {
  [TAG]: 'tasks';
  requestId: number;
  tasks: TaskInfo[];
}

/**
 * A worker about to exit asks the primary for a `sync-ack` and exits only once it arrives.
 * node:cluster's round-robin may have handed the worker a connection just before the worker
 * closed its listening handle; that `newconn` is on the channel ahead of the ack, so the worker
 * still reads it and hands it back (`accepted: false`), and the primary gives it to another
 * worker. Exiting without this barrier strands such a connection in the primary, unanswered.
 * Answered by the process host at once; the policy never sees it.
 */
export interface SyncMessage {
  [TAG]: 'sync';
  seq: number;
}

/**
 * The servers listening in the worker right now (`host:port`, `[v6]:port` or a pipe's path), sent
 * whenever that set changes. A replacement counts as ready only once it listens on every server
 * the previous worker of its slot had listening. At most {@link MAX_SERVERS} entries.
 */
export interface ServersMessage {
  [TAG]: 'servers';
  listening: string[];
}

/**
 * `smartworkers/bullmq`: the queues this worker processes, sent when that set changes, and from the
 * one worker per app that samples them (slot 0), their job counts at most every sampling interval.
 * Read outside the policy (like `tasks`): counts are shown, never acted on.
 */
export interface QueuesMessage {
  [TAG]: 'queues';
  hosted: string[];
  counts?: Record<string, QueueCounts>;
  /** epoch ms of the sample */
  sampledAt?: number;
}

/** `smartworkers/bullmq`: the answer to a `queue-command`. */
export interface QueueReplyMessage {
  [TAG]: 'queue-reply';
  requestId: number;
  results: QueueActionResult[];
}

/** Most entries a `history` message may carry (the `task_history` setting is capped to it). */
export const MAX_HISTORY = 10_000;

/** Bounds of a `servers` message: what the primary accepts to read. */
export const MAX_SERVERS = 64;
const MAX_ADDRESS_LENGTH = 256;

/**
 * The worker has written what it had queued for its log files, closed them and opened their
 * paths again (answer to `reopen-logs`). Answered to the rotation in the process host; the
 * policy never sees it.
 */
export interface LogsReopenedMessage {
  [TAG]: 'logs-reopened';
  seq: number;
}

/**
 * Permit requests and returns of limited task types, batched: one message per turn of the
 * worker's event loop whatever the number of tasks. `acquire` holds [ref, type, priority] triples
 * (ref: the worker's own number for the request); `release` the refs of permits given back or
 * requests withdrawn (a cancelled queued task).
 */
export interface PermitsMessage {
  [TAG]: 'permits';
  acquire: Array<[number, string, number]>;
  release: number[];
}

/** A rare, per-task event the primary logs and counts: never sent for a task without settings unless overdue. */
export interface TaskAlertMessage {
  [TAG]: 'task-alert';
  kind: 'overdue' | 'time_limit' | 'hard_time_limit';
  task: TaskInfo;
}

/** Answer to `task-op` (`result` is the op's own shape, see worker/task-ops.ts). */
export interface TaskReplyMessage {
  [TAG]: 'task-reply';
  requestId: number;
  result: unknown;
}

/** Sent just before a worker exits: its last ended tasks, so `tasks history` outlives a recycle. */
export interface HistoryMessage {
  [TAG]: 'history';
  entries: TaskHistoryEntry[];
}

export type WorkerMessage =
  | LogsReopenedMessage
  | HelloMessage
  | ServersMessage
  | ReportMessage
  | DrainedMessage
  | LostMessage
  | SignalMessage
  | TasksMessage
  | SyncMessage
  | CutMessage
  | QueuesMessage
  | QueueReplyMessage
  | PermitsMessage
  | TaskAlertMessage
  | TaskReplyMessage
  | HistoryMessage;

// ---------------------------------------------------------------- primary → worker

/**
 * Stop taking traffic and exit once requests and tasks are done. `reason` is for logs.
 * The worker closes its listening handles at once (so the primary's round-robin skips
 * it), answers remaining keep-alive requests with `Connection: close`, closes idle
 * connections after `idleGraceMs`, sends `drained`, waits for its tasks, and exits 0.
 */
export interface RetireMessage {
  [TAG]: 'retire';
  reason: string;
  idleGraceMs: number;
  /**
   * From now, how long the app has to close its long-lived connections (WebSockets, streams)
   * before the worker cuts them (`drain_timeout`, within `graceful_timeout` on a stop); the
   * app's `onDrain` listeners get the deadline. Absent from an older primary: no bound.
   */
  drainTimeoutMs?: number;
}

/** Give up on running tasks: send `lost` with them, then exit at once. */
export interface AbandonMessage {
  [TAG]: 'abandon';
}

/** Ask for the active task list (answered with `tasks`). */
export interface ListTasksMessage {
  [TAG]: 'list-tasks';
  requestId: number;
}

/** Answer to `sync`: everything the primary sent before it has already been delivered. */
export interface SyncAckMessage {
  [TAG]: 'sync-ack';
  seq: number;
}

/** `smartworkers/bullmq`: pause or resume these queues in Redis (answered with `queue-reply`). */
export interface QueueCommandMessage {
  [TAG]: 'queue-command';
  requestId: number;
  action: QueueAction;
  queues: string[];
}

/** Reopen the log files (a rotation renamed them, or SIGUSR1 after an external logrotate); answered with `logs-reopened`. */
export interface ReopenLogsMessage {
  [TAG]: 'reopen-logs';
  seq: number;
}

/** Permits granted, by the refs of the worker's `acquire` entries; batched like `permits`. */
export interface GrantMessage {
  [TAG]: 'grant';
  refs: number[];
}

export type TaskOp = 'list' | 'history' | 'cancel' | 'pause' | 'resume' | 'knows';

/** A task operation from the CLI; every live worker answers with `task-reply` (requestId 0: no answer). */
export interface TaskOpMessage {
  [TAG]: 'task-op';
  requestId: number;
  op: TaskOp;
  /** cancel: the task id. */
  id?: string;
  /** pause / resume: the type; absent = every type. */
  type?: string;
}

export type PrimaryMessage =
  | RetireMessage
  | AbandonMessage
  | ListTasksMessage
  | SyncAckMessage
  | QueueCommandMessage
  | ReopenLogsMessage
  | GrantMessage
  | TaskOpMessage;

// ---------------------------------------------------------------- worker environment

/** Environment variables the primary sets for each worker. */
export const ENV = {
  /** Stable slot 0..N-1, inherited by a replacement. */
  workerId: 'SMARTWORKERS_WORKER_ID',
  /** Increases with each replacement in a slot. */
  generation: 'SMARTWORKERS_GENERATION',
  /** The app's name. */
  appName: 'SMARTWORKERS_APP',
  /** JSON of {@link RuntimeOptions}; its presence tells the runtime it runs under smartworkers. */
  runtime: 'SMARTWORKERS_RUNTIME',
} as const;

/** What the worker runtime needs to know, passed as JSON in `SMARTWORKERS_RUNTIME`. */
export interface RuntimeOptions {
  /** Longest gap between two reports while the loop turns, ms. */
  heartbeatMs: number;
  /** Coalescing window for count changes, ms. */
  reportIntervalMs: number;
  /** This worker's request limit (max_requests + its jitter draw); 0 = none. */
  requestLimit: number;
  /** Bound for the worker's own drain when the primary is gone, ms. */
  gracefulTimeoutMs: number;
  /** Idle time after which a draining worker closes a keep-alive connection, ms. */
  idleGraceMs: number;
  /** `drain_timeout`: the bound of long-lived connections in a drain without a primary, ms. */
  drainTimeoutMs: number;
  /** Per task type settings (`task_types`); absent or empty = none (every task costs a Map insert). */
  taskTypes?: Record<string, import('./config/task-types').TaskTypeSettings>;
  /** Ended tasks remembered for `tasks history`. */
  taskHistory?: number;
}

// ---------------------------------------------------------------- parsing

/** True when the value carries the smartworkers tag (whether or not it is well formed). */
export function isTagged(value: unknown): value is { [TAG]: unknown } {
  return typeof value === 'object' && value !== null && TAG in value;
}

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isTaskInfo(v: unknown): v is TaskInfo {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.type) &&
    (v.description === undefined || isStr(v.description)) &&
    isCount(v.startedAt) &&
    (v.estimatedMs === undefined || isCount(v.estimatedMs))
  );
}

const isOptionalCount = (v: unknown): boolean => v === undefined || isCount(v);

function isCutConnection(v: unknown): v is CutConnection {
  return (
    isObj(v) &&
    CUT_KINDS.includes(v.kind as CutKind) &&
    isCount(v.openMs) &&
    (v.path === undefined || (isStr(v.path) && v.path.length <= MAX_ADDRESS_LENGTH))
  );
}

function isTaskCounters(v: unknown): v is TaskCounters {
  if (!isObj(v) || !isCount(v.started) || !isCount(v.completed) || !isCount(v.failed) || !isCount(v.cancelled)) {
    return false;
  }
  if (v.managed !== undefined && !isManaged(v.managed)) return false;
  return isObj(v.activeByType) && Object.values(v.activeByType).every(isCount);
}

const MAX_QUEUES = 256;
const isQueueName = (v: unknown): v is string => isStr(v) && v.length > 0 && v.length <= MAX_ADDRESS_LENGTH;
function isQueueCounts(v: unknown): v is QueueCounts {
  return isObj(v) && COUNT_KEYS.every((k) => isCount(v[k])) && typeof v.paused === 'boolean';
}
function isQueueNames(v: unknown): v is string[] {
  return Array.isArray(v) && v.length <= MAX_QUEUES && v.every(isQueueName);
}

function isManaged(v: unknown): boolean {
  return (
    isObj(v) &&
    isObj(v.queuedByType) &&
    Object.values(v.queuedByType).every(isCount) &&
    isCount(v.overdue) &&
    isCount(v.softLimitHits) &&
    isCount(v.hardLimitHits) &&
    isCount(v.retries)
  );
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isAcquire = (v: unknown): boolean => Array.isArray(v) && v.length === 3 && isCount(v[0]) && isStr(v[1]) && isNum(v[2]);

function isHistoryEntry(v: unknown): boolean {
  return (
    isObj(v) &&
    isStr(v.id) &&
    isStr(v.type) &&
    (v.status === 'completed' || v.status === 'failed' || v.status === 'cancelled') &&
    isCount(v.startedAt) &&
    isCount(v.durationMs) &&
    (v.description === undefined || isStr(v.description)) &&
    (v.error === undefined || isStr(v.error))
  );
}

/**
 * Where a worker's message goes in the primary: `policy` — a `message` event stepped by the policy;
 * `host` — answered by the process host at once (the exit barrier); `supervisor` — the answer to a
 * request the supervisor made (`list-tasks`), outside the policy.
 */
export type WorkerRoute = 'policy' | 'host' | 'supervisor';

type Valid = (m: Record<string, unknown>) => boolean;

/** Worker → primary, one row a kind: who handles it, and its validator. A new message is one row. */
export const WORKER_MESSAGES = {
  hello: { route: 'policy', valid: (m) => isCount(m.protocol) && isCount(m.pid) && isStr(m.node) },
  report: {
    route: 'policy',
    valid: (m) =>
      isCount(m.served) &&
      isCount(m.inflight) &&
      isCount(m.connections) &&
      isTaskCounters(m.tasks) &&
      isCount(m.loopDelayMs) &&
      isOptionalCount(m.idle) &&
      isOptionalCount(m.upgraded) &&
      isOptionalCount(m.streaming),
  },
  drained: { route: 'policy', valid: (m) => isCount(m.activeTasks) },
  lost: { route: 'policy', valid: (m) => Array.isArray(m.tasks) && m.tasks.every(isTaskInfo) },
  signal: { route: 'policy', valid: (m) => m.signal === 'SIGTERM' || m.signal === 'SIGINT' },
  tasks: { route: 'supervisor', valid: (m) => isCount(m.requestId) && Array.isArray(m.tasks) && m.tasks.every(isTaskInfo) },
  sync: { route: 'host', valid: (m) => isCount(m.seq) },
  cut: {
    route: 'policy',
    valid: (m) =>
      (m.reason === 'drain_timeout' || m.reason === 'abandoned') &&
      isObj(m.counts) &&
      CUT_KINDS.every((k) => isCount((m.counts as Record<string, unknown>)[k])) &&
      Array.isArray(m.connections) &&
      m.connections.length <= MAX_CUT_DETAILS &&
      m.connections.every(isCutConnection),
  },
  'logs-reopened': { route: 'host', valid: (m) => isCount(m.seq) },
  permits: {
    route: 'supervisor',
    valid: (m) => Array.isArray(m.acquire) && m.acquire.every(isAcquire) && Array.isArray(m.release) && m.release.every(isCount),
  },
  'task-alert': {
    route: 'policy',
    valid: (m) => (m.kind === 'overdue' || m.kind === 'time_limit' || m.kind === 'hard_time_limit') && isTaskInfo(m.task),
  },
  'task-reply': { route: 'supervisor', valid: (m) => isCount(m.requestId) },
  history: {
    route: 'supervisor',
    valid: (m) => Array.isArray(m.entries) && m.entries.length <= MAX_HISTORY && m.entries.every(isHistoryEntry),
  },
  servers: {
    route: 'policy',
    valid: (m) => Array.isArray(m.listening) && m.listening.length <= MAX_SERVERS && m.listening.every((a) => isStr(a) && a.length <= MAX_ADDRESS_LENGTH),
  },
  queues: {
    route: 'supervisor',
    valid: (m) =>
      isQueueNames(m.hosted) &&
      (m.sampledAt === undefined || isCount(m.sampledAt)) &&
      (m.counts === undefined ||
        (isObj(m.counts) && Object.keys(m.counts).length <= MAX_QUEUES && Object.values(m.counts).every(isQueueCounts))),
  },
  'queue-reply': {
    route: 'supervisor',
    valid: (m) =>
      isCount(m.requestId) &&
      Array.isArray(m.results) &&
      m.results.length <= MAX_QUEUES &&
      m.results.every((r) => isObj(r) && isQueueName(r.queue) && typeof r.ok === 'boolean'),
  },
} as const satisfies Record<WorkerMessage[typeof TAG], { route: WorkerRoute; valid: Valid }>;

type WorkerKind = keyof typeof WORKER_MESSAGES;
/** The worker messages the policy steps (route `policy`). */
export type PolicyMessage = Extract<WorkerMessage, { [TAG]: { [K in WorkerKind]: (typeof WORKER_MESSAGES)[K]['route'] extends 'policy' ? K : never }[WorkerKind] }>;
/** The worker messages the supervisor answers itself (route `supervisor`), by kind. */
export type SupervisorMessageKind = { [K in WorkerKind]: (typeof WORKER_MESSAGES)[K]['route'] extends 'supervisor' ? K : never }[WorkerKind];

export function routeOf(m: WorkerMessage): WorkerRoute {
  return WORKER_MESSAGES[m[TAG]].route;
}

export function isPolicyMessage(m: WorkerMessage): m is PolicyMessage {
  return routeOf(m) === 'policy';
}

/**
 * pm2's untagged strings, outside the tagged protocol: a worker's `process.send('ready')` (ready
 * with `wait_ready`), and the primary's `'shutdown'` before a retire (`shutdown_with_message`).
 */
export const APP_READY = 'ready';
export const APP_SHUTDOWN = 'shutdown';

/**
 * Checks a tagged message from a worker. Plain validators rather than a schema library:
 * this runs on the primary's event loop, which is also every connection's accept loop.
 */
export function parseWorkerMessage(value: { [TAG]: unknown }): Parsed<WorkerMessage> {
  const kind = value[TAG];
  const row = typeof kind === 'string' && Object.prototype.hasOwnProperty.call(WORKER_MESSAGES, kind) ? WORKER_MESSAGES[kind as WorkerKind] : undefined;
  const validate: Valid | undefined = row?.valid;
  if (!validate) {
    return {
      ok: false,
      error: `unknown message kind ${JSON.stringify(kind)}; expected one of ${Object.keys(WORKER_MESSAGES).join(', ')}`,
    };
  }
  if (!validate(value as Record<string, unknown>)) {
    return { ok: false, error: `malformed '${String(kind)}' message: ${preview(value)}` };
  }
  return { ok: true, message: value as unknown as WorkerMessage };
}

const TASK_OPS = new Set<string>(['list', 'history', 'cancel', 'pause', 'resume', 'knows'] satisfies TaskOp[]);

/** Primary → worker, one row a kind: its validator (all are handled by the worker runtime). */
const PRIMARY_MESSAGES: Record<PrimaryMessage[typeof TAG], Valid> = {
  retire: (m) => isStr(m.reason) && isCount(m.idleGraceMs) && isOptionalCount(m.drainTimeoutMs),
  abandon: () => true,
  'list-tasks': (m) => isCount(m.requestId),
  'sync-ack': (m) => isCount(m.seq),
  'queue-command': (m) => isCount(m.requestId) && (m.action === 'pause' || m.action === 'resume') && isQueueNames(m.queues),
  'reopen-logs': (m) => isCount(m.seq),
  grant: (m) => Array.isArray(m.refs) && m.refs.every(isCount),
  'task-op': (m) =>
    isCount(m.requestId) && isStr(m.op) && TASK_OPS.has(m.op) && (m.id === undefined || isStr(m.id)) && (m.type === undefined || isStr(m.type)),
};

/** Checks a tagged message from the primary (the worker side of the same contract). */
export function parsePrimaryMessage(value: { [TAG]: unknown }): Parsed<PrimaryMessage> {
  const kind = value[TAG];
  if (typeof kind !== 'string' || !Object.prototype.hasOwnProperty.call(PRIMARY_MESSAGES, kind)) {
    return { ok: false, error: `unknown message kind ${JSON.stringify(kind)}` };
  }
  const ok = PRIMARY_MESSAGES[kind as PrimaryMessage[typeof TAG]](value as Record<string, unknown>);
  return ok ? { ok: true, message: value as unknown as PrimaryMessage } : { ok: false, error: `malformed '${kind}' message` };
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
