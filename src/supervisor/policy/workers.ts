/**
 * Worker messages and deadlines: a worker becoming ready, its reports, drains, lost tasks and
 * signals, and the clocks that end a worker (boot_timeout, heartbeat timeout, task wait, kill).
 */
import type { ReadyOn } from '../../config/types';
import type { WorkerMessage } from '../../protocol';
import { liveWorkers } from '../queries';
import { abandon, type Ctx, GROUP_SIGNAL_SETTLE_MS, kill, log, requestRecycle, retire, who } from './actions';

export function onReadySignal(ctx: Ctx, id: number, via: ReadyOn): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const w = s.workers[id];
  if (w && via === 'listening') w.listening = true;
  if (!w || w.state !== 'starting') return;
  const app = s.apps[w.app];
  if (via !== (app?.settings.readyOn ?? 'listening')) return;
  w.state = 'ready';
  w.readyAt = now;
  w.lastHeartbeatAt = now;
  if (app) app.everReady = true;
  log(ctx, 'info', 'worker ready', { ...who(w), bootMs: now - w.forkedAt });

  if (s.phase === 'stopping') {
    retire(ctx, w, 'stop');
    return;
  }
  const old = w.replacesId === null ? undefined : s.workers[w.replacesId];
  if (old && old.replacementId === w.id && old.state === 'ready' && old.recycle) {
    retire(ctx, old, old.recycle.reason);
  }
}

export function onMessage(ctx: Ctx, id: number, m: WorkerMessage): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const w = s.workers[id];
  if (!w) return;
  switch (m.$sw) {
    case 'hello':
      log(ctx, 'debug', 'worker runtime loaded', { ...who(w), protocol: m.protocol, node: m.node });
      return;
    case 'report':
      w.lastHeartbeatAt = now;
      w.served = m.served;
      w.inflight = m.inflight;
      w.connections = m.connections;
      w.tasks = m.tasks;
      w.activeTasks = sumValues(m.tasks.activeByType);
      w.loopDelayMs = m.loopDelayMs;
      return;
    case 'drained':
      w.lastHeartbeatAt = now;
      w.activeTasks = m.activeTasks;
      if ((w.state === 'retiring' || w.state === 'stopping') && m.activeTasks > 0) {
        if (w.state === 'retiring') {
          w.state = 'waiting-for-tasks';
          s.totals.recyclesDelayedByTasks += 1;
        }
        w.waitingSince = now;
        log(ctx, 'info', `worker waiting for ${m.activeTasks} task(s)`, { ...who(w), tasks: m.activeTasks });
        if (w.recycle?.force) abandon(ctx, w);
      }
      return;
    case 'lost':
      if (!w.lostReported) {
        w.lostReported = true;
        s.totals.tasksLost += m.tasks.length;
        for (const t of m.tasks) {
          log(ctx, 'warn', 'task lost', {
            ...who(w),
            task: { id: t.id, type: t.type, description: t.description, runningMs: now - t.startedAt },
          });
        }
      }
      return;
    case 'signal':
      if (s.phase === 'running' && w.state === 'ready' && !w.recycle) {
        log(ctx, 'info', `worker received ${m.signal}: recycling it`, who(w));
        requestRecycle(ctx, w, 'signal', false);
        // Ctrl-C and systemd signal the whole group: the primary's own signal usually follows
        // within milliseconds and turns this into a stop, so do not fork a replacement yet.
        w.recycle!.retryAt = now + GROUP_SIGNAL_SETTLE_MS;
      }
      return;
    case 'tasks':
      return; // answered to whoever asked, outside the policy
    case 'sync':
      return; // the exit barrier, answered by the process host
  }
}

export function enforceDeadlines(ctx: Ctx): void {
  const { s } = ctx;
  const now = ctx.env.now;
  for (const w of liveWorkers(s)) {
    const app = s.apps[w.app];
    if (!app || w.killSent) continue;
    const { bootTimeout, timeout } = app.settings;
    if (w.state === 'starting' && now - w.forkedAt >= bootTimeout) {
      log(ctx, 'error', `worker not ready within boot_timeout (${bootTimeout}ms): killing it`, who(w));
      kill(ctx, w, null); // counted as a failed boot on exit
      continue;
    }
    const silentFor = w.lastHeartbeatAt === null ? 0 : now - w.lastHeartbeatAt;
    const hangChecked = w.state === 'ready' || w.state === 'retiring' || w.state === 'waiting-for-tasks' || w.state === 'stopping';
    if (hangChecked && w.killAt === null && w.lastHeartbeatAt !== null && silentFor >= timeout) {
      log(ctx, 'error', `worker silent for ${silentFor}ms (timeout ${timeout}ms): killing it`, { ...who(w), state: w.state });
      if (w.state === 'ready') s.totals.recyclesByReason.timeout += 1;
      kill(ctx, w, w.exitReason ?? 'timeout');
      continue;
    }
    if (w.deadline !== null && now >= w.deadline && !w.abandonSent) {
      abandon(ctx, w);
    }
    if (w.killAt !== null && now >= w.killAt) {
      log(ctx, 'warn', 'worker did not exit in time: SIGKILL', who(w));
      kill(ctx, w, w.exitReason ?? 'stop');
    }
  }
  if (s.phase === 'stopping' && s.stopDeadline !== null && now >= s.stopDeadline) {
    for (const w of liveWorkers(s)) abandon(ctx, w);
  }
}

function sumValues(record: Record<string, number>): number {
  let total = 0;
  for (const v of Object.values(record)) total += v;
  return total;
}
