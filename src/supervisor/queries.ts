/**
 * Read-only selectors over the cluster state: what the control server, the status snapshot and
 * the systemd bridge (and the policy itself) ask of it. Each fact is computed here once, never
 * restated by a reader.
 */
import type { AppRuntime, ClusterState, WorkerRecord } from './state';

const LIVE_STATES = new Set(['starting', 'ready', 'retiring', 'waiting-for-tasks', 'stopping', 'failed-boot']);

export function liveWorkers(state: ClusterState, app?: string): WorkerRecord[] {
  return Object.values(state.workers).filter((w) => LIVE_STATES.has(w.state) && (app === undefined || w.app === app));
}

/** How many ready workers the app should have: its slots, less those that gave up. */
export function expectedWorkers(app: AppRuntime): number {
  let count = 0;
  for (let slot = 0; slot < app.desired; slot++) if (!app.slots[slot]?.stopped) count += 1;
  return count;
}

/** Ready workers, of one app or of all. */
export function readyCount(state: ClusterState, app?: string): number {
  let n = 0;
  for (const w of liveWorkers(state, app)) if (w.state === 'ready') n += 1;
  return n;
}

/** Every app has its expected workers ready (slots that gave up are not waited for). */
export function allReady(state: ClusterState): boolean {
  return Object.values(state.apps).every((app) => readyCount(state, app.settings.name) >= expectedWorkers(app));
}

/** A reload is waiting for the config, or still replacing workers. */
export function isReloading(state: ClusterState): boolean {
  return state.reloadPending || liveWorkers(state).some((w) => w.recycle?.reason === 'reload');
}

/** Ids of the workers a command targets: ready or starting, of the app (or all), of the slot (or all). */
export function servingIds(state: ClusterState, app?: string, slot: number | 'all' = 'all'): number[] {
  return liveWorkers(state, app)
    .filter((w) => (w.state === 'ready' || w.state === 'starting') && (slot === 'all' || w.slot === slot))
    .map((w) => w.id);
}

/** None of these workers is still serving or booting (replaced, retired or gone), and no reload waits. */
export function replaced(state: ClusterState, ids: readonly number[]): boolean {
  return (
    !state.reloadPending &&
    ids.every((id) => {
      const w = state.workers[id];
      return w === undefined || (w.state !== 'ready' && w.state !== 'starting');
    })
  );
}

/** The app runs `target` ready workers and none above its slots. */
export function scaledTo(state: ClusterState, app: string, target: number): boolean {
  const workers = liveWorkers(state, app);
  return workers.filter((w) => w.state === 'ready').length >= target && !workers.some((w) => w.slot >= target);
}

/** Apps given up because their first workers could not boot (policy/isolation.ts). */
export function failedApps(state: ClusterState): string[] {
  return Object.values(state.apps).flatMap((app) => (app.failure === null ? [] : [app.settings.name]));
}
