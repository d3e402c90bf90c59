/** Long-lived connections in the policy: drain bounds, cuts, the surge cap, reload completion. */
import { describe, expect, it } from 'vitest';
import { isReloading } from '../../src/supervisor/queries';
import { settingsWith, Sim } from './helpers';

const retires = (sim: Sim) => sim.of('send').filter((e) => e.message.$sw === 'retire');

describe('drain bounds', () => {
  it('a retire carries drain_timeout; a stop carries it within graceful_timeout', () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRequests: 10, drainTimeout: 45_000, gracefulTimeout: 20_000 }));
    sim.boot();
    sim.report(1, { served: 10 });
    sim.readyAll();
    expect(retires(sim).map((e) => e.message)).toEqual([{ $sw: 'retire', reason: 'max_requests', idleGraceMs: 1_000, drainTimeoutMs: 45_000 }]);
    expect(sim.worker(1).drainDeadline).toBe(sim.now + 45_000);
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(retires(sim).map((e) => e.message)).toEqual([{ $sw: 'retire', reason: 'stop', idleGraceMs: 1_000, drainTimeoutMs: 20_000 }]);
  });

  it('max_task_wait shorter than drain_timeout: the worker is given up on only once its connections had their bound', () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRequests: 10, drainTimeout: 10_000, maxTaskWait: 2_000 }));
    sim.boot();
    sim.report(1, { served: 10, inflight: 1, streaming: 1 });
    sim.readyAll();
    sim.take();
    sim.advance(5_000);
    expect(sim.of('send').filter((e) => e.message.$sw === 'abandon')).toEqual([]);
    sim.advance(9_000);
    expect(sim.of('send').filter((e) => e.message.$sw === 'abandon')).toEqual([{ type: 'send', id: 1, message: { $sw: 'abandon' } }]);
  });
});

describe('cuts', () => {
  it('are logged one by one with kind, path and age, counted by kind and reason, and make the exit code 1', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({
      type: 'message',
      id: 1,
      message: {
        $sw: 'cut',
        reason: 'drain_timeout',
        counts: { request: 1, stream: 1, upgraded: 2 },
        connections: [
          { kind: 'upgraded', openMs: 9_000, path: '/ws' },
          { kind: 'stream', openMs: 8_000, path: '/sse' },
          { kind: 'request', openMs: 7_000, path: '/upload' },
        ],
      },
    });
    const logs = sim.of('log').filter((e) => e.msg.startsWith('connection cut'));
    expect(logs.map((e) => [e.level, e.fields?.kind, e.fields?.path, e.fields?.openMs, e.fields?.reason])).toEqual([
      ['warn', 'upgraded', '/ws', 9_000, 'drain_timeout'],
      ['warn', 'stream', '/sse', 8_000, 'drain_timeout'],
      ['warn', 'request', '/upload', 7_000, 'drain_timeout'],
      ['warn', undefined, undefined, undefined, 'drain_timeout'],
    ]);
    expect(logs[3]!.msg).toBe('connection cut: 1 more (1 request, 1 stream, 2 upgraded in all)');
    expect(sim.state.totals.connectionsCut).toMatchObject({ request: { drain_timeout: 1 }, stream: { drain_timeout: 1 }, upgraded: { drain_timeout: 2 } });
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.exit(1, 0);
    const exit = sim.of('exit');
    expect(exit).toEqual([{ type: 'exit', code: 1 }]);
  });

  it('a worker killed with connections open: its last counts are cut (killed)', () => {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 2_000 }));
    sim.boot();
    sim.report(1, { inflight: 3, streaming: 2, upgraded: 4 });
    sim.advance(2_500); // silent past timeout: SIGKILL
    expect(sim.of('kill')).toHaveLength(1);
    sim.exit(1, null, 'SIGKILL');
    expect(sim.state.totals.connectionsCut).toMatchObject({ request: { killed: 1 }, stream: { killed: 2 }, upgraded: { killed: 4 } });
  });

  it('a worker that reported its cut on abandon is not counted again when killed', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.report(1, { upgraded: 2 });
    sim.send({ type: 'signal', signal: 'SIGQUIT' }); // fast stop: abandon, then SIGKILL after a grace
    sim.send({ type: 'message', id: 1, message: { $sw: 'cut', reason: 'abandoned', counts: { request: 0, stream: 0, upgraded: 2 }, connections: [] } });
    sim.advance(2_000);
    sim.exit(1, null, 'SIGKILL');
    expect(sim.state.totals.connectionsCut.upgraded).toEqual({ drain_timeout: 0, abandoned: 2, killed: 0 });
  });
});

describe('the surge cap and reloads', () => {
  const reloadWith = (held: { inflight?: number; streaming?: number; upgraded?: number }) => {
    const settings = settingsWith({ workers: 2, maxRetiring: 1 });
    const sim = new Sim(settings);
    sim.boot();
    sim.report(1, held);
    sim.report(2, held);
    sim.send({ type: 'command', command: { kind: 'reload' } });
    sim.send({ type: 'settings', settings });
    sim.readyAll(); // slot 0's replacement serves: worker 1 retires
    sim.report(1, held);
    sim.advance(200);
    return sim;
  };

  it('a worker held only by WebSockets or streams does not count against max_retiring', () => {
    const sim = reloadWith({ inflight: 2, streaming: 2, upgraded: 5 });
    expect(sim.worker(1).state).toBe('retiring');
    // Slot 1's replacement is forked at once, not after worker 1's drain.
    expect(sim.workers('starting')).toHaveLength(1);
    sim.readyAll();
    expect(sim.worker(2).state).toBe('retiring');
    // Done once the replacements serve, while the old workers still drain.
    expect(isReloading(sim.state)).toBe(false);
  });

  it('a worker still answering plain requests does count', () => {
    const sim = reloadWith({ inflight: 3, streaming: 1, upgraded: 5 });
    expect(sim.workers('starting')).toHaveLength(0);
    expect(sim.take().some((e) => e.type === 'log' && e.msg.startsWith('recycle postponed'))).toBe(true);
    expect(isReloading(sim.state)).toBe(true);
  });
});
