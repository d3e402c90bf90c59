/**
 * Short variants of the runtime's chaos scenarios (bench/chaos/runtime.mjs): real clusters under
 * keep-alive load on loopback. Invariants only — every check a scenario makes is asserted, and the
 * kill storm's comparison with the bare primary (a ratio of noisy counts) is left to `npm run chaos`.
 */
import { afterAll, describe, expect, it } from 'vitest';
// Plain ESM bench code, no types.
// @ts-ignore
import { runScenario } from '../../bench/chaos.mjs';
// @ts-ignore
import { stopAll } from '../../bench/lib/peers.mjs';

interface ChaosResult {
  error: string | null;
  leftovers: unknown[];
  checks: { name: string; ok: boolean; detail?: string }[];
  notes: string[];
}

async function expectHolds(name: string): Promise<ChaosResult> {
  const r: ChaosResult = await runScenario(name, 'smartworkers', 'short');
  expect(r.error, r.error ?? '').toBeNull();
  expect(r.checks.length).toBeGreaterThan(0);
  const failed = r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`);
  expect(failed, r.notes.join('; ')).toEqual([]);
  expect(r.leftovers).toEqual([]);
  return r;
}

describe('chaos: the worker runtime and its process host (short variant)', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('process.disconnect() with 5 tasks running: all finish, none counted lost, the slot is refilled', async () => {
    await expectHolds('disconnect');
  }, 90_000);

  it('a server that listens 2 s late: 0 failed requests on it through `recycle all` under load', async () => {
    await expectHolds('late-server');
  }, 90_000);

  it('children, detached children, grandchildren and daemons: none left after recycle and stop, each reported', async () => {
    await expectHolds('process-tree');
  }, 90_000);

  it('a kill storm on a busy machine: the primary survives, workers come back, failures stay within what was in flight', async () => {
    await expectHolds('kill-storm');
  }, 120_000);
});
