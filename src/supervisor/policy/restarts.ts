/**
 * Exits and restarts: what a worker's exit means (planned, crash, failed boot, failed
 * replacement), crash backoff reset after `min_uptime`, slots that give up (`autorestart: false`,
 * `max_restarts`), filling empty slots, and stopping once nothing is left to run.
 */
import type { AppSettings } from '../../config/types';
import { describeBootFailure, EXIT } from '../../errors';
import { liveWorkers, replacing } from '../queries';
import type { AppRuntime, WorkerRecord } from '../state';
import { cutAtExit } from './connections';
import { isolatesBootFailure, onIsolatedBootFailure } from './isolation';
import { beginStop, type Ctx, finishStopIfDone, fork, log, mutApp, mutSlot, mutTotals, mutWorker, who, workersMap } from './actions';

/** Crash backoff: restart_delay doubling per consecutive crash, capped at max_restart_delay. */
export function backoffDelay(app: AppSettings, attempt: number): number {
  if (attempt <= 0) return 0;
  const delay = app.restartDelay * 2 ** Math.min(attempt - 1, 30);
  return Math.min(delay, app.maxRestartDelay);
}

export function onExit(ctx: Ctx, id: number, code: number | null, signal: string | null): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const w = s.workers[id];
  if (!w) return;
  const app = s.apps[w.app];
  const expected = w.exitReason !== null;
  // A retired worker exits 0 on its own only once its tasks are done (its last report may
  // not have arrived yet); otherwise the tasks it last reported are gone with it.
  // A worker that disconnected exits 0 only once every task finished (its runtime sees to that).
  const exitedClean = expected && code === 0 && signal === null && (!w.abandonSent || w.untracked);
  const lostNow = w.lostReported || exitedClean ? 0 : w.activeTasks;
  const fields = { ...who(w), code, signal, reason: w.exitReason ?? 'crash', uptimeMs: now - w.forkedAt };

  const totals = mutTotals(ctx);
  if (lostNow > 0) {
    totals.tasksLost += lostNow;
    const since = w.untracked ? ' (untracked since it disconnected; its own log names them)' : '';
    log(ctx, 'warn', `worker exited with ${lostNow} task(s) still running: lost${since}`, {
      ...fields,
      lostByType: w.tasks.activeByType,
    });
  } else if (w.untracked && w.activeTasks > 0) {
    log(ctx, 'info', `worker exited 0 after disconnecting: the ${w.activeTasks} task(s) it was running finished`, fields);
  }
  if (w.waitingSince !== null) totals.taskWaitTotalMs += now - w.waitingSince;
  cutAtExit(ctx, w);
  totals.exitedServed += w.served;
  for (const k of ['started', 'completed', 'failed', 'cancelled'] as const) totals.exitedTasks[k] += w.tasks[k];
  delete workersMap(ctx)[id];

  if (expected) {
    log(ctx, 'info', 'worker exited', fields);
    return;
  }

  if (!app) return;
  const wasReplacement = replacing(s, w);

  if (w.state === 'starting' || w.state === 'failed-boot') {
    log(ctx, 'error', 'worker failed to boot', fields);
    if (wasReplacement) {
      replacementFailed(ctx, wasReplacement);
      return;
    }
    if (isolatesBootFailure(ctx, app)) {
      if (!onIsolatedBootFailure(ctx, app, w, code, signal)) afterUnexpectedExit(ctx, app, w, code, signal);
      return;
    }
    // The first start of a broken app fails fast (exit 3); an app a deploy adds is backed off instead.
    if (!app.everReady && w.generation === 0 && !app.addedLater) {
      const failures = (mutApp(ctx, app.settings.name).bootFailures += 1);
      if (failures >= app.desired && s.phase === 'running' && app.settings.watch.length > 0) {
        if (failures === app.desired) {
          log(ctx, 'error', `no worker of app '${app.settings.name}' could boot; retrying, and reloading when a watched file changes`, {
            app: app.settings.name,
          });
        }
      } else if (failures >= app.desired && s.phase === 'running') {
        const { settings } = app;
        const failure = describeBootFailure({ app: settings.name, readyOn: settings.readyOn, bootTimeoutMs: settings.bootTimeout, timedOut: w.killSent });
        log(ctx, 'error', failure.msg, { app: settings.name, fix: failure.fix });
        s.exitCode = EXIT.bootFailed;
        beginStop(ctx, 'fast');
        return;
      }
    }
    afterUnexpectedExit(ctx, app, w, code, signal);
    return;
  }

  totals.recyclesByReason.crash += 1;
  if (code === 0 && signal === null) log(ctx, 'warn', 'worker exited on its own', fields);
  else log(ctx, 'error', 'worker crashed', fields);
  afterUnexpectedExit(ctx, app, w, code, signal);
}

/** A worker of a slot exited unexpectedly (crash, exit, failed boot): restart it, or give the slot up. */
function afterUnexpectedExit(ctx: Ctx, app: AppRuntime, w: WorkerRecord, code: number | null, signal: string | null): void {
  if (!app.slots[w.slot]) return;
  const record = mutSlot(ctx, app.settings.name, w.slot);
  const uptimeMs = ctx.env.now - w.forkedAt;
  record.unstable = uptimeMs < app.settings.minUptime ? record.unstable + 1 : 0;
  record.lastExitClean = code === 0 && signal === null;
  if (ctx.s.phase !== 'running' || w.slot >= app.desired) return scheduleSlotRestart(ctx, app, w.slot);
  const where = { app: app.settings.name, slot: w.slot };
  if (!app.settings.autorestart) {
    record.stopped = 'autorestart';
    log(ctx, 'warn', `autorestart is off: slot ${w.slot} stays empty until the next reload`, where);
    return;
  }
  const { maxRestarts } = app.settings;
  if (maxRestarts > 0 && record.unstable >= maxRestarts) {
    record.stopped = 'max_restarts';
    log(ctx, 'error', `slot ${w.slot} gave up after ${record.unstable} unstable restarts (max_restarts ${maxRestarts}); not restarted until the next reload`, {
      ...where,
      unstableRestarts: record.unstable,
      minUptimeMs: app.settings.minUptime,
    });
    return;
  }
  scheduleSlotRestart(ctx, app, w.slot, w, signal);
}

/**
 * When the slot of an exited worker forks again. Backoff (restart_delay, doubling per
 * consecutive crash) is for an app that cannot boot or dies before doing any work, so it never
 * spins. A worker that served requests proved the app boots and works: it is replaced at once,
 * as gunicorn or a bare node:cluster primary would (a worker killed from outside, a crash on one
 * request in a hundred), and its slot's count of consecutive crashes starts over. So is the last
 * worker holding the port, which would otherwise refuse connections for the whole backoff.
 */
function scheduleSlotRestart(ctx: Ctx, app: AppRuntime, slot: number, exited?: WorkerRecord, signal?: string | null): void {
  const now = ctx.env.now;
  if (!app.slots[slot]) return;
  const record = mutSlot(ctx, app.settings.name, slot);
  const wasServing = exited !== undefined && exited.listening && exited.readyAt !== null;
  const servedRequests = wasServing && exited.served > 0;
  // A SIGKILL the primary did not send (kill -9, a kill storm, the OOM killer) says nothing about an
  // app that has booted before: its worker is replaced at once, as a bare primary would. Under
  // keep-alive load a fresh worker may not have served yet when it is killed; backing off then
  // left its slot empty and stretched the time with no worker listening (kill-storm scenario).
  const killedFromOutside = exited !== undefined && signal === 'SIGKILL' && !exited.killSent && app.everReady;
  record.crashes = servedRequests ? 0 : killedFromOutside ? record.crashes : record.crashes + 1;
  // Asked only of a worker that served: a burst of failed boots never re-indexes the workers per exit.
  const lastServing = wasServing && !liveWorkers(ctx.s, app.settings.name).some((o) => o.state === 'ready');
  const delay = lastServing || killedFromOutside ? 0 : backoffDelay(app.settings, record.crashes);
  if (lastServing) {
    // Capacity first: slots still waiting out a backoff are brought forward too.
    const slots = ctx.s.apps[app.settings.name]!.slots;
    for (let i = 0; i < slots.length; i++) if (slots[i]!.nextForkAt > now) mutSlot(ctx, app.settings.name, i).nextForkAt = now;
  }
  record.nextForkAt = now + delay;
  if (delay > 0 && ctx.s.phase === 'running' && slot < app.desired) {
    log(ctx, 'info', `restarting slot ${slot} in ${delay}ms (backoff)`, { app: app.settings.name, slot, delayMs: delay, crashes: record.crashes });
  }
}

function replacementFailed(ctx: Ctx, found: WorkerRecord): void {
  // The replacement is gone from the workers: the link went with it.
  const old = mutWorker(ctx, found);
  const { recycle } = old;
  const app = ctx.s.apps[old.app];
  if (!recycle || !app) return;
  if (app.settings.watch.length > 0 && recycle.reason === 'reload') {
    // Watched (dev mode): the new code is broken; retrying it would print the same error again
    // and again. The next change of a watched file reloads.
    old.recycle = null;
    log(ctx, 'warn', 'replacement failed to boot; the old worker keeps serving until the next change', who(old));
    return;
  }
  recycle.failedAttempts += 1;
  const delay = Math.max(backoffDelay(app.settings, recycle.failedAttempts), app.settings.restartDelay);
  recycle.retryAt = ctx.env.now + delay;
  log(ctx, 'warn', 'replacement failed to boot; the old worker keeps serving', {
    ...who(old),
    retryInMs: delay,
    attempts: recycle.failedAttempts,
  });
}

/**
 * Every slot below `desired` has a starting or ready worker (after its backoff).
 *
 * An app that has never been ready and whose boots fail is retried one slot at a time (a probe):
 * once no retried worker of it is still booting and every empty slot's backoff has passed. N
 * workers failing their boot together (a missing module, a port in use) were otherwise forked
 * again while the first generation still failed: N node processes booting for nothing on the
 * cores the primary needs to see the failures through. Once one worker is ready, every slot fills.
 */
export function fillSlots(ctx: Ctx, app: AppRuntime): void {
  const occupied = new Set<number>();
  let probeBooting = false;
  for (const w of liveWorkers(ctx.s, app.settings.name)) {
    // A failed boot still occupies its slot until it has exited, so its backoff applies.
    if (w.state === 'starting' || w.state === 'ready' || w.state === 'failed-boot') occupied.add(w.slot);
    if ((w.state === 'starting' || w.state === 'failed-boot') && w.generation > 0) probeBooting = true;
  }
  const probing = !app.everReady && app.bootFailures > 0;
  if (probing && probeBooting) return;
  const now = ctx.env.now;
  const empty: number[] = [];
  for (let slot = 0; slot < app.desired; slot++) {
    if (occupied.has(slot)) continue;
    const record = app.slots[slot];
    if (record?.stopped != null) continue;
    if (probing && record && record.nextForkAt > now) return;
    if (!record || record.nextForkAt <= now) empty.push(slot);
  }
  for (const slot of probing ? empty.slice(0, 1) : empty) fork(ctx, app, slot, null);
}

export function resetStableBackoff(ctx: Ctx, app: AppRuntime): void {
  for (const w of liveWorkers(ctx.s, app.settings.name)) {
    const record = app.slots[w.slot];
    if (record && record.crashes > 0 && w.readyAt !== null && ctx.env.now - w.readyAt >= app.settings.minUptime) {
      mutSlot(ctx, app.settings.name, w.slot).crashes = 0;
    }
  }
}

/**
 * Every slot of every app gave up (`autorestart: false`, `max_restarts`) and no worker is left:
 * stop — unless an app could come back by itself on a reload (`cron_restart`, `watch`).
 * Exit 0 only when every worker had exited cleanly of its own accord (a finished job).
 */
export function stopIfNothingLeft(ctx: Ctx): void {
  const { s } = ctx;
  const apps = Object.values(s.apps);
  if (s.phase !== 'running' || s.reloadPending || apps.length === 0) return;
  if (liveWorkers(s).length > 0) return;
  let clean = true;
  for (const app of apps) {
    if (app.settings.cronRestart !== undefined || app.settings.watch.length > 0) return;
    for (let slot = 0; slot < app.desired; slot++) {
      const record = app.slots[slot];
      if (!record?.stopped) return;
      if (record.stopped !== 'autorestart' || !record.lastExitClean) clean = false;
    }
  }
  s.exitCode = clean ? EXIT.ok : EXIT.failure;
  log(ctx, clean ? 'info' : 'error', 'no worker is left and none will be restarted: stopping', { code: s.exitCode });
  beginStop(ctx, 'graceful');
  finishStopIfDone(ctx);
}
