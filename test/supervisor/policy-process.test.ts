/**
 * Process apps and app isolation in the pure policy, with a fake clock: a process worker is never
 * judged silent, is stopped by its stop signal (the host turns `retire` into it) and SIGKILLed after
 * graceful_timeout, for a recycle as for a stop; a multi-app config gives one broken app up on its
 * own, and exits 3 only when no app could boot.
 */
import { describe, expect, it } from 'vitest';
import type { Settings } from '../../src/config/types';
import { BOOT_ROUNDS } from '../../src/supervisor/policy/isolation';
import { failedApps } from '../../src/supervisor/queries';
import { appSettings, Sim } from './helpers';

const processApp = (overrides = {}) =>
  appSettings({ name: 'py', script: '/srv/server.py', kind: 'process', interpreter: '/usr/bin/python3', readyOn: 'online', workers: 1, gracefulTimeout: 5_000, ...overrides });

function settings(...apps: ReturnType<typeof appSettings>[]): Settings {
  return { apps, logFormat: 'json', logLevel: 'info', minReady: 1, summaryInterval: 0 };
}

const kills = (sim: Sim) => sim.effects.filter((e) => e.type === 'kill');
const retires = (sim: Sim) => sim.effects.filter((e) => e.type === 'send' && e.message.$sw === 'retire');

describe('process workers', () => {
  it('are ready once online and never killed for silence (they send no heartbeat)', () => {
    const sim = new Sim(settings(processApp({ timeout: 2_000 })));
    sim.send({ type: 'start' });
    const [w] = sim.workers('starting');
    sim.send({ type: 'online', id: w!.id });
    expect(sim.worker(w!.id).state).toBe('ready');
    expect(sim.worker(w!.id).lastHeartbeatAt).toBeNull();
    sim.advance(60_000);
    expect(kills(sim)).toEqual([]);
    expect(sim.worker(w!.id).state).toBe('ready');
  });

  it('a recycle starts the new process first, then retires the old (its stop signal), SIGKILL after graceful_timeout', () => {
    const sim = new Sim(settings(processApp({ maxTaskWait: 300_000 })));
    sim.send({ type: 'start' });
    const old = sim.workers('starting')[0]!;
    sim.send({ type: 'online', id: old.id });
    sim.send({ type: 'command', command: { kind: 'recycle', slot: 'all', force: false } });
    const replacement = sim.workers('starting')[0]!;
    expect(replacement.replacesId).toBe(old.id);
    expect(retires(sim)).toEqual([]); // the old one serves until the new one has started
    sim.send({ type: 'online', id: replacement.id });
    expect(retires(sim).map((e) => e.type === 'send' && e.id)).toEqual([old.id]);
    sim.advance(4_900);
    expect(kills(sim)).toEqual([]);
    sim.advance(300); // past graceful_timeout (5 s), not max_task_wait
    expect(kills(sim)).toEqual([{ type: 'kill', id: old.id, signal: 'SIGKILL' }]);
    sim.exit(old.id, null, 'SIGKILL');
    expect(sim.workers('ready').map((w) => w.id)).toEqual([replacement.id]);
  });

  it('a stop signals a process worker still starting (no port to protect) instead of SIGKILL', () => {
    const sim = new Sim(settings(processApp({ readyOn: 'message', readyProbe: 'tcp://127.0.0.1:1' })));
    sim.send({ type: 'start' });
    const [w] = sim.workers('starting');
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(retires(sim).map((e) => e.type === 'send' && e.id)).toEqual([w!.id]);
    expect(kills(sim)).toEqual([]);
    sim.exit(w!.id, 0);
    expect(sim.effects.at(-1)).toEqual({ type: 'exit', code: 0 });
  });
});

describe('one broken app never takes the others down', () => {
  it(`backs off, then gives the broken app up after ${BOOT_ROUNDS} rounds while the other keeps serving`, () => {
    const sim = new Sim(settings(appSettings({ name: 'web', workers: 2 }), processApp({ name: 'broken', workers: 2 })));
    sim.send({ type: 'start' });
    for (const w of sim.workers('starting').filter((w) => w.app === 'web')) sim.send({ type: 'listening', id: w.id });
    let failures = 0;
    while (!sim.state.apps.broken!.failure && failures < 20) {
      const booting = sim.workers('starting').filter((w) => w.app === 'broken');
      if (booting.length === 0) {
        sim.advance(100);
        continue;
      }
      sim.exit(booting[0]!.id, 1);
      failures += 1;
    }
    expect(failures).toBe(2 * BOOT_ROUNDS);
    expect(sim.state.phase).toBe('running');
    expect(sim.state.apps.broken!.failure!.error).toMatch(/^no worker of app 'broken' could boot; giving it up after 6 attempts; the other apps keep running \(last worker: exit code 1\)$/);
    expect(sim.state.apps.broken!.slots.map((s) => s.stopped)).toEqual(['boot_failed', 'boot_failed']);
    expect(sim.state.totals.appsFailed).toBe(1);
    expect(failedApps(sim.state)).toEqual(['broken']);
    expect(sim.workers('ready').map((w) => w.app)).toEqual(['web', 'web']);
    // Given up: no more forks for it, whatever the time.
    sim.advance(60_000);
    expect(sim.workers().filter((w) => w.app === 'broken')).toEqual([]);
    // A reload gives it its rounds again.
    sim.send({ type: 'command', command: { kind: 'reload', app: 'broken' } });
    sim.send({ type: 'settings', settings: settings(appSettings({ name: 'web', workers: 2 }), processApp({ name: 'broken', workers: 2 })) });
    expect(sim.state.apps.broken!.failure).toBeNull();
    expect(sim.workers('starting').filter((w) => w.app === 'broken')).toHaveLength(2);
  });

  it('exits 3 only when no app could boot', () => {
    const sim = new Sim(settings(appSettings({ name: 'a', workers: 1 }), processApp({ name: 'b', workers: 1 })));
    sim.send({ type: 'start' });
    for (let i = 0; i < 100 && sim.state.phase === 'running'; i++) {
      const booting = sim.workers('starting');
      if (booting.length === 0) sim.advance(100);
      else sim.exit(booting[0]!.id, 1);
    }
    expect(sim.state.exitCode).toBe(3);
    expect(failedApps(sim.state).sort()).toEqual(['a', 'b']);
    expect(sim.effects.some((e) => e.type === 'log' && e.msg === 'no app could boot: stopping [SW_BOOT_FAILED]')).toBe(true);
    expect(sim.effects.at(-1)).toEqual({ type: 'exit', code: 3 });
  });

  it('a single app that cannot boot still exits 3 at once', () => {
    const sim = new Sim(settings(appSettings({ name: 'a', workers: 1 })));
    sim.send({ type: 'start' });
    sim.exit(sim.workers('starting')[0]!.id, 1);
    expect(sim.state.exitCode).toBe(3);
  });
});
