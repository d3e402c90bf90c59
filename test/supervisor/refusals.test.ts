/** Commands the policy refuses: one `rejected` effect saying why, and nothing done. */
import { describe, expect, it } from 'vitest';
import { kinds, settingsWith, Sim } from './helpers';

describe('refusals', () => {
  const refused = (sim: Sim): string[] => sim.of('rejected').map((e) => e.reason);

  it('refuses an unknown app, an empty slot, a scale below 1, and anything but a forced stop while stopping', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'command', command: { kind: 'reload', app: 'nope' } });
    expect(refused(sim)).toEqual(["no app named 'nope'; apps: api"]);
    sim.send({ type: 'command', command: { kind: 'recycle', app: 'api', slot: 7, force: false } });
    expect(refused(sim)).toEqual(['no ready worker in slot 7 of api']);
    sim.send({ type: 'command', command: { kind: 'scale', app: 'api', absolute: 0 } });
    expect(refused(sim)[0]).toMatch(/^scale to 0 refused/);
    expect(sim.state.apps.api!.desired).toBe(2);

    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.take();
    sim.send({ type: 'command', command: { kind: 'reload' } });
    expect(refused(sim)).toEqual(['reload refused: the cluster is stopping']);
    sim.send({ type: 'command', command: { kind: 'stop', force: true } });
    const effects = sim.take();
    expect(effects.filter((e) => e.type === 'rejected')).toEqual([]);
    expect(kinds(effects)).toContain('send:abandon:1');
  });

  it('a command it accepts is not rejected', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'command', command: { kind: 'recycle', app: 'api', slot: 0, force: false } });
    const effects = sim.take();
    expect(effects.filter((e) => e.type === 'rejected')).toEqual([]);
    expect(kinds(effects).some((k) => k.startsWith('fork'))).toBe(true);
  });
});
