/**
 * Action primitives: the only ways a rule changes a worker's course (recycle, retire, abandon,
 * kill, fork, stop), each with the effects it implies. Rules in the other files decide *when*;
 * these decide *what it takes*.
 */
import { nextCronTime, parseCron } from '../../config/cron';
import type { AppSettings } from '../../config/types';
import { EXIT } from '../../errors';
import { liveWorkers } from '../queries';
import type { AppRuntime, ClusterState, Effect, LogLevel, PolicyEnv, RecycleReason, StopMode, WorkerRecord } from '../state';

/** After `abandon`, how long a worker gets to report its lost tasks before SIGKILL. */
export const ABANDON_GRACE_MS = 3_000;
/** A worker's own SIGTERM/SIGINT waits this long for the primary's (a group signal) before recycling. */
export const GROUP_SIGNAL_SETTLE_MS = 300;
/** A forced stop (second SIGTERM, SIGQUIT) gives workers this long before SIGKILL. */
export const FORCE_STOP_GRACE_MS = 1_000;

/** One step in progress: the state being built, the time and chance, the effects so far. */
export interface Ctx {
  readonly s: ClusterState;
  readonly env: PolicyEnv;
  readonly effects: Effect[];
}

export function who(w: WorkerRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { app: w.app, worker: w.id, slot: w.slot, generation: w.generation };
  if (w.pid !== null) out.pid = w.pid;
  return out;
}

export function log(ctx: Ctx, level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  ctx.effects.push({ type: 'log', level, msg, fields });
}

export function emit(ctx: Ctx, effect: Effect): void {
  ctx.effects.push(effect);
}

export function newApp(settings: AppSettings, now: number): AppRuntime {
  return { settings, desired: settings.workers, slots: [], everReady: false, bootFailures: 0, nextCronAt: nextCronAt(settings, now) };
}

/** The next time `cron_restart` reloads the app, strictly after `now`; null without a schedule. */
export function nextCronAt(settings: AppSettings, now: number): number | null {
  if (settings.cronRestart === undefined) return null;
  const parsed = parseCron(settings.cronRestart);
  return parsed.ok ? nextCronTime(parsed.schedule, now) : null;
}

/** max_requests plus a uniform draw in [0, jitter], drawn afresh for each worker. */
export function drawRequestLimit(app: AppSettings, random: () => number): number {
  if (app.maxRequests <= 0) return 0;
  return app.maxRequests + Math.floor(random() * (app.maxRequestsJitter + 1));
}

export function requestRecycle(ctx: Ctx, w: WorkerRecord, reason: RecycleReason, force: boolean, override = false): void {
  if (w.recycle && !override && !(force && !w.recycle.force)) return;
  // A reload (override) brings new code or settings: a replacement that failed before may boot now.
  w.recycle = {
    reason,
    force,
    since: ctx.env.now,
    failedAttempts: override ? 0 : (w.recycle?.failedAttempts ?? 0),
    retryAt: override ? 0 : (w.recycle?.retryAt ?? 0),
    postponedLogged: false,
  };
}

export function retire(ctx: Ctx, w: WorkerRecord, reason: RecycleReason | 'stop'): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const app = s.apps[w.app];
  const settings = app?.settings;
  const stopping = reason === 'stop';
  w.state = stopping ? 'stopping' : 'retiring';
  w.exitReason = reason;
  w.retiredAt = now;
  const wait = stopping ? (settings?.gracefulTimeout ?? 30_000) : (settings?.maxTaskWait ?? 300_000);
  w.deadline = w.recycle?.force && !stopping ? now + (settings?.gracefulTimeout ?? 30_000) : now + wait;
  if (!stopping) s.totals.recyclesByReason[reason] += 1;
  // pm2's 'shutdown' goes first: the app's handler runs before the drain begins, so cleanup it
  // starts with tasks.run() is waited for like any task.
  if (settings?.shutdownWithMessage) emit(ctx, { type: 'app-message', id: w.id, message: 'shutdown' });
  emit(ctx, { type: 'send', id: w.id, message: { $sw: 'retire', reason, idleGraceMs: settings?.drainIdleGrace ?? 1_000 } });
  log(ctx, 'info', stopping ? 'worker stopping' : 'worker retiring', { ...who(w), reason, served: w.served, tasks: w.activeTasks });
}

export function abandon(ctx: Ctx, w: WorkerRecord): void {
  if (w.abandonSent) return;
  w.abandonSent = true;
  w.killAt = ctx.env.now + ABANDON_GRACE_MS;
  if (w.activeTasks > 0) {
    log(ctx, 'warn', `giving up on ${w.activeTasks} task(s) of a retiring worker`, { ...who(w), tasks: w.activeTasks });
  }
  emit(ctx, { type: 'send', id: w.id, message: { $sw: 'abandon' } });
}

export function kill(ctx: Ctx, w: WorkerRecord, reason: WorkerRecord['exitReason']): void {
  if (w.killSent) return;
  w.killSent = true;
  if (w.exitReason === null) w.exitReason = reason;
  if (w.state === 'starting') w.state = 'failed-boot';
  else if (w.state === 'ready') w.state = 'stopping';
  w.killAt = null;
  emit(ctx, { type: 'kill', id: w.id, signal: 'SIGKILL' });
}

export function beginStop(ctx: Ctx, mode: StopMode): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const first = s.phase !== 'stopping';
  if (first) s.tasksLostBeforeStop = s.totals.tasksLost;
  s.phase = 'stopping';
  s.stopMode = mode;
  if (first) {
    const graceful = Math.max(0, ...Object.values(s.apps).map((a) => a.settings.gracefulTimeout));
    s.stopDeadline = now + graceful;
    for (const w of liveWorkers(s)) {
      // A worker still booting that has not listened yet and runs no task is killed: once it
      // listened, node:cluster would open the port again after every other worker closed it,
      // take connections, and reset them when it closes in turn.
      if (w.state === 'starting' && !w.listening && w.activeTasks === 0) kill(ctx, w, 'stop');
      else if (w.state === 'starting' || w.state === 'ready') retire(ctx, w, 'stop');
    }
  }
  if (mode !== 'graceful') {
    for (const w of liveWorkers(s)) {
      if (w.state === 'starting' || w.state === 'ready') retire(ctx, w, 'stop');
      abandon(ctx, w);
      w.killAt = Math.min(w.killAt ?? Infinity, now + FORCE_STOP_GRACE_MS);
    }
  }
}

/** The stop is done once no worker is left: exit, with a code that reports losses during the stop. */
export function finishStopIfDone(ctx: Ctx): void {
  const { s } = ctx;
  // Processes an exited worker left running are ended before the primary goes.
  if (liveWorkers(s).length > 0 || s.reaping > 0) return;
  if (ctx.effects.some((e) => e.type === 'exit')) return;
  const lostDuringStop = s.totals.tasksLost - s.tasksLostBeforeStop;
  // Processes a worker left running were cut by the primary: over the whole lifetime, like a lost task.
  const cut = lostDuringStop > 0 || s.totals.processesKilled > 0;
  const code = s.exitCode ?? (cut ? EXIT.failure : EXIT.ok);
  s.exitCode = code;
  log(ctx, 'info', 'primary exiting', { code, tasksLost: lostDuringStop, processesKilled: s.totals.processesKilled });
  emit(ctx, { type: 'exit', code });
}

export function fork(ctx: Ctx, app: AppRuntime, slot: number, replaces: WorkerRecord | null): WorkerRecord {
  const { s } = ctx;
  while (app.slots.length <= slot) {
    app.slots.push({ crashes: 0, nextForkAt: 0, restarts: 0, generation: -1, unstable: 0, stopped: null, lastExitClean: false, servers: [] });
  }
  const slotRecord = app.slots[slot]!;
  slotRecord.generation += 1;
  if (slotRecord.generation > 0) slotRecord.restarts += 1;
  const id = s.nextWorkerId++;
  const w: WorkerRecord = {
    id,
    app: app.settings.name,
    slot,
    generation: slotRecord.generation,
    pid: null,
    state: 'starting',
    forkedAt: ctx.env.now,
    readyAt: null,
    lastHeartbeatAt: null,
    requestLimit: drawRequestLimit(app.settings, ctx.env.random),
    served: 0,
    inflight: 0,
    connections: 0,
    activeTasks: 0,
    tasks: { started: 0, completed: 0, failed: 0, cancelled: 0, activeByType: {} },
    loopDelayMs: null,
    rssBytes: null,
    cpuPercent: null,
    recycle: null,
    replacementId: null,
    replacesId: replaces?.id ?? null,
    listening: false,
    servers: [],
    requiredServers: [...slotRecord.servers],
    untracked: false,
    exitReason: null,
    retiredAt: null,
    waitingSince: null,
    deadline: null,
    killAt: null,
    abandonSent: false,
    killSent: false,
    lostReported: false,
  };
  s.workers[id] = w;
  if (replaces) replaces.replacementId = id;
  emit(ctx, { type: 'fork', id, app: w.app, slot, generation: w.generation, requestLimit: w.requestLimit });
  log(ctx, 'info', replaces ? 'forking replacement' : 'forking worker', {
    ...who(w),
    replaces: replaces ? { id: replaces.id, pid: replaces.pid, reason: replaces.recycle?.reason } : undefined,
  });
  return w;
}
