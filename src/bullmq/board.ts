/**
 * The primary's view of BullMQ queues: which worker processes which queue, and the latest counts
 * the sampling worker reported. Nothing here talks to Redis (the primary has no Redis connection)
 * or runs per job: the board only stores what `queues` messages say, and is read on `status`,
 * `/status`, `/metrics` and the summary line. Counts are shown, never acted on, so the board lives
 * beside the policy (like task listings), not in its state.
 */
import type { QueueCounts } from './types';

/** One queue in the status document. */
export interface QueueStatus {
  name: string;
  /** Live workers that process it. */
  workers: number;
  /** The latest sample, or null before the first. */
  counts: QueueCounts | null;
  /** ms since that sample. */
  sampleAgeMs: number | null;
}

interface Sample {
  counts: QueueCounts;
  at: number;
}

export class QueueBoard {
  private readonly hostedBy = new Map<number, string[]>();
  private readonly samples = new Map<string, Sample>();

  /** A worker's `queues` message. */
  update(workerId: number, hosted: string[], counts: Record<string, QueueCounts> | undefined, sampledAt: number | undefined, now: number): void {
    this.hostedBy.set(workerId, hosted);
    if (!counts) return;
    const at = sampledAt !== undefined && sampledAt <= now ? sampledAt : now;
    for (const [name, c] of Object.entries(counts)) {
      const prev = this.samples.get(name);
      // Two samplers (two apps on one queue): the newer sample wins.
      if (!prev || prev.at <= at) this.samples.set(name, { counts: c, at });
    }
  }

  /** The worker exited. */
  forget(workerId: number): void {
    this.hostedBy.delete(workerId);
  }

  /** Live workers that process `queue`, oldest first. */
  hostsOf(queue: string): number[] {
    const out: number[] = [];
    for (const [id, names] of this.hostedBy) if (names.includes(queue)) out.push(id);
    return out;
  }

  names(): string[] {
    const all = new Set<string>(this.samples.keys());
    for (const names of this.hostedBy.values()) for (const n of names) all.add(n);
    return [...all].sort();
  }

  snapshot(now: number): QueueStatus[] {
    return this.names().map((name) => {
      const sample = this.samples.get(name);
      return {
        name,
        workers: this.hostsOf(name).length,
        counts: sample ? { ...sample.counts } : null,
        sampleAgeMs: sample ? Math.max(0, now - sample.at) : null,
      };
    });
  }
}

/** `jobs 12 waiting, 3 active, 0 delayed, 140 completed, 0 failed (paused)`: for the summary and `status`. */
export function describeQueue(q: QueueStatus): string {
  if (!q.counts) return `${q.name} (no sample yet)`;
  const c = q.counts;
  return `${q.name} ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed, ${c.completed} completed, ${c.failed} failed${c.paused ? ' (paused)' : ''}`;
}
