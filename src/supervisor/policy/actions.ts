/**
 * Action primitives: the only ways a rule changes a worker's course (recycle, retire, abandon,
 * kill, fork, stop), each with the effects it implies. Rules in the other files decide *when*;
 * these decide *what it takes*.
 */
import { nextCronTime, parseCron } from '../../config/cron';
import type { AppSettings } from '../../config/types';
import { EXIT } from '../../errors';
import { APP_SHUTDOWN } from '../../protocol';
import { forgetLive, liveWorkers } from '../queries';
import { connectionsCutTotal, drainBound } from './connections';
import { abandonGrace, isProcessWorker, retireWait } from './processes';
import type { AppRuntime, ClusterState, Effect, LogLevel, PolicyEnv, RecycleReason, SlotRecord, StopMode, Totals, WorkerRecord } from '../state';

/** After `abandon`, how long a worker gets to report its lost tasks before SIGKILL. */
export const ABANDON_GRACE_MS = 3_000;
/** A worker's own SIGTERM/SIGINT waits this long for the primary's (a group signal) before recycling. */
export const GROUP_SIGNAL_SETTLE_MS = 300;
/** A forced stop (second SIGTERM, SIGQUIT) gives workers this long before SIGKILL. */
export const FORCE_STOP_GRACE_MS = 1_000;

/**
 * One step in progress: the next state, the time and chance, the effects so far.
 *
 * `step` must leave the state it was given untouched, yet cost the same whatever the number of
 * workers: so `s` starts as a shallow copy and each record a rule changes is copied once, on its
 * first write in the step (`own` holds the copies made so far). Rules write only through
 * `mutWorker`, `mutApp`, `mutSlot` and `mutTotals`; everything else is shared with the previous
 * state and read-only.
 */
export interface Ctx {
  readonly s: ClusterState;
  readonly env: PolicyEnv;
  readonly effects: Effect[];
  readonly own: Set<object>;
}

export function newCtx(prev: ClusterState, env: PolicyEnv): Ctx {
  const s = { ...prev };
  return { s, env, effects: [], own: new Set([s]) };
}

function owned<T extends object>(ctx: Ctx, value: T, copy: (v: T) => T): T {
  if (ctx.own.has(value)) return value;
  const c = copy(value);
  ctx.own.add(c);
  return c;
}

/** The workers map of this step, writable. */
export function workersMap(ctx: Ctx): Record<number, WorkerRecord> {
  const map = owned(ctx, ctx.s.workers, (m) => ({ ...m }));
  ctx.s.workers = map;
  forgetLive(map); // the caller writes into it
  return map;
}

/** This step's writable copy of a worker (by record or id); every later read of it sees the copy. */
export function mutWorker(ctx: Ctx, w: WorkerRecord | number): WorkerRecord {
  const id = typeof w === 'number' ? w : w.id;
  const current = ctx.s.workers[id];
  if (current === undefined) throw new Error(`policy: no worker ${id}`);
  if (ctx.own.has(current)) return current;
  const map = workersMap(ctx);
  const copy = owned(ctx, current, (r) => ({ ...r, recycle: r.recycle && { ...r.recycle } }));
  map[id] = copy;
  return copy;
}

/** The apps map of this step, writable. */
export function appsMap(ctx: Ctx): Record<string, AppRuntime> {
  const apps = owned(ctx, ctx.s.apps, (m) => ({ ...m }));
  ctx.s.apps = apps;
  return apps;
}

/** This step's writable copy of an app (its slots array stays shared until `mutSlot`). */
export function mutApp(ctx: Ctx, name: string): AppRuntime {
  const apps = appsMap(ctx);
  const app = apps[name];
  if (app === undefined) throw new Error(`policy: no app ${name}`);
  const copy = owned(ctx, app, (a) => ({ ...a }));
  apps[name] = copy;
  return copy;
}

/** This step's writable copy of a slot record (created when the slot is new). */
export function mutSlot(ctx: Ctx, appName: string, slot: number): SlotRecord {
  const app = mutApp(ctx, appName);
  const slots = owned(ctx, app.slots, (list) => [...list]);
  app.slots = slots;
  while (slots.length <= slot) {
    const fresh: SlotRecord = { crashes: 0, nextForkAt: 0, generation: -1, pmId: ctx.s.nextPmId++, unstable: 0, stopped: null, lastExitClean: false, servers: [] };
    ctx.own.add(fresh);
    slots.push(fresh);
  }
  const copy = owned(ctx, slots[slot]!, (r) => ({ ...r }));
  slots[slot] = copy;
  return copy;
}

export function mutTotals(ctx: Ctx): Totals {
  const totals = owned(ctx, ctx.s.totals, (t) => ({ ...t, exitedTasks: { ...t.exitedTasks }, recyclesByReason: { ...t.recyclesByReason } }));
  ctx.s.totals = totals;
  return totals;
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
  return { settings, desired: settings.workers, slots: [], everReady: false, bootFailures: 0, nextCronAt: nextCronAt(settings, now), failure: null };
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

/** max_tasks plus a uniform draw in [0, jitter], as for max_requests. */
export function drawTaskLimit(app: AppSettings, random: () => number): number {
  if (!(app.maxTasks > 0)) return 0;
  return app.maxTasks + Math.floor(random() * ((app.maxTasksJitter ?? 0) + 1));
}

/** The latest version of a worker in this step (a caller may hold an older one). */
export function current(ctx: Ctx, w: WorkerRecord): WorkerRecord {
  return ctx.s.workers[w.id] ?? w;
}

export function requestRecycle(ctx: Ctx, worker: WorkerRecord, reason: RecycleReason, force: boolean, override = false): void {
  const prev = current(ctx, worker).recycle;
  if (prev && !override && !(force && !prev.force)) return;
  // A reload (override) brings new code or settings: a replacement that failed before may boot now.
  mutWorker(ctx, worker).recycle = {
    reason,
    force,
    since: ctx.env.now,
    failedAttempts: override ? 0 : (prev?.failedAttempts ?? 0),
    retryAt: override ? 0 : (prev?.retryAt ?? 0),
    postponedLogged: false,
  };
}

export function retire(ctx: Ctx, worker: WorkerRecord, reason: RecycleReason | 'stop'): void {
  const now = ctx.env.now;
  const w = mutWorker(ctx, worker);
  const settings = ctx.s.apps[w.app]?.settings;
  const stopping = reason === 'stop';
  w.state = stopping ? 'stopping' : 'retiring';
  w.exitReason = reason;
  const wait = retireWait(ctx, w, stopping);
  const force = w.recycle?.force === true && !stopping;
  w.deadline = force ? now + (settings?.gracefulTimeout ?? 30_000) : now + wait;
  const drainTimeoutMs = drainBound(settings, stopping, force);
  // A process worker reports no connections: its stop signal and graceful_timeout bound it.
  w.drainDeadline = isProcessWorker(ctx, w) ? null : now + drainTimeoutMs;
  if (!stopping) mutTotals(ctx).recyclesByReason[reason] += 1;
  // pm2's 'shutdown' goes first: the app's handler runs before the drain begins, so cleanup it
  // starts with tasks.run() is waited for like any task.
  if (settings?.shutdownWithMessage) emit(ctx, { type: 'app-message', id: w.id, message: APP_SHUTDOWN });
  emit(ctx, { type: 'send', id: w.id, message: { $sw: 'retire', reason, idleGraceMs: settings?.drainIdleGrace ?? 1_000, drainTimeoutMs } });
  log(ctx, 'info', stopping ? 'worker stopping' : 'worker retiring', { ...who(w), reason, served: w.served, tasks: w.activeTasks });
}

export function abandon(ctx: Ctx, worker: WorkerRecord): void {
  if (current(ctx, worker).abandonSent) return;
  const w = mutWorker(ctx, worker);
  w.abandonSent = true;
  w.killAt = ctx.env.now + abandonGrace(ctx, w, ABANDON_GRACE_MS);
  if (w.activeTasks > 0) {
    log(ctx, 'warn', `giving up on ${w.activeTasks} task(s) of a retiring worker`, { ...who(w), tasks: w.activeTasks });
  }
  emit(ctx, { type: 'send', id: w.id, message: { $sw: 'abandon' } });
}

export function kill(ctx: Ctx, worker: WorkerRecord, reason: WorkerRecord['exitReason']): void {
  if (current(ctx, worker).killSent) return;
  const w = mutWorker(ctx, worker);
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
  s.phase = 'stopping';
  s.stopMode = mode;
  if (first) {
    const graceful = Math.max(0, ...Object.values(s.apps).map((a) => a.settings.gracefulTimeout));
    s.stopDeadline = now + graceful;
    for (const w of liveWorkers(s)) {
      // A worker still booting that has not asked to listen yet and runs no task is killed: once
      // it listened, node:cluster would open the port again after every other worker closed it,
      // take connections, and reset them when it closes in turn. One that asked (`queryServer`)
      // may hold connections already, its `listening` still on the way: it drains like the others.
      // A process worker shares no port: it gets its stop signal like any other.
      if (w.state === 'starting' && !w.listening && !w.listenRequested && w.activeTasks === 0 && !isProcessWorker(ctx, w)) kill(ctx, w, 'stop');
      else if (w.state === 'starting' || w.state === 'ready') retire(ctx, w, 'stop');
    }
  }
  if (mode !== 'graceful') {
    for (const w of liveWorkers(s)) {
      if (w.state === 'starting' || w.state === 'ready') retire(ctx, w, 'stop');
      abandon(ctx, w);
      const d = mutWorker(ctx, w);
      d.killAt = Math.min(d.killAt ?? Infinity, now + FORCE_STOP_GRACE_MS);
    }
  }
}

/**
 * The stop is done once no worker is left: exit. Exit 0 only when nothing was lost over the
 * primary's whole life: a task lost in a crash an hour ago still makes the code non-zero.
 */
export function finishStopIfDone(ctx: Ctx): void {
  const { s } = ctx;
  // Processes an exited worker left running are ended before the primary goes.
  if (liveWorkers(s).length > 0 || s.reaping > 0) return;
  if (ctx.effects.some((e) => e.type === 'exit')) return;
  const lost = s.totals.tasksLost;
  const killed = s.totals.processesKilled;
  const connectionsCut = connectionsCutTotal(s.totals);
  // Processes a worker left running, and connections the app had not closed, were cut by the
  // primary: over the whole lifetime, like a lost task.
  const cut = lost > 0 || killed > 0 || connectionsCut > 0;
  const code = s.exitCode !== null && s.exitCode !== EXIT.ok ? s.exitCode : cut ? EXIT.failure : EXIT.ok;
  s.exitCode = code;
  if (lost > 0) log(ctx, 'error', `${lost} task(s) were lost while the primary ran (each logged above as it happened): exiting ${code}`, { code, tasksLost: lost });
  if (connectionsCut > 0) {
    log(ctx, 'error', `${connectionsCut} connection(s) were cut before the app closed them (each logged above as it happened): exiting ${code}`, { code, connectionsCut });
  }
  log(ctx, 'info', 'primary exiting', { code, tasksLost: lost, processesKilled: killed, connectionsCut });
  emit(ctx, { type: 'exit', code });
}

export function fork(ctx: Ctx, app: AppRuntime, slot: number, replaces: WorkerRecord | null): WorkerRecord {
  const { s } = ctx;
  const slotRecord = mutSlot(ctx, app.settings.name, slot);
  slotRecord.generation += 1;
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
    taskLimit: drawTaskLimit(app.settings, ctx.env.random),
    served: 0,
    inflight: 0,
    connections: 0,
    idle: 0,
    upgraded: 0,
    streaming: 0,
    drainDeadline: null,
    cutReported: false,
    activeTasks: 0,
    tasks: { started: 0, completed: 0, failed: 0, cancelled: 0, activeByType: {} },
    loopDelayMs: null,
    rssBytes: null,
    cpuPercent: null,
    recycle: null,
    replacesId: replaces?.id ?? null,
    listening: false,
    listenRequested: false,
    servers: [],
    requiredServers: [...slotRecord.servers],
    untracked: false,
    exitReason: null,
    waitingSince: null,
    deadline: null,
    killAt: null,
    abandonSent: false,
    killSent: false,
    lostReported: false,
  };
  workersMap(ctx)[id] = w;
  ctx.own.add(w);
  emit(ctx, { type: 'fork', id, app: w.app, slot, generation: w.generation, requestLimit: w.requestLimit, pmId: slotRecord.pmId, instances: app.desired });
  log(ctx, 'info', replaces ? 'forking replacement' : 'forking worker', {
    ...who(w),
    replaces: replaces ? { id: replaces.id, pid: replaces.pid, reason: replaces.recycle?.reason } : undefined,
  });
  return w;
}
