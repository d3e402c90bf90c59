/**
 * `deploy` in the primary: switch to another config file (or env block) and roll onto it. It is
 * SIGHUP's reload with a new loader: the policy already starts added apps, retires removed ones
 * (drained as in a stop) and replaces every other worker surge-then-retire (new code is the usual
 * reason for a deploy, so an app whose config did not change is rolled too).
 *
 * The answer comes when the new generation serves: every worker that served before is replaced
 * and every app is ready. A worker of the new generation that fails to boot ends the wait at once
 * with `ok: false` and `details.bootFailed`: the old workers keep serving (the policy retries the
 * replacement with backoff, as for any reload).
 */
import type { Settings } from '../config/types';
import type { ActionResult } from '../control/types';
import { allReady, servingIds, replaced } from '../supervisor/queries';
import type { ClusterState, WorkerRecord } from '../supervisor/state';
import type { Supervisor } from '../supervisor/supervisor';

export type DeployAction = (configFile: string, envName: string | undefined, wait: boolean) => Promise<ActionResult>;

export function createDeploy(
  supervisor: Supervisor,
  loaderFor: (configFile: string, envName: string | undefined) => () => Settings,
  setLoader: (load: () => Settings, configFile: string) => void,
): DeployAction {
  let inProgress = false;
  return async (configFile, envName, wait) => {
    if (supervisor.state.phase === 'stopping') return { ok: false, message: 'deploy refused: the cluster is stopping' };
    if (inProgress) return { ok: false, message: 'deploy refused: another deploy is still rolling' };
    const load = loaderFor(configFile, envName);
    // Loaded once here: an invalid config is refused (its error code, exit 2) before anything changes.
    const settings = load();
    let first: Settings | undefined = settings;
    setLoader(() => {
      const next = first ?? load();
      first = undefined;
      return next;
    }, configFile);

    const before = supervisor.state;
    const running = Object.values(before.apps).filter((a) => a.desired > 0).map((a) => a.settings.name);
    const wanted = settings.apps.map((a) => a.name);
    const added = wanted.filter((n) => !running.includes(n));
    const removed = running.filter((n) => !wanted.includes(n));
    const rolled = wanted.filter((n) => running.includes(n));
    const oldIds = servingIds(before);
    const known = new Set(Object.keys(before.workers).map(Number));
    const started = Date.now();

    let aborted = '';
    const offError = supervisor.onStep((_state, event) => {
      if (event.type === 'settings-error') aborted = event.error;
    });
    supervisor.dispatch({ type: 'command', command: { kind: 'reload' } });
    offError();
    if (aborted) return { ok: false, message: `deploy aborted, workers keep running: ${aborted}` };

    const plan = [
      added.length ? `started ${added.join(', ')}` : '',
      removed.length ? `stopped ${removed.join(', ')}` : '',
      rolled.length ? `rolled ${rolled.join(', ')}` : '',
    ].filter(Boolean).join('; ');
    const details = { config: configFile, env: envName ?? null, added, removed, rolled, replaced: oldIds };
    if (!wait) return { ok: true, message: `deploy of ${configFile} started: ${plan}`, details };

    inProgress = true;
    try {
      const outcome = await waitForGeneration(supervisor, oldIds, known);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (outcome.kind === 'stopping') return { ok: false, message: 'deploy interrupted: the cluster is stopping', details };
      if (outcome.kind === 'boot-failed') {
        return {
          ok: false,
          message: `deploy failed: a worker of ${outcome.app} (slot ${outcome.slot}) could not boot; the workers that served before keep serving (it is retried with backoff; fix it and deploy again)`,
          details: { ...details, bootFailed: true, app: outcome.app, slot: outcome.slot },
        };
      }
      return { ok: true, message: `deployed ${configFile} in ${seconds}s: ${plan}`, details: { ...details, seconds: Number(seconds) } };
    } finally {
      inProgress = false;
    }
  };
}

type Outcome = { kind: 'done' } | { kind: 'stopping' } | { kind: 'boot-failed'; app: string; slot: number };

/** Checked after every step: no polling. */
function waitForGeneration(supervisor: Supervisor, oldIds: number[], known: Set<number>): Promise<Outcome> {
  // Workers forked by this deploy, until each has been ready once, as last seen.
  const booting = new Map<number, WorkerRecord>();
  const check = (state: ClusterState): Outcome | undefined => {
    if (state.phase === 'stopping') return { kind: 'stopping' };
    for (const [id, w] of Object.entries(state.workers)) {
      const n = Number(id);
      if (known.has(n)) continue;
      known.add(n);
      if (w.readyAt === null) booting.set(n, w);
    }
    for (const [id, seen] of booting) {
      const now = state.workers[id];
      const w = now ?? seen;
      // Ready once; or ended by the primary itself (a stop, a scale-down, a newer reload): its slot
      // is forked again, so it did not fail. One that exited or timed out on its own did.
      if (w.readyAt !== null || w.exitReason !== null) booting.delete(id);
      else if (!now || now.state === 'failed-boot') return { kind: 'boot-failed', app: w.app, slot: w.slot };
      else booting.set(id, now);
    }
    if (replaced(state, oldIds) && allReady(state)) return { kind: 'done' };
    return undefined;
  };
  return new Promise((resolve) => {
    const now = check(supervisor.state);
    if (now) return resolve(now);
    const off = supervisor.onStep((state) => {
      const outcome = check(state);
      if (outcome) {
        off();
        resolve(outcome);
      }
    });
  });
}
