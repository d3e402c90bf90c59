/** The app's side of a drain: `onDrain` listeners (pure: the registry, no process). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drainDeadline, onDrain, startDrain } from '../../src/worker/drain-api';

afterEach(() => {
  delete (globalThis as unknown as Record<symbol, unknown>)[Symbol.for('smartworkers.drain')];
});

describe('onDrain', () => {
  it('calls each listener once, with the deadline and the reason, when the drain starts', () => {
    const a = vi.fn();
    const b = vi.fn();
    onDrain(a);
    const off = onDrain(b);
    off();
    expect(drainDeadline()).toBeNull();
    const deadline = Date.now() + 5_000;
    startDrain(deadline, 'reload');
    startDrain(deadline + 1, 'stop'); // one drain, one deadline
    expect(a).toHaveBeenCalledTimes(1);
    expect(a.mock.calls[0][0]).toBe(deadline);
    expect(a.mock.calls[0][1]).toMatchObject({ deadline, reason: 'reload' });
    expect(a.mock.calls[0][1].msLeft).toBeGreaterThan(4_000);
    expect(b).not.toHaveBeenCalled();
    expect(drainDeadline()).toBe(deadline);
  });

  it('calls a listener added during the drain at once (next tick), and survives one that throws', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const after = vi.fn();
    onDrain(() => {
      throw new Error('app bug');
    });
    startDrain(Date.now() + 1_000, 'stop');
    expect(String(write.mock.calls[0]?.[0])).toMatch(/an onDrain listener threw: Error: app bug/);
    write.mockRestore();
    onDrain(after);
    expect(after).not.toHaveBeenCalled();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(after).toHaveBeenCalledWith(expect.any(Number), expect.objectContaining({ reason: 'stop' }));
  });
});
