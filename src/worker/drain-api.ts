/**
 * The drain the app takes part in: `onDrain` in `require('smartworkers')`.
 *
 * When smartworkers retires or stops a worker (recycle, reload, scale-down, stop), the worker
 * stops taking new connections at once; requests finish by themselves, but connections that
 * never go idle — WebSockets, server-sent events, long downloads — need the app: it is told
 * here, at once, with the deadline by which to close them (`drain_timeout`, within
 * `graceful_timeout` on a stop). What is still open then is cut by smartworkers, and that is
 * logged, counted and reflected in the exit code.
 *
 * The listeners live on a global symbol, like the task registry, so every copy of the package
 * in a process shares them. Outside smartworkers (plain `node app.js`) they are never called.
 */

/** What a drain listener is told besides the deadline. */
export interface DrainInfo {
  /** Epoch ms by which long-lived connections must be closed (the same as the first argument). */
  deadline: number;
  /** ms from now to the deadline, when the listener is called. */
  msLeft: number;
  /** Why: `reload`, `max_requests`, `memory`, `manual`, `scale`, `stop`, … ; `primary-lost` without a primary. */
  reason: string;
}

export type DrainListener = (deadline: number, info: DrainInfo) => void;

interface DrainRegistry {
  listeners: Set<DrainListener>;
  /** Set once the drain began: listeners added later are called at once. */
  started: { deadline: number; reason: string } | null;
}

const KEY = Symbol.for('smartworkers.drain');

function registry(): DrainRegistry {
  const store = globalThis as unknown as Record<symbol, DrainRegistry | undefined>;
  return (store[KEY] ??= { listeners: new Set(), started: null });
}

function call(listener: DrainListener, started: { deadline: number; reason: string }): void {
  try {
    listener(started.deadline, { deadline: started.deadline, msLeft: Math.max(0, started.deadline - Date.now()), reason: started.reason });
  } catch (err) {
    // The app's bug must not stop the drain (nor the other listeners).
    process.stderr.write(`smartworkers worker ${process.pid}: an onDrain listener threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
}

/**
 * Calls `listener(deadline, info)` once when this worker starts draining (at once if it already
 * has): close WebSockets with 1001 Going Away, end server-sent event streams, let downloads
 * finish — all before `deadline` (epoch ms). Returns a function that removes the listener.
 *
 * ```js
 * const { onDrain } = require('smartworkers');
 * onDrain(() => { for (const ws of wss.clients) ws.close(1001, 'server restarting'); });
 * ```
 */
export function onDrain(listener: DrainListener): () => void {
  const r = registry();
  if (r.started !== null) {
    const started = r.started;
    process.nextTick(() => call(listener, started));
    return () => {};
  }
  r.listeners.add(listener);
  return () => void r.listeners.delete(listener);
}

/** The drain's deadline (epoch ms) once this worker drains; null while it serves. */
export function drainDeadline(): number | null {
  return registry().started?.deadline ?? null;
}

/** The runtime: the drain began. Each listener is called once; a second call does nothing. */
export function startDrain(deadline: number, reason: string): void {
  const r = registry();
  if (r.started !== null) return;
  r.started = { deadline, reason };
  const listeners = [...r.listeners];
  r.listeners.clear();
  for (const listener of listeners) call(listener, r.started);
}
