/**
 * Permits of limited task types, as a worker asks for them.
 *
 * Under smartworkers the primary holds every permit of the app (`concurrency` is cluster-wide):
 * requests and returns are batched into one `permits` message per turn of the event loop, and
 * grants come back batched in `grant` messages. Outside smartworkers (plain `node app.js`, unit
 * tests) the same limit applies within the process, with the same priority order.
 */
import { TAG } from '../protocol';
import { sendToPrimary } from './ipc';

export interface PermitClient {
  /** Ask for a permit of `type`; `granted(ref)` is called later (never synchronously). */
  acquire(ref: number, type: string, priority: number, limit: number): void;
  /** Give back a granted permit, or withdraw a request not granted yet. */
  release(ref: number): void;
}

export type Granted = (ref: number) => void;

/** Batches into one `permits` message per event-loop turn. */
export class RemotePermits implements PermitClient {
  private acquires: Array<[number, string, number]> = [];
  private releases: number[] = [];
  private scheduled = false;

  acquire(ref: number, type: string, priority: number): void {
    this.acquires.push([ref, type, priority]);
    this.schedule();
  }

  release(ref: number): void {
    this.releases.push(ref);
    this.schedule();
  }

  /** Sends what is pending now (before the worker exits). */
  flush = (): void => {
    this.scheduled = false;
    if (this.acquires.length === 0 && this.releases.length === 0) return;
    const message = { [TAG]: 'permits' as const, acquire: this.acquires, release: this.releases };
    this.acquires = [];
    this.releases = [];
    sendToPrimary(message);
  };

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }
}

interface Waiting {
  ref: number;
  priority: number;
  seq: number;
}

/** The in-process limit, for an app running outside smartworkers. */
export class LocalPermits implements PermitClient {
  private readonly byType = new Map<string, { inUse: Set<number>; waiting: Waiting[]; limit: number }>();
  private readonly typeOf = new Map<number, string>();
  private seq = 0;

  constructor(private readonly granted: Granted) {}

  acquire(ref: number, type: string, priority: number, limit: number): void {
    let pool = this.byType.get(type);
    if (pool === undefined) {
      pool = { inUse: new Set(), waiting: [], limit };
      this.byType.set(type, pool);
    }
    pool.limit = limit;
    this.typeOf.set(ref, type);
    pool.waiting.push({ ref, priority, seq: ++this.seq });
    this.pump(pool);
  }

  release(ref: number): void {
    const type = this.typeOf.get(ref);
    if (type === undefined) return;
    this.typeOf.delete(ref);
    const pool = this.byType.get(type)!;
    if (!pool.inUse.delete(ref)) pool.waiting = pool.waiting.filter((w) => w.ref !== ref);
    this.pump(pool);
  }

  private pump(pool: { inUse: Set<number>; waiting: Waiting[]; limit: number }): void {
    while (pool.inUse.size < pool.limit && pool.waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < pool.waiting.length; i++) {
        const w = pool.waiting[i]!;
        const b = pool.waiting[best]!;
        if (w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i;
      }
      const [next] = pool.waiting.splice(best, 1);
      pool.inUse.add(next!.ref);
      const ref = next!.ref;
      // Never synchronously: the caller has not finished recording the request.
      queueMicrotask(() => this.granted(ref));
    }
  }
}
