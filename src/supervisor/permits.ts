/**
 * The permit queue of limited task types: pure logic, no I/O, no timers (time comes in).
 *
 * The primary holds every permit of an app's limited types (`task_types.<type>.concurrency`
 * is cluster-wide). Workers ask for permits and give them back in batches; a permit goes to the
 * highest priority waiting, and among requests of equal priority the workers take turns (one
 * worker queueing a thousand tasks does not starve another's one). A worker that dies, or is
 * recycled, gives its permits and its queued requests back at once.
 *
 * Cost: a request or a return is O(1) plus the grants it makes; priorities are few, so the
 * sorted list of levels stays short.
 */

export interface Grant {
  worker: number;
  ref: number;
  type: string;
  /** How long the request waited, ms. */
  waitedMs: number;
}

export interface TypePermitStats {
  limit: number;
  inUse: number;
  queued: number;
}

interface Request {
  worker: number;
  ref: number;
  at: number;
  /** Withdrawn (a cancelled task, a worker gone): skipped when reached. */
  dead: boolean;
}

/** FIFO with a moving head: O(1) push and shift without Array#shift's copying. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

/** One priority level: a FIFO per worker, served in turn. */
interface Level {
  byWorker: Map<number, Fifo<Request>>;
  /** Workers with requests at this level, in serving order. */
  turn: Fifo<number>;
}

class TypePool {
  inUse = 0;
  queued = 0;
  private readonly levels = new Map<number, Level>();
  /** Priorities with a level, highest first. */
  private priorities: number[] = [];
  /** Held permits and queued requests, by worker then ref. */
  readonly held = new Map<number, Set<number>>();
  readonly waiting = new Map<number, Map<number, Request>>();

  constructor(
    readonly type: string,
    public limit: number,
  ) {}

  enqueue(worker: number, ref: number, priority: number, at: number): void {
    const request: Request = { worker, ref, at, dead: false };
    let level = this.levels.get(priority);
    if (level === undefined) {
      level = { byWorker: new Map(), turn: new Fifo() };
      this.levels.set(priority, level);
      this.priorities.push(priority);
      this.priorities.sort((a, b) => b - a);
    }
    let fifo = level.byWorker.get(worker);
    if (fifo === undefined) {
      fifo = new Fifo();
      level.byWorker.set(worker, fifo);
      level.turn.push(worker);
    }
    fifo.push(request);
    let mine = this.waiting.get(worker);
    if (mine === undefined) this.waiting.set(worker, (mine = new Map()));
    mine.set(ref, request);
    this.queued++;
  }

  /** Gives a permit back, or withdraws a request. */
  release(worker: number, ref: number): void {
    const held = this.held.get(worker);
    if (held?.delete(ref)) {
      this.inUse--;
      return;
    }
    const request = this.waiting.get(worker)?.get(ref);
    if (request !== undefined) this.withdraw(request);
  }

  workerGone(worker: number): void {
    const held = this.held.get(worker);
    if (held !== undefined) {
      this.inUse -= held.size;
      this.held.delete(worker);
    }
    const mine = this.waiting.get(worker);
    if (mine !== undefined) for (const request of [...mine.values()]) this.withdraw(request);
  }

  private withdraw(request: Request): void {
    request.dead = true;
    this.waiting.get(request.worker)?.delete(request.ref);
    this.queued--;
  }

  /** Grants while permits are free and requests wait. */
  pump(now: number, out: Grant[]): void {
    while (this.inUse < this.limit && this.queued > 0) {
      const request = this.next();
      if (request === undefined) return;
      this.waiting.get(request.worker)?.delete(request.ref);
      this.queued--;
      let held = this.held.get(request.worker);
      if (held === undefined) this.held.set(request.worker, (held = new Set()));
      held.add(request.ref);
      this.inUse++;
      out.push({ worker: request.worker, ref: request.ref, type: this.type, waitedMs: Math.max(0, now - request.at) });
    }
  }

  /** The next live request: highest priority, then the next worker in turn at that level. */
  private next(): Request | undefined {
    while (this.priorities.length > 0) {
      const priority = this.priorities[0]!;
      const level = this.levels.get(priority)!;
      while (level.turn.size > 0) {
        const worker = level.turn.shift()!;
        const fifo = level.byWorker.get(worker)!;
        let request = fifo.shift();
        while (request !== undefined && request.dead) request = fifo.shift();
        if (fifo.size > 0) level.turn.push(worker);
        else level.byWorker.delete(worker);
        if (request !== undefined) return request;
      }
      this.levels.delete(priority);
      this.priorities.shift();
    }
    return undefined;
  }
}

/** The permits of one app's limited types. A type without a limit here is granted at once. */
export class PermitPools {
  private readonly pools = new Map<string, TypePool>();
  private readonly dirty = new Set<TypePool>();
  /** Which pool each worker's ref belongs to, so a return needs only the ref. */
  private readonly refTypes = new Map<number, Map<number, TypePool>>();

  constructor(limits: Readonly<Record<string, number>> = {}) {
    this.setLimits(limits);
  }

  /** New limits (a reload): types no longer limited grant at once from now on. */
  setLimits(limits: Readonly<Record<string, number>>): void {
    for (const [type, limit] of Object.entries(limits)) {
      if (limit <= 0) continue;
      const pool = this.pools.get(type);
      if (pool === undefined) this.pools.set(type, new TypePool(type, limit));
      else {
        pool.limit = limit;
        this.dirty.add(pool);
      }
    }
    for (const pool of this.pools.values()) {
      if (!(pool.type in limits) || (limits[pool.type] ?? 0) <= 0) {
        pool.limit = Infinity;
        this.dirty.add(pool);
      }
    }
  }

  acquire(worker: number, ref: number, type: string, priority: number, now: number): void {
    let pool = this.pools.get(type);
    if (pool === undefined) this.pools.set(type, (pool = new TypePool(type, Infinity)));
    let mine = this.refTypes.get(worker);
    if (mine === undefined) this.refTypes.set(worker, (mine = new Map()));
    mine.set(ref, pool);
    pool.enqueue(worker, ref, priority, now);
    this.dirty.add(pool);
  }

  release(worker: number, ref: number): void {
    const mine = this.refTypes.get(worker);
    const pool = mine?.get(ref);
    if (pool === undefined) return;
    mine!.delete(ref);
    pool.release(worker, ref);
    this.dirty.add(pool);
  }

  /** The worker has exited (or can no longer hold permits): everything it held or asked for comes back. */
  workerGone(worker: number): void {
    this.refTypes.delete(worker);
    for (const pool of this.pools.values()) {
      if (!pool.held.has(worker) && !pool.waiting.has(worker)) continue;
      pool.workerGone(worker);
      pool.held.delete(worker);
      pool.waiting.delete(worker);
      this.dirty.add(pool);
    }
  }

  /** The grants the changes since the last call allow. */
  grants(now: number): Grant[] {
    const out: Grant[] = [];
    for (const pool of this.dirty) pool.pump(now, out);
    this.dirty.clear();
    return out;
  }

  /** Limit, in use and queued, by type (limited types only). */
  stats(): Record<string, TypePermitStats> {
    const out: Record<string, TypePermitStats> = {};
    for (const pool of this.pools.values()) {
      if (pool.limit === Infinity) continue;
      out[pool.type] = { limit: pool.limit, inUse: pool.inUse, queued: pool.queued };
    }
    return out;
  }

  /** Permits a worker holds now (tests, status). */
  heldBy(worker: number): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.held.get(worker)?.size ?? 0;
    return n;
  }
}
