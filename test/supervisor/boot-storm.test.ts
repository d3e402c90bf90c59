/**
 * An app that has never been ready retries failed boots one slot at a time (a probe): N workers
 * failing their boot together are not forked again while the first generation still fails.
 */
import { describe, expect, it } from 'vitest';
import { settingsWith, Sim } from './helpers';

describe('boot storm', () => {
  it('forks nothing while a whole first generation fails its boot at once, then exits 3', () => {
    const sim = new Sim(settingsWith({ workers: 256, restartDelay: 100 }));
    sim.send({ type: 'start' });
    sim.take();
    for (let id = 1; id <= 256; id++) {
      sim.now += 5; // one exit every 5 ms: 1.3 s for the storm, far past the 100 ms backoff
      sim.exit(id, 1);
      if (id % 20 === 0) sim.send({ type: 'tick' });
    }
    // At most one probe, and it is killed by the stop.
    expect(sim.of('fork').length).toBeLessThanOrEqual(1);
    expect(sim.state.phase).toBe('stopping');
    expect(sim.state.exitCode).toBe(3);
  });

  it('retries one slot at a time until a worker is ready, then fills every slot', () => {
    const sim = new Sim(settingsWith({ workers: 3, restartDelay: 100 }));
    sim.send({ type: 'start' });
    sim.take();
    sim.exit(1, 1);
    sim.exit(2, 1);
    sim.advance(100);
    const forks = sim.of('fork');
    expect(forks).toHaveLength(1);
    const probe = forks[0];
    sim.advance(1_000);
    expect(sim.of('fork')).toHaveLength(0); // slot 1 waits while the probe boots
    sim.send({ type: 'listening', id: probe!.id });
    expect(sim.of('fork')).toHaveLength(1); // ready: slot 1 at once
  });

  it('a failed probe backs off like its slot before the next one', () => {
    const sim = new Sim(settingsWith({ workers: 2, restartDelay: 100, watch: ['/srv'] }));
    sim.send({ type: 'start' });
    sim.exit(1, 1);
    sim.exit(2, 1); // watched: no exit 3, retrying
    sim.take();
    sim.advance(100);
    const [probe] = sim.of('fork');
    sim.take();
    sim.exit(probe!.id, 1); // slot 0 backs off 200 ms now
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(1);
  });

  it('a burst of exits reconciles once, at its last exit', () => {
    const sim = new Sim(settingsWith({ workers: 4, restartDelay: 0 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'exit', id: 1, code: 1, signal: null, more: true });
    sim.send({ type: 'exit', id: 2, code: 1, signal: null, more: true });
    expect(sim.of('fork')).toHaveLength(0); // slots 0 and 1 wait for the end of the burst
    sim.send({ type: 'exit', id: 3, code: 1, signal: null });
    expect(sim.of('fork').map((f) => f.slot)).toEqual([0, 1, 2]);
  });
});
