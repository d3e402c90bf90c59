import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TASK_TYPE_DEFAULTS, parseTaskTypes, type TaskTypeSettings } from '../../src/config/task-types';
import type { TaskRegistry } from '../../src/worker/tasks';

const KEY = Symbol.for('smartworkers.tasks');
let registry: TaskRegistry;

const type = (settings: Partial<TaskTypeSettings>): TaskTypeSettings => ({ ...TASK_TYPE_DEFAULTS, ...settings });

beforeEach(async () => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
  const { vi } = await import('vitest');
  vi.resetModules();
  registry = (await import('../../src/worker/tasks')).taskRegistry();
});

afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
});

/** A task that runs until released (or its signal aborts it), recording its start. */
function gate(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('managed tasks (in-process permits outside smartworkers)', () => {
  it('runs at most `concurrency` at once, queued ones by priority, and lists them as queued', async () => {
    registry.configure({ taskTypes: { crm: type({ concurrency: 1 }) } });
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const submit = (name: string, priority: number) => {
      const g = gate();
      gates.set(name, g);
      return registry.run(async () => {
        started.push(name);
        await g.promise;
      }, { type: 'crm', priority, description: name });
    };
    const all = [submit('a', 0), submit('low', 1), submit('high', 9), submit('mid', 5)];
    await tick();
    expect(started).toEqual(['a']);
    expect(registry.active().map((t) => [t.description, t.state])).toEqual([['a', 'running'], ['low', 'queued'], ['high', 'queued'], ['mid', 'queued']]);
    expect(registry.counters().managed!.queuedByType).toEqual({ crm: 3 });
    for (const name of ['a', 'high', 'mid', 'low']) {
      gates.get(name)!.release();
      await tick();
    }
    await Promise.all(all);
    expect(started).toEqual(['a', 'high', 'mid', 'low']);
    expect(registry.stats().byType.crm).toMatchObject({ started: 4, completed: 4, active: 0 });
  });

  it('cancel: a queued task never starts, a running one sees its signal aborted', async () => {
    registry.configure({ taskTypes: { crm: type({ concurrency: 1 }) } });
    let reason: unknown;
    const running = registry.run((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((reason = signal.reason)))), { type: 'crm' });
    let queuedStarted = false;
    const queued = registry.run(() => {
      queuedStarted = true;
    }, { type: 'crm' });
    await tick();
    const [first, second] = registry.active();
    expect(registry.cancel(second!.id)).toEqual({ outcome: 'dequeued', type: 'crm' });
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(registry.cancel(first!.id)).toEqual({ outcome: 'signalled', type: 'crm' });
    await expect(running).rejects.toBe('cancelled');
    expect(reason).toBe('cancelled');
    expect(queuedStarted).toBe(false);
    expect(registry.stats().cancelled).toBe(2);
    expect(registry.cancel(first!.id)).toEqual({ outcome: 'ended', type: 'crm', status: 'cancelled' });
    expect(registry.cancel('nope')).toEqual({ outcome: 'unknown' });
    const plain = registry.register({ type: 'email' });
    expect(registry.cancel(plain)).toEqual({ outcome: 'not-cancellable', type: 'email' });
  });

  it('a forced stop aborts running signals with its reason; queued tasks never start, even when a permit comes back', async () => {
    registry.configure({ taskTypes: { crm: type({ concurrency: 1 }) } });
    const reasons: unknown[] = [];
    const running = registry.run((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(reasons.push(signal.reason)))), { type: 'crm' });
    let queuedStarted = false;
    const queued = registry.run(() => {
      queuedStarted = true;
    }, { type: 'crm' });
    const plain = registry.run((signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(reasons.push(signal.reason)))), { type: 'email' });
    await tick();
    expect(registry.active().map((t) => t.state ?? 'running')).toEqual(['running', 'queued', 'running']);
    registry.abortAll('forced_stop');
    await expect(queued).rejects.toMatchObject({ name: 'AbortError', message: 'task aborted (forced_stop)' });
    await expect(running).rejects.toBe(1);
    await plain;
    await tick();
    expect(reasons).toEqual(['forced_stop', 'forced_stop']);
    expect(queuedStarted).toBe(false);
    expect(registry.active()).toEqual([]);
  });

  it('a managed function without a signal parameter gets no live signal: not cancellable while running, still limited and time-limited', async () => {
    registry.configure({ taskTypes: { crm: type({ concurrency: 1, timeLimit: 20 }) } });
    const alerts: string[] = [];
    let alerted!: () => void;
    const softLimit = new Promise<void>((resolve) => (alerted = resolve));
    registry.onAlert((kind) => {
      alerts.push(kind);
      alerted();
    });
    let release!: () => void;
    let seen: unknown = 'unset';
    const running = registry.run(function (this: unknown) {
      seen = arguments.length > 0 ? (arguments[0] as AbortSignal).aborted : 'none';
      return new Promise<void>((resolve) => (release = resolve));
    }, { type: 'crm' });
    const queued = registry.run(() => 'second', { type: 'crm' });
    await tick();
    const [first] = registry.active();
    expect(registry.active().map((t) => t.state)).toEqual(['running', 'queued']);
    expect(seen).toBe(false); // the shared idle signal, never aborted
    expect(registry.cancel(first!.id)).toEqual({ outcome: 'not-cancellable', type: 'crm' });
    await softLimit;
    expect(alerts).toEqual(['time_limit']); // counted and reported without a signal to abort
    release();
    await running;
    await expect(queued).resolves.toBe('second');
  });

  it('a type without settings also gets a signal that cancel aborts', async () => {
    const done = registry.run((signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))), { type: 'email' });
    expect(registry.cancel(registry.active()[0]!.id).outcome).toBe('signalled');
    await expect(done).resolves.toBe('cancelled');
    expect(registry.history().map((h) => h.status)).toEqual(['cancelled']);
    expect(registry.counters().managed).toBeUndefined(); // nothing managed: the report stays as before
  });

  it('the soft time limit aborts the signal; the hard one fails the task as timed out', async () => {
    registry.configure({ taskTypes: { slow: type({ timeLimit: 20, hardTimeLimit: 60 }) } });
    const alerts: string[] = [];
    registry.onAlert((kind) => alerts.push(kind));
    const reasons: unknown[] = [];
    const outcome = registry.run((signal) => {
      signal.addEventListener('abort', () => reasons.push(signal.reason));
      return new Promise(() => {}); // ignores its signal: only the hard limit ends it
    }, { type: 'slow' });
    await expect(outcome).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(reasons).toEqual(['time_limit']); // already aborted: a signal aborts once
    expect(alerts).toEqual(['time_limit', 'hard_time_limit']);
    expect(registry.history()[0]).toMatchObject({ status: 'failed', error: 'timed out' });
    expect(registry.hasActive()).toBe(false);
  });

  it('retries a rejected run with backoff, then fails with its error', async () => {
    registry.configure({ taskTypes: { flaky: type({ retries: 2, retryDelay: 5 }) } });
    let calls = 0;
    await expect(registry.run(() => Promise.reject(new Error(`try ${++calls}`)), { type: 'flaky' })).rejects.toThrow('try 3');
    expect(calls).toBe(3);
    expect(registry.counters().managed!.retries).toBe(2);
    let second = 0;
    await expect(registry.run(() => (++second < 2 ? Promise.reject(new Error('once')) : 'ok'), { type: 'flaky' })).resolves.toBe('ok');
    expect(registry.stats().byType.flaky).toMatchObject({ started: 2, completed: 1, failed: 1 });
  });

  it('pause holds new runs of a type (queued) until resume; other types run', async () => {
    registry.pause('crm');
    let ran = false;
    const held = registry.run(() => {
      ran = true;
    }, { type: 'crm' });
    await registry.run(() => undefined, { type: 'email' });
    await tick();
    expect(ran).toBe(false);
    expect(registry.active()[0]).toMatchObject({ type: 'crm', state: 'queued' });
    registry.resume('crm');
    await held;
    expect(ran).toBe(true);
  });

  it('history keeps the last N ended tasks, with the error of failed ones', async () => {
    registry.configure({ historySize: 2 });
    await registry.run(() => 1, { type: 'a' });
    await registry.run(() => Promise.reject(new Error('smtp down')), { type: 'b' }).catch(() => {});
    await registry.run(() => 3, { type: 'c' });
    expect(registry.history().map((h) => [h.type, h.status, h.error])).toEqual([['b', 'failed', 'smtp down'], ['c', 'completed', undefined]]);
  });

  it('flags a task overdue once, past 3 × its estimate', () => {
    const alerts: string[] = [];
    registry.onAlert((kind, task) => alerts.push(`${kind} ${task.type}`));
    registry.register({ type: 'report', estimatedMs: 10 });
    registry.sweepOverdue(Date.now() + 20);
    expect(alerts).toEqual([]);
    registry.sweepOverdue(Date.now() + 31);
    registry.sweepOverdue(Date.now() + 100);
    expect(alerts).toEqual(['overdue report']);
    expect(registry.active()[0]!.overdue).toBe(true);
  });
});

describe('task_types validation', () => {
  it.each([
    [{ crm: { concurrency: -1 } }, 'expected `task_types.crm.concurrency` to be a whole number >= 0 (0 = no limit), got -1'],
    [{ crm: { priority: 'high' } }, 'expected `task_types.crm.priority` to be a number (higher runs first), got "high"'],
    [{ crm: { concurency: 2 } }, 'unknown setting `task_types.crm.concurency`; a task type takes concurrency, priority, time_limit, hard_time_limit, retries, retry_delay, stale_after'],
    [{ crm: { time_limit: '1m', hard_time_limit: '30s' } }, 'expected `task_types.crm.hard_time_limit` (30000ms) to be above time_limit (60000ms): the soft limit warns first'],
    [{ 'bad type!': {} }, "expected the task type name \"bad type!\" in `task_types` to be 1-64 letters, digits, '_', '.', ':' or '-'"],
    [[1], 'expected `task_types` to be a map of task types to { concurrency, priority, time_limit, hard_time_limit, retries, retry_delay, stale_after }, got [1]'],
  ])('%j: one line', (raw, error) => {
    expect(parseTaskTypes(raw)).toEqual({ ok: false, error });
  });

  it('accepts durations, counts and numbers, from YAML or JSON text', () => {
    expect(parseTaskTypes('{"crm":{"concurrency":2,"time_limit":"30s","priority":-1}}')).toEqual({
      ok: true,
      value: { crm: { ...TASK_TYPE_DEFAULTS, concurrency: 2, timeLimit: 30_000, priority: -1 } },
    });
  });
});
