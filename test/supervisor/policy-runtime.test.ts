/**
 * Policy rules fed by the worker runtime and the process host (issue 17, items 3–6): readiness on
 * every server of the slot, a worker that disconnects its channel, processes left behind, and a
 * SIGKILL from outside. Pure: a fake clock, no processes.
 */
import { describe, expect, it } from 'vitest';
import { ABANDON_GRACE_MS } from '../../src/supervisor/policy';
import { kinds, settingsWith, Sim } from './helpers';

const servers = (sim: Sim, id: number, listening: string[]): void => {
  sim.send({ type: 'message', id, message: { $sw: 'servers', listening } });
};
const logs = (sim: Sim, text: string) => sim.take().filter((e) => e.type === 'log' && e.msg.includes(text));

describe('ready on every server of the slot', () => {
  const A = '127.0.0.1:3000';
  const B = '127.0.0.1:3001';

  function twoServers(): Sim {
    // A long `timeout`: the old worker sends no heartbeat in these simulations.
    const sim = new Sim(settingsWith({ workers: 1, bootTimeout: 30_000, timeout: 120_000 }));
    sim.boot();
    servers(sim, 1, [A, B]);
    sim.take();
    sim.send({ type: 'command', command: { kind: 'recycle', slot: 'all', force: false } });
    return sim;
  }

  it('a replacement listening on its first server only is not ready; the old worker keeps serving', () => {
    const sim = twoServers();
    const [fork] = sim.of('fork');
    sim.send({ type: 'listening', id: fork!.id });
    servers(sim, fork!.id, [A]);
    expect(sim.worker(fork!.id).state).toBe('starting');
    expect(kinds(sim.take())).not.toContain('send:retire:1');
    // The second server listens: now it is ready, and the old worker retires.
    sim.send({ type: 'listening', id: fork!.id });
    servers(sim, fork!.id, [A, B]);
    expect(sim.worker(fork!.id).state).toBe('ready');
    expect(kinds(sim.take())).toContain('send:retire:1');
  });

  it('two servers on port 0 count as two: one of them is not enough', () => {
    const Z = '127.0.0.1:0';
    const sim = new Sim(settingsWith({ workers: 1, bootTimeout: 30_000, timeout: 120_000 }));
    sim.boot();
    servers(sim, 1, [Z, Z]);
    sim.take();
    sim.send({ type: 'command', command: { kind: 'recycle', slot: 'all', force: false } });
    const [fork] = sim.of('fork');
    sim.send({ type: 'listening', id: fork!.id });
    servers(sim, fork!.id, [Z]);
    expect(sim.worker(fork!.id).state).toBe('starting');
    servers(sim, fork!.id, [Z, Z]);
    expect(sim.worker(fork!.id).state).toBe('ready');
  });

  it('the runtime’s report may come before node:cluster’s listening event', () => {
    const sim = twoServers();
    const [fork] = sim.of('fork');
    servers(sim, fork!.id, [A, B]);
    expect(sim.worker(fork!.id).state).toBe('starting');
    sim.send({ type: 'listening', id: fork!.id });
    expect(sim.worker(fork!.id).state).toBe('ready');
  });

  it('at boot_timeout a replacement that listens on some servers is counted ready, naming the missing ones', () => {
    const sim = twoServers();
    const [fork] = sim.of('fork');
    sim.send({ type: 'listening', id: fork!.id });
    servers(sim, fork!.id, [A]);
    sim.advance(30_000);
    expect(sim.worker(fork!.id).state).toBe('ready');
    const effects = sim.take();
    const warning = effects.find((e) => e.type === 'log' && e.msg.includes('not listening on every server'));
    expect(warning?.type === 'log' && warning.fields?.missing).toEqual([B]);
    expect(kinds(effects)).toContain('send:retire:1');
    // What its slot listens on now is what the next generation must listen on.
    expect(sim.state.apps.api!.slots[0]!.servers).toEqual([A]);
  });

  it('a server the old worker closed while serving is not required; its drain closing them all changes nothing', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    servers(sim, 1, [A, B]);
    servers(sim, 1, [A]);
    sim.take();
    sim.send({ type: 'command', command: { kind: 'recycle', slot: 'all', force: false } });
    const [fork] = sim.of('fork');
    sim.send({ type: 'listening', id: fork!.id });
    servers(sim, fork!.id, [A]);
    expect(sim.worker(fork!.id).state).toBe('ready');
    servers(sim, 1, []); // the retired worker's drain
    expect(sim.state.apps.api!.slots[0]!.servers).toEqual([A]);
  });
});

describe('a worker that disconnects its IPC channel', () => {
  function disconnected(tasks: number): Sim {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 1_000, gracefulTimeout: 10_000 }));
    sim.boot();
    sim.report(1, { active: { email: tasks } });
    sim.take();
    sim.send({ type: 'disconnect', id: 1 });
    return sim;
  }

  it('is replaced at once, never killed for its silence, and its tasks are not counted lost when it exits 0', () => {
    const sim = disconnected(5);
    const effects = sim.take();
    expect(effects.some((e) => e.type === 'log' && e.msg.includes('5 task(s) are no longer tracked'))).toBe(true);
    expect(kinds(effects).filter((k) => k.startsWith('fork:'))).toHaveLength(1);
    expect(sim.worker(1).state).toBe('retiring');
    sim.advance(5_000); // far past `timeout` without a heartbeat
    expect(kinds(sim.take())).not.toContain('kill:1');
    sim.exit(1, 0);
    expect(sim.state.totals.tasksLost).toBe(0);
    expect(logs(sim, 'the 5 task(s) it was running finished')).toHaveLength(1);
  });

  it('counts its tasks lost when it exits non-zero (its runtime gave up on them)', () => {
    const sim = disconnected(5);
    sim.exit(1, 1);
    expect(sim.state.totals.tasksLost).toBe(5);
    expect(logs(sim, 'untracked since it disconnected')).toHaveLength(1);
  });

  it('is SIGKILLed only past its own bound (graceful_timeout), and its tasks are then lost', () => {
    const sim = disconnected(2);
    sim.advance(10_000 + ABANDON_GRACE_MS - 100);
    expect(kinds(sim.take())).not.toContain('kill:1');
    sim.advance(200);
    expect(kinds(sim.take())).toContain('kill:1');
    sim.exit(1, null, 'SIGKILL');
    expect(sim.state.totals.tasksLost).toBe(2);
  });

  it('a worker already retiring just loses its channel: no warning, still waited for', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'command', command: { kind: 'recycle', slot: 'all', force: false } });
    const [fork] = sim.of('fork');
    sim.send({ type: 'listening', id: fork!.id });
    sim.take();
    sim.send({ type: 'disconnect', id: 1 });
    expect(logs(sim, 'disconnected')).toHaveLength(0);
    expect(sim.worker(1).state).toBe('retiring');
    sim.exit(1, 0);
    expect(sim.state.totals.tasksLost).toBe(0);
  });
});

describe('processes a worker left running', () => {
  it('are logged one by one and counted; the stop waits for them and exits 1', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.take();
    sim.send({ type: 'exit', id: 1, code: 0, signal: null, reaping: true });
    expect(sim.take().some((e) => e.type === 'exit')).toBe(false); // still ending what it left
    sim.send({
      type: 'reaped',
      id: 1,
      app: 'api',
      slot: 0,
      pid: 1000,
      leftovers: [
        { pid: 4242, command: 'sleep 1000', signal: 'SIGTERM' },
        { pid: 4243, command: 'stubborn', signal: 'SIGKILL' },
      ],
    });
    const effects = sim.take();
    const lines = effects.filter((e) => e.type === 'log' && e.msg.startsWith('process left running by an exited worker'));
    expect(lines).toHaveLength(2);
    expect(lines[0]!.type === 'log' && lines[0]!.fields).toMatchObject({ worker: 1, workerPid: 1000, process: { pid: 4242, command: 'sleep 1000' } });
    expect(sim.state.totals.processesKilled).toBe(2);
    expect(effects.find((e) => e.type === 'exit')).toEqual({ type: 'exit', code: 1 });
  });

  it('nothing left: the stop exits 0 once the scan is done', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.send({ type: 'exit', id: 1, code: 0, signal: null, reaping: true });
    sim.take();
    sim.send({ type: 'reaped', id: 1, app: 'api', slot: 0, pid: 1000, leftovers: [] });
    expect(sim.take().find((e) => e.type === 'exit')).toEqual({ type: 'exit', code: 0 });
  });
});

describe('a SIGKILL from outside', () => {
  it('replaces a worker killed before it served at once (kill storm), but backs off one that crashed by itself', () => {
    const sim = new Sim(settingsWith({ workers: 2, restartDelay: 100, minUptime: 60_000 }));
    sim.boot();
    sim.take();
    let id = 1;
    for (let kill = 0; kill < 3; kill++) {
      sim.exit(id, null, 'SIGKILL'); // served nothing yet: keep-alive clients stay where they are
      const [next] = sim.of('fork');
      expect(next).toBeDefined();
      id = next!.id; // killed again while still booting
    }
    expect(sim.state.apps.api!.slots[0]!.crashes).toBe(0);
    sim.exit(id, 1);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(1);
  });

  it('still backs off an app that was never ready (a SIGKILL at every boot is no proof it works)', () => {
    const sim = new Sim(settingsWith({ workers: 2, restartDelay: 100 }));
    sim.send({ type: 'start' });
    sim.take();
    sim.exit(1, null, 'SIGKILL');
    expect(sim.state.apps.api!.everReady).toBe(false);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(1);
  });
});
