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
 */
import type { TaskCounters, TaskInfo, TaskStatus } from '../protocol';

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
}

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
  run<T>(fn: () => T | PromiseLike<T>, options: TaskOptions): Promise<T>;
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
}

/** The registry as the runtime sees it: the public API plus hooks for reporting and drain. */
export interface TaskRegistry extends Tasks {
  /** Layout version of this shared object; a copy of the package only adopts a registry it understands. */
  readonly version: typeof REGISTRY_VERSION;
  /** Calls `listener` after every register and unregister. Returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
  /** Cumulative counters in the shape of the IPC report. */
  counters(): TaskCounters;
}

const REGISTRY_VERSION = 1 as const;

/**
 * Where the one registry of a process lives. A global symbol, not a module variable:
 * the runtime preloaded from one copy of the package (say a global install) and the
 * app's own copy (or its CJS and ESM entries) must count the same tasks.
 */
export const REGISTRY_KEY = Symbol.for('smartworkers.tasks');

const STATUSES: ReadonlySet<string> = new Set<TaskStatus>(['completed', 'failed', 'cancelled']);

function createRegistry(): TaskRegistry {
  const running = new Map<string, TaskInfo>();
  const totals: TaskTypeStats = { started: 0, completed: 0, failed: 0, cancelled: 0, active: 0 };
  const byType = new Map<string, TaskTypeStats>();
  let listeners: Array<() => void> = [];
  let sequence = 0;

  function notify(): void {
    for (const listener of listeners) {
      try {
        listener();
      } catch {
        // A runtime hook must never turn into an error in the app's request handler.
      }
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
    // The pid keeps ids distinct across the workers whose lost tasks the primary logs together.
    let id = `${process.pid}-${++sequence}`;
    while (running.has(id)) id = `${process.pid}-${++sequence}`;
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

  function register(options: TaskOptions): string {
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
    running.set(id, info);
    const stats = typeStats(type);
    stats.started++;
    stats.active++;
    totals.started++;
    totals.active++;
    notify();
    return id;
  }

  function unregister(id: string, status: TaskStatus = 'completed'): boolean {
    const info = running.get(id);
    if (info === undefined) return false;
    running.delete(id);
    const outcome: TaskStatus = STATUSES.has(status) ? status : 'completed';
    const stats = typeStats(info.type);
    stats[outcome]++;
    stats.active--;
    totals[outcome]++;
    totals.active--;
    notify();
    return true;
  }

  async function run<T>(fn: () => T | PromiseLike<T>, options: TaskOptions): Promise<T> {
    const id = register(options);
    try {
      const value = await fn();
      unregister(id, 'completed');
      return value;
    } catch (error) {
      unregister(id, 'failed');
      throw error;
    }
  }

  function track<T>(promise: PromiseLike<T>, options: TaskOptions): Promise<T> {
    const id = register(options);
    return Promise.resolve(promise).then(
      (value) => {
        unregister(id, 'completed');
        return value;
      },
      (error: unknown) => {
        unregister(id, 'failed');
        throw error;
      },
    );
  }

  function active(): TaskInfo[] {
    return Array.from(running.values(), (info) => ({ ...info }));
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
    return { started, completed, failed, cancelled, activeByType };
  }

  function onChange(listener: () => void): () => void {
    listeners = [...listeners, listener];
    return () => {
      listeners = listeners.filter((l) => l !== listener);
    };
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
    counters,
    onChange,
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
  });
}
