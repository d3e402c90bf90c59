/**
 * The supervisor as the control socket, the CLI and the status server see it
 * (`ClusterControl`). Commands become policy events; "wait" means resolving once the
 * state shows the action done, checked after every step — no polling, no timers.
 */
import type { ActionResult, ActiveTask, ClusterControl, RecycleTarget, ScaleSpec } from '../control/types';
import type { StatusSnapshot } from '../status/snapshot';
import type { QueuesResult } from '../control/protocol';
import { draining, failedApps, readyCount, replaced, scaledTo, servingIds } from './queries';
import { buildSnapshot } from './snapshot';
import type { ClusterState, Command } from './state';
import type { Supervisor } from './supervisor';
import { describeLogs } from '../logs/query';
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

  /**
   * Steps the command; what the policy answered: its refusal (a `rejected` effect), or a config
   * that could not be re-read. Refusals are the policy's alone: nothing is checked here first.
   */
  function command(c: Command): string | null {
    let refused: string | null = null;
    const off = supervisor.onStep((_state, event, effects) => {
      if (event.type === 'settings-error') refused = `reload aborted, workers keep running: ${event.error}`;
      if (event.type !== 'command' || event.command !== c) return;
      for (const e of effects) if (e.type === 'rejected') refused = e.reason;
    });
    supervisor.dispatch({ type: 'command', command: c });
    off();
    return refused;
  }

  const serving = (app?: string, slot: number | 'all' = 'all') => servingIds(supervisor.state, app, slot);

  async function finish(what: string, ids: number[], wait: boolean, started: number): Promise<ActionResult> {
    if (!wait) return { ok: true, message: `${what}: ${ids.length} worker(s), started`, details: { workers: ids } };
    const outcome = await waitFor((state) => replaced(state, ids));
    const seconds = ((now() - started) / 1000).toFixed(1);
    if (outcome === 'stopping') return { ok: false, message: `${what} interrupted: the cluster is stopping`, details: { workers: ids } };
    // Done once the replacements serve; the old workers' drain goes on, and is said.
    const d = draining(supervisor.state, now());
    const rest =
      d.workers > 0
        ? `; ${d.workers} old worker(s) still draining ${d.connections} connection(s) (${d.longLived} long-lived)${d.tasks > 0 ? ` and ${d.tasks} task(s)` : ''}, connections cut in ${(d.msLeft / 1000).toFixed(0)}s at most`
        : '';
    return {
      ok: true,
      message: `${what}: ${ids.length} worker(s) replaced in ${seconds}s${rest}`,
      details: { workers: ids, seconds: Number(seconds), draining: d },
    };
  }

  return {
    ...createTaskControl(supervisor),

    snapshot(): StatusSnapshot {
      const snap = buildSnapshot(supervisor.state, now(), {
        pid: process.pid,
        configSource: options.configSource,
        node: process.version,
        rssBytes: process.memoryUsage.rss(),
      });
      const queues = supervisor.queues.snapshot(now());
      const withQueues = queues.length > 0 ? { ...snap, queues } : snap;
      const taskManagement = supervisor.taskBroker.status();
      return Object.keys(taskManagement).length > 0 ? { ...withQueues, taskManagement } : withQueues;
    },

    async queues(action, queue): Promise<QueuesResult> {
      const known = supervisor.queues.names();
      if (action === 'list') return { ok: true, message: `${known.length} queue(s)`, queues: supervisor.queues.snapshot(now()) };
      if (queue !== undefined && !known.includes(queue)) {
        return { ok: false, message: `no worker processes a queue named '${queue}'; queues: ${known.join(', ') || 'none'}`, queues: supervisor.queues.snapshot(now()) };
      }
      const names = queue === undefined ? known : [queue];
      if (names.length === 0) return { ok: false, message: 'no BullMQ queue is known (no worker uses smartworkers/bullmq)', queues: [] };
      const results = await supervisor.queueCommand(action, names);
      const failed = results.filter((r) => !r.ok);
      const done = results.filter((r) => r.ok).map((r) => r.queue);
      const verb = action === 'pause' ? 'paused' : 'resumed';
      const message = [
        done.length > 0 ? `${verb} ${done.join(', ')}` : '',
        ...failed.map((r) => `${r.queue}: ${r.error ?? 'failed'}`),
      ].filter(Boolean).join('; ');
      return { ok: failed.length === 0, message, queues: supervisor.queues.snapshot(now()), results };
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
      const started = now();
      const ids = app === undefined || supervisor.state.apps[app] ? serving(app) : [];
      const refused = command({ kind: 'reload', app });
      if (refused !== null) return { ok: false, message: refused };
      return finish(`reload${app ? ` of ${app}` : ''}`, ids, wait, started);
    },

    async recycle(target: RecycleTarget, force, wait) {
      const ids = serving(target.app, target.slot).filter((id) => supervisor.state.workers[id]?.state === 'ready');
      const started = now();
      const refused = command({ kind: 'recycle', app: target.app, slot: target.slot, force });
      if (refused !== null) return { ok: false, message: refused };
      return finish(`recycle${force ? ' --force' : ''}`, ids, wait, started);
    },

    async scale(spec: ScaleSpec, wait) {
      const appName = spec.app ?? Object.keys(supervisor.state.apps)[0];
      const from = appName === undefined ? 0 : (supervisor.state.apps[appName]?.desired ?? 0);
      const target = spec.absolute ?? from + (spec.delta ?? 0);
      const started = now();
      const refused = command({ kind: 'scale', app: appName, absolute: target });
      if (refused !== null || appName === undefined) return { ok: false, message: refused ?? 'no app to scale' };
      if (!wait) return { ok: true, message: `scaling ${appName} from ${from} to ${target}`, details: { from, to: target } };
      const outcome = await waitFor((state) => scaledTo(state, appName, target));
      if (outcome === 'stopping') return { ok: false, message: 'scale interrupted: the cluster is stopping' };
      const seconds = ((now() - started) / 1000).toFixed(1);
      return { ok: true, message: `scaled ${appName} from ${from} to ${target} workers in ${seconds}s`, details: { from, to: target } };
    },

    async stop(force) {
      const refused = command({ kind: 'stop', force });
      if (refused !== null) return { ok: false, message: refused };
      // The pid lets `stop` wait for the process itself, not only for the socket it closes first.
      return { ok: true, message: force ? 'forced stop started' : 'graceful stop started', details: { pid: process.pid } };
    },

    logs() {
      return describeLogs(supervisor.activeSettings.apps, (app) => supervisor.state.apps[app]?.desired ?? 0);
    },

    observe(observer) {
      let before = supervisor.state;
      return supervisor.onStep((after, event, effects) => {
        const previous = before;
        before = after;
        observer(previous, after, event, effects);
      });
    },

    isReady(minReady) {
      const state = supervisor.state;
      if (state.phase !== 'running') return false;
      // An app given up (its workers could not boot) makes the whole primary not ready: a deploy
      // that broke one app must not be taken as healthy, while the other apps keep serving.
      if (failedApps(state).length > 0) return false;
      return readyCount(state) >= minReady;
    },
  };
}
