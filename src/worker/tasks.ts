/**
 * Background tasks: the one piece of the worker runtime an app talks to.
 *
 * A worker that smartworkers recycles (max_requests, a memory ceiling, a deploy)
 * stops taking traffic, finishes its requests, and then waits until every task
 * registered here has ended before it exits — so the email, the SMS or the half
 * written batch started from a request is not cut. Work the registry does not know
 * about is not waited for.
 *
 * Tracking is a `Map` insert and delete; nothing is sent per task. The registry only
 * tells the runtime "something changed", and the runtime reports counts to the
 * primary at most every report interval.
 *
 * Types with settings (`task_types`) are managed: a limited type waits for one of the
 * app's permits, which the primary holds (requests batched per event-loop turn); time
 * limits arm timers; rejected runs are retried with backoff. Only those types pay for it.
 */
import type { TaskAlertMessage, TaskCounters, TaskHistoryEntry, TaskInfo, TaskStatus } from '../protocol';
import { STALE_FACTOR, type TaskTypeSettings } from '../config/task-types';
import { LocalPermits, type PermitClient } from './permits-client';

/** What describes a task. Only `type` is required. */
export interface TaskOptions {
  /**
   * A short, low-cardinality kind such as `'email'` or `'invoice-batch'`: the unit of
   * the per-type counts in `stats()`, `/status` and `/metrics`. A missing or empty
   * type is recorded as `'untyped'`.
   */
  type: string;
  /** Free text shown when the task is listed or reported lost, e.g. the recipient. */
  description?: string;
  /** How long you expect it to take, ms; shown next to the task in listings. */
  estimatedMs?: number;
  /**
   * Your own id (e.g. a job id), for `unregister`. If a task with that id is already
   * active, a suffix makes it unique: always use the id `register` returns.
   */
  id?: string;
  /**
   * Higher runs first among tasks of the same type waiting for a permit. Default: the type's
   * `priority` in `task_types`, else 0.
   */
  priority?: number;
}

/** `signal.reason` of the AbortSignal `run` passes to your function (`fn(signal)`). */
export type AbortReason = 'cancelled' | 'time_limit' | 'hard_time_limit' | 'forced_stop';

/** One ended task, as `history()` returns it (newest last). */
export type { TaskHistoryEntry } from '../protocol';

/** Counts of one task type since the worker started. */
export interface TaskTypeStats {
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  /** Running now. */
  active: number;
}

/** Counts since the worker (or, outside smartworkers, the process) started. */
export interface TaskStats extends TaskTypeStats {
  byType: Record<string, TaskTypeStats>;
}

/**
 * The background-task API, `tasks` in `require('smartworkers')` and
 * `import { tasks } from 'smartworkers'`.
 *
 * Contract: **register every piece of work that must outlive the response that
 * started it, and end it exactly once.** In return, a worker that is being recycled
 * or stopped keeps running (while taking no new traffic) until its registered tasks
 * have ended — bounded by `max_task_wait` for a recycle and `graceful_timeout` for a
 * stop, after which each task still running is reported lost by id, type and
 * description. Prefer `run` and `track`, which end the task for you; `register`
 * and `unregister` are for work whose end you observe some other way (a callback,
 * a queue acknowledgement).
 *
 * Every method is synchronous and cheap (no I/O, no message per task), safe to call
 * on every request, and works the same outside smartworkers (plain `node app.js`,
 * unit tests) where nothing waits for the tasks. Methods never throw on their own
 * account; `run` and `track` pass your work's own error on.
 *
 * The methods do not use `this`: `const { run } = tasks` works.
 */
export interface Tasks {
  /**
   * Records the start of a task and returns its id. End it with `unregister(id)`.
   * A task never unregistered holds its worker until the wait bound, then counts as lost.
   */
  register(options: TaskOptions): string;
  /**
   * Records the end of a task. `status` defaults to `'completed'`. An unknown or
   * already ended id is ignored (returns false), so calling it twice is harmless.
   * @returns whether the id was an active task.
   */
  unregister(id: string, status?: TaskStatus): boolean;
  /**
   * Runs `fn` as a task: registers it, awaits it, records it completed or failed,
   * and resolves with its value or rejects with its error. A synchronous throw from
   * `fn` becomes a rejection. Fire-and-forget is fine (`tasks.run(() => send(), …)`
   * without `await`), but as with any promise, a rejection nobody handles is an
   * unhandled rejection: add a `.catch` if the work can fail.
   */
  run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options: TaskOptions): Promise<T>;
  /**
   * Tracks a promise that is already running. Returns a promise that settles like it,
   * after the task has been recorded completed (fulfilled) or failed (rejected).
   */
  track<T>(promise: PromiseLike<T>, options: TaskOptions): Promise<T>;
  /** True while at least one task is running. */
  hasActive(): boolean;
  /** The running tasks, oldest first (copies: changing them changes nothing). */
  active(): TaskInfo[];
  /** Counts since the worker started, in total and by type. */
  stats(): TaskStats;
  /**
   * Cancels a task started with `run`: a queued one never starts (its `run` rejects with an
   * `AbortError`), a running one has its signal aborted with reason `'cancelled'` and is recorded
   * cancelled when it settles.
   */
  cancel(id: string): CancelOutcome;
  /** New `run` calls of this type (or of every type) wait until `resume`; running tasks go on. */
  pause(type?: string): void;
  resume(type?: string): void;
  /** The last ended tasks (up to `task_history`), oldest first. */
  history(): TaskHistoryEntry[];
}

/** What `cancel` did. */
export type CancelOutcome =
  | { outcome: 'dequeued' | 'signalled'; type: string }
  | { outcome: 'not-cancellable'; type: string }
  | { outcome: 'ended'; type: string; status: TaskStatus }
  | { outcome: 'unknown' };

/** The registry as the runtime sees it: the public API plus hooks for reporting and drain. */
export interface TaskRegistry extends Tasks {
  /** Layout version of this shared object; a copy of the package only adopts a registry it understands. */
  readonly version: typeof REGISTRY_VERSION;
  /** Calls `listener` after every register and unregister. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Cumulative counters in the shape of the IPC report. */
  counters(): TaskCounters;
  /** Applies the app's `task_types` and history size (the runtime, once, before the app loads). */
  configure(options: { taskTypes?: Record<string, TaskTypeSettings>; historySize?: number }): void;
  /** Where permits of limited types come from (the runtime sets the primary's). */
  setPermits(factory: (granted: (ref: number) => void) => PermitClient): void;
  /** Rare per-task events for the primary (overdue, time limits). */
  onAlert(listener: (kind: TaskAlertMessage['kind'], task: TaskInfo) => void): void;
  /** A forced stop: aborts every running task's signal with `reason`; queued ones are withdrawn and never start. */
  abortAll(reason: AbortReason): void;
  /** Whether this worker has seen or been configured with the type. */
  knowsType(type: string): boolean;
  /** Checks running tasks against their stale threshold; flags and alerts each once. */
  sweepOverdue(now?: number): void;
}

const REGISTRY_VERSION = 2 as const;

/**
 * Where the one registry of a process lives. A global symbol, not a module variable:
 * the runtime preloaded from one copy of the package (say a global install) and the
 * app's own copy (or its CJS and ESM entries) must count the same tasks.
 */
export const REGISTRY_KEY = Symbol.for('smartworkers.tasks');

const STATUSES: ReadonlySet<string> = new Set<TaskStatus>(['completed', 'failed', 'cancelled']);

/** Default of `task_history`. */
export const DEFAULT_HISTORY = 100;

/** A running or queued task. `info` is what listings copy; the rest is bookkeeping. */
interface Entry {
  info: TaskInfo;
  /** Set for `run` tasks: their signal. */
  controller: AbortController | null;
  /** Cancel asked for: the task ends 'cancelled' whatever it settles with. */
  cancelled: boolean;
  /** Managed tasks only (types with settings, or a paused type). */
  m: Managed | null;
}

interface Managed {
  settings: TaskTypeSettings | undefined;
  /** Permit ref while requested or held; 0 = none. */
  ref: number;
  holding: boolean;
  /** Resolves the wait of a queued task: true = go on, false = cancelled. */
  wake: ((go: boolean) => void) | null;
  timers: NodeJS.Timeout[];
  timedOut: boolean;
  queuedAt: number;
  /** Why a queued task was withdrawn, when not a cancel (a forced stop). */
  stopReason?: AbortReason;
}

let idle: AbortSignal | null = null;
/** One shared signal that never aborts, for functions that take none (`() => send()`). */
function idleSignal(): AbortSignal {
  return (idle ??= new AbortController().signal);
}

function abortError(reason: string): Error {
  const error = new Error(`task ${reason === 'cancelled' ? 'cancelled' : `aborted (${reason})`}`);
  error.name = reason === 'hard_time_limit' ? 'TimeoutError' : 'AbortError';
  return error;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return 'unknown error';
  }
}

function createRegistry(): TaskRegistry {
  const running = new Map<string, Entry>();
  const totals: TaskTypeStats = { started: 0, completed: 0, failed: 0, cancelled: 0, active: 0 };
  const byType = new Map<string, TaskTypeStats>();
  let listeners: Array<() => void> = [];
  let alertListener: (kind: TaskAlertMessage['kind'], task: TaskInfo) => void = () => {};
  let sequence = 0;

  // Managed tasks: nothing below is touched by a type without settings while nothing is paused.
  let settingsByType = new Map<string, TaskTypeSettings>();
  const paused = new Set<string>();
  let pausedAll = false;
  let pausedWaiters: Entry[] = [];
  const queuedByType = new Map<string, number>();
  const managedCounts = { overdue: 0, softLimitHits: 0, hardLimitHits: 0, retries: 0 };
  let managedSeen = false;
  const refs = new Map<number, Entry>();
  let nextRef = 1;
  const granted = (ref: number): void => {
    const entry = refs.get(ref);
    if (entry === undefined || entry.m === null || entry.m.ref !== ref) {
      permits.release(ref); // withdrawn meanwhile: give it straight back
      return;
    }
    entry.m.holding = true;
    entry.m.wake?.(true);
  };
  let permits: PermitClient = new LocalPermits(granted);

  // History: a ring of the last N ended tasks (bounded memory whatever the rate). Parallel
  // slots, the task's own record kept as it is: ending a task allocates nothing here, and
  // `history()` builds the entries only when asked.
  let historySize = DEFAULT_HISTORY;
  let ringInfo: Array<Pick<TaskInfo, 'id' | 'type' | 'startedAt' | 'description'> | undefined> = new Array(historySize);
  let ringStatus: TaskStatus[] = new Array(historySize);
  let ringMs: number[] = new Array(historySize);
  let ringError: Array<string | undefined> = new Array(historySize);
  let ringNext = 0;

  function remember(info: Pick<TaskInfo, 'id' | 'type' | 'startedAt' | 'description'>, status: TaskStatus, durationMs: number, error: string | undefined): void {
    ringInfo[ringNext] = info;
    ringStatus[ringNext] = status;
    ringMs[ringNext] = durationMs;
    ringError[ringNext] = error;
    ringNext = ringNext + 1 === historySize ? 0 : ringNext + 1;
  }

  // Generated ids: the pid keeps them distinct across the workers whose lost tasks the primary
  // logs together (read once: process.pid is a getter).
  const idPrefix = `${process.pid}-`;

  function notify(): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // A runtime hook must never turn into an error in the app's request handler.
      }
    }
  }

  function alert(kind: TaskAlertMessage['kind'], info: TaskInfo): void {
    try {
      alertListener(kind, { ...info });
    } catch {
      // as for notify
    }
  }

  function uniqueId(wanted: unknown): string {
    if (typeof wanted === 'string' || typeof wanted === 'number') {
      const id = String(wanted);
      if (!running.has(id)) return id;
      let n = 2;
      while (running.has(`${id}#${n}`)) n++;
      return `${id}#${n}`;
    }
    let id = idPrefix + ++sequence;
    while (running.has(id)) id = idPrefix + ++sequence;
    return id;
  }

  function typeStats(type: string): TaskTypeStats {
    let stats = byType.get(type);
    if (stats === undefined) {
      stats = { started: 0, completed: 0, failed: 0, cancelled: 0, active: 0 };
      byType.set(type, stats);
    }
    return stats;
  }

  function add(options: TaskOptions, controller: AbortController | null): Entry {
    // Coerce rather than throw: a typo must not fail the request that started the task,
    // and the record must stay valid for the IPC contract (strings, finite numbers).
    const given: Partial<TaskOptions> = typeof options === 'object' && options !== null ? options : {};
    const type = typeof given.type === 'string' && given.type !== '' ? given.type : 'untyped';
    const id = uniqueId(given.id);
    const info: TaskInfo = { id, type, startedAt: Date.now() };
    if (typeof given.description === 'string') info.description = given.description;
    if (typeof given.estimatedMs === 'number' && Number.isFinite(given.estimatedMs) && given.estimatedMs >= 0) {
      info.estimatedMs = given.estimatedMs;
    }
    if (typeof given.priority === 'number' && Number.isFinite(given.priority)) info.priority = given.priority;
    const entry: Entry = { info, controller, cancelled: false, m: null };
    running.set(id, entry);
    const stats = typeStats(type);
    stats.started++;
    stats.active++;
    totals.started++;
    totals.active++;
    return entry;
  }

  function register(options: TaskOptions): string {
    const entry = add(options, null);
    notify();
    return entry.info.id;
  }

  function end(id: string, status: TaskStatus, error?: unknown): boolean {
    const entry = running.get(id);
    if (entry === undefined) return false;
    running.delete(id);
    const info = entry.info;
    const outcome: TaskStatus = entry.cancelled ? 'cancelled' : STATUSES.has(status) ? status : 'completed';
    const stats = typeStats(info.type);
    stats[outcome]++;
    stats.active--;
    totals[outcome]++;
    totals.active--;
    if (entry.m !== null) settle(entry);
    if (historySize > 0) remember(info, outcome, Date.now() - info.startedAt, error !== undefined && outcome !== 'completed' ? messageOf(error) : undefined);
    notify();
    return true;
  }

  function unregister(id: string, status: TaskStatus = 'completed'): boolean {
    return end(id, status);
  }

  async function run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options: TaskOptions): Promise<T> {
    const type = typeof options === 'object' && options !== null && typeof options.type === 'string' && options.type !== '' ? options.type : 'untyped';
    if (settingsByType.size > 0 || pausedAll || paused.size > 0) {
      const settings = settingsByType.get(type);
      if (settings !== undefined || pausedAll || paused.has(type)) return runManaged(fn, options, settings);
    }
    // The unmanaged path: a Map insert and delete. An AbortSignal costs microseconds in Node 20
    // (far more than the tracking): only a function that declares a parameter gets a live one.
    const controller = fn.length > 0 ? new AbortController() : null;
    const entry = add(options, controller);
    notify();
    const id = entry.info.id;
    try {
      const value = await fn(controller === null ? idleSignal() : controller.signal);
      end(id, 'completed');
      return value;
    } catch (error) {
      end(id, 'failed', error);
      throw error;
    }
  }

  // ---------------------------------------------------------------- managed tasks

  function queued(type: string, delta: number): void {
    queuedByType.set(type, (queuedByType.get(type) ?? 0) + delta);
  }

  function markQueued(entry: Entry): void {
    entry.info.state = 'queued';
    queued(entry.info.type, 1);
  }

  function markRunning(entry: Entry): void {
    if (entry.info.state === 'queued') queued(entry.info.type, -1);
    entry.info.state = 'running';
    entry.info.startedAt = Date.now();
  }

  /** Ends the bookkeeping of a managed task: timers, permit, queued count. */
  function settle(entry: Entry): void {
    const m = entry.m!;
    for (const t of m.timers) clearTimeout(t);
    m.timers = [];
    returnPermit(entry);
    if (entry.info.state === 'queued') {
      queued(entry.info.type, -1);
      entry.info.state = 'running';
    }
    m.wake?.(false);
    m.wake = null;
    pausedWaiters = pausedWaiters.filter((e) => e !== entry);
  }

  function returnPermit(entry: Entry): void {
    const m = entry.m!;
    if (m.ref === 0) return;
    refs.delete(m.ref);
    permits.release(m.ref);
    m.ref = 0;
    m.holding = false;
  }

  function isPaused(type: string): boolean {
    return pausedAll || paused.has(type);
  }

  /** Waits until the task may run: not paused, and a permit held when its type is limited. False = cancelled. */
  async function admit(entry: Entry): Promise<boolean> {
    const m = entry.m!;
    while (isPaused(entry.info.type)) {
      pausedWaiters.push(entry);
      const go = await new Promise<boolean>((resolve) => (m.wake = resolve));
      m.wake = null;
      if (!go || entry.cancelled) return false;
    }
    const limit = m.settings?.concurrency ?? 0;
    if (limit > 0) {
      m.ref = nextRef++;
      refs.set(m.ref, entry);
      const go = new Promise<boolean>((resolve) => (m.wake = resolve));
      permits.acquire(m.ref, entry.info.type, entry.info.priority ?? 0, limit);
      const ok = await go;
      m.wake = null;
      if (!ok || entry.cancelled) return false;
    }
    return !entry.cancelled;
  }

  function arm(entry: Entry, controller: AbortController | null, onHard: (error: Error) => void): void {
    const m = entry.m!;
    const settings = m.settings;
    if (settings === undefined) return;
    if (settings.timeLimit > 0) {
      const t = setTimeout(() => {
        managedCounts.softLimitHits++;
        alert('time_limit', entry.info);
        controller?.abort('time_limit');
      }, settings.timeLimit);
      t.unref();
      m.timers.push(t);
    }
    if (settings.hardTimeLimit > 0) {
      const t = setTimeout(() => {
        m.timedOut = true;
        managedCounts.hardLimitHits++;
        alert('hard_time_limit', entry.info);
        controller?.abort('hard_time_limit');
        const error = abortError('hard_time_limit');
        error.message = `timed out: hard_time_limit (${settings.hardTimeLimit}ms) passed`;
        end(entry.info.id, 'failed', new Error('timed out'));
        onHard(error);
      }, settings.hardTimeLimit);
      t.unref();
      m.timers.push(t);
    }
  }

  function delay(entry: Entry, ms: number): Promise<boolean> {
    const m = entry.m!;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(true), ms);
      t.unref();
      m.timers.push(t);
      m.wake = (go) => {
        clearTimeout(t);
        resolve(go);
      };
    }).finally(() => {
      m.wake = null;
    });
  }

  async function runManaged<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, options: TaskOptions, settings: TaskTypeSettings | undefined): Promise<T> {
    managedSeen = true;
    const entry = add(options, null);
    const m: Managed = { settings, ref: 0, holding: false, wake: null, timers: [], timedOut: false, queuedAt: entry.info.startedAt };
    entry.m = m;
    if (entry.info.priority === undefined && settings !== undefined) entry.info.priority = settings.priority;
    markQueued(entry);
    notify();
    const id = entry.info.id;
    const retries = settings?.retries ?? 0;
    for (let attempt = 1; ; attempt++) {
      if (retries > 0) entry.info.attempt = attempt;
      if (!(await admit(entry))) {
        end(id, 'cancelled');
        throw abortError(m.stopReason ?? 'cancelled');
      }
      markRunning(entry);
      // As on the unmanaged path: creating an AbortSignal (and collecting it) costs more than the
      // rest of a managed task together; only a function that declares a parameter can see one.
      const controller = fn.length > 0 ? new AbortController() : null;
      entry.controller = controller;
      let hardFail: ((error: Error) => void) | null = null;
      const hard = settings !== undefined && settings.hardTimeLimit > 0 ? new Promise<never>((_, reject) => (hardFail = reject)) : null;
      arm(entry, controller, (error) => hardFail?.(error));
      notify();
      try {
        const work = Promise.resolve().then(() => fn(controller === null ? idleSignal() : controller.signal));
        const value = hard === null ? await work : await Promise.race([work, hard]);
        end(id, 'completed');
        return value;
      } catch (error) {
        if (m.timedOut || !running.has(id)) throw error; // recorded 'failed' (timed out) already
        for (const t of m.timers) clearTimeout(t);
        m.timers = [];
        returnPermit(entry);
        if (entry.cancelled || attempt > retries) {
          end(id, 'failed', error);
          throw error;
        }
        managedCounts.retries++;
        markQueued(entry);
        notify();
        if (!(await delay(entry, (settings?.retryDelay ?? 1_000) * 2 ** (attempt - 1))) || entry.cancelled) {
          end(id, 'cancelled', error);
          throw abortError('cancelled');
        }
      }
    }
  }

  function cancel(id: string): CancelOutcome {
    const entry = running.get(String(id));
    if (entry === undefined) {
      const ended = history()
        .reverse()
        .find((h) => h.id === id);
      return ended ? { outcome: 'ended', type: ended.type, status: ended.status } : { outcome: 'unknown' };
    }
    const type = entry.info.type;
    if (entry.m !== null && entry.info.state === 'queued') {
      entry.cancelled = true;
      returnPermit(entry);
      const wake = entry.m.wake;
      entry.m.wake = null;
      wake?.(false);
      return { outcome: 'dequeued', type };
    }
    if (entry.controller === null) return { outcome: 'not-cancellable', type };
    entry.cancelled = true;
    entry.controller.abort('cancelled');
    return { outcome: 'signalled', type };
  }

  function pause(type?: string): void {
    if (type === undefined) pausedAll = true;
    else paused.add(String(type));
  }

  function resume(type?: string): void {
    if (type === undefined) {
      pausedAll = false;
      paused.clear();
    } else paused.delete(String(type));
    const waiting = pausedWaiters;
    pausedWaiters = [];
    for (const entry of waiting) {
      const wake = entry.m?.wake;
      if (entry.m) entry.m.wake = null;
      wake?.(true); // admit() checks the pause again: one still paused queues again
    }
  }

  function history(): TaskHistoryEntry[] {
    const out: TaskHistoryEntry[] = [];
    for (let i = 0; i < historySize; i++) {
      const slot = (ringNext + i) % historySize;
      const info = ringInfo[slot];
      if (info === undefined) continue;
      const record: TaskHistoryEntry = { id: info.id, type: info.type, status: ringStatus[slot]!, startedAt: info.startedAt, durationMs: ringMs[slot]! };
      if (info.description !== undefined) record.description = info.description;
      const error = ringError[slot];
      if (error !== undefined) record.error = error;
      out.push(record);
    }
    return out;
  }

  function staleAfter(entry: Entry): number {
    const configured = entry.m?.settings?.staleAfter ?? settingsByType.get(entry.info.type)?.staleAfter ?? 0;
    if (configured > 0) return configured;
    return entry.info.estimatedMs !== undefined ? entry.info.estimatedMs * STALE_FACTOR : 0;
  }

  function sweepOverdue(now = Date.now()): void {
    let flagged = false;
    for (const entry of running.values()) {
      if (entry.info.overdue === true || entry.info.state === 'queued') continue;
      const after = staleAfter(entry);
      if (after > 0 && now - entry.info.startedAt > after) {
        entry.info.overdue = true;
        managedCounts.overdue++;
        managedSeen = true;
        flagged = true;
        alert('overdue', entry.info);
      }
    }
    // The overdue count goes out with the next report, not the next heartbeat.
    if (flagged) notify();
  }

  function track<T>(promise: PromiseLike<T>, options: TaskOptions): Promise<T> {
    const id = register(options);
    return Promise.resolve(promise).then(
      (value) => {
        end(id, 'completed');
        return value;
      },
      (error: unknown) => {
        end(id, 'failed', error);
        throw error;
      },
    );
  }

  function active(): TaskInfo[] {
    return Array.from(running.values(), (entry) => ({ ...entry.info }));
  }

  function stats(): TaskStats {
    const types: Record<string, TaskTypeStats> = {};
    for (const [type, counts] of byType) types[type] = { ...counts };
    return { ...totals, byType: types };
  }

  function counters(): TaskCounters {
    const activeByType: Record<string, number> = {};
    for (const [type, counts] of byType) if (counts.active > 0) activeByType[type] = counts.active;
    const { started, completed, failed, cancelled } = totals;
    const out: TaskCounters = { started, completed, failed, cancelled, activeByType };
    if (managedSeen || managedCounts.overdue > 0) {
      const queuedNow: Record<string, number> = {};
      for (const [type, n] of queuedByType) if (n > 0) queuedNow[type] = n;
      out.managed = { queuedByType: queuedNow, ...managedCounts };
    }
    return out;
  }

  function onChange(listener: () => void): () => void {
    listeners = [...listeners, listener];
    return () => {
      listeners = listeners.filter((l) => l !== listener);
    };
  }

  function configure(options: { taskTypes?: Record<string, TaskTypeSettings>; historySize?: number }): void {
    settingsByType = new Map(Object.entries(options.taskTypes ?? {}));
    if (options.historySize !== undefined && options.historySize !== historySize) {
      const kept = history().slice(-options.historySize);
      historySize = Math.max(0, Math.floor(options.historySize));
      ringInfo = new Array(historySize);
      ringStatus = new Array(historySize);
      ringMs = new Array(historySize);
      ringError = new Array(historySize);
      ringNext = 0;
      if (historySize > 0) for (const record of kept) remember(record, record.status, record.durationMs, record.error);
    }
  }

  function abortAll(reason: AbortReason): void {
    for (const entry of running.values()) {
      if (entry.m !== null && entry.info.state === 'queued') {
        // Never started, and must not start now (a grant could still arrive while the worker
        // leaves): withdrawn as a cancel is; its run rejects with this reason.
        entry.cancelled = true;
        entry.m.stopReason = reason;
        returnPermit(entry);
        const wake = entry.m.wake;
        entry.m.wake = null;
        wake?.(false);
      } else if (entry.controller !== null && !entry.controller.signal.aborted) entry.controller.abort(reason);
    }
  }

  return {
    version: REGISTRY_VERSION,
    register,
    unregister,
    run,
    track,
    hasActive: () => running.size > 0,
    active,
    stats,
    cancel,
    pause,
    resume,
    history,
    counters,
    onChange,
    configure,
    setPermits: (factory) => {
      permits = factory(granted);
    },
    onAlert: (listener) => {
      alertListener = listener;
    },
    abortAll,
    knowsType: (type) => byType.has(type) || settingsByType.has(type),
    sweepOverdue,
  };
}

function isCompatible(value: unknown): value is TaskRegistry {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { version?: unknown }).version === REGISTRY_VERSION &&
    typeof (value as { register?: unknown }).register === 'function'
  );
}

/** The process's one registry, created by whichever copy of the package loads first. */
export function taskRegistry(): TaskRegistry {
  const store = globalThis as unknown as Record<symbol, unknown>;
  const existing = store[REGISTRY_KEY];
  if (isCompatible(existing)) return existing;
  const created = createRegistry();
  // Not writable or enumerable by accident; configurable so tests can start afresh.
  Object.defineProperty(store, REGISTRY_KEY, { value: created, configurable: true, writable: false, enumerable: false });
  return created;
}

/** Exported as `tasks`; see {@link Tasks}. */
export const tasks: Tasks = publicApi(taskRegistry());

function publicApi(registry: TaskRegistry): Tasks {
  // Only the documented methods: the runtime hooks stay off the object apps see.
  return Object.freeze({
    register: registry.register,
    unregister: registry.unregister,
    run: registry.run,
    track: registry.track,
    hasActive: registry.hasActive,
    active: registry.active,
    stats: registry.stats,
    cancel: registry.cancel,
    pause: registry.pause,
    resume: registry.resume,
    history: registry.history,
  });
}
