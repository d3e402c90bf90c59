/**
 * Read-only selectors over the cluster state: what the control server, the status snapshot and
 * the systemd bridge (and the policy itself) ask of it. Each fact is computed here once, never
 * restated by a reader.
 */
import type { Settings } from '../config/types';
import type { AppRuntime, ClusterState, WorkerRecord } from './state';

interface LiveIndex {
  all: WorkerRecord[];
  byApp: Map<string, WorkerRecord[]>;
  /** Replacements by the id of the worker each replaces. */
  replacements: Map<number, WorkerRecord>;
}

/**
 * The live workers of a workers map, built once per map and shared by every reader: a tick's
 * passes ask for them a dozen times, and the map is only replaced when a step changes a worker.
 * Within a step the policy writes into its own copy of the map, and says so (`forgetLive`).
 */
const liveIndex = new WeakMap<Record<number, WorkerRecord>, LiveIndex>();
const NONE: readonly WorkerRecord[] = Object.freeze([]);

function indexOf(workers: Record<number, WorkerRecord>): LiveIndex {
  let index = liveIndex.get(workers);
  if (index) return index;
  index = { all: [], byApp: new Map(), replacements: new Map() };
  // Every worker in the map is live: its exit deletes it.
  for (const w of Object.values(workers)) {
    index.all.push(w);
    if (w.replacesId !== null) index.replacements.set(w.replacesId, w);
    const list = index.byApp.get(w.app);
    if (list) list.push(w);
    else index.byApp.set(w.app, [w]);
  }
  liveIndex.set(workers, index);
  return index;
}

/** The policy changed this map in place (its own copy, within a step): its index is stale. */
export function forgetLive(workers: Record<number, WorkerRecord>): void {
  liveIndex.delete(workers);
}

/** Live workers, of one app or of all, in id order. Shared: never change the array. */
export function liveWorkers(state: ClusterState, app?: string): readonly WorkerRecord[] {
  const index = indexOf(state.workers);
  return app === undefined ? index.all : (index.byApp.get(app) ?? NONE);
}

/** The worker forked to replace `old` (a surge in progress, or its replacement already serving), if still there. */
export function replacementOf(state: ClusterState, old: WorkerRecord): WorkerRecord | undefined {
  return indexOf(state.workers).replacements.get(old.id);
}

/** The worker `w` was forked to replace, if still there. */
export function replacing(state: ClusterState, w: WorkerRecord): WorkerRecord | undefined {
  return w.replacesId === null ? undefined : state.workers[w.replacesId];
}

/** The settings the cluster runs with now: the globals and every app still in the config. */
export function activeSettings(state: ClusterState): Settings {
  const apps = Object.values(state.apps).filter((a) => a.desired > 0).map((a) => a.settings);
  return { ...state.globals, apps };
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

/**
 * A reload is waiting for the config, or still replacing workers. Once a worker's replacement
 * serves, the reload is done for it: the old worker's drain goes on in the open (see `draining`).
 */
export function isReloading(state: ClusterState): boolean {
  return state.reloadPending || liveWorkers(state).some((w) => w.recycle?.reason === 'reload' && (w.state === 'ready' || w.state === 'starting'));
}

/** Retired and stopping workers still draining connections or tasks: how many, what they hold, the latest deadline. */
export function draining(state: ClusterState, now: number): { workers: number; connections: number; longLived: number; tasks: number; msLeft: number } {
  let workers = 0;
  let connections = 0;
  let longLived = 0;
  let tasks = 0;
  let msLeft = 0;
  for (const w of liveWorkers(state)) {
    if (w.state !== 'retiring' && w.state !== 'waiting-for-tasks' && w.state !== 'stopping') continue;
    workers += 1;
    connections += w.inflight + w.upgraded;
    longLived += w.upgraded + w.streaming;
    tasks += w.activeTasks;
    if (w.drainDeadline !== null) msLeft = Math.max(msLeft, w.drainDeadline - now);
  }
  return { workers, connections, longLived, tasks, msLeft };
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
