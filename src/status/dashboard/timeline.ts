/**
 * The dashboard's recycle timeline: the last replacements of workers, each with why, how long
 * the old worker waited on its tasks and how many tasks were lost. Kept in the primary (a page
 * opened later still sees why the last workers went), bounded, and derived from what every step
 * already produces — the `retire` message the policy sends and the `exit` event, with the totals
 * before and after — so the policy knows nothing of it and it costs a glance at each step's
 * effects.
 */
import type { StepObserver } from '../../control/types';
import { replacementOf } from '../../supervisor/queries';
import type { ClusterState, WorkerRecord } from '../../supervisor/state';

export interface TimelineEntry {
  /** Increases with every entry and every change to one: the page redraws what changed. */
  seq: number;
  app: string;
  slot: number;
  workerId: number;
  pid: number | null;
  generation: number;
  /** max_requests, memory, memory_hard, timeout, reload, manual, scale, signal, stop, crash, failed-boot, … */
  reason: string;
  /** epoch ms: when it was retired (or when it crashed). */
  at: number;
  served: number;
  /** Tasks running when it was retired. */
  tasksAtRetire: number;
  /** The worker forked to take its place, when there is one. */
  replacementId: number | null;
  /** epoch ms; null while it drains. */
  exitedAt: number | null;
  /** Time it spent waiting for its tasks after its requests were done, ms. */
  taskWaitMs: number;
  tasksLost: number;
  code: number | null;
  signal: string | null;
}

export interface Timeline {
  readonly observer: StepObserver;
  /** Newest first. */
  entries(): TimelineEntry[];
  /** Changes every time an entry is added or changed. */
  readonly version: number;
}

export function createTimeline(capacity = 50, now: () => number = Date.now): Timeline {
  const ring: TimelineEntry[] = [];
  const byWorker = new Map<number, TimelineEntry>();
  let seq = 0;

  const add = (state: ClusterState, w: WorkerRecord, reason: string, at: number): TimelineEntry => {
    const entry: TimelineEntry = {
      seq: ++seq,
      app: w.app,
      slot: w.slot,
      workerId: w.id,
      pid: w.pid,
      generation: w.generation,
      reason,
      at,
      served: w.served,
      tasksAtRetire: w.activeTasks,
      replacementId: replacementOf(state, w)?.id ?? null,
      exitedAt: null,
      taskWaitMs: 0,
      tasksLost: 0,
      code: null,
      signal: null,
    };
    ring.push(entry);
    byWorker.set(w.id, entry);
    while (ring.length > capacity) byWorker.delete(ring.shift()!.workerId);
    return entry;
  };
  const touch = (entry: TimelineEntry): void => {
    entry.seq = ++seq;
  };

  const observer: StepObserver = (before, after, event, effects) => {
    for (const effect of effects) {
      if (effect.type !== 'send' || effect.message.$sw !== 'retire') continue;
      const w = after.workers[effect.id];
      if (w && !byWorker.has(w.id)) add(after, w, effect.message.reason, now());
    }
    const lost = after.totals.tasksLost - before.totals.tasksLost;
    if (event.type === 'exit') exited(before, after, event.id, event.code, event.signal, lost);
    else if (lost > 0 && 'id' in event) {
      // Lost tasks reported by the worker itself (its `lost` message) before it exits.
      const entry = byWorker.get(event.id);
      if (entry) {
        entry.tasksLost += lost;
        touch(entry);
      }
    }
  };

  function exited(before: ClusterState, after: ClusterState, id: number, code: number | null, signal: string | null, lost: number): void {
    const w = before.workers[id];
    if (!w) return;
    let entry = byWorker.get(id);
    if (!entry) {
      // Not retired first: it crashed, exited on its own, or never booted.
      entry = add(before, w, w.exitReason ?? (w.state === 'starting' || w.state === 'failed-boot' ? 'failed-boot' : 'crash'), now());
      if (entry.replacementId === null) {
        // The slot's next worker is forked in this same step (unless backed off or given up).
        for (const next of Object.values(after.workers)) if (!before.workers[next.id] && next.app === w.app && next.slot === w.slot) entry.replacementId = next.id;
      }
    }
    entry.exitedAt = now();
    entry.served = w.served;
    entry.taskWaitMs = Math.max(0, after.totals.taskWaitTotalMs - before.totals.taskWaitTotalMs);
    entry.tasksLost += Math.max(0, lost);
    entry.code = code;
    entry.signal = signal;
    if (entry.replacementId === null) entry.replacementId = replacementOf(before, w)?.id ?? null;
    touch(entry);
  }

  return {
    observer,
    entries: () => ring.slice().reverse(),
    get version() {
      return seq;
    },
  };
}
