/**
 * The lifecycle and recycling policy: a pure function of (state, event, time, chance)
 * returning the next state and the effects to perform. No I/O, no timers, no processes:
 * every rule here is tested with a fake clock in test/supervisor/policy.test.ts.
 *
 * Rules in one place:
 * - Recycling is surge-then-retire: fork the replacement, and only once it is ready tell the
 *   old worker to retire (stop accepting, drain requests, wait for its tasks, exit).
 * - One replacement boots at a time per app (recycles are staggered); at most `max_retiring`
 *   retired workers per app may drain or wait on tasks at once — past that a recycle is
 *   postponed and the worker keeps serving.
 * - A forced recycle (hard memory ceiling, `--force`) skips the stagger and the cap, and
 *   gives up on tasks as soon as the worker's requests are done.
 * - A replacement that fails to boot leaves the old worker serving; retried with backoff.
 * - A crash is replaced with exponential backoff, reset after `min_uptime` of stable uptime.
 *   With `autorestart: false` it is not replaced; after `max_restarts` consecutive unstable
 *   exits (before `min_uptime`) the slot gives up. A reload of the app restarts such slots.
 *   Once no worker is left and none will be restarted, the primary stops.
 * - If no worker of an app's first generation can boot, the primary stops with exit code 3
 *   (unless the app is watched: then it waits for a change).
 * - `cron_restart` dispatches a reload of its app on schedule (the same path as SIGHUP).
 */
import { nextCronTime, parseCron } from '../config/cron';
import type { AppSettings, ReadyOn, Settings } from '../config/types';
import { EXIT, describeBootFailure } from '../errors';
import type { WorkerMessage } from '../protocol';
import { RECYCLE_REASONS } from '../status/snapshot';
import type {
  AppRuntime,
  ClusterState,
  Command,
  Effect,
  LogLevel,
  MemorySample,
  PolicyEnv,
  PrimarySignal,
  RecycleReason,
  StopMode,
  SupervisorEvent,
  WorkerRecord,
} from './state';

/** After `abandon`, how long a worker gets to report its lost tasks before SIGKILL. */
export const ABANDON_GRACE_MS = 3_000;
/** A worker's own SIGTERM/SIGINT waits this long for the primary's (a group signal) before recycling. */
export const GROUP_SIGNAL_SETTLE_MS = 300;
/** A forced stop (second SIGTERM, SIGQUIT) gives workers this long before SIGKILL. */
export const FORCE_STOP_GRACE_MS = 1_000;

const LIVE_STATES = new Set(['starting', 'ready', 'retiring', 'waiting-for-tasks', 'stopping', 'failed-boot']);

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
    },
    reloadPending: false,
    reloadScope: null,
    tasksLostBeforeStop: 0,
  };
}

function newApp(settings: AppSettings, now: number): AppRuntime {
  return { settings, desired: settings.workers, slots: [], everReady: false, bootFailures: 0, nextCronAt: nextCronAt(settings, now) };
}

/** The next time `cron_restart` reloads the app, strictly after `now`; null without a schedule. */
export function nextCronAt(settings: AppSettings, now: number): number | null {
  if (settings.cronRestart === undefined) return null;
  const parsed = parseCron(settings.cronRestart);
  return parsed.ok ? nextCronTime(parsed.schedule, now) : null;
}

/** How many ready workers the app should have: its slots, less those that gave up. */
export function expectedWorkers(app: AppRuntime): number {
  let count = 0;
  for (let slot = 0; slot < app.desired; slot++) if (!app.slots[slot]?.stopped) count += 1;
  return count;
}

/** Crash backoff: restart_delay doubling per consecutive crash, capped at max_restart_delay. */
export function backoffDelay(app: AppSettings, attempt: number): number {
  if (attempt <= 0) return 0;
  const delay = app.restartDelay * 2 ** Math.min(attempt - 1, 30);
  return Math.min(delay, app.maxRestartDelay);
}

/** max_requests plus a uniform draw in [0, jitter], drawn afresh for each worker. */
export function drawRequestLimit(app: AppSettings, random: () => number): number {
  if (app.maxRequests <= 0) return 0;
  return app.maxRequests + Math.floor(random() * (app.maxRequestsJitter + 1));
}

export interface StepResult {
  state: ClusterState;
  effects: Effect[];
}

/** The whole policy: state + event → next state + effects. `prev` is never changed. */
export function step(prev: ClusterState, event: SupervisorEvent, env: PolicyEnv): StepResult {
  const state = structuredClone(prev);
  const ctx = new Step(state, env);
  ctx.handle(event);
  ctx.reconcile();
  return { state, effects: ctx.effects };
}

export function liveWorkers(state: ClusterState, app?: string): WorkerRecord[] {
  return Object.values(state.workers).filter((w) => LIVE_STATES.has(w.state) && (app === undefined || w.app === app));
}

class Step {
  readonly effects: Effect[] = [];

  constructor(
    private readonly s: ClusterState,
    private readonly env: PolicyEnv,
  ) {}

  private get now(): number {
    return this.env.now;
  }

  // ------------------------------------------------------------------ events

  handle(event: SupervisorEvent): void {
    switch (event.type) {
      case 'start':
        this.log('info', 'primary started', {
          apps: Object.values(this.s.apps).map((a) => ({ name: a.settings.name, workers: a.desired })),
        });
        return;
      case 'tick':
        return;
      case 'forked': {
        const w = this.s.workers[event.id];
        if (w) w.pid = event.pid;
        return;
      }
      case 'listening':
        return this.onReadySignal(event.id, 'listening');
      case 'app-ready':
        return this.onReadySignal(event.id, 'message');
      case 'online':
        return this.onReadySignal(event.id, 'online');
      case 'message':
        return this.onMessage(event.id, event.message);
      case 'memory':
        return this.onMemory(event.samples);
      case 'exit':
        return this.onExit(event.id, event.code, event.signal);
      case 'signal':
        return this.onSignal(event.signal);
      case 'command':
        return this.onCommand(event.command);
      case 'settings':
        return this.onSettings(event.settings);
      case 'settings-error':
        this.s.reloadPending = false;
        this.s.reloadScope = null;
        this.log('error', 'reload aborted: the config file is invalid; workers keep running with the old config', {
          error: event.error,
        });
        return;
    }
  }

  private onReadySignal(id: number, via: ReadyOn): void {
    const w = this.s.workers[id];
    if (w && via === 'listening') w.listening = true;
    if (!w || w.state !== 'starting') return;
    const app = this.s.apps[w.app];
    if (via !== (app?.settings.readyOn ?? 'listening')) return;
    w.state = 'ready';
    w.readyAt = this.now;
    w.lastHeartbeatAt = this.now;
    if (app) app.everReady = true;
    this.log('info', 'worker ready', { ...this.who(w), bootMs: this.now - w.forkedAt });

    if (this.s.phase === 'stopping') {
      this.retire(w, 'stop');
      return;
    }
    const old = w.replacesId === null ? undefined : this.s.workers[w.replacesId];
    if (old && old.replacementId === w.id && old.state === 'ready' && old.recycle) {
      this.retire(old, old.recycle.reason);
    }
  }

  private onMessage(id: number, m: WorkerMessage): void {
    const w = this.s.workers[id];
    if (!w) return;
    switch (m.$sw) {
      case 'hello':
        this.log('debug', 'worker runtime loaded', { ...this.who(w), protocol: m.protocol, node: m.node });
        return;
      case 'report':
        w.lastHeartbeatAt = this.now;
        w.served = m.served;
        w.inflight = m.inflight;
        w.connections = m.connections;
        w.tasks = m.tasks;
        w.activeTasks = sumValues(m.tasks.activeByType);
        w.loopDelayMs = m.loopDelayMs;
        return;
      case 'drained':
        w.lastHeartbeatAt = this.now;
        w.activeTasks = m.activeTasks;
        if ((w.state === 'retiring' || w.state === 'stopping') && m.activeTasks > 0) {
          if (w.state === 'retiring') {
            w.state = 'waiting-for-tasks';
            this.s.totals.recyclesDelayedByTasks += 1;
          }
          w.waitingSince = this.now;
          this.log('info', `worker waiting for ${m.activeTasks} task(s)`, { ...this.who(w), tasks: m.activeTasks });
          if (w.recycle?.force) this.abandon(w);
        }
        return;
      case 'lost':
        if (!w.lostReported) {
          w.lostReported = true;
          this.s.totals.tasksLost += m.tasks.length;
          for (const t of m.tasks) {
            this.log('warn', 'task lost', {
              ...this.who(w),
              task: { id: t.id, type: t.type, description: t.description, runningMs: this.now - t.startedAt },
            });
          }
        }
        return;
      case 'signal':
        if (this.s.phase === 'running' && w.state === 'ready' && !w.recycle) {
          this.log('info', `worker received ${m.signal}: recycling it`, this.who(w));
          this.requestRecycle(w, 'signal', false);
          // Ctrl-C and systemd signal the whole group: the primary's own signal usually follows
          // within milliseconds and turns this into a stop, so do not fork a replacement yet.
          w.recycle!.retryAt = this.now + GROUP_SIGNAL_SETTLE_MS;
        }
        return;
      case 'tasks':
        return; // answered to whoever asked, outside the policy
      case 'sync':
        return; // the exit barrier, answered by the process host
    }
  }

  private onMemory(samples: MemorySample[]): void {
    for (const sample of samples) {
      const w = this.s.workers[sample.id];
      if (!w) continue;
      w.rssBytes = sample.rssBytes;
      w.cpuPercent = sample.cpuPercent;
      const app = this.s.apps[w.app];
      if (!app || this.s.phase !== 'running') continue;
      const { maxMemory, maxMemoryHard } = app.settings;
      const overHard = maxMemoryHard > 0 && sample.rssBytes >= maxMemoryHard;
      const overSoft = maxMemory > 0 && sample.rssBytes >= maxMemory;
      if (w.state === 'ready') {
        if (overHard && !w.recycle?.force) {
          this.log('warn', 'worker over max_memory_hard: replacing it now, tasks will be lost', {
            ...this.who(w),
            rssBytes: sample.rssBytes,
            limit: maxMemoryHard,
          });
          this.requestRecycle(w, 'memory_hard', true);
        } else if (overSoft && !w.recycle) {
          this.log('info', 'worker over max_memory: recycling it', { ...this.who(w), rssBytes: sample.rssBytes, limit: maxMemory });
          this.requestRecycle(w, 'memory', false);
        }
      } else if ((w.state === 'retiring' || w.state === 'waiting-for-tasks') && overHard && !w.abandonSent) {
        this.log('warn', 'retiring worker over max_memory_hard: giving up its tasks', { ...this.who(w), rssBytes: sample.rssBytes });
        this.abandon(w);
      }
    }
  }

  private onExit(id: number, code: number | null, signal: string | null): void {
    const w = this.s.workers[id];
    if (!w) return;
    const app = this.s.apps[w.app];
    const expected = w.exitReason !== null;
    // A retired worker exits 0 on its own only once its tasks are done (its last report may
    // not have arrived yet); otherwise the tasks it last reported are gone with it.
    const exitedClean = expected && code === 0 && signal === null && !w.abandonSent;
    const lostNow = w.lostReported || exitedClean ? 0 : w.activeTasks;
    const fields = { ...this.who(w), code, signal, reason: w.exitReason ?? 'crash', uptimeMs: this.now - w.forkedAt };

    if (lostNow > 0) {
      this.s.totals.tasksLost += lostNow;
      this.log('warn', `worker exited with ${lostNow} task(s) still running: lost`, {
        ...fields,
        lostByType: w.tasks.activeByType,
      });
    }
    if (w.waitingSince !== null) this.s.totals.taskWaitTotalMs += this.now - w.waitingSince;
    this.s.totals.exitedServed += w.served;
    for (const k of ['started', 'completed', 'failed', 'cancelled'] as const) this.s.totals.exitedTasks[k] += w.tasks[k];
    delete this.s.workers[id];

    // A surge whose old worker is gone: the replacement simply takes the slot.
    if (w.replacementId !== null) {
      const r = this.s.workers[w.replacementId];
      if (r) r.replacesId = null;
    }

    if (expected) {
      this.log('info', 'worker exited', fields);
      return;
    }

    if (!app) return;
    const wasReplacement = w.replacesId !== null ? this.s.workers[w.replacesId] : undefined;

    if (w.state === 'starting' || w.state === 'failed-boot') {
      this.log('error', 'worker failed to boot', fields);
      if (wasReplacement && wasReplacement.replacementId === w.id) {
        this.replacementFailed(wasReplacement);
        return;
      }
      if (!app.everReady && w.generation === 0) {
        app.bootFailures += 1;
        if (app.bootFailures >= app.desired && this.s.phase === 'running' && app.settings.watch.length > 0) {
          if (app.bootFailures === app.desired) {
            this.log('error', `no worker of app '${app.settings.name}' could boot; retrying, and reloading when a watched file changes`, {
              app: app.settings.name,
            });
          }
        } else if (app.bootFailures >= app.desired && this.s.phase === 'running') {
          const { settings } = app;
          const failure = describeBootFailure({ app: settings.name, readyOn: settings.readyOn, bootTimeoutMs: settings.bootTimeout, timedOut: w.killSent });
          this.log('error', failure.msg, { app: settings.name, fix: failure.fix });
          this.s.exitCode = EXIT.bootFailed;
          this.beginStop('fast');
          return;
        }
      }
      this.afterUnexpectedExit(app, w, code, signal);
      return;
    }

    this.s.totals.recyclesByReason.crash += 1;
    if (code === 0 && signal === null) this.log('warn', 'worker exited on its own', fields);
    else this.log('error', 'worker crashed', fields);
    this.afterUnexpectedExit(app, w, code, signal);
  }

  /** A worker of a slot exited unexpectedly (crash, exit, failed boot): restart it, or give the slot up. */
  private afterUnexpectedExit(app: AppRuntime, w: WorkerRecord, code: number | null, signal: string | null): void {
    const record = app.slots[w.slot];
    if (!record) return;
    const uptimeMs = this.now - w.forkedAt;
    record.unstable = uptimeMs < app.settings.minUptime ? record.unstable + 1 : 0;
    record.lastExitClean = code === 0 && signal === null;
    if (this.s.phase !== 'running' || w.slot >= app.desired) return this.scheduleSlotRestart(app, w.slot);
    const who = { app: app.settings.name, slot: w.slot };
    if (!app.settings.autorestart) {
      record.stopped = 'autorestart';
      this.log('warn', `autorestart is off: slot ${w.slot} stays empty until the next reload`, who);
      return;
    }
    const { maxRestarts } = app.settings;
    if (maxRestarts > 0 && record.unstable >= maxRestarts) {
      record.stopped = 'max_restarts';
      this.log('error', `slot ${w.slot} gave up after ${record.unstable} unstable restarts (max_restarts ${maxRestarts}); not restarted until the next reload`, {
        ...who,
        unstableRestarts: record.unstable,
        minUptimeMs: app.settings.minUptime,
      });
      return;
    }
    this.scheduleSlotRestart(app, w.slot, w);
  }

  /**
   * When the slot of an exited worker forks again. Backoff (restart_delay, doubling per
   * consecutive crash) is for an app that cannot boot or dies before doing any work, so it never
   * spins. A worker that served requests proved the app boots and works: it is replaced at once,
   * as gunicorn or a bare node:cluster primary would (a worker killed from outside, a crash on one
   * request in a hundred), and its slot's count of consecutive crashes starts over. So is the last
   * worker holding the port, which would otherwise refuse connections for the whole backoff.
   */
  private scheduleSlotRestart(app: AppRuntime, slot: number, exited?: WorkerRecord): void {
    const record = app.slots[slot];
    if (!record) return;
    const wasServing = exited !== undefined && exited.listening && exited.readyAt !== null;
    const servedRequests = wasServing && exited.served > 0;
    record.crashes = servedRequests ? 0 : record.crashes + 1;
    const othersServing = liveWorkers(this.s, app.settings.name).some((o) => o.state === 'ready');
    const lastServing = wasServing && !othersServing;
    const delay = lastServing ? 0 : backoffDelay(app.settings, record.crashes);
    if (lastServing) {
      // Capacity first: slots still waiting out a backoff are brought forward too.
      for (const other of app.slots) other.nextForkAt = Math.min(other.nextForkAt, this.now);
    }
    record.nextForkAt = this.now + delay;
    if (delay > 0 && this.s.phase === 'running' && slot < app.desired) {
      this.log('info', `restarting slot ${slot} in ${delay}ms (backoff)`, { app: app.settings.name, slot, delayMs: delay, crashes: record.crashes });
    }
  }

  private replacementFailed(old: WorkerRecord): void {
    old.replacementId = null;
    if (!old.recycle) return;
    const app = this.s.apps[old.app];
    if (!app) return;
    if (app.settings.watch.length > 0 && old.recycle.reason === 'reload') {
      // Watched (dev mode): the new code is broken; retrying it would print the same error again
      // and again. The next change of a watched file reloads.
      old.recycle = null;
      this.log('warn', 'replacement failed to boot; the old worker keeps serving until the next change', this.who(old));
      return;
    }
    old.recycle.failedAttempts += 1;
    const delay = Math.max(backoffDelay(app.settings, old.recycle.failedAttempts), app.settings.restartDelay);
    old.recycle.retryAt = this.now + delay;
    this.log('warn', 'replacement failed to boot; the old worker keeps serving', {
      ...this.who(old),
      retryInMs: delay,
      attempts: old.recycle.failedAttempts,
    });
  }

  private onSignal(signal: PrimarySignal): void {
    switch (signal) {
      case 'SIGTERM':
      case 'SIGINT':
        if (this.s.phase === 'stopping') {
          if (this.s.stopMode === 'graceful') {
            this.log('warn', `${signal} again: forcing the stop`);
            this.beginStop('force');
          }
          return;
        }
        this.log('info', `${signal}: graceful stop`);
        this.beginStop('graceful');
        return;
      case 'SIGQUIT':
        this.log('info', 'SIGQUIT: fast stop');
        this.beginStop('fast');
        return;
      case 'SIGHUP':
        this.onCommand({ kind: 'reload' });
        return;
      case 'SIGTTIN':
        this.onCommand({ kind: 'scale', delta: 1 });
        return;
      case 'SIGTTOU':
        this.onCommand({ kind: 'scale', delta: -1 });
        return;
    }
  }

  private onCommand(c: Command): void {
    if (this.s.phase === 'stopping') {
      if (c.kind === 'stop' && c.force) this.beginStop('force');
      else this.log('warn', `${c.kind} ignored: the cluster is stopping`);
      return;
    }
    switch (c.kind) {
      case 'reload':
        if (this.s.reloadPending) {
          this.log('info', 'reload already in progress: the config will be re-read once more');
        }
        this.s.reloadPending = true;
        // Several reloads before the file is read: the widest scope wins.
        this.s.reloadScope = c.app === undefined || (this.s.reloadScope !== null && this.s.reloadScope !== c.app) ? null : c.app;
        this.emit({ type: 'reload-settings' });
        return;
      case 'recycle':
        for (const w of liveWorkers(this.s)) {
          if (c.app !== undefined && w.app !== c.app) continue;
          if (c.slot !== 'all' && w.slot !== c.slot) continue;
          if (w.state !== 'ready') continue;
          this.requestRecycle(w, 'manual', c.force);
        }
        return;
      case 'scale': {
        const app = c.app !== undefined ? this.s.apps[c.app] : Object.values(this.s.apps)[0];
        if (!app) return;
        const target = c.absolute ?? app.desired + (c.delta ?? 0);
        if (target < 1) {
          this.log('warn', `scale to ${target} refused: an app keeps at least 1 worker (stop it instead)`, { app: app.settings.name });
          return;
        }
        if (target !== app.desired) {
          this.log('info', `scaling ${app.settings.name} from ${app.desired} to ${target} workers`, { app: app.settings.name });
          app.desired = target;
        }
        return;
      }
      case 'stop':
        this.beginStop(c.force ? 'force' : 'graceful');
        return;
    }
  }

  private onSettings(settings: Settings): void {
    this.s.reloadPending = false;
    const names = new Set(settings.apps.map((a) => a.name));
    for (const appSettings of settings.apps) {
      const existing = this.s.apps[appSettings.name];
      if (existing) {
        const workersChanged = existing.settings.workers !== appSettings.workers;
        const cronChanged = existing.settings.cronRestart !== appSettings.cronRestart;
        existing.settings = appSettings;
        if (workersChanged) existing.desired = appSettings.workers;
        if (cronChanged) existing.nextCronAt = nextCronAt(appSettings, this.now);
      } else {
        this.s.apps[appSettings.name] = newApp(appSettings, this.now);
        this.log('info', `reload: new app '${appSettings.name}'`);
      }
    }
    for (const name of Object.keys(this.s.apps)) {
      if (!names.has(name)) {
        this.log('info', `reload: app '${name}' removed from the config; retiring its workers`);
        this.s.apps[name]!.desired = 0;
      }
    }
    let count = 0;
    // Every worker that may run the old code or settings, including replacements still booting.
    const scope = this.s.reloadScope;
    this.s.reloadScope = null;
    // New code may fix what made slots give up or back off: they start again now.
    for (const [name, app] of Object.entries(this.s.apps)) {
      if (scope !== null && name !== scope) continue;
      for (const record of app.slots) {
        record.stopped = null;
        record.unstable = 0;
        record.crashes = 0;
        record.nextForkAt = 0;
      }
    }
    for (const w of liveWorkers(this.s, scope ?? undefined)) {
      if (w.state !== 'ready' && w.state !== 'starting') continue;
      if (w.replacementId !== null && this.s.workers[w.replacementId]?.state === 'starting') continue; // its replacement is marked instead
      this.requestRecycle(w, 'reload', w.recycle?.force ?? false, true);
      count += 1;
    }
    this.log('info', `reload: rolling restart of ${count} worker(s)`);
  }

  // ------------------------------------------------------------------ actions

  private requestRecycle(w: WorkerRecord, reason: RecycleReason, force: boolean, override = false): void {
    if (w.recycle && !override && !(force && !w.recycle.force)) return;
    // A reload (override) brings new code or settings: a replacement that failed before may boot now.
    w.recycle = {
      reason,
      force,
      since: this.now,
      failedAttempts: override ? 0 : (w.recycle?.failedAttempts ?? 0),
      retryAt: override ? 0 : (w.recycle?.retryAt ?? 0),
      postponedLogged: false,
    };
  }

  private retire(w: WorkerRecord, reason: RecycleReason | 'stop'): void {
    const app = this.s.apps[w.app];
    const settings = app?.settings;
    const stopping = reason === 'stop';
    w.state = stopping ? 'stopping' : 'retiring';
    w.exitReason = reason;
    w.retiredAt = this.now;
    const wait = stopping ? (settings?.gracefulTimeout ?? 30_000) : (settings?.maxTaskWait ?? 300_000);
    w.deadline = w.recycle?.force && !stopping ? this.now + (settings?.gracefulTimeout ?? 30_000) : this.now + wait;
    if (!stopping) this.s.totals.recyclesByReason[reason] += 1;
    // pm2's 'shutdown' goes first: the app's handler runs before the drain begins, so cleanup it
    // starts with tasks.run() is waited for like any task.
    if (settings?.shutdownWithMessage) this.emit({ type: 'app-message', id: w.id, message: 'shutdown' });
    this.emit({ type: 'send', id: w.id, message: { $sw: 'retire', reason, idleGraceMs: settings?.drainIdleGrace ?? 1_000 } });
    this.log('info', stopping ? 'worker stopping' : 'worker retiring', { ...this.who(w), reason, served: w.served, tasks: w.activeTasks });
  }

  private abandon(w: WorkerRecord): void {
    if (w.abandonSent) return;
    w.abandonSent = true;
    w.killAt = this.now + ABANDON_GRACE_MS;
    if (w.activeTasks > 0) {
      this.log('warn', `giving up on ${w.activeTasks} task(s) of a retiring worker`, { ...this.who(w), tasks: w.activeTasks });
    }
    this.emit({ type: 'send', id: w.id, message: { $sw: 'abandon' } });
  }

  private kill(w: WorkerRecord, reason: WorkerRecord['exitReason']): void {
    if (w.killSent) return;
    w.killSent = true;
    if (w.exitReason === null) w.exitReason = reason;
    if (w.state === 'starting') w.state = 'failed-boot';
    else if (w.state === 'ready') w.state = 'stopping';
    w.killAt = null;
    this.emit({ type: 'kill', id: w.id, signal: 'SIGKILL' });
  }

  private beginStop(mode: StopMode): void {
    const first = this.s.phase !== 'stopping';
    if (first) this.s.tasksLostBeforeStop = this.s.totals.tasksLost;
    this.s.phase = 'stopping';
    this.s.stopMode = mode;
    if (first) {
      const graceful = Math.max(0, ...Object.values(this.s.apps).map((a) => a.settings.gracefulTimeout));
      this.s.stopDeadline = this.now + graceful;
      for (const w of liveWorkers(this.s)) {
        // A worker still booting that has not listened yet and runs no task is killed: once it
        // listened, node:cluster would open the port again after every other worker closed it,
        // take connections, and reset them when it closes in turn.
        if (w.state === 'starting' && !w.listening && w.activeTasks === 0) this.kill(w, 'stop');
        else if (w.state === 'starting' || w.state === 'ready') this.retire(w, 'stop');
      }
    }
    if (mode !== 'graceful') {
      for (const w of liveWorkers(this.s)) {
        if (w.state === 'starting' || w.state === 'ready') this.retire(w, 'stop');
        this.abandon(w);
        w.killAt = Math.min(w.killAt ?? Infinity, this.now + FORCE_STOP_GRACE_MS);
      }
    }
  }

  private fork(app: AppRuntime, slot: number, replaces: WorkerRecord | null): WorkerRecord {
    while (app.slots.length <= slot) {
      app.slots.push({ crashes: 0, nextForkAt: 0, restarts: 0, generation: -1, unstable: 0, stopped: null, lastExitClean: false });
    }
    const slotRecord = app.slots[slot]!;
    slotRecord.generation += 1;
    if (slotRecord.generation > 0) slotRecord.restarts += 1;
    const id = this.s.nextWorkerId++;
    const w: WorkerRecord = {
      id,
      app: app.settings.name,
      slot,
      generation: slotRecord.generation,
      pid: null,
      state: 'starting',
      forkedAt: this.now,
      readyAt: null,
      lastHeartbeatAt: null,
      requestLimit: drawRequestLimit(app.settings, this.env.random),
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
      exitReason: null,
      retiredAt: null,
      waitingSince: null,
      deadline: null,
      killAt: null,
      abandonSent: false,
      killSent: false,
      lostReported: false,
    };
    this.s.workers[id] = w;
    if (replaces) replaces.replacementId = id;
    this.emit({ type: 'fork', id, app: w.app, slot, generation: w.generation, requestLimit: w.requestLimit });
    this.log('info', replaces ? 'forking replacement' : 'forking worker', {
      ...this.who(w),
      replaces: replaces ? { id: replaces.id, pid: replaces.pid, reason: replaces.recycle?.reason } : undefined,
    });
    return w;
  }

  // ------------------------------------------------------------------ reconcile (runs after every event)

  reconcile(): void {
    this.enforceDeadlines();
    if (this.s.phase === 'stopping') {
      this.finishStopIfDone();
      return;
    }
    for (const app of Object.values(this.s.apps)) {
      this.runCron(app);
      this.detectLimits(app);
      this.fillSlots(app);
      this.scaleDown(app);
      this.scheduleRecycles(app);
      this.resetStableBackoff(app);
    }
    for (const [name, app] of Object.entries(this.s.apps)) {
      if (app.desired === 0 && liveWorkers(this.s, name).length === 0) delete this.s.apps[name];
    }
    this.stopIfNothingLeft();
  }

  /** `cron_restart`: the app's rolling reload, through the same command as `reload <app>`. */
  private runCron(app: AppRuntime): void {
    if (app.nextCronAt === null || this.now < app.nextCronAt) return;
    app.nextCronAt = nextCronAt(app.settings, this.now);
    this.log('info', `cron_restart (${app.settings.cronRestart}): rolling reload of ${app.settings.name}`, {
      app: app.settings.name,
      next: app.nextCronAt === null ? null : new Date(app.nextCronAt).toISOString(),
    });
    this.onCommand({ kind: 'reload', app: app.settings.name });
  }

  /**
   * Every slot of every app gave up (`autorestart: false`, `max_restarts`) and no worker is left:
   * stop — unless an app could come back by itself on a reload (`cron_restart`, `watch`).
   * Exit 0 only when every worker had exited cleanly of its own accord (a finished job).
   */
  private stopIfNothingLeft(): void {
    const apps = Object.values(this.s.apps);
    if (this.s.phase !== 'running' || this.s.reloadPending || apps.length === 0) return;
    if (liveWorkers(this.s).length > 0) return;
    let clean = true;
    for (const app of apps) {
      if (app.settings.cronRestart !== undefined || app.settings.watch.length > 0) return;
      for (let slot = 0; slot < app.desired; slot++) {
        const record = app.slots[slot];
        if (!record?.stopped) return;
        if (record.stopped !== 'autorestart' || !record.lastExitClean) clean = false;
      }
    }
    this.s.exitCode = clean ? EXIT.ok : EXIT.failure;
    this.log(clean ? 'info' : 'error', 'no worker is left and none will be restarted: stopping', { code: this.s.exitCode });
    this.beginStop('graceful');
    this.finishStopIfDone();
  }

  private enforceDeadlines(): void {
    for (const w of liveWorkers(this.s)) {
      const app = this.s.apps[w.app];
      if (!app || w.killSent) continue;
      const { bootTimeout, timeout } = app.settings;
      if (w.state === 'starting' && this.now - w.forkedAt >= bootTimeout) {
        this.log('error', `worker not ready within boot_timeout (${bootTimeout}ms): killing it`, this.who(w));
        this.kill(w, null); // counted as a failed boot on exit
        continue;
      }
      const silentFor = w.lastHeartbeatAt === null ? 0 : this.now - w.lastHeartbeatAt;
      const hangChecked = w.state === 'ready' || w.state === 'retiring' || w.state === 'waiting-for-tasks' || w.state === 'stopping';
      if (hangChecked && w.killAt === null && w.lastHeartbeatAt !== null && silentFor >= timeout) {
        this.log('error', `worker silent for ${silentFor}ms (timeout ${timeout}ms): killing it`, { ...this.who(w), state: w.state });
        if (w.state === 'ready') this.s.totals.recyclesByReason.timeout += 1;
        this.kill(w, w.exitReason ?? 'timeout');
        continue;
      }
      if (w.deadline !== null && this.now >= w.deadline && !w.abandonSent) {
        this.abandon(w);
      }
      if (w.killAt !== null && this.now >= w.killAt) {
        this.log('warn', 'worker did not exit in time: SIGKILL', this.who(w));
        this.kill(w, w.exitReason ?? 'stop');
      }
    }
    if (this.s.phase === 'stopping' && this.s.stopDeadline !== null && this.now >= this.s.stopDeadline) {
      for (const w of liveWorkers(this.s)) this.abandon(w);
    }
  }

  private finishStopIfDone(): void {
    if (liveWorkers(this.s).length > 0) return;
    if (this.effects.some((e) => e.type === 'exit')) return;
    const lostDuringStop = this.s.totals.tasksLost - this.s.tasksLostBeforeStop;
    const code = this.s.exitCode ?? (lostDuringStop > 0 ? EXIT.failure : EXIT.ok);
    this.s.exitCode = code;
    this.log('info', 'primary exiting', { code, tasksLost: lostDuringStop });
    this.emit({ type: 'exit', code });
  }

  private detectLimits(app: AppRuntime): void {
    for (const w of liveWorkers(this.s, app.settings.name)) {
      if (w.state === 'ready' && !w.recycle && w.requestLimit > 0 && w.served >= w.requestLimit) {
        this.requestRecycle(w, 'max_requests', false);
      }
    }
  }

  /** Every slot below `desired` has a starting or ready worker (after its backoff). */
  private fillSlots(app: AppRuntime): void {
    const workers = liveWorkers(this.s, app.settings.name);
    for (let slot = 0; slot < app.desired; slot++) {
      // A failed boot still occupies its slot until it has exited, so its backoff applies.
      const occupied = workers.some((w) => w.slot === slot && (w.state === 'starting' || w.state === 'ready' || w.state === 'failed-boot'));
      if (occupied) continue;
      const record = app.slots[slot];
      if (record && (record.stopped !== null || record.nextForkAt > this.now)) continue;
      this.fork(app, slot, null);
    }
  }

  /** Slots at or above `desired` are retired, highest first, never below one ready worker. */
  private scaleDown(app: AppRuntime): void {
    const workers = liveWorkers(this.s, app.settings.name);
    for (const w of workers) {
      if (w.slot < app.desired) continue;
      if (w.state === 'starting') {
        this.kill(w, 'scale');
      } else if (w.state === 'ready') {
        if (w.replacementId !== null) {
          const r = this.s.workers[w.replacementId];
          if (r && r.state === 'starting') this.kill(r, 'scale');
        }
        this.retire(w, 'scale');
      }
    }
  }

  private scheduleRecycles(app: AppRuntime): void {
    const name = app.settings.name;
    const workers = liveWorkers(this.s, name);
    const pending = workers
      .filter((w) => w.state === 'ready' && w.recycle && w.replacementId === null && w.recycle.retryAt <= this.now)
      .sort((a, b) => Number(b.recycle!.force) - Number(a.recycle!.force) || a.recycle!.since - b.recycle!.since);

    for (const w of pending) {
      const recycle = w.recycle!;
      const othersReady = workers.some((o) => o.id !== w.id && o.state === 'ready');
      if (recycle.force) {
        // Replace now; retire at once if another worker keeps the port open, else after the surge.
        this.fork(app, w.slot, w);
        if (othersReady) this.retire(w, recycle.reason);
        continue;
      }
      const booting = liveWorkers(this.s, name).some((o) => o.state === 'starting' && o.replacesId !== null);
      if (booting) return; // staggered: one replacement boots at a time
      const retiring = liveWorkers(this.s, name).filter((o) => o.state === 'retiring' || o.state === 'waiting-for-tasks').length;
      if (retiring >= app.settings.maxRetiring) {
        if (!recycle.postponedLogged) {
          recycle.postponedLogged = true;
          this.log('info', `recycle postponed: ${retiring} retired worker(s) still draining (max_retiring ${app.settings.maxRetiring})`, {
            ...this.who(w),
            reason: recycle.reason,
          });
        }
        return;
      }
      this.fork(app, w.slot, w);
      return;
    }
  }

  private resetStableBackoff(app: AppRuntime): void {
    for (const w of liveWorkers(this.s, app.settings.name)) {
      const record = app.slots[w.slot];
      if (record && record.crashes > 0 && w.readyAt !== null && this.now - w.readyAt >= app.settings.minUptime) {
        record.crashes = 0;
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private who(w: WorkerRecord): Record<string, unknown> {
    const who: Record<string, unknown> = { app: w.app, worker: w.id, slot: w.slot, generation: w.generation };
    if (w.pid !== null) who.pid = w.pid;
    return who;
  }

  private log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    this.effects.push({ type: 'log', level, msg, fields });
  }

  private emit(effect: Effect): void {
    this.effects.push(effect);
  }
}

function sumValues(record: Record<string, number>): number {
  let total = 0;
  for (const v of Object.values(record)) total += v;
  return total;
}
