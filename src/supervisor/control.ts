/**
 * The supervisor as the control socket, the CLI and the status server see it
 * (`ClusterControl`). Commands become policy events; "wait" means resolving once the
 * state shows the action done, checked after every step — no polling, no timers.
 */
import type { ActionResult, ActiveTask, ClusterControl, RecycleTarget, ScaleSpec } from '../control/types';
import type { StatusSnapshot } from '../status/snapshot';
import { readyCount, replaced, scaledTo, servingIds } from './queries';
import { buildSnapshot } from './snapshot';
import type { ClusterState } from './state';
import type { Supervisor } from './supervisor';
import { createTaskControl } from './task-control';

export interface ControlOptions {
  configSource: string;
  now?: () => number;
}

export function createClusterControl(supervisor: Supervisor, options: ControlOptions): ClusterControl {
  const now = options.now ?? Date.now;

  /** Resolves when `done(state)` holds (checked now and after every step), or the cluster stops. */
  function waitFor(done: (state: ClusterState) => boolean): Promise<'done' | 'stopping'> {
    return new Promise((resolve) => {
      const check = (state: ClusterState): boolean => {
        if (done(state)) {
          resolve('done');
          return true;
        }
        if (state.phase === 'stopping') {
          resolve('stopping');
          return true;
        }
        return false;
      };
      if (check(supervisor.state)) return;
      const off = supervisor.onStep((state) => {
        if (check(state)) off();
      });
    });
  }

  function resolveApp(app: string | undefined): { name?: string; error?: ActionResult } {
    const names = Object.keys(supervisor.state.apps);
    if (app === undefined) return {};
    if (names.includes(app)) return { name: app };
    return { error: { ok: false, message: `no app named '${app}'; apps: ${names.join(', ')}` } };
  }

  const serving = (app?: string, slot: number | 'all' = 'all') => servingIds(supervisor.state, app, slot);

  async function finish(what: string, ids: number[], wait: boolean, started: number): Promise<ActionResult> {
    if (!wait) return { ok: true, message: `${what}: ${ids.length} worker(s), started`, details: { workers: ids } };
    const outcome = await waitFor((state) => replaced(state, ids));
    const seconds = ((now() - started) / 1000).toFixed(1);
    if (outcome === 'stopping') return { ok: false, message: `${what} interrupted: the cluster is stopping`, details: { workers: ids } };
    return { ok: true, message: `${what}: ${ids.length} worker(s) replaced in ${seconds}s`, details: { workers: ids, seconds: Number(seconds) } };
  }

  return {
    ...createTaskControl(supervisor),

    snapshot(): StatusSnapshot {
      const snapshot = buildSnapshot(supervisor.state, now(), {
        pid: process.pid,
        configSource: options.configSource,
        node: process.version,
        rssBytes: process.memoryUsage.rss(),
      });
      const taskManagement = supervisor.taskBroker.status();
      return Object.keys(taskManagement).length > 0 ? { ...snapshot, taskManagement } : snapshot;
    },

    async listTasks(): Promise<ActiveTask[]> {
      const replies = await supervisor.listTasks();
      const out: ActiveTask[] = [];
      for (const { workerId, tasks } of replies) {
        const w = supervisor.state.workers[workerId];
        for (const t of tasks) out.push({ ...t, app: w?.app ?? '?', workerId, slot: w?.slot ?? -1, pid: w?.pid ?? null });
      }
      return out.sort((a, b) => a.startedAt - b.startedAt);
    },

    async reload(app, wait) {
      const { name, error } = resolveApp(app);
      if (error) return error;
      if (supervisor.state.phase === 'stopping') return { ok: false, message: 'reload refused: the cluster is stopping' };
      const started = now();
      const ids = serving(name);
      let aborted = '';
      const off = supervisor.onStep((_state, event) => {
        if (event.type === 'settings-error') aborted = event.error;
      });
      supervisor.dispatch({ type: 'command', command: { kind: 'reload', app: name } });
      off();
      if (aborted) return { ok: false, message: `reload aborted, workers keep running: ${aborted}` };
      return finish(`reload${name ? ` of ${name}` : ''}`, ids, wait, started);
    },

    async recycle(target: RecycleTarget, force, wait) {
      const { name, error } = resolveApp(target.app);
      if (error) return error;
      const ids = serving(name, target.slot).filter((id) => supervisor.state.workers[id]?.state === 'ready');
      if (ids.length === 0) return { ok: false, message: `no ready worker in slot ${String(target.slot)}${name ? ` of ${name}` : ''}` };
      const started = now();
      supervisor.dispatch({ type: 'command', command: { kind: 'recycle', app: name, slot: target.slot, force } });
      return finish(`recycle${force ? ' --force' : ''}`, ids, wait, started);
    },

    async scale(spec: ScaleSpec, wait) {
      const { name, error } = resolveApp(spec.app);
      if (error) return error;
      const appName = name ?? Object.keys(supervisor.state.apps)[0];
      const app = appName === undefined ? undefined : supervisor.state.apps[appName];
      if (!app || appName === undefined) return { ok: false, message: 'no app to scale' };
      const target = spec.absolute ?? app.desired + (spec.delta ?? 0);
      if (!Number.isInteger(target) || target < 1) return { ok: false, message: `scale to ${target} refused: expected a whole number >= 1` };
      const from = app.desired;
      const started = now();
      supervisor.dispatch({ type: 'command', command: { kind: 'scale', app: appName, absolute: target } });
      if (!wait) return { ok: true, message: `scaling ${appName} from ${from} to ${target}`, details: { from, to: target } };
      const outcome = await waitFor((state) => scaledTo(state, appName, target));
      if (outcome === 'stopping') return { ok: false, message: 'scale interrupted: the cluster is stopping' };
      const seconds = ((now() - started) / 1000).toFixed(1);
      return { ok: true, message: `scaled ${appName} from ${from} to ${target} workers in ${seconds}s`, details: { from, to: target } };
    },

    async stop(force) {
      supervisor.dispatch({ type: 'command', command: { kind: 'stop', force } });
      return { ok: true, message: force ? 'forced stop started' : 'graceful stop started' };
    },

    isReady(minReady) {
      const state = supervisor.state;
      if (state.phase !== 'running') return false;
      return readyCount(state) >= minReady;
    },
  };
}
