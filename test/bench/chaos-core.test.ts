/**
 * The supervisor core's chaos scenarios (bench/chaos/core.mjs), short variant: a real cluster,
 * real signals. Invariants only, never timings.
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
  tasks: { started: number; completed: number; lost: number } | null;
  checks: { name: string; ok: boolean; detail?: string }[];
  notes: string[];
}

const failed = (r: ChaosResult) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`);

describe('chaos: the supervisor core (short variant)', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('SIGSTOP the primary 5 s under load with tasks running: no worker killed, 0 tasks lost, exit 0', async () => {
    const r: ChaosResult = await runScenario('primary-pause', 'smartworkers', 'short');
    expect(r.error, r.error ?? '').toBeNull();
    expect(failed(r), r.notes.join('; ')).toEqual([]);
    expect(r.tasks?.lost).toBe(0);
  }, 90_000);

  it('a worker killed mid-task, then a clean stop: exit code 1', async () => {
    const r: ChaosResult = await runScenario('loss-exit-code', 'smartworkers', 'short');
    expect(r.error, r.error ?? '').toBeNull();
    expect(failed(r), r.notes.join('; ')).toEqual([]);
  }, 90_000);
});
