import { afterEach, describe, expect, it } from 'vitest';
import { beforeAbandon, leaveHooks, onLeave, runAbandon, runLeave } from '../../src/worker/leave-hooks';

afterEach(() => {
  leaveHooks().leave.clear();
  leaveHooks().abandon.clear();
});

describe('leave hooks', () => {
  it('tells every listener why the worker leaves; a throwing one does not stop the others', () => {
    const seen: string[] = [];
    onLeave(() => {
      throw new Error('bug');
    });
    const off = onLeave((reason) => seen.push(reason));
    runLeave('manual');
    off();
    runLeave('stop');
    expect(seen).toEqual(['manual']);
  });

  it('waits for the abandon hooks, but never past the bound', async () => {
    const order: string[] = [];
    beforeAbandon(async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('handed back');
    });
    beforeAbandon(() => new Promise(() => {})); // never settles
    beforeAbandon(async () => {
      throw new Error('redis down');
    });
    const started = Date.now();
    await new Promise<void>((resolve) => runAbandon(() => {
      order.push('abandon');
      resolve();
    }, 200));
    expect(order).toEqual(['handed back', 'abandon']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('abandons at once without hooks', () => {
    let called = false;
    runAbandon(() => (called = true));
    expect(called).toBe(true);
  });

  it('is one set per process, shared through a global symbol', () => {
    expect((globalThis as unknown as Record<symbol, unknown>)[Symbol.for('smartworkers.leave-hooks')]).toBe(leaveHooks());
  });
});
