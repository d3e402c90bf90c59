/**
 * Bounds on what outside clients may cost the status server, which runs in the primary — the
 * accept loop of every app connection:
 *
 * - connections: at most `perAddress` from one address and `total` in all; a new connection
 *   past a bound closes the oldest one (of that address, or overall), so idle and half-open
 *   connections can never keep a probe out (they used to: 64 of them silenced /healthz);
 * - requests: each class of route has its own budget per second; a request over budget waits
 *   (its connection sends nothing more meanwhile) until the budget allows it, so a flood is
 *   slowed to the budget instead of being served at the expense of the app. Probes have a
 *   budget of their own and are never queued behind scrapes.
 */
import type net from 'node:net';

export interface GuardLimits {
  /** Connections from one remote address. */
  perAddress: number;
  /** Connections in all. */
  total: number;
}

export interface ConnectionGuard {
  /** Registers a new connection, closing the oldest ones past the limits. */
  admit(socket: net.Socket): void;
  /** Connections closed to make room so far. */
  readonly evicted: number;
  readonly open: number;
}

export function createConnectionGuard(limits: GuardLimits, onEvict?: (evicted: number) => void): ConnectionGuard {
  // Insertion order is age: the first entry of each set is the oldest connection.
  const all = new Set<net.Socket>();
  const byAddress = new Map<string, Set<net.Socket>>();
  let evicted = 0;

  const evict = (socket: net.Socket | undefined): void => {
    if (!socket) return;
    forget(socket);
    socket.destroy();
    evicted += 1;
    onEvict?.(evicted);
  };
  const forget = (socket: net.Socket): void => {
    all.delete(socket);
    const address = socket.remoteAddress ?? '';
    const mine = byAddress.get(address);
    mine?.delete(socket);
    if (mine?.size === 0) byAddress.delete(address);
  };

  return {
    admit(socket) {
      const address = socket.remoteAddress ?? '';
      let mine = byAddress.get(address);
      if (!mine) byAddress.set(address, (mine = new Set()));
      while (mine.size >= limits.perAddress) evict(first(mine));
      while (all.size >= limits.total) evict(first(all));
      // the set may have been emptied and removed by the evictions above
      if (!byAddress.has(address)) byAddress.set(address, mine);
      mine.add(socket);
      all.add(socket);
      socket.once('close', () => forget(socket));
    },
    get evicted() {
      return evicted;
    },
    get open() {
      return all.size;
    },
  };
}

function first<T>(set: Set<T>): T | undefined {
  for (const value of set) return value;
  return undefined;
}

/**
 * A token bucket: `perSecond` requests a second, in bursts of up to `perSecond`. Work over
 * budget is queued (bounded by `maxQueued`; past it the work's `drop` is called) and run in
 * order as the budget refills, by one timer. Queued work whose client has gone (`live()` is
 * false) is skipped without spending the budget: a flood that reconnects cannot fill the queue
 * with dead requests that keep the next live one waiting.
 */
export interface RequestBudget {
  run(work: () => void, drop: () => void, live?: () => boolean): void;
  readonly queued: number;
  stop(): void;
}

export function createRequestBudget(perSecond: number, maxQueued: number, now: () => number = Date.now): RequestBudget {
  let tokens = perSecond;
  let refilledAt = now();
  const queue: Array<{ work: () => void; live: () => boolean }> = [];
  let timer: NodeJS.Timeout | undefined;

  const refill = (): void => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - refilledAt) * perSecond) / 1000);
    refilledAt = t;
  };
  const drain = (): void => {
    timer = undefined;
    refill();
    while (queue.length > 0 && tokens >= 1) {
      const next = queue.shift()!;
      if (!next.live()) continue;
      tokens -= 1;
      next.work();
    }
    schedule();
  };
  const schedule = (): void => {
    if (timer || queue.length === 0) return;
    timer = setTimeout(drain, Math.max(1, Math.ceil(((1 - tokens) * 1000) / perSecond)));
    timer.unref();
  };

  return {
    run(work, drop, live = () => true) {
      refill();
      if (queue.length === 0 && tokens >= 1) {
        tokens -= 1;
        work();
        return;
      }
      if (queue.length >= maxQueued) {
        const before = queue.length;
        for (let i = queue.length - 1; i >= 0; i--) if (!queue[i].live()) queue.splice(i, 1);
        if (queue.length === before) {
          drop();
          return;
        }
      }
      queue.push({ work, live });
      schedule();
    },
    get queued() {
      return queue.length;
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      queue.length = 0;
    },
  };
}
