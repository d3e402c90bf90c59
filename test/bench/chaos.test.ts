/**
 * The reliability suite's short variant (bench/chaos.mjs, `npm run chaos` runs the long one):
 * a real smartworkers cluster per scenario, under keep-alive load on loopback. Asserts invariants
 * only — the primary survives, the worker count comes back, no task is lost, nothing is left
 * behind after the stop — never timings or throughput: this machine is shared and noisy.
 */
import { afterAll, describe, expect, it } from 'vitest';
// Plain ESM bench code, no types.
// @ts-ignore
import { runScenario } from '../../bench/chaos.mjs';
// @ts-ignore
import { stopAll } from '../../bench/lib/peers.mjs';

interface ChaosResult {
  error: string | null;
  primarySurvived: boolean | string | null;
  workersRestored: boolean | null;
  leftovers: unknown[];
  zombies: unknown[];
  exitCode: number | null;
  tasks: { started: number; completed: number; lost: number } | null;
  checks: { name: string; ok: boolean; detail?: string }[];
  notes: string[];
}

const run = (name: string): Promise<ChaosResult> => runScenario(name, 'smartworkers', 'short');

/** What every scenario must leave behind: no error in the harness, no process, no zombie. */
function expectClean(r: ChaosResult): void {
  expect(r.error, r.error ?? '').toBeNull();
  expect(r.zombies, 'zombie workers while running').toEqual([]);
  expect(r.leftovers, 'processes left after the stop').toEqual([]);
}

const check = (r: ChaosResult, name: string) => r.checks.find((c) => c.name === name);

describe('chaos (short variant)', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('SIGKILL a random worker every 500 ms: the primary survives and the worker count comes back', async () => {
    const r = await run('kill');
    expectClean(r);
    expect(r.primarySurvived).toBe(true);
    expect(r.workersRestored).toBe(true);
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it('a hung worker is replaced; the primary survives', async () => {
    const r = await run('hang');
    expectClean(r);
    expect(r.primarySurvived).toBe(true);
    expect(check(r, 'hung worker replaced')?.ok, r.notes.join('; ')).toBe(true);
    expect(r.workersRestored).toBe(true);
  }, 60_000);

  it('10,000 random and malformed IPC messages from the app: no crash, no restart', async () => {
    const r = await run('ipc-garbage');
    expectClean(r);
    expect(r.primarySurvived).toBe(true);
    expect(r.workersRestored, 'no worker restarted').toBe(true);
  }, 60_000);

  it('1,000 garbage requests on the control socket: refused, and the socket still answers', async () => {
    const r = await run('control-garbage');
    expectClean(r);
    expect(r.primarySurvived).toBe(true);
    expect(r.workersRestored, 'no worker restarted').toBe(true);
    expect(check(r, 'control socket still answers status')?.ok).toBe(true);
    expect(check(r, 'no garbage request was obeyed (ok replies)')?.ok).toBe(true);
  }, 60_000);

  it('20 SIGHUPs in one second with tasks running: no task lost, worker count restored', async () => {
    const r = await run('sighup-storm');
    expectClean(r);
    expect(r.primarySurvived).toBe(true);
    expect(r.workersRestored).toBe(true);
    expect(r.tasks?.started).toBeGreaterThan(0);
    expect(r.tasks?.lost, JSON.stringify(r.tasks)).toBe(0);
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it('SIGTERM in the middle of a reload: exit 0, no task lost', async () => {
    const r = await run('sigterm-mid-reload');
    expectClean(r);
    expect(r.tasks?.started).toBeGreaterThan(0);
    expect(r.tasks?.lost, JSON.stringify(r.tasks)).toBe(0);
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it('SIGTERM with tasks in flight: every task completes, exit 0', async () => {
    const r = await run('sigterm-tasks');
    expectClean(r);
    expect(r.tasks?.started).toBe(200);
    expect(r.tasks?.completed).toBe(200);
    expect(r.exitCode).toBe(0);
  }, 60_000);
});
