/**
 * Worker messages and deadlines: a worker becoming ready, its reports, drains, lost tasks and
 * signals, and the clocks that end a worker (boot_timeout, heartbeat timeout, task wait, kill).
 */
import type { ReadyOn } from '../../config/types';
import type { PolicyMessage } from '../../protocol';
import { liveWorkers, replacing } from '../queries';
import { isProcessWorker } from './processes';
import type { SupervisorEvent, WorkerRecord } from '../state';
import { connectionsStillBounded, onCut } from './connections';
import { ABANDON_GRACE_MS, abandon, type Ctx, GROUP_SIGNAL_SETTLE_MS, kill, log, mutApp, mutSlot, mutTotals, mutWorker, requestRecycle, retire, who } from './actions';

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
  const found = ctx.s.workers[id];
  if (!found) return;
  if (via === 'listening' && !found.listening) mutWorker(ctx, found).listening = true;
  if (found.state !== 'starting') return;
  const app = ctx.s.apps[found.app];
  if (via !== (app?.settings.readyOn ?? 'listening')) return;
  // Ready on every server its slot had listening: a replacement ready on its first server only
  // would let the old worker retire while the second port still has nobody new behind it.
  if (via === 'listening' && missingServers(ctx.s.workers[id]!).length > 0) return;
  becomeReady(ctx, ctx.s.workers[id]!);
}

/** Servers of its slot the worker does not listen on yet (a multiset: two port-0 servers are two). */
function missingServers(w: WorkerRecord): string[] {
  const unmatched = [...w.servers];
  return w.requiredServers.filter((address) => {
    const at = unmatched.indexOf(address);
    if (at === -1) return true;
    unmatched.splice(at, 1);
    return false;
  });
}

function becomeReady(ctx: Ctx, found: WorkerRecord): void {
  const { s } = ctx;
  const now = ctx.env.now;
  const w = mutWorker(ctx, found);
  w.state = 'ready';
  w.readyAt = now;
  // A process worker sends no heartbeat: it is never judged silent.
  w.lastHeartbeatAt = isProcessWorker(ctx, w) ? null : now;
  const app = s.apps[w.app];
  if (app && !app.everReady) mutApp(ctx, w.app).everReady = true;
  if (app?.slots[w.slot]) mutSlot(ctx, w.app, w.slot).servers = [...w.servers];
  log(ctx, 'info', 'worker ready', { ...who(w), bootMs: now - w.forkedAt });

  if (s.phase === 'stopping') {
    retire(ctx, w, 'stop');
    return;
  }
  const old = replacing(s, w);
  if (old && old.state === 'ready' && old.recycle) {
    retire(ctx, old, old.recycle.reason);
  }
}

export function onMessage(ctx: Ctx, id: number, m: PolicyMessage): void {
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
      w.idle = m.idle ?? 0;
      w.upgraded = m.upgraded ?? 0;
      w.streaming = m.streaming ?? 0;
      w.tasks = m.tasks;
      w.activeTasks = sumValues(m.tasks.activeByType);
      w.loopDelayMs = m.loopDelayMs;
      return;
    }
    case 'drained': {
      const w = mutWorker(ctx, found);
      w.lastHeartbeatAt = now;
      // Its count decides the wait; the record's `activeTasks` is the reports' alone (one source:
      // the runtime's next report follows within the report interval).
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
    case 'cut':
      onCut(ctx, found, m);
      return;
    case 'task-alert':
      onTaskAlert(ctx, found, m);
      return;
    case 'servers': {
      const w = mutWorker(ctx, found);
      w.servers = m.listening;
      // What the slot's next worker must listen on: only while this one serves (a drain closes them all).
      if (w.state === 'ready' && s.apps[w.app]?.slots[w.slot]) mutSlot(ctx, w.app, w.slot).servers = [...m.listening];
      else if (w.state === 'starting' && w.listening) onReadySignal(ctx, id, 'listening');
      return;
    }
  }
}

/**
 * A managed task's rare event: overdue (logged once: the worker sends it once), a soft time limit
 * (logged), a hard time limit (the task is recorded failed; a promise cannot be stopped, the
 * process can: the worker is recycled surge-then-retire, its other tasks finish first).
 */
function onTaskAlert(ctx: Ctx, found: WorkerRecord, m: Extract<PolicyMessage, { $sw: 'task-alert' }>): void {
  const task = { id: m.task.id, type: m.task.type, description: m.task.description, runningMs: Math.max(0, ctx.env.now - m.task.startedAt) };
  if (m.kind === 'overdue') {
    log(ctx, 'warn', 'task overdue: running past its stale_after (or 3 × its estimate)', { ...who(found), task, estimatedMs: m.task.estimatedMs });
    return;
  }
  if (m.kind === 'time_limit') {
    log(ctx, 'warn', 'task past its time_limit: its signal was aborted', { ...who(found), task });
    return;
  }
  log(ctx, 'error', 'task past its hard_time_limit: recorded failed (timed out), recycling its worker', { ...who(found), task });
  if (ctx.s.phase === 'running' && found.state === 'ready') requestRecycle(ctx, found, 'hard_time_limit', false);
}

/**
 * The worker closed its IPC channel (`process.disconnect()`) and still runs. node:cluster no
 * longer routes connections to it, and nothing reaches it any more: no report, no retire, no
 * abandon. Its runtime drains on its own within `graceful_timeout` and exits 0 only if every task
 * finished — the exit code is how the primary learns their outcome (see `onExit`). Its slot is
 * refilled at once; it is not judged silent, and is SIGKILLed only past its own bound.
 */
export function onDisconnect(ctx: Ctx, id: number): void {
  const found = ctx.s.workers[id];
  if (!found || found.untracked || found.killSent) return;
  const app = ctx.s.apps[found.app];
  const w = mutWorker(ctx, found);
  w.untracked = true;
  w.lastHeartbeatAt = null;
  w.deadline = null;
  w.killAt = ctx.env.now + (app?.settings.gracefulTimeout ?? 30_000) + ABANDON_GRACE_MS;
  // A worker already leaving on the primary's word just finishes without a channel.
  if (w.state !== 'ready') return;
  log(ctx, 'warn', `worker disconnected from the primary: it takes no new connections, and its ${w.activeTasks} task(s) are no longer tracked; its exit code tells whether they finished`, {
    ...who(w),
    tasks: w.activeTasks,
  });
  w.state = 'retiring';
  w.exitReason = 'disconnect';
}

/** An exited worker's leftover processes have been ended: each is logged and counted. */
export function onReaped(ctx: Ctx, e: Extract<SupervisorEvent, { type: 'reaped' }>): void {
  ctx.s.reaping = Math.max(0, ctx.s.reaping - 1);
  mutTotals(ctx).processesKilled += e.leftovers.length;
  for (const p of e.leftovers) {
    log(ctx, 'warn', `process left running by an exited worker: ended with ${p.signal}`, {
      app: e.app,
      worker: e.id,
      slot: e.slot,
      workerPid: e.pid,
      process: { pid: p.pid, command: p.command },
    });
  }
}

export function enforceDeadlines(ctx: Ctx): void {
  const { s } = ctx;
  const now = ctx.env.now;
  for (const w of liveWorkers(s)) {
    const app = s.apps[w.app];
    if (!app || w.killSent) continue;
    const { bootTimeout, timeout } = app.settings;
    if (w.state === 'starting' && now - countedSince(ctx, w.forkedAt) >= bootTimeout && w.listening && missingServers(w).length > 0) {
      // It listens, just not on every server its slot had: new code may have dropped one.
      log(ctx, 'warn', `worker not listening on every server of its slot within boot_timeout (${bootTimeout}ms): counting it ready`, {
        ...who(w),
        missing: missingServers(w),
      });
      becomeReady(ctx, w);
      continue;
    }
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
    if (w.deadline !== null && now >= w.deadline && !w.abandonSent && !connectionsStillBounded(ctx, w)) {
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
