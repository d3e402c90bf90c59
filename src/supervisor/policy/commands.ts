/**
 * Operator commands: the primary's signals (stop, reload, scale), the control socket's commands,
 * a re-read config applied by a reload, and the scale-down that follows a smaller `desired`.
 */
import type { Settings } from '../../config/types';
import { liveWorkers, replacementOf } from '../queries';
import type { AppRuntime, Command, PrimarySignal } from '../state';
import { appsMap, beginStop, type Ctx, emit, kill, log, mutApp, mutSlot, mutWorker, newApp, nextCronAt, requestRecycle, retire } from './actions';

export function onSignal(ctx: Ctx, signal: PrimarySignal): void {
  const { s } = ctx;
  switch (signal) {
    case 'SIGTERM':
    case 'SIGINT':
      if (s.phase === 'stopping') {
        if (s.stopMode === 'graceful') {
          log(ctx, 'warn', `${signal} again: forcing the stop`);
          beginStop(ctx, 'force');
        }
        return;
      }
      log(ctx, 'info', `${signal}: graceful stop`);
      beginStop(ctx, 'graceful');
      return;
    case 'SIGQUIT':
      log(ctx, 'info', 'SIGQUIT: fast stop');
      beginStop(ctx, 'fast');
      return;
    case 'SIGHUP':
      onCommand(ctx, { kind: 'reload' });
      return;
    case 'SIGTTIN':
      onCommand(ctx, { kind: 'scale', delta: 1 });
      return;
    case 'SIGTTOU':
      onCommand(ctx, { kind: 'scale', delta: -1 });
      return;
  }
}

/** Why the policy refuses a command now, or null: the one place commands are refused. */
function refusal(ctx: Ctx, c: Command): string | null {
  const { s } = ctx;
  if (s.phase === 'stopping') return `${c.kind} refused: the cluster is stopping`;
  if (c.kind === 'stop') return null;
  if (c.app !== undefined && !s.apps[c.app]) return `no app named '${c.app}'; apps: ${Object.keys(s.apps).join(', ')}`;
  if (c.kind === 'recycle') {
    const any = liveWorkers(s, c.app).some((w) => w.state === 'ready' && (c.slot === 'all' || w.slot === c.slot));
    return any ? null : `no ready worker in slot ${String(c.slot)}${c.app !== undefined ? ` of ${c.app}` : ''}`;
  }
  if (c.kind === 'scale') {
    const app = c.app !== undefined ? s.apps[c.app] : Object.values(s.apps)[0];
    if (!app) return 'no app to scale';
    const target = c.absolute ?? app.desired + (c.delta ?? 0);
    if (!Number.isInteger(target) || target < 1) return `scale to ${target} refused: expected a whole number >= 1 (an app keeps at least 1 worker; stop it instead)`;
  }
  return null;
}

export function onCommand(ctx: Ctx, c: Command): void {
  const { s } = ctx;
  if (s.phase === 'stopping' && c.kind === 'stop' && c.force) {
    beginStop(ctx, 'force');
    return;
  }
  const reason = refusal(ctx, c);
  if (reason !== null) {
    emit(ctx, { type: 'rejected', command: c, reason });
    return;
  }
  switch (c.kind) {
    case 'reload':
      if (s.reloadPending) {
        log(ctx, 'info', 'reload already in progress: the config will be re-read once more');
      }
      s.reloadPending = true;
      // Several reloads before the file is read: the widest scope wins.
      s.reloadScope = c.app === undefined || (s.reloadScope !== null && s.reloadScope !== c.app) ? null : c.app;
      emit(ctx, { type: 'reload-settings' });
      return;
    case 'recycle':
      for (const w of liveWorkers(s)) {
        if (c.app !== undefined && w.app !== c.app) continue;
        if (c.slot !== 'all' && w.slot !== c.slot) continue;
        if (w.state !== 'ready') continue;
        requestRecycle(ctx, w, 'manual', c.force);
      }
      return;
    case 'scale': {
      const app = (c.app !== undefined ? s.apps[c.app] : Object.values(s.apps)[0])!;
      const target = c.absolute ?? app.desired + (c.delta ?? 0);
      if (target !== app.desired) {
        log(ctx, 'info', `scaling ${app.settings.name} from ${app.desired} to ${target} workers`, { app: app.settings.name });
        mutApp(ctx, app.settings.name).desired = target;
      }
      return;
    }
    case 'stop':
      beginStop(ctx, c.force ? 'force' : 'graceful');
      return;
  }
}

export function onSettingsError(ctx: Ctx, error: string): void {
  ctx.s.reloadPending = false;
  ctx.s.reloadScope = null;
  log(ctx, 'error', 'reload aborted: the config file is invalid; workers keep running with the old config', { error });
}

export function onSettings(ctx: Ctx, settings: Settings): void {
  const { s } = ctx;
  const now = ctx.env.now;
  s.reloadPending = false;
  const { apps: _apps, ...globals } = settings;
  s.globals = globals;
  const names = new Set(settings.apps.map((a) => a.name));
  for (const appSettings of settings.apps) {
    if (s.apps[appSettings.name]) {
      const existing = mutApp(ctx, appSettings.name);
      const workersChanged = existing.settings.workers !== appSettings.workers;
      const cronChanged = existing.settings.cronRestart !== appSettings.cronRestart;
      existing.settings = appSettings;
      if (workersChanged) existing.desired = appSettings.workers;
      if (cronChanged) existing.nextCronAt = nextCronAt(appSettings, now);
    } else {
      appsMap(ctx)[appSettings.name] = { ...newApp(appSettings, now), addedLater: true };
      log(ctx, 'info', `reload: new app '${appSettings.name}'`);
    }
  }
  for (const name of Object.keys(s.apps)) {
    if (!names.has(name)) {
      log(ctx, 'info', `reload: app '${name}' removed from the config; retiring its workers`);
      mutApp(ctx, name).desired = 0;
    }
  }
  let count = 0;
  // Every worker that may run the old code or settings, including replacements still booting.
  const scope = s.reloadScope;
  s.reloadScope = null;
  // New code may fix what made slots give up or back off: they start again now.
  for (const [name, app] of Object.entries(s.apps)) {
    if (scope !== null && name !== scope) continue;
    if (app.failure !== null || app.bootFailures > 0) {
      // A given-up app gets its rounds of boot attempts again (policy/isolation.ts).
      const again = mutApp(ctx, name);
      again.failure = null;
      again.bootFailures = 0;
    }
    for (let slot = 0; slot < app.slots.length; slot++) {
      const record = mutSlot(ctx, name, slot);
      record.stopped = null;
      record.unstable = 0;
      record.crashes = 0;
      record.nextForkAt = 0;
    }
  }
  for (const w of liveWorkers(s, scope ?? undefined)) {
    if (w.state !== 'ready' && w.state !== 'starting') continue;
    if (replacementOf(s, w)?.state === 'starting') {
      // Its replacement is marked instead; should that one fail too, the next try of the new config
      // starts without the backoff the old config earned.
      if (w.recycle) mutWorker(ctx, w).recycle = { ...w.recycle, failedAttempts: 0, retryAt: 0 };
      continue;
    }
    requestRecycle(ctx, w, 'reload', w.recycle?.force ?? false, true);
    count += 1;
  }
  log(ctx, 'info', `reload: rolling restart of ${count} worker(s)`);
}

/** Slots at or above `desired` are retired, highest first, never below one ready worker. */
export function scaleDown(ctx: Ctx, app: AppRuntime): void {
  const workers = liveWorkers(ctx.s, app.settings.name);
  for (const w of workers) {
    if (w.slot < app.desired) continue;
    if (w.state === 'starting') {
      kill(ctx, w, 'scale');
    } else if (w.state === 'ready') {
      const r = replacementOf(ctx.s, w);
      if (r && r.state === 'starting') kill(ctx, r, 'scale');
      retire(ctx, w, 'scale');
    }
  }
}
