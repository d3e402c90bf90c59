import { describe, expect, it } from 'vitest';
import { ABANDON_GRACE_MS, backoffDelay, drawRequestLimit, step } from '../../src/supervisor/policy';
import { buildSnapshot } from '../../src/supervisor/snapshot';
import { appSettings, kinds, settingsWith, Sim } from './helpers';

describe('start', () => {
  it('forks one worker per slot, first generation', () => {
    const sim = new Sim(settingsWith({ workers: 3 }));
    const forks = sim.send({ type: 'start' }).filter((e) => e.type === 'fork');
    expect(forks.map((f) => (f.type === 'fork' ? [f.slot, f.generation] : null))).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
    ]);
  });

  it('is ready on listening, or only on the app message with wait_ready', () => {
    const plain = new Sim(settingsWith({ workers: 1 }));
    plain.send({ type: 'start' });
    plain.send({ type: 'listening', id: 1 });
    expect(plain.worker(1).state).toBe('ready');

    const waiting = new Sim(settingsWith({ workers: 1, waitReady: true }));
    waiting.send({ type: 'start' });
    waiting.send({ type: 'listening', id: 1 });
    expect(waiting.worker(1).state).toBe('starting');
    waiting.send({ type: 'app-ready', id: 1 });
    expect(waiting.worker(1).state).toBe('ready');
  });

  it('never changes the state it is given', () => {
    const sim = new Sim(settingsWith());
    const before = structuredClone(sim.state);
    step(sim.state, { type: 'start' }, { now: sim.now, random: () => 0 });
    expect(sim.state).toEqual(before);
  });
});

describe('max_requests and jitter', () => {
  it('draws a limit in [max, max + jitter] for each worker', () => {
    const app = appSettings({ maxRequests: 1000, maxRequestsJitter: 50 });
    expect(drawRequestLimit(app, () => 0)).toBe(1000);
    expect(drawRequestLimit(app, () => 0.999999)).toBe(1050);
    expect(drawRequestLimit(appSettings({ maxRequests: 0, maxRequestsJitter: 50 }), () => 0.5)).toBe(0);
    const draws = new Set<number>();
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 500; i++) draws.add(drawRequestLimit(app, rand));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(1050);
    expect(draws.size).toBeGreaterThan(30);
  });

  it('surges first: the replacement is forked, and the old worker retires only once it is ready', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 100 }));
    sim.boot();
    sim.take();
    sim.report(1, { served: 100 });
    const forks = sim.of('fork');
    expect(forks).toHaveLength(1);
    expect(forks[0]).toMatchObject({ slot: 0, generation: 1 });
    expect(sim.worker(1).state).toBe('ready'); // still serving

    const replacement = forks[0]!.id;
    sim.send({ type: 'listening', id: replacement });
    expect(kinds(sim.take())).toContain(`send:retire:1`);
    expect(sim.worker(1).state).toBe('retiring');
    expect(sim.state.totals.recyclesByReason.max_requests).toBe(1);
  });

  it('staggers recycles: one replacement boots at a time', () => {
    const sim = new Sim(settingsWith({ workers: 3, maxRequests: 10 }));
    sim.boot();
    sim.take();
    sim.report(1, { served: 10 });
    sim.report(2, { served: 10 });
    sim.report(3, { served: 10 });
    expect(sim.of('fork')).toHaveLength(1);
    sim.readyAll();
    expect(sim.of('fork')).toHaveLength(1); // the next one, once the first replacement is ready
  });
});

describe('background tasks hold a retired worker', () => {
  function retiredWithTask() {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10, maxTaskWait: 60_000, timeout: 600_000 }));
    sim.boot();
    sim.report(1, { served: 10, active: { email: 1 } });
    sim.readyAll();
    sim.send({ type: 'message', id: 1, message: { $sw: 'drained', activeTasks: 1 } });
    sim.take();
    return sim;
  }

  it('waits for the tasks, and is never killed before max_task_wait', () => {
    const sim = retiredWithTask();
    expect(sim.worker(1).state).toBe('waiting-for-tasks');
    sim.advance(59_000);
    expect(kinds(sim.take()).filter((k) => k.startsWith('kill') || k.includes('abandon'))).toEqual([]);
    expect(sim.state.totals.recyclesDelayedByTasks).toBe(1);
    sim.exit(1, 0); // the task finished, the worker exited by itself
    expect(sim.state.totals.tasksLost).toBe(0);
  });

  it('abandons the tasks at max_task_wait, then kills if the worker does not exit', () => {
    const sim = retiredWithTask();
    sim.advance(60_000);
    expect(kinds(sim.take())).toContain('send:abandon:1');
    sim.send({
      type: 'message',
      id: 1,
      message: { $sw: 'lost', tasks: [{ id: 't1', type: 'email', description: 'welcome', startedAt: sim.now - 60_000 }] },
    });
    const logs = sim.take().filter((e) => e.type === 'log' && e.msg === 'task lost');
    expect(logs).toHaveLength(1);
    sim.advance(ABANDON_GRACE_MS);
    expect(kinds(sim.take())).toContain('kill:1');
    sim.exit(1, null, 'SIGKILL');
    expect(sim.state.totals.tasksLost).toBe(1);
  });

  it('postpones a recycle past the surge cap and keeps that worker serving', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10, maxRetiring: 1 }));
    sim.boot();
    sim.report(1, { served: 10, active: { sms: 2 } });
    sim.readyAll(); // slot 0 replaced; worker 1 retiring with tasks
    sim.send({ type: 'message', id: 1, message: { $sw: 'drained', activeTasks: 2 } });
    sim.take();
    sim.report(2, { served: 10 });
    const effects = sim.take();
    expect(effects.filter((e) => e.type === 'fork')).toHaveLength(0);
    expect(effects.some((e) => e.type === 'log' && e.msg.startsWith('recycle postponed'))).toBe(true);
    expect(sim.worker(2).state).toBe('ready');
    sim.advance(1_000);
    expect(sim.take().some((e) => e.type === 'log' && e.msg.startsWith('recycle postponed'))).toBe(false); // logged once
    sim.exit(1, 0);
    expect(sim.of('fork')).toHaveLength(1);
  });
});

describe('failures', () => {
  it('keeps the old worker serving when its replacement fails to boot, and retries with backoff', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10, restartDelay: 1_000 }));
    sim.boot();
    sim.take();
    sim.report(1, { served: 10 });
    const [first] = sim.of('fork');
    sim.exit(first!.id, 1);
    expect(sim.worker(1).state).toBe('ready');
    expect(sim.take().filter((e) => e.type === 'fork')).toHaveLength(0);
    sim.advance(900);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(200);
    expect(sim.of('fork')).toHaveLength(1);
  });

  it('replaces a crashed worker with exponential backoff, reset after min_uptime', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(appSettings({ restartDelay: 100, maxRestartDelay: 1000 }), n))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    // Worker 2 keeps serving slot 1 throughout, so slot 0's backoff escalates.
    const sim = new Sim(settingsWith({ workers: 2, restartDelay: 100, minUptime: 5_000, timeout: 600_000 }));
    sim.boot();
    sim.take();
    sim.exit(1, 1);
    expect(sim.state.totals.recyclesByReason.crash).toBe(1);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    const [second] = sim.of('fork');
    expect(second).toBeDefined();
    sim.send({ type: 'listening', id: second!.id });
    sim.exit(second!.id, 1);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(0); // 200ms now
    sim.advance(100);
    const [third] = sim.of('fork');
    sim.send({ type: 'listening', id: third!.id });
    sim.advance(5_000);
    expect(sim.state.apps.api!.slots[0]!.crashes).toBe(0);
  });

  it('replaces the last serving worker at once: the port must not refuse for a whole backoff', () => {
    const sim = new Sim(settingsWith({ workers: 1, restartDelay: 100, minUptime: 60_000 }));
    sim.boot();
    sim.take();
    for (let crash = 0; crash < 5; crash++) {
      const [w] = sim.workers('ready');
      sim.exit(w!.id, null, 'SIGSEGV');
      const [next] = sim.of('fork');
      expect(next).toBeDefined();
      sim.send({ type: 'listening', id: next!.id });
    }
    expect(sim.state.apps.api!.slots[0]!.crashes).toBe(5);
  });

  it('replaces at once a worker that served requests, however often it dies; backs off one that served none', () => {
    // Worker 2 keeps serving slot 1 throughout: only what slot 0's workers did decides.
    const sim = new Sim(settingsWith({ workers: 2, restartDelay: 100, minUptime: 60_000 }));
    sim.boot();
    sim.take();
    let id = 1;
    for (let kill = 0; kill < 5; kill++) {
      sim.report(id, { served: 3 });
      sim.exit(id, null, 'SIGKILL'); // killed from outside (OOM killer, an operator, chaos)
      const [next] = sim.of('fork');
      expect(next).toBeDefined(); // no backoff: the app boots and serves
      sim.send({ type: 'listening', id: next!.id });
      id = next!.id;
    }
    expect(sim.state.apps.api!.slots[0]!.crashes).toBe(0);
    // Now it dies right after listening, before any request: a crash loop, so it backs off.
    sim.exit(id, 1);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    const [afterBackoff] = sim.of('fork');
    expect(afterBackoff).toBeDefined();
    sim.send({ type: 'listening', id: afterBackoff!.id });
    sim.exit(afterBackoff!.id, 1);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(0); // 200 ms now
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(1);
  });

  it('kills a worker still booting when the stop begins, unless it listened or runs tasks', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10 }));
    sim.boot();
    sim.take();
    sim.report(1, { served: 10 });
    const [replacement] = sim.of('fork');
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    const effects = kinds(sim.take());
    expect(effects).toContain(`kill:${replacement!.id}`);
    expect(effects).toContain('send:retire:1');
    expect(effects).toContain('send:retire:2');
  });

  it('drains, never kills, a booting worker that asked node:cluster to listen when the stop begins', () => {
    // Its queryServer put it in the round-robin: connections may reach it before its `listening`.
    const sim = new Sim(settingsWith({ workers: 2, maxRequests: 10 }));
    sim.boot();
    sim.take();
    sim.report(1, { served: 10 });
    const [replacement] = sim.of('fork');
    sim.send({ type: 'listen-requested', id: replacement!.id });
    expect(sim.worker(replacement!.id).state).toBe('starting');
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    const effects = kinds(sim.take());
    expect(effects).not.toContain(`kill:${replacement!.id}`);
    expect(effects).toContain(`send:retire:${replacement!.id}`);
    expect(sim.worker(replacement!.id).state).toBe('stopping');
  });

  it('stops with exit code 3 when no first-generation worker can boot', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.send({ type: 'start' });
    sim.exit(1, 1);
    expect(sim.state.phase).toBe('running');
    sim.exit(2, 1);
    expect(sim.state.phase).toBe('stopping');
    const exits = sim.of('exit');
    expect(exits).toEqual([{ type: 'exit', code: 3 }]);
  });

  it('kills a worker that stops sending heartbeats and replaces it at once', () => {
    const sim = new Sim(settingsWith({ workers: 1, timeout: 5_000 }));
    sim.boot();
    sim.take();
    sim.advance(4_900);
    expect(kinds(sim.take())).not.toContain('kill:1');
    sim.advance(200);
    const effects = kinds(sim.take());
    expect(effects).toContain('kill:1');
    expect(effects.filter((k) => k.startsWith('fork'))).toHaveLength(1);
    expect(sim.state.totals.recyclesByReason.timeout).toBe(1);
    sim.advance(1_000);
    expect(kinds(sim.take())).not.toContain('kill:1'); // killed once
  });

  it('kills a worker that is not ready within boot_timeout and backs off', () => {
    const sim = new Sim(settingsWith({ workers: 2, bootTimeout: 2_000 }));
    sim.send({ type: 'start' });
    sim.send({ type: 'listening', id: 1 });
    sim.take();
    sim.advance(2_000);
    expect(kinds(sim.take())).toEqual(['kill:2']);
    sim.exit(2, null, 'SIGKILL');
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(1);
  });
});

describe('memory ceilings', () => {
  it('recycles over max_memory (task-aware) and replaces at once over max_memory_hard', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxMemory: 100, maxMemoryHard: 200 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'memory', samples: [{ id: 1, rssBytes: 150, cpuPercent: 1 }] });
    expect(sim.worker(1).recycle?.reason).toBe('memory');
    expect(sim.worker(1).state).toBe('ready');

    sim.send({ type: 'memory', samples: [{ id: 2, rssBytes: 250, cpuPercent: 1 }] });
    expect(sim.worker(2).recycle).toMatchObject({ reason: 'memory_hard', force: true });
    expect(sim.worker(2).state).toBe('retiring'); // worker 1 still serves the port
  });

  it('gives up tasks of a hard-recycled worker once its requests are done', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxMemoryHard: 200 }));
    sim.boot();
    sim.report(2, { active: { batch: 1 } });
    sim.send({ type: 'memory', samples: [{ id: 2, rssBytes: 250, cpuPercent: 1 }] });
    sim.take();
    sim.send({ type: 'message', id: 2, message: { $sw: 'drained', activeTasks: 1 } });
    expect(kinds(sim.take())).toContain('send:abandon:2');
  });
});

describe('signals', () => {
  it('SIGTERM stops every worker gracefully and exits 0 when nothing was lost', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(kinds(sim.take())).toEqual(['send:retire:1', 'send:retire:2']);
    sim.exit(1, 0);
    sim.exit(2, 0);
    expect(sim.of('exit')).toEqual([{ type: 'exit', code: 0 }]);
  });

  it('a second SIGTERM forces the stop; tasks lost make the exit code 1', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.report(1, { active: { email: 1 } });
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.send({ type: 'signal', signal: 'SIGINT' });
    expect(kinds(sim.take())).toContain('send:abandon:1');
    sim.advance(1_000);
    expect(kinds(sim.take())).toContain('kill:1');
    sim.exit(1, null, 'SIGKILL');
    expect(sim.of('exit')).toEqual([{ type: 'exit', code: 1 }]);
  });

  it('abandons at graceful_timeout during a stop', () => {
    const sim = new Sim(settingsWith({ workers: 1, gracefulTimeout: 10_000 }));
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    sim.take();
    sim.advance(9_900);
    expect(kinds(sim.take())).not.toContain('send:abandon:1');
    sim.advance(100);
    expect(kinds(sim.take())).toContain('send:abandon:1');
  });

  it('SIGHUP re-reads the settings, then replaces every worker one at a time', () => {
    const settings = settingsWith({ workers: 2 });
    const sim = new Sim(settings);
    sim.boot();
    sim.take();
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    expect(kinds(sim.take())).toEqual(['reload-settings:']);
    sim.send({ type: 'settings', settings });
    expect(sim.of('fork')).toHaveLength(1);
    sim.readyAll();
    const effects = kinds(sim.take());
    expect(effects.filter((k) => k.startsWith('send:retire'))).toHaveLength(1);
    expect(effects.filter((k) => k.startsWith('fork'))).toHaveLength(1);
    sim.readyAll();
    expect(sim.state.totals.recyclesByReason.reload).toBe(2);
  });

  it('SIGTTIN adds a worker; SIGTTOU retires the highest slot but never the last', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'signal', signal: 'SIGTTIN' });
    expect(sim.of('fork')).toMatchObject([{ slot: 1 }]);
    sim.readyAll();
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    expect(kinds(sim.take())).toContain('send:retire:2');
    sim.exit(2, 0);
    sim.send({ type: 'signal', signal: 'SIGTTOU' });
    expect(kinds(sim.take())).toEqual([]);
    expect(sim.state.apps.api!.desired).toBe(1);
  });

  it('a worker that received SIGTERM itself is recycled surge-first, not left to die', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'message', id: 1, message: { $sw: 'signal', signal: 'SIGTERM' } });
    expect(sim.of('fork')).toHaveLength(0); // the primary's own signal may follow (a group signal)
    sim.advance(300);
    expect(sim.of('fork')).toHaveLength(1);
    expect(sim.worker(1).state).toBe('ready');
  });

  it('a group signal (worker and primary both signalled) stops without forking replacements', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.take();
    sim.send({ type: 'message', id: 1, message: { $sw: 'signal', signal: 'SIGINT' } });
    sim.send({ type: 'message', id: 2, message: { $sw: 'signal', signal: 'SIGINT' } });
    sim.send({ type: 'signal', signal: 'SIGINT' });
    sim.advance(1_000);
    expect(sim.of('fork')).toHaveLength(0);
  });
});

describe('ready_on: non-HTTP worker groups', () => {
  it('is ready on node:cluster online with ready_on: online, and only then', () => {
    const sim = new Sim(settingsWith({ workers: 1, readyOn: 'online' }));
    sim.send({ type: 'start' });
    sim.send({ type: 'listening', id: 1 });
    sim.send({ type: 'app-ready', id: 1 });
    expect(sim.worker(1).state).toBe('starting');
    sim.send({ type: 'online', id: 1 });
    expect(sim.worker(1).state).toBe('ready');
  });

  it('ignores online for an HTTP group (ready when listening) and for wait_ready (ready on the message)', () => {
    const http = new Sim(settingsWith({ workers: 1 }));
    http.send({ type: 'start' });
    http.send({ type: 'online', id: 1 });
    expect(http.worker(1).state).toBe('starting');
    const waiting = new Sim(settingsWith({ workers: 1, waitReady: true }));
    waiting.send({ type: 'start' });
    waiting.send({ type: 'online', id: 1 });
    expect(waiting.worker(1).state).toBe('starting');
  });

  it('recycles a consumer surge-then-retire, and holds it for its tasks, as an HTTP worker', () => {
    const sim = new Sim(settingsWith({ workers: 1, readyOn: 'online', maxMemory: 100, maxTaskWait: 60_000, timeout: 600_000 }));
    sim.send({ type: 'start' });
    sim.send({ type: 'online', id: 1 });
    sim.report(1, { active: { job: 1 } });
    sim.take();
    sim.send({ type: 'memory', samples: [{ id: 1, rssBytes: 150, cpuPercent: 1 }] });
    const [replacement] = sim.of('fork');
    expect(sim.worker(1).state).toBe('ready'); // keeps consuming until the replacement runs
    sim.send({ type: 'online', id: replacement!.id });
    expect(kinds(sim.take())).toContain('send:retire:1');
    sim.send({ type: 'message', id: 1, message: { $sw: 'drained', activeTasks: 1 } });
    expect(sim.worker(1).state).toBe('waiting-for-tasks');
    sim.advance(30_000);
    expect(kinds(sim.take()).filter((k) => k.startsWith('kill') || k.includes('abandon'))).toEqual([]);
  });

  it('backs off a crashing consumer like any worker', () => {
    // Worker 2 keeps consuming, so slot 0 waits out its backoff.
    const sim = new Sim(settingsWith({ workers: 2, readyOn: 'online', restartDelay: 1_000, timeout: 600_000 }));
    sim.send({ type: 'start' });
    sim.send({ type: 'online', id: 1 });
    sim.send({ type: 'online', id: 2 });
    sim.take();
    sim.exit(1, 1);
    sim.advance(900);
    expect(sim.of('fork')).toHaveLength(0);
    sim.advance(100);
    expect(sim.of('fork')).toMatchObject([{ slot: 0 }]);
  });
});

describe('autorestart: false', () => {
  it('does not replace a worker that exits, and still replaces workers it recycles', () => {
    const sim = new Sim(settingsWith({ workers: 2, autorestart: false, maxRequests: 10, timeout: 600_000 }));
    sim.boot();
    sim.take();
    sim.exit(1, 1);
    sim.advance(60_000);
    expect(sim.of('fork')).toHaveLength(0);
    expect(sim.state.apps.api!.slots[0]!.stopped).toBe('autorestart');
    expect(sim.state.phase).toBe('running');
    sim.report(2, { served: 10 });
    expect(sim.of('fork')).toMatchObject([{ slot: 1, generation: 1 }]);
  });

  it('stops once every worker has exited: exit 0 when each exited cleanly, 1 otherwise', () => {
    const clean = new Sim(settingsWith({ workers: 2, autorestart: false }));
    clean.boot();
    clean.exit(1, 0);
    expect(clean.state.phase).toBe('running');
    clean.exit(2, 0);
    expect(clean.state.phase).toBe('stopping');
    expect(clean.of('exit')).toEqual([{ type: 'exit', code: 0 }]);

    const crashed = new Sim(settingsWith({ workers: 2, autorestart: false }));
    crashed.boot();
    crashed.exit(1, 0);
    crashed.exit(2, null, 'SIGSEGV');
    expect(crashed.of('exit')).toEqual([{ type: 'exit', code: 1 }]);
  });

  it('keeps running for an app that a schedule can start again (cron_restart)', () => {
    const sim = new Sim(settingsWith({ workers: 1, autorestart: false, cronRestart: '0 * * * *' }));
    sim.boot();
    sim.exit(1, 0);
    sim.advance(1_000);
    expect(sim.state.phase).toBe('running');
  });

  it('a reload starts the empty slots again', () => {
    const settings = settingsWith({ workers: 2, autorestart: false });
    const sim = new Sim(settings);
    sim.boot();
    sim.exit(1, 0);
    sim.take();
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'settings', settings });
    expect(sim.of('fork').map((f) => f.slot).sort()).toEqual([0, 1]); // slot 0 afresh, slot 1 surged
    expect(sim.state.apps.api!.slots[0]!.stopped).toBeNull();
  });
});

describe('max_restarts', () => {
  function crashLoop(sim: Sim, times: number, uptimeMs: number): void {
    for (let i = 0; i < times; i++) {
      const w = sim.workers('starting')[0] ?? sim.workers('ready')[0];
      if (!w) throw new Error('no worker to crash');
      if (w.state === 'starting') sim.send({ type: 'listening', id: w.id });
      sim.advance(uptimeMs);
      sim.exit(w.id, 1);
      // Until the slot's next worker is forked (after its backoff), if it ever is.
      for (let waited = 0; waited < 20_000 && sim.workers('starting').length === 0; waited += 100) sim.advance(100);
    }
  }

  it('gives a slot up after max_restarts consecutive unstable exits, logs it, and stops with exit 1 when nothing is left', () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRestarts: 3, minUptime: 5_000, restartDelay: 100, timeout: 600_000 }));
    sim.boot();
    crashLoop(sim, 2, 1_000);
    expect(sim.workers('starting')).toHaveLength(1);
    sim.take();
    crashLoop(sim, 1, 1_000);
    const effects = sim.take();
    expect(effects.filter((e) => e.type === 'fork')).toHaveLength(0);
    const gaveUp = effects.find((e) => e.type === 'log' && e.msg.includes('gave up after 3 unstable restarts'));
    expect(gaveUp).toMatchObject({ level: 'error', fields: { app: 'api', slot: 0 } });
    expect(effects.find((e) => e.type === 'exit')).toEqual({ type: 'exit', code: 1 });
    expect(sim.state.phase).toBe('stopping');
  });

  it('counts only consecutive unstable exits: a run past min_uptime resets the count', () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRestarts: 2, minUptime: 5_000, restartDelay: 100, timeout: 600_000 }));
    sim.boot();
    crashLoop(sim, 1, 1_000);
    crashLoop(sim, 1, 6_000); // stable: resets
    crashLoop(sim, 1, 1_000);
    expect(sim.state.apps.api!.slots[0]!.stopped).toBeNull();
    expect(sim.workers('starting')).toHaveLength(1);
    crashLoop(sim, 1, 1_000);
    expect(sim.state.apps.api!.slots[0]!.stopped).toBe('max_restarts');
  });

  it('keeps the other slots and apps running when one slot gives up', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxRestarts: 1, minUptime: 5_000, timeout: 600_000 }));
    sim.boot();
    sim.take();
    sim.exit(1, 1);
    sim.advance(20_000);
    expect(sim.state.phase).toBe('running');
    expect(sim.of('fork')).toHaveLength(0);
    expect(sim.worker(2).state).toBe('ready');
    // status, /status and /metrics say why the app runs one worker short.
    const snapshot = buildSnapshot(sim.state, sim.now, { pid: 1, configSource: 'test', node: 'v20', rssBytes: 0 });
    expect(snapshot.apps).toEqual([expect.objectContaining({ name: 'api', desiredWorkers: 2, readyWorkers: 1, stoppedSlots: [{ slot: 0, reason: 'max_restarts' }] })]);
  });

  it('0 never gives up', () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRestarts: 0, minUptime: 5_000, restartDelay: 100, maxRestartDelay: 100 }));
    sim.boot();
    crashLoop(sim, 20, 100);
    expect(sim.state.apps.api!.slots[0]!.stopped).toBeNull();
  });
});

describe('cron_restart', () => {
  it('reloads the app on schedule through the reload command, surge-then-retire', () => {
    const settings = settingsWith({ workers: 2, cronRestart: '*/30 * * * * *' });
    const sim = new Sim(settings);
    sim.now = new Date(2024, 5, 1, 12, 0, 5).getTime();
    sim.state = new Sim(settings).state;
    sim.state.apps.api!.nextCronAt = new Date(2024, 5, 1, 12, 0, 30).getTime();
    sim.boot();
    sim.take();
    sim.advance(24_000);
    expect(kinds(sim.take())).toEqual([]);
    sim.advance(1_000);
    const effects = sim.take();
    expect(kinds(effects)).toEqual(['reload-settings:']);
    expect(effects.some((e) => e.type === 'log' && e.msg.startsWith('cron_restart (*/30 * * * * *): rolling reload of api'))).toBe(true);
    expect(sim.state.apps.api!.nextCronAt).toBe(new Date(2024, 5, 1, 12, 1, 0).getTime());
    sim.send({ type: 'settings', settings });
    // The replacement first; nobody retires before it is ready.
    expect(kinds(sim.take())).toEqual(['fork:3']);
    sim.readyAll();
    expect(kinds(sim.take())).toEqual(['send:retire:1', 'fork:4']);
  });

  it('schedules from the time the app is created, and again when the expression changes on reload', () => {
    const sim = new Sim(settingsWith({ workers: 1, cronRestart: '0 3 * * *' }));
    const next = new Date(sim.state.apps.api!.nextCronAt!);
    expect([next.getHours(), next.getMinutes(), next.getSeconds()]).toEqual([3, 0, 0]);
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'settings', settings: settingsWith({ workers: 1, cronRestart: '30 4 * * *' }) });
    const changed = new Date(sim.state.apps.api!.nextCronAt!);
    expect([changed.getHours(), changed.getMinutes()]).toEqual([4, 30]);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'settings', settings: settingsWith({ workers: 1 }) });
    expect(sim.state.apps.api!.nextCronAt).toBeNull();
  });

  it('reloads only its own app', () => {
    const settings = {
      ...settingsWith(),
      apps: [
        appSettings({ name: 'api', workers: 1, timeout: 600_000 }),
        appSettings({ name: 'jobs', workers: 1, readyOn: 'online', cronRestart: '* * * * *', timeout: 600_000 }),
      ],
    };
    const sim = new Sim(settings);
    sim.send({ type: 'start' });
    sim.send({ type: 'listening', id: 1 });
    sim.send({ type: 'online', id: 2 });
    sim.take();
    sim.advance(61_000);
    sim.send({ type: 'settings', settings });
    const forks = sim.of('fork');
    expect(forks).toMatchObject([{ app: 'jobs', slot: 0 }]);
  });
});

describe('shutdown_with_message', () => {
  it("also sends 'shutdown' to the app on retire and on stop, just before the retire", () => {
    const sim = new Sim(settingsWith({ workers: 1, maxRequests: 10, shutdownWithMessage: true }));
    sim.boot();
    sim.report(1, { served: 10 });
    sim.readyAll();
    const retire = sim.take().filter((e) => e.type === 'send' || e.type === 'app-message');
    expect(retire).toEqual([
      { type: 'app-message', id: 1, message: 'shutdown' },
      { type: 'send', id: 1, message: { $sw: 'retire', reason: 'max_requests', idleGraceMs: 1_000, drainTimeoutMs: 30_000 } },
    ]);
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(sim.take().filter((e) => e.type === 'app-message')).toEqual([{ type: 'app-message', id: 2, message: 'shutdown' }]);
  });

  it('sends nothing to the app without it', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.send({ type: 'signal', signal: 'SIGTERM' });
    expect(sim.take().filter((e) => e.type === 'app-message')).toEqual([]);
  });
});

describe('reload after a failed replacement (dev mode: fix the file, save)', () => {
  it('tries the new code at once instead of waiting out the backoff', () => {
    const settings = settingsWith({ workers: 1, restartDelay: 5_000, maxRestartDelay: 15_000 });
    const sim = new Sim(settings);
    sim.boot();
    sim.take();
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'settings', settings });
    const [broken] = sim.of('fork');
    sim.exit(broken!.id, 1); // syntax error
    expect(sim.worker(1).state).toBe('ready'); // the old worker keeps serving
    sim.advance(100);
    expect(sim.of('fork')).toHaveLength(0);
    sim.send({ type: 'signal', signal: 'SIGHUP' });
    sim.send({ type: 'settings', settings });
    expect(sim.of('fork')).toHaveLength(1);
  });

  it('a watched app whose first workers cannot boot keeps retrying instead of exiting', () => {
    const sim = new Sim(settingsWith({ workers: 1, watch: ['/srv'] }));
    sim.send({ type: 'start' });
    sim.exit(1, 1);
    expect(sim.state.phase).toBe('running');
    sim.advance(200);
    expect(sim.of('fork')).toHaveLength(2);
  });
});

describe('watched apps', () => {
  it('do not retry a reload whose replacement failed to boot: the old worker serves until the next change', () => {
    const settings = settingsWith({ workers: 1, watch: ['/srv'], timeout: 600_000 });
    const sim = new Sim(settings);
    sim.boot();
    sim.take();
    sim.send({ type: 'command', command: { kind: 'reload', app: 'api' } });
    sim.send({ type: 'settings', settings });
    const [broken] = sim.of('fork');
    sim.exit(broken!.id, 1);
    expect(sim.take().some((e) => e.type === 'log' && e.msg.includes('keeps serving until the next change'))).toBe(true);
    expect(sim.worker(1)).toMatchObject({ state: 'ready', recycle: null });
    sim.advance(60_000, 1_000);
    expect(sim.of('fork')).toHaveLength(0);
    sim.send({ type: 'command', command: { kind: 'reload', app: 'api' } });
    sim.send({ type: 'settings', settings });
    expect(sim.of('fork')).toHaveLength(1);
  });
});
