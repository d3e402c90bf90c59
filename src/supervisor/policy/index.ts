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
import { type Ctx, finishStopIfDone, log, newApp } from './actions';
import { onCommand, onSettings, onSettingsError, onSignal, scaleDown } from './commands';
import { detectLimits, onMemory, runCron, scheduleRecycles } from './recycling';
import { fillSlots, onExit, resetStableBackoff, stopIfNothingLeft } from './restarts';
import { enforceDeadlines, onDisconnect, onMessage, onReaped, onReadySignal } from './workers';

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
  return {
    phase: 'running',
    stopMode: null,
    stopDeadline: null,
    exitCode: null,
    startedAt: now,
    nextWorkerId: 1,
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
    },
    reloadPending: false,
    reloadScope: null,
    reaping: 0,
    tasksLostBeforeStop: 0,
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
    const w = ctx.s.workers[e.id];
    if (w) w.pid = e.pid;
  },
  listening: (ctx, e) => onReadySignal(ctx, e.id, 'listening'),
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

/** The whole policy: state + event → next state + effects. `prev` is never changed. */
export function step(prev: ClusterState, event: SupervisorEvent, env: PolicyEnv): StepResult {
  const ctx: Ctx = { s: structuredClone(prev), env, effects: [] };
  (HANDLERS[event.type] as (ctx: Ctx, event: SupervisorEvent) => void)(ctx, event);
  reconcile(ctx);
  return { state: ctx.s, effects: ctx.effects };
}

/** After every event, in this order. */
function reconcile(ctx: Ctx): void {
  const { s } = ctx;
  enforceDeadlines(ctx);
  if (s.phase === 'stopping') {
    finishStopIfDone(ctx);
    return;
  }
  for (const app of Object.values(s.apps)) {
    runCron(ctx, app);
    detectLimits(ctx, app);
    fillSlots(ctx, app);
    scaleDown(ctx, app);
    scheduleRecycles(ctx, app);
    resetStableBackoff(ctx, app);
  }
  for (const [name, app] of Object.entries(s.apps)) {
    if (app.desired === 0 && liveWorkers(s, name).length === 0) delete s.apps[name];
  }
  stopIfNothingLeft(ctx);
}
