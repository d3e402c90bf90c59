/**
 * The short variant of the outside chaos scenarios (bench/chaos/outside.mjs): a real cluster
 * each, clients and other users doing what they may. Invariants only — probes answered, the
 * fake socket sent nothing, the CLI got through, the primary kept serving — never throughput.
 */
import { afterAll, describe, expect, it } from 'vitest';
// Plain ESM bench code, no types.
// @ts-ignore
import { runScenario } from '../../bench/chaos.mjs';
// @ts-ignore
import { stopAll } from '../../bench/lib/peers.mjs';

interface ChaosResult {
  error: string | null;
  notAvailable?: boolean;
  primarySurvived: boolean | string | null;
  leftovers: unknown[];
  zombies: unknown[];
  exitCode: number | null;
  checks: { name: string; ok: boolean; detail?: string }[];
  notes: string[];
}

const run = (name: string): Promise<ChaosResult> => runScenario(name, 'smartworkers', 'short');

/** Every invariant the scenario checks, with the scenario's notes when one fails. */
function expectHolds(r: ChaosResult): void {
  expect(r.error, r.error ?? '').toBeNull();
  expect(r.checks.filter((c) => !c.ok), r.notes.join('; ')).toEqual([]);
  expect(r.checks.length).toBeGreaterThan(0);
  expect(r.leftovers, 'processes left after the stop').toEqual([]);
}

describe('chaos from outside (short variant)', () => {
  afterAll(async () => {
    await stopAll();
  });

  it('500 half-open connections to the status server: every probe answers 200', async () => {
    expectHolds(await run('probes-half-open'));
  }, 90_000);

  it('a /metrics flood: the app keeps serving, /metrics still answers', async () => {
    expectHolds(await run('metrics-flood'));
  }, 90_000);

  it('a fake control socket owned by another user: stop and status refused, nothing sent', async () => {
    const r = await run('control-spoof');
    expect(r.notAvailable, 'runs as root here (it chowns a socket to uid 65534)').not.toBe(true);
    expectHolds(r);
  }, 90_000);

  it('1,000 idle control connections: status, reload and stop get through', async () => {
    expectHolds(await run('control-idle'));
  }, 90_000);

  it('SIGUSR1, SIGUSR2, SIGPIPE, SIGWINCH under load: the primary keeps serving', async () => {
    const r = await run('signals');
    expectHolds(r);
    expect(r.primarySurvived).toBe(true);
    expect(r.exitCode).toBe(0);
  }, 90_000);
});
