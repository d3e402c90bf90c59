/**
 * One broken app never takes the others down. In a config with several apps, an app whose workers
 * cannot boot before any of them was ever ready is retried with the slots' crash backoff, and after
 * `BOOT_ROUNDS` rounds given up on its own: its slots stop (`boot_failed`), the failure is logged,
 * kept for `status` / `/status`, counted, and `/readyz` answers 503 while the other apps keep
 * serving. Only when every app has been given up does the primary stop with exit 3. A single-app
 * config keeps the fast answer: exit 3 as soon as its first generation failed (restarts.ts).
 */
import { describeBootFailure, EXIT } from '../../errors';
import { liveWorkers } from '../queries';
import type { AppRuntime, WorkerRecord } from '../state';
import { beginStop, type Ctx, kill, log, mutApp, mutSlot, mutTotals } from './actions';

/** Rounds of boot attempts (each: every slot once, with backoff between) before an app is given up. */
export const BOOT_ROUNDS = 3;

/** The app is one of several, never ready yet, and not watched (a watched app waits for the next change). */
export function isolatesBootFailure(ctx: Ctx, app: AppRuntime): boolean {
  return Object.keys(ctx.s.apps).length > 1 && !app.everReady && app.failure === null && app.settings.watch.length === 0 && ctx.s.phase === 'running';
}

/**
 * A worker of such an app failed to boot. True when the app was given up now (the caller then
 * neither restarts the slot nor stops the primary); false: the slot restarts after its backoff.
 */
export function onIsolatedBootFailure(ctx: Ctx, app: AppRuntime, w: WorkerRecord, code: number | null, signal: string | null): boolean {
  const name = app.settings.name;
  const failures = (mutApp(ctx, name).bootFailures += 1);
  if (failures < app.desired * BOOT_ROUNDS) return false;
  const { settings } = app;
  const facts = { app: name, readyOn: settings.readyOn, bootTimeoutMs: settings.bootTimeout, timedOut: w.killSent };
  const failure = describeBootFailure(facts, `giving it up after ${failures} attempts; the other apps keep running`);
  const last = signal !== null ? `signal ${signal}` : `exit code ${code ?? 'none'}`;
  const error = `${failure.msg.replace(/ \[SW_BOOT_FAILED\]$/, '')} (last worker: ${last})`;
  mutApp(ctx, name).failure = { error, at: ctx.env.now };
  for (let slot = 0; slot < app.desired; slot++) mutSlot(ctx, name, slot).stopped = 'boot_failed';
  mutTotals(ctx).appsFailed += 1;
  log(ctx, 'error', failure.msg, { app: name, fix: failure.fix, attempts: failures, code: 'SW_BOOT_FAILED' });
  // Its other slots' workers still booting are stopped with it.
  for (const other of liveWorkers(ctx.s, name)) if (other.id !== w.id && (other.state === 'starting' || other.state === 'failed-boot')) kill(ctx, other, 'stop');
  const apps = Object.values(ctx.s.apps);
  if (apps.every((a) => a.failure !== null || a.desired === 0)) {
    log(ctx, 'error', 'no app could boot: stopping [SW_BOOT_FAILED]', { apps: apps.map((a) => a.settings.name) });
    ctx.s.exitCode = EXIT.bootFailed;
    beginStop(ctx, 'fast');
  }
  return true;
}
