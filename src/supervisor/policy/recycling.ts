/**
 * Recycling: when a serving worker is to be replaced (memory ceilings, max_requests,
 * `cron_restart`) and when its replacement may start (one boot at a time per app, at most
 * `max_retiring` draining at once, forced recycles first and unbounded).
 */
import { liveWorkers, replacementOf, replacing } from '../queries';
import type { AppRuntime, MemorySample, WorkerRecord } from '../state';
import { abandon, type Ctx, fork, log, mutApp, mutWorker, nextCronAt, requestRecycle, retire, who } from './actions';
import { onCommand } from './commands';
import { heldOnlyByLongLived } from './connections';

export function onMemory(ctx: Ctx, samples: MemorySample[]): void {
  const { s } = ctx;
  for (const sample of samples) {
    if (!s.workers[sample.id]) continue;
    const w = mutWorker(ctx, sample.id);
    w.rssBytes = sample.rssBytes;
    w.cpuPercent = sample.cpuPercent;
    const app = s.apps[w.app];
    if (!app || s.phase !== 'running') continue;
    const { maxMemory, maxMemoryHard } = app.settings;
    const overHard = maxMemoryHard > 0 && sample.rssBytes >= maxMemoryHard;
    const overSoft = maxMemory > 0 && sample.rssBytes >= maxMemory;
    if (w.state === 'ready') {
      if (overHard && !w.recycle?.force) {
        log(ctx, 'warn', 'worker over max_memory_hard: replacing it now, tasks will be lost', {
          ...who(w),
          rssBytes: sample.rssBytes,
          limit: maxMemoryHard,
        });
        requestRecycle(ctx, w, 'memory_hard', true);
      } else if (overSoft && !w.recycle) {
        log(ctx, 'info', 'worker over max_memory: recycling it', { ...who(w), rssBytes: sample.rssBytes, limit: maxMemory });
        requestRecycle(ctx, w, 'memory', false);
      }
    } else if ((w.state === 'retiring' || w.state === 'waiting-for-tasks') && overHard && !w.abandonSent) {
      log(ctx, 'warn', 'retiring worker over max_memory_hard: giving up its tasks', { ...who(w), rssBytes: sample.rssBytes });
      abandon(ctx, w);
    }
  }
}

/** `cron_restart`: the app's rolling reload, through the same command as `reload <app>`. */
export function runCron(ctx: Ctx, app: AppRuntime): void {
  const now = ctx.env.now;
  if (app.nextCronAt === null || now < app.nextCronAt) return;
  const next = (mutApp(ctx, app.settings.name).nextCronAt = nextCronAt(app.settings, now));
  log(ctx, 'info', `cron_restart (${app.settings.cronRestart}): rolling reload of ${app.settings.name}`, {
    app: app.settings.name,
    next: next === null ? null : new Date(next).toISOString(),
  });
  onCommand(ctx, { kind: 'reload', app: app.settings.name });
}

export function detectLimits(ctx: Ctx, app: AppRuntime): void {
  for (const w of liveWorkers(ctx.s, app.settings.name)) detectLimit(ctx, w);
}

/** max_requests or max_tasks reached: recycle. True when this call asked for the recycle. */
export function detectLimit(ctx: Ctx, w: WorkerRecord): boolean {
  if (w.state !== 'ready' || w.recycle) return false;
  if (w.requestLimit > 0 && w.served >= w.requestLimit) {
    requestRecycle(ctx, w, 'max_requests', false);
    return true;
  }
  // Started tasks, as Celery's max-tasks-per-child: the worker finishes them while it retires.
  if (w.taskLimit > 0 && w.tasks.started >= w.taskLimit) {
    requestRecycle(ctx, w, 'max_tasks', false);
    return true;
  }
  return false;
}

export function scheduleRecycles(ctx: Ctx, app: AppRuntime): void {
  const now = ctx.env.now;
  const name = app.settings.name;
  const workers = liveWorkers(ctx.s, name);
  const pending = workers
    .filter((w) => w.state === 'ready' && w.recycle && replacementOf(ctx.s, w) === undefined && w.recycle.retryAt <= now)
    .sort((a, b) => Number(b.recycle!.force) - Number(a.recycle!.force) || a.recycle!.since - b.recycle!.since);

  for (const w of pending) {
    const recycle = w.recycle!;
    const othersReady = workers.some((o) => o.id !== w.id && o.state === 'ready');
    if (recycle.force) {
      // Replace now; retire at once if another worker keeps the port open, else after the surge.
      fork(ctx, app, w.slot, w);
      if (othersReady) retire(ctx, w, recycle.reason);
      continue;
    }
    const booting = liveWorkers(ctx.s, name).some((o) => o.state === 'starting' && replacing(ctx.s, o) !== undefined);
    if (booting) return; // staggered: one replacement boots at a time
    // A worker held only by WebSockets or streams is bounded by drain_timeout: not by the cap.
    const retiring = liveWorkers(ctx.s, name).filter((o) => (o.state === 'retiring' || o.state === 'waiting-for-tasks') && !heldOnlyByLongLived(o)).length;
    if (retiring >= app.settings.maxRetiring) {
      if (!recycle.postponedLogged) {
        mutWorker(ctx, w).recycle!.postponedLogged = true;
        log(ctx, 'info', `recycle postponed: ${retiring} retired worker(s) still draining (max_retiring ${app.settings.maxRetiring})`, {
          ...who(w),
          reason: recycle.reason,
        });
      }
      return;
    }
    fork(ctx, app, w.slot, w);
    return;
  }
}
