import { describe, expect, it } from 'vitest';
import { PermitPools } from '../../src/supervisor/permits';

const refsOf = (grants: Array<{ worker: number; ref: number }>) => grants.map((g) => `${g.worker}:${g.ref}`);

describe('permit queue', () => {
  it('grants up to the limit, then in priority order as permits come back', () => {
    const pools = new PermitPools({ crm: 2 });
    pools.acquire(1, 1, 'crm', 0, 0);
    pools.acquire(1, 2, 'crm', 0, 0);
    pools.acquire(1, 3, 'crm', 1, 0);
    pools.acquire(2, 1, 'crm', 9, 0);
    pools.acquire(2, 2, 'crm', 5, 0);
    expect(refsOf(pools.grants(0))).toEqual(['2:1', '2:2']); // the two highest priorities
    expect(pools.stats().crm).toEqual({ limit: 2, inUse: 2, queued: 3 });
    pools.release(2, 1);
    expect(refsOf(pools.grants(10))).toEqual(['1:3']);
    pools.release(2, 2);
    pools.release(1, 3);
    const last = pools.grants(20);
    expect(refsOf(last)).toEqual(['1:1', '1:2']);
    expect(last[0]!.waitedMs).toBe(20);
  });

  it('takes turns between workers at equal priority', () => {
    const pools = new PermitPools({ crm: 1 });
    for (let ref = 1; ref <= 4; ref++) pools.acquire(1, ref, 'crm', 0, 0);
    for (let ref = 1; ref <= 2; ref++) pools.acquire(2, ref, 'crm', 0, 0);
    const order: string[] = [];
    let grants = pools.grants(0);
    while (grants.length > 0) {
      order.push(...refsOf(grants));
      const g = grants[0]!;
      pools.release(g.worker, g.ref);
      grants = pools.grants(0);
    }
    expect(order).toEqual(['1:1', '2:1', '1:2', '2:2', '1:3', '1:4']);
  });

  it('a worker that dies gives back its permits and its queued requests', () => {
    const pools = new PermitPools({ crm: 2 });
    pools.acquire(1, 1, 'crm', 0, 0);
    pools.acquire(1, 2, 'crm', 0, 0);
    pools.acquire(1, 3, 'crm', 0, 0);
    pools.acquire(2, 1, 'crm', 0, 0);
    expect(refsOf(pools.grants(0))).toEqual(['1:1', '2:1']);
    expect(pools.heldBy(1)).toBe(1);
    pools.workerGone(1);
    expect(refsOf(pools.grants(0))).toEqual([]); // 1:2 and 1:3 withdrawn, nothing left to grant
    expect(pools.stats().crm).toEqual({ limit: 2, inUse: 1, queued: 0 });
    pools.acquire(3, 1, 'crm', 0, 0);
    expect(refsOf(pools.grants(0))).toEqual(['3:1']);
    pools.release(1, 1); // a late return from the dead worker is ignored
    expect(pools.stats().crm!.inUse).toBe(2);
  });

  it('a withdrawn request (cancelled while queued) is never granted', () => {
    const pools = new PermitPools({ crm: 1 });
    pools.acquire(1, 1, 'crm', 0, 0);
    pools.acquire(1, 2, 'crm', 0, 0);
    pools.acquire(1, 3, 'crm', 0, 0);
    expect(refsOf(pools.grants(0))).toEqual(['1:1']);
    pools.release(1, 2);
    pools.release(1, 1);
    expect(refsOf(pools.grants(0))).toEqual(['1:3']);
  });

  it('a type without a limit is granted at once; a reload can lift or set a limit', () => {
    const pools = new PermitPools({});
    pools.acquire(1, 1, 'email', 0, 0);
    pools.acquire(1, 2, 'email', 0, 0);
    expect(pools.grants(0)).toHaveLength(2);
    expect(pools.stats()).toEqual({});
    const limited = new PermitPools({ crm: 1 });
    limited.acquire(1, 1, 'crm', 0, 0);
    limited.acquire(1, 2, 'crm', 0, 0);
    expect(limited.grants(0)).toHaveLength(1);
    limited.setLimits({ crm: 2 });
    expect(refsOf(limited.grants(0))).toEqual(['1:2']);
  });
});
