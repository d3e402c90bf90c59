/**
 * Worker messages and deadlines: a worker becoming ready, its reports, drains, lost tasks and
 * signals, and the clocks that end a worker (boot_timeout, heartbeat timeout, task wait, kill).
 */
import type { ReadyOn } from '../../config/types';
import type { WorkerMessage } from '../../protocol';
import { liveWorkers } from '../queries';
import { abandon, type Ctx, GROUP_SIGNAL_SETTLE_MS, kill, log, mutApp, mutTotals, mutWorker, requestRecycle, retire, who } from './actions';

/**
 * Ticks come ten times a second; a gap longer than this between two of them means the primary's
 * own loop did not run (SIGSTOP, a VM freeze, a long GC pause, a blocked loop).
 */
export const STALL_MS = 1_000;

/**
 * A primary that was not running cannot conclude that its workers were not: their heartbeats
 * (and boots) were waiting in the pipe. After a stall, silence and boot time count again from
 * the moment the primary resumed.
 */
export function noticeStall(ctx: Ctx, isTick: boolean): void {
  const { s } = ctx;
  const now = ctx.env.now;
  if (s.lastTickAt !== null && now - s.lastTickAt > STALL_MS) {
    const stalledMs = now - s.lastTickAt;
    s.resumedAt = now;
    s.lastTickAt = now;
    log(ctx, 'warn', `the primary's event loop did not run for ${stalledMs}ms: worker heartbeats are judged from now`, { stalledMs });
  }
  if (isTick) s.lastTickAt = now;
}

/** Since when a worker's silence (or boot) counts: the primary must have been running meanwhile. */
function countedSince(ctx: Ctx, since: number): number {
  return ctx.s.resumedAt === null ? since : Math.max(since, ctx.s.resumedAt);
}

export function onReadySignal(ctx: Ctx, id: number, via: ReadyOn): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const found = s.workers[id];
  if (!found) return;
  if (via === 'listening' && !found.listening) mutWorker(ctx, found).listening = true;
  if (found.state !== 'starting') return;
  const app = s.apps[found.app];
  if (via !== (app?.settings.readyOn ?? 'listening')) return;
  const w = mutWorker(ctx, found);
  w.state = 'ready';
  w.readyAt = now;
  w.lastHeartbeatAt = now;
  if (app && !app.everReady) mutApp(ctx, w.app).everReady = true;
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
  const found = s.workers[id];
  if (!found) return;
  switch (m.$sw) {
    case 'hello':
      log(ctx, 'debug', 'worker runtime loaded', { ...who(found), protocol: m.protocol, node: m.node });
      return;
    case 'report': {
      const w = mutWorker(ctx, found);
      w.lastHeartbeatAt = now;
      w.served = m.served;
      w.inflight = m.inflight;
      w.connections = m.connections;
      w.tasks = m.tasks;
      w.activeTasks = sumValues(m.tasks.activeByType);
      w.loopDelayMs = m.loopDelayMs;
      return;
    }
    case 'drained': {
      const w = mutWorker(ctx, found);
      w.lastHeartbeatAt = now;
      w.activeTasks = m.activeTasks;
      if ((w.state === 'retiring' || w.state === 'stopping') && m.activeTasks > 0) {
        if (w.state === 'retiring') {
          w.state = 'waiting-for-tasks';
          mutTotals(ctx).recyclesDelayedByTasks += 1;
        }
        w.waitingSince = now;
        log(ctx, 'info', `worker waiting for ${m.activeTasks} task(s)`, { ...who(w), tasks: m.activeTasks });
        if (w.recycle?.force) abandon(ctx, w);
      }
      return;
    }
    case 'lost':
      if (!found.lostReported) {
        const w = mutWorker(ctx, found);
        w.lostReported = true;
        mutTotals(ctx).tasksLost += m.tasks.length;
        for (const t of m.tasks) {
          log(ctx, 'warn', 'task lost', {
            ...who(w),
            task: { id: t.id, type: t.type, description: t.description, runningMs: now - t.startedAt },
          });
        }
      }
      return;
    case 'signal':
      if (s.phase === 'running' && found.state === 'ready' && !found.recycle) {
        log(ctx, 'info', `worker received ${m.signal}: recycling it`, who(found));
        requestRecycle(ctx, found, 'signal', false);
        // Ctrl-C and systemd signal the whole group: the primary's own signal usually follows
        // within milliseconds and turns this into a stop, so do not fork a replacement yet.
        mutWorker(ctx, found).recycle!.retryAt = now + GROUP_SIGNAL_SETTLE_MS;
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
    if (w.state === 'starting' && now - countedSince(ctx, w.forkedAt) >= bootTimeout) {
      log(ctx, 'error', `worker not ready within boot_timeout (${bootTimeout}ms): killing it`, who(w));
      kill(ctx, w, null); // counted as a failed boot on exit
      continue;
    }
    const silentFor = w.lastHeartbeatAt === null ? 0 : now - countedSince(ctx, w.lastHeartbeatAt);
    const hangChecked = w.state === 'ready' || w.state === 'retiring' || w.state === 'waiting-for-tasks' || w.state === 'stopping';
    if (hangChecked && w.killAt === null && w.lastHeartbeatAt !== null && silentFor >= timeout) {
      log(ctx, 'error', `worker silent for ${silentFor}ms (timeout ${timeout}ms): killing it`, { ...who(w), state: w.state });
      if (w.state === 'ready') mutTotals(ctx).recyclesByReason.timeout += 1;
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
