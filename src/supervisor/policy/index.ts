/**
 * The lifecycle and recycling policy: a pure function of (state, event, time, chance)
 * returning the next state and the effects to perform. No I/O, no timers, no processes:
 * every rule is tested with a fake clock in test/supervisor/policy.test.ts.
 *
 * One step = handle the event (the table below), then reconcile in a fixed order — like
 * gunicorn's arbiter loop: enforce deadlines (murder workers), then per app run cron, detect
 * limits, fill slots, scale down, schedule recycles, reset stable backoff (manage workers).
 *
 * Where the rules live:
 * - actions.ts   primitives: recycle, retire, abandon, kill, fork, stop
 * - workers.ts   worker messages (ready, report, drained, lost, signal) and deadlines
 * - recycling.ts memory ceilings, max_requests, cron_restart, the surge schedule
 *                (one replacement boots at a time, at most `max_retiring` draining)
 * - restarts.ts  exits, crash backoff, slots that give up, stopping once nothing is left
 * - commands.ts  signals, control commands, reloaded settings, scale-down
 *
 * The promises, whatever the file: recycling is surge-then-retire (the replacement serves
 * before the old worker retires); a forced recycle skips the stagger and the cap and gives up
 * on tasks once requests are done; a replacement that fails to boot leaves the old worker
 * serving; if no worker of an app's first generation can boot, the primary stops with exit 3
 * (unless the app is watched).
 */
import type { Settings } from '../../config/types';
import { RECYCLE_REASONS } from '../../status/snapshot';
import { liveWorkers } from '../queries';
import type { AppRuntime, ClusterState, Effect, PolicyEnv, RecycleReason, SupervisorEvent } from '../state';
import { appsMap, type Ctx, finishStopIfDone, log, mutWorker, newApp, newCtx } from './actions';
import { onCommand, onSettings, onSettingsError, onSignal, scaleDown } from './commands';
import { detectLimit, detectLimits, onMemory, runCron, scheduleRecycles } from './recycling';
import { fillSlots, onExit, resetStableBackoff, stopIfNothingLeft } from './restarts';
import { emptyConnectionsCut } from './connections';
import { enforceDeadlines, noticeStall, onDisconnect, onMessage, onReaped, onReadySignal } from './workers';

export { STALL_MS } from './workers';
export { ABANDON_GRACE_MS, drawRequestLimit, FORCE_STOP_GRACE_MS, GROUP_SIGNAL_SETTLE_MS, nextCronAt } from './actions';
export { backoffDelay } from './restarts';
export { expectedWorkers, liveWorkers } from '../queries';

export interface StepResult {
  state: ClusterState;
  effects: Effect[];
}

export function initialState(settings: Settings, now: number): ClusterState {
  const apps: Record<string, AppRuntime> = {};
  for (const app of settings.apps) apps[app.name] = newApp(app, now);
  const recyclesByReason = Object.fromEntries(RECYCLE_REASONS.map((r) => [r, 0])) as Record<RecycleReason, number>;
  const { apps: _apps, ...globals } = settings;
  return {
    globals,
    phase: 'running',
    stopMode: null,
    stopDeadline: null,
    exitCode: null,
    startedAt: now,
    nextWorkerId: 1,
    nextPmId: 0,
    apps,
    workers: {},
    totals: {
      exitedTasks: { started: 0, completed: 0, failed: 0, cancelled: 0 },
      exitedServed: 0,
      tasksLost: 0,
      recyclesByReason,
      recyclesDelayedByTasks: 0,
      taskWaitTotalMs: 0,
      processesKilled: 0,
      connectionsCut: emptyConnectionsCut(),
      appsFailed: 0,
    },
    reloadPending: false,
    reloadScope: null,
    lastTickAt: null,
    resumedAt: null,
    reaping: 0,
  };
}

type Handlers = { [T in SupervisorEvent['type']]: (ctx: Ctx, event: Extract<SupervisorEvent, { type: T }>) => void };

/** What each event does before the reconcile passes. */
const HANDLERS: Handlers = {
  start: (ctx) =>
    log(ctx, 'info', 'primary started', {
      apps: Object.values(ctx.s.apps).map((a) => ({ name: a.settings.name, workers: a.desired })),
    }),
  tick: () => {},
  forked: (ctx, e) => {
    if (ctx.s.workers[e.id]) mutWorker(ctx, e.id).pid = e.pid;
  },
  listening: (ctx, e) => onReadySignal(ctx, e.id, 'listening'),
  'listen-requested': (ctx, e) => {
    const w = ctx.s.workers[e.id];
    if (w && !w.listenRequested) mutWorker(ctx, w).listenRequested = true;
  },
  'app-ready': (ctx, e) => onReadySignal(ctx, e.id, 'message'),
  online: (ctx, e) => onReadySignal(ctx, e.id, 'online'),
  message: (ctx, e) => onMessage(ctx, e.id, e.message),
  memory: (ctx, e) => onMemory(ctx, e.samples),
  exit: (ctx, e) => {
    if (e.reaping) ctx.s.reaping += 1;
    onExit(ctx, e.id, e.code, e.signal);
  },
  reaped: (ctx, e) => onReaped(ctx, e),
  disconnect: (ctx, e) => onDisconnect(ctx, e.id),
  signal: (ctx, e) => onSignal(ctx, e.signal),
  command: (ctx, e) => onCommand(ctx, e.command),
  settings: (ctx, e) => onSettings(ctx, e.settings),
  'settings-error': (ctx, e) => onSettingsError(ctx, e.error),
};

/**
 * The whole policy: state + event → next state + effects. `prev` is never changed, and never
 * copied whole: a step costs what the event touches (see `Ctx`), whatever the number of workers.
 * An exit with `more` leaves the reconcile passes to the last exit of its burst (same time, same
 * passes, once).
 */
export function step(prev: ClusterState, event: SupervisorEvent, env: PolicyEnv): StepResult {
  const ctx = newCtx(prev, env);
  noticeStall(ctx, event.type === 'tick');
  (HANDLERS[event.type] as (ctx: Ctx, event: SupervisorEvent) => void)(ctx, event);
  if (event.type === 'message' || event.type === 'forked') reconcileWorker(ctx, event.id);
  else if (event.type !== 'exit' || !event.more) reconcile(ctx);
  return { state: ctx.s, effects: ctx.effects };
}

/**
 * A worker's own message (up to one report per worker every report interval) or its pid can
 * change only that worker: its request limit is checked, and the recycle schedule of its app runs
 * only when that asked for a recycle. Deadlines and everything else that time moves are the
 * tick's, ten times a second.
 */
function reconcileWorker(ctx: Ctx, id: number): void {
  const w = ctx.s.workers[id];
  const app = w && ctx.s.apps[w.app];
  if (!w || !app || ctx.s.phase !== 'running') return;
  if (detectLimit(ctx, w)) scheduleRecycles(ctx, app);
}

/** The reconcile passes of each app, in order (gunicorn's manage_workers). */
const APP_PASSES: Array<(ctx: Ctx, app: AppRuntime) => void> = [runCron, detectLimits, fillSlots, scaleDown, scheduleRecycles, resetStableBackoff];
/**
 * A step that asked for the config to be read again forks nothing: the new settings are the next
 * event, and a fork due now (a replacement's retry) must boot them, not the config being replaced.
 */
const PASSES_AWAITING_SETTINGS = APP_PASSES.filter((pass) => pass !== fillSlots && pass !== scheduleRecycles);

/** After every event, in this order. */
function reconcile(ctx: Ctx): void {
  const { s } = ctx;
  enforceDeadlines(ctx);
  if (s.phase === 'stopping') {
    finishStopIfDone(ctx);
    return;
  }
  const passes = s.reloadPending ? PASSES_AWAITING_SETTINGS : APP_PASSES;
  for (const name of Object.keys(s.apps)) {
    // Each pass reads the app afresh: the one before may have changed it.
    for (const pass of passes) pass(ctx, s.apps[name]!);
  }
  for (const [name, app] of Object.entries(s.apps)) {
    if (app.desired === 0 && liveWorkers(s, name).length === 0) delete appsMap(ctx)[name];
  }
  stopIfNothingLeft(ctx);
}
