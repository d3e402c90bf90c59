import { describe, expect, it } from 'vitest';
import { STALL_MS } from '../../src/supervisor/policy';
import { settingsWith, Sim } from './helpers';

const kills = (sim: Sim) => sim.of('kill').map((e) => e.id);

describe('a paused primary kills no one', () => {
  it('judges heartbeat silence only over time the primary itself ran', () => {
    const sim = new Sim(settingsWith({ workers: 2, timeout: 5_000 }));
    sim.boot();
    sim.advance(1_000);
    sim.report(1);
    sim.report(2);
    sim.take();

    // SIGSTOP for 8 s: no tick, no message read. The first tick after SIGCONT sees the gap.
    sim.now += 8_000;
    sim.send({ type: 'tick' });
    const effects = sim.take();
    expect(effects.filter((e) => e.type === 'kill')).toEqual([]);
    expect(effects.some((e) => e.type === 'log' && e.level === 'warn' && e.msg.includes('did not run for 8000ms'))).toBe(true);

    // The heartbeats queued meanwhile arrive: nothing to judge.
    sim.report(1);
    sim.advance(4_900);
    expect(kills(sim)).toEqual([]);

    // Worker 2 stays silent while the primary runs: a full timeout after the resume, it is killed.
    sim.report(1);
    sim.advance(200);
    expect(kills(sim)).toEqual([2]);
  });

  it('still kills a worker silent past the timeout while the primary ran', () => {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 5_000 }));
    sim.boot();
    sim.take();
    sim.advance(5_100);
    expect(kills(sim)).toEqual([1]);
  });

  it('counts boot time only while the primary ran', () => {
    const sim = new Sim(settingsWith({ workers: 1, bootTimeout: 3_000 }));
    sim.send({ type: 'start' });
    sim.advance(1_000);
    sim.now += 10_000;
    sim.send({ type: 'tick' });
    sim.advance(2_900);
    expect(kills(sim)).toEqual([]);
    sim.advance(200);
    expect(kills(sim)).toEqual([1]);
  });

  it('takes ordinary tick jitter for no stall', () => {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 5_000 }));
    sim.boot();
    sim.take();
    sim.advance(6_000, STALL_MS);
    expect(kills(sim)).toEqual([1]);
  });
});
