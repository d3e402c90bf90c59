/**
 * Tells systemd what the supervisor is doing, from its state after each step: `MAINPID` and
 * `READY=1` once every app has its workers ready, `RELOADING=1` while a reload replaces workers
 * and `READY=1` after, `STOPPING=1` when the stop begins. Transitions only: nothing per request.
 */
import { allReady, expectedWorkers, isReloading, liveWorkers } from '../supervisor/queries';
import type { ClusterState } from '../supervisor/state';
import type { Supervisor } from '../supervisor/supervisor';
import type { Notifier } from './notify';
import { startWatchdog } from './watchdog';

export function statusLine(state: ClusterState): string {
  const workers = liveWorkers(state);
  const ready = workers.filter((w) => w.state === 'ready').length;
  const desired = Object.values(state.apps).reduce((n, a) => n + expectedWorkers(a), 0);
  const tasks = workers.reduce((n, w) => n + w.activeTasks, 0);
  return `${ready}/${desired} workers ready, ${tasks} active task(s)`;
}

export function bridgeToSystemd(supervisor: Supervisor, notifier: Notifier): { stop(): void } {
  if (!notifier.enabled) return { stop: () => {} };
  let announced = false;
  let reloading = false;
  let stopping = false;
  const off = supervisor.onStep((state) => {
    if (stopping) return;
    if (state.phase === 'stopping') {
      stopping = true;
      void notifier.stopping(`stopping: ${statusLine(state)}`);
      return;
    }
    if (!announced) {
      if (allReady(state)) {
        announced = true;
        void notifier.mainPid(process.pid);
        void notifier.ready(statusLine(state));
      }
      return;
    }
    if (!reloading && isReloading(state)) {
      reloading = true;
      void notifier.reloading(`reloading: ${statusLine(state)}`);
    } else if (reloading && !isReloading(state) && allReady(state)) {
      reloading = false;
      void notifier.ready(statusLine(state));
    }
  });
  // The watchdog's timer runs on the primary's loop: it fires only while that loop turns.
  const watchdog = startWatchdog(notifier, { isHealthy: () => !stopping || supervisor.state.phase === 'stopping' });
  return {
    stop() {
      off();
      watchdog.stop();
    },
  };
}
