import { describe, expect, it } from 'vitest';
import { settingsWith, Sim } from './helpers';

const exitCode = (sim: Sim) => sim.of('exit')[0]?.code;

describe('every loss reaches the exit code', () => {
  it('a crash with tasks running, long before a clean stop, still exits 1', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.report(1, { active: { email: 2, sms: 1 } });
    sim.take();
    sim.exit(1, 1);
    const lostLog = sim.take().find((e) => e.type === 'log' && e.msg.includes('3 task(s) still running: lost'));
    expect(lostLog?.type === 'log' && lostLog.fields?.lostByType).toEqual({ email: 2, sms: 1 });
    sim.advance(60_000);
    sim.readyAll();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    for (const w of sim.workers()) sim.exit(w.id, 0);
    expect(sim.state.totals.tasksLost).toBe(3);
    expect(exitCode(sim)).toBe(1);
  });

  it('lost tasks a worker reports by id count too', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({ type: 'message', id: 1, message: { $sw: 'lost', tasks: [{ id: 't-1', type: 'email', startedAt: sim.now }] } });
    sim.exit(1, 1);
    sim.advance(1_000);
    sim.readyAll();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    for (const w of sim.workers()) sim.exit(w.id, 0);
    expect(exitCode(sim)).toBe(1);
  });

  it('exits 0 when nothing was lost', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.exit(1, 0);
    expect(exitCode(sim)).toBe(0);
  });
});
