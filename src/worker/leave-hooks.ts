/**
 * Hooks for integrations that hold work the runtime cannot see the inside of (the BullMQ adapter,
 * `smartworkers/bullmq`): told when the worker starts leaving, and given a short, bounded moment
 * before it exits over tasks the primary gave up on.
 *
 * - `onLeave(listener)`: the worker was retired (recycle, reload, stop) or lost its primary. Stop
 *   taking new work at once; work already running is waited for as registered tasks.
 * - `beforeAbandon(hook)`: the primary gives up on the running tasks (`max_task_wait`,
 *   `graceful_timeout`, a forced stop). The runtime awaits every hook, at most
 *   {@link ABANDON_HOOKS_MS}, then reports the tasks still registered lost and exits: a hook
 *   hands its work back (a job moved back to waiting) and leaves the tasks registered, so that
 *   they are logged and counted as lost like any other.
 *
 * Kept on a global symbol, like the task registry: the runtime preloaded from one copy of the
 * package and the app's own copy must share one set of hooks.
 */
export type LeaveReason = string;

export interface LeaveHooks {
  readonly version: 1;
  leave: Set<(reason: LeaveReason) => void>;
  abandon: Set<() => Promise<unknown>>;
}

/** How long the runtime waits for `beforeAbandon` hooks: well inside a forced stop's 1 s before SIGKILL. */
export const ABANDON_HOOKS_MS = 500;

const KEY = Symbol.for('smartworkers.leave-hooks');

export function leaveHooks(): LeaveHooks {
  const store = globalThis as unknown as Record<symbol, unknown>;
  const existing = store[KEY] as LeaveHooks | undefined;
  if (existing && existing.version === 1) return existing;
  const created: LeaveHooks = { version: 1, leave: new Set(), abandon: new Set() };
  Object.defineProperty(store, KEY, { value: created, configurable: true, writable: false, enumerable: false });
  return created;
}

/** Calls `listener` once the worker starts leaving. Returns the unsubscribe function. */
export function onLeave(listener: (reason: LeaveReason) => void): () => void {
  const hooks = leaveHooks();
  hooks.leave.add(listener);
  return () => hooks.leave.delete(listener);
}

/** Runs `hook` (awaited, bounded) before the worker exits over abandoned tasks. */
export function beforeAbandon(hook: () => Promise<unknown>): () => void {
  const hooks = leaveHooks();
  hooks.abandon.add(hook);
  return () => hooks.abandon.delete(hook);
}

/** The runtime: the worker starts leaving. Listeners never throw into the runtime. */
export function runLeave(reason: LeaveReason): void {
  for (const listener of leaveHooks().leave) {
    try {
      listener(reason);
    } catch {
      // An integration's bug must not stop the drain.
    }
  }
}

/** The runtime: calls `done` once every abandon hook settled, or after `boundMs`. */
export function runAbandon(done: () => void, boundMs = ABANDON_HOOKS_MS): void {
  const hooks = [...leaveHooks().abandon];
  if (hooks.length === 0) {
    done();
    return;
  }
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done();
  };
  // Ref'd: the worker is leaving and must not wait on a hook that never settles.
  const timer = setTimeout(finish, boundMs);
  Promise.allSettled(
    hooks.map(async (hook) => {
      await hook();
    }),
  ).then(finish, finish);
}
