import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Tasks } from '../../src/worker/tasks';

// Each test gets a fresh registry: drop the process-wide one and re-import the module.
const KEY = Symbol.for('smartworkers.tasks');
let tasks: Tasks;

async function freshModule(): Promise<typeof import('../../src/worker/tasks')> {
  vi.resetModules();
  return import('../../src/worker/tasks');
}

beforeEach(async () => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
  tasks = (await freshModule()).tasks;
});

afterEach(() => {
  delete (globalThis as Record<symbol, unknown>)[KEY];
});

describe('tasks outside smartworkers', () => {
  it('register returns an id, lists the task and counts it; unregister ends it', () => {
    const before = Date.now();
    const id = tasks.register({ type: 'email', description: 'to a@example.com', estimatedMs: 2000 });
    expect(typeof id).toBe('string');
    expect(tasks.hasActive()).toBe(true);
    const [info] = tasks.active();
    expect(info).toEqual({ id, type: 'email', description: 'to a@example.com', estimatedMs: 2000, startedAt: info.startedAt });
    expect(info.startedAt).toBeGreaterThanOrEqual(before);

    expect(tasks.unregister(id)).toBe(true);
    expect(tasks.hasActive()).toBe(false);
    expect(tasks.active()).toEqual([]);
    expect(tasks.stats()).toEqual({
      started: 1,
      completed: 1,
      failed: 0,
      cancelled: 0,
      active: 0,
      byType: { email: { started: 1, completed: 1, failed: 0, cancelled: 0, active: 0 } },
    });
  });

  it('counts each status, by type', () => {
    const a = tasks.register({ type: 'sms' });
    const b = tasks.register({ type: 'sms' });
    const c = tasks.register({ type: 'batch' });
    tasks.register({ type: 'batch' });
    tasks.unregister(a, 'failed');
    tasks.unregister(b, 'cancelled');
    tasks.unregister(c, 'completed');
    expect(tasks.stats()).toEqual({
      started: 4,
      completed: 1,
      failed: 1,
      cancelled: 1,
      active: 1,
      byType: {
        sms: { started: 2, completed: 0, failed: 1, cancelled: 1, active: 0 },
        batch: { started: 2, completed: 1, failed: 0, cancelled: 0, active: 1 },
      },
    });
  });

  it('ignores unknown and already ended ids', () => {
    expect(tasks.unregister('nope')).toBe(false);
    const id = tasks.register({ type: 'x' });
    expect(tasks.unregister(id)).toBe(true);
    expect(tasks.unregister(id, 'failed')).toBe(false);
    expect(tasks.stats()).toMatchObject({ started: 1, completed: 1, failed: 0 });
  });

  it('keeps a caller-chosen id, and makes a duplicate active id unique', () => {
    const first = tasks.register({ type: 'job', id: 'job-42' });
    const second = tasks.register({ type: 'job', id: 'job-42' });
    expect(first).toBe('job-42');
    expect(second).not.toBe('job-42');
    expect(tasks.active().map((t) => t.id)).toEqual(['job-42', second]);
    tasks.unregister(first);
    expect(tasks.active().map((t) => t.id)).toEqual([second]);
  });

  it('generates distinct ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => tasks.register({ type: 'x' })));
    expect(ids.size).toBe(100);
  });

  it('never throws on bad options, and keeps records valid for the IPC contract', () => {
    const bad = [undefined, null, {}, { type: '' }, { type: 3, description: 5, estimatedMs: -1 }, { type: 'ok', estimatedMs: NaN }];
    for (const options of bad) tasks.register(options as never);
    for (const info of tasks.active()) {
      expect(typeof info.type).toBe('string');
      expect(info.type.length).toBeGreaterThan(0);
      expect(info.description === undefined || typeof info.description === 'string').toBe(true);
      expect(info.estimatedMs).toBeUndefined();
    }
    expect(tasks.active().map((t) => t.type)).toEqual(['untyped', 'untyped', 'untyped', 'untyped', 'untyped', 'ok']);
  });

  it('active() returns copies', () => {
    tasks.register({ type: 'x', description: 'original' });
    tasks.active()[0].description = 'changed';
    expect(tasks.active()[0].description).toBe('original');
  });

  it('run resolves with the value and counts completed; the task is active while it runs', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = tasks.run(async () => {
      await gate;
      return 42;
    }, { type: 'calc' });
    expect(tasks.active().map((t) => t.type)).toEqual(['calc']);
    release();
    await expect(running).resolves.toBe(42);
    expect(tasks.hasActive()).toBe(false);
    expect(tasks.stats()).toMatchObject({ started: 1, completed: 1, failed: 0 });
  });

  it('run rethrows a rejection and a synchronous throw, counting both failed', async () => {
    const boom = new Error('boom');
    await expect(tasks.run(() => Promise.reject(boom), { type: 'a' })).rejects.toBe(boom);
    await expect(
      tasks.run(() => {
        throw boom;
      }, { type: 'b' }),
    ).rejects.toBe(boom);
    expect(tasks.stats()).toMatchObject({ started: 2, completed: 0, failed: 2, active: 0 });
  });

  it('run accepts a synchronous function', async () => {
    await expect(tasks.run(() => 'sync', { type: 's' })).resolves.toBe('sync');
    expect(tasks.stats()).toMatchObject({ completed: 1 });
  });

  it('track settles like the tracked promise and counts it', async () => {
    let resolveIt!: (v: string) => void;
    const pending = new Promise<string>((resolve) => (resolveIt = resolve));
    const tracked = tasks.track(pending, { type: 'upload', description: 'file.txt' });
    expect(tasks.active()).toMatchObject([{ type: 'upload', description: 'file.txt' }]);
    resolveIt('done');
    await expect(tracked).resolves.toBe('done');

    const boom = new Error('nope');
    await expect(tasks.track(Promise.reject(boom), { type: 'upload' })).rejects.toBe(boom);
    expect(tasks.stats().byType.upload).toEqual({ started: 2, completed: 1, failed: 1, cancelled: 0, active: 0 });
  });

  it('track accepts a thenable', async () => {
    const thenable = { then: (ok: (v: number) => void) => ok(7) };
    await expect(tasks.track(thenable as PromiseLike<number>, { type: 't' })).resolves.toBe(7);
  });

  it('methods work detached from the object', async () => {
    const { register, unregister, run, hasActive } = tasks;
    const id = register({ type: 'x' });
    expect(hasActive()).toBe(true);
    unregister(id);
    await run(() => undefined, { type: 'x' });
    expect(hasActive()).toBe(false);
  });

  it('the public object exposes only the documented methods', () => {
    expect(Object.keys(tasks).sort()).toEqual(['active', 'cancel', 'hasActive', 'history', 'pause', 'register', 'resume', 'run', 'stats', 'track', 'unregister']);
    expect(Object.isFrozen(tasks)).toBe(true);
  });
});

describe('the shared registry', () => {
  it('two copies of the module count the same tasks', async () => {
    const first = tasks;
    const second = (await freshModule()).tasks;
    expect(second).not.toBe(first);
    const id = first.register({ type: 'shared' });
    expect(second.hasActive()).toBe(true);
    expect(second.active().map((t) => t.id)).toEqual([id]);
    expect(second.unregister(id)).toBe(true);
    expect(first.stats()).toMatchObject({ started: 1, completed: 1, active: 0 });
  });

  it('lives on the global symbol, and the runtime hooks hear every change', async () => {
    const { taskRegistry } = await freshModule();
    const registry = taskRegistry();
    expect((globalThis as Record<symbol, unknown>)[KEY]).toBe(registry);
    let changes = 0;
    const unsubscribe = registry.onChange(() => changes++);
    const id = tasks.register({ type: 'email' });
    expect(registry.counters()).toEqual({ started: 1, completed: 0, failed: 0, cancelled: 0, activeByType: { email: 1 } });
    tasks.unregister(id, 'cancelled');
    expect(registry.counters()).toEqual({ started: 1, completed: 0, failed: 0, cancelled: 1, activeByType: {} });
    expect(changes).toBe(2);
    unsubscribe();
    tasks.register({ type: 'email' });
    expect(changes).toBe(2);
  });

  it('a throwing listener does not reach the caller', async () => {
    const { taskRegistry } = await freshModule();
    taskRegistry().onChange(() => {
      throw new Error('listener bug');
    });
    expect(() => tasks.register({ type: 'x' })).not.toThrow();
  });

  it('an incompatible object under the key is not used', async () => {
    delete (globalThis as Record<symbol, unknown>)[KEY];
    (globalThis as Record<symbol, unknown>)[KEY] = { version: 999 };
    const fresh = (await freshModule()).tasks;
    expect(() => fresh.register({ type: 'x' })).not.toThrow();
    expect(fresh.hasActive()).toBe(true);
  });
});
