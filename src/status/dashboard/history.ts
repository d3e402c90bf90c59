/**
 * The charts' history in the primary: the last `capacity` samples (one a second at most), so a
 * page opened or reloaded draws the last minutes at once (`GET /api/history`) instead of only
 * what it saw itself.
 *
 * Cost: a sample is taken from the snapshot the stream builds anyway (once a second, only while
 * a page is open) — no timer of its own, no per-request work. It keeps only what the charts
 * draw, a few numbers per worker: 600 samples of 8 workers are ~300 KB. With no page open nothing
 * is added, and the samples already kept stay (a page reloaded a minute later still sees them,
 * with a gap).
 */
import type { StatusSnapshot } from '../snapshot';

/** What a chart reads of a snapshot (the page's charts.update takes this shape too). */
export interface HistorySample {
  time: number;
  snapshot: {
    workers: Array<{ id: number; app: string; slot: number; served: number; rssBytes: number | null; loopDelayMs: number | null; activeTasks: number }>;
    apps: Array<{ name: string; maxMemoryBytes?: number; maxMemoryHardBytes?: number }>;
    totals: { activeTasksByType: Record<string, number> };
  };
}

/** 10 minutes at one sample a second: what the page's charts show. */
export const HISTORY_SAMPLES = 600;

export interface History {
  /** Keeps a sample of `snapshot` unless one was kept less than `minIntervalMs` ago. */
  add(time: number, snapshot: StatusSnapshot): void;
  /** Oldest first. */
  samples(): HistorySample[];
  readonly size: number;
}

export function createHistory(capacity = HISTORY_SAMPLES, minIntervalMs = 900): History {
  // A ring: `next` is where the next sample goes, and the oldest once full.
  const ring: HistorySample[] = [];
  let next = 0;
  let lastTime = -Infinity;
  return {
    add(time, snapshot) {
      if (time - lastTime < minIntervalMs) return;
      lastTime = time;
      const sample = reduce(time, snapshot);
      if (ring.length < capacity) ring.push(sample);
      else ring[next] = sample;
      next = (next + 1) % capacity;
    },
    samples() {
      return ring.length < capacity ? ring.slice() : [...ring.slice(next), ...ring.slice(0, next)];
    },
    get size() {
      return ring.length;
    },
  };
}

function reduce(time: number, snapshot: StatusSnapshot): HistorySample {
  return {
    time,
    snapshot: {
      workers: snapshot.workers.map((w) => ({ id: w.id, app: w.app, slot: w.slot, served: w.served, rssBytes: w.rssBytes, loopDelayMs: w.loopDelayMs, activeTasks: w.activeTasks })),
      apps: snapshot.apps.map((a) => ({ name: a.name, maxMemoryBytes: a.maxMemoryBytes, maxMemoryHardBytes: a.maxMemoryHardBytes })),
      totals: { activeTasksByType: { ...snapshot.totals.activeTasksByType } },
    },
  };
}
