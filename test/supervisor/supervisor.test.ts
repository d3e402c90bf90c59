/**
 * The executor against a fake process host and clock: proves the wiring (effects performed,
 * host events fed back, bad messages contained, exit reported) without processes.
 */
import { describe, expect, it } from 'vitest';
import { Supervisor, TICK_MS } from '../../src/supervisor/supervisor';
import { createClusterControl } from '../../src/supervisor/control';
import type { PrimaryMessage } from '../../src/protocol';
import { FakeClock, FakeHost } from '../helpers/fakes';
import { appSettings, settingsWith } from './helpers';

function setup(overrides = {}, settings = settingsWith(overrides)) {
  const clock = new FakeClock();
  const host = new FakeHost();
  const logs: Array<{ level: string; msg: string; obj: object }> = [];
  const logger = {
    debug: (obj: object, msg: string) => logs.push({ level: 'debug', msg, obj }),
    info: (obj: object, msg: string) => logs.push({ level: 'info', msg, obj }),
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', msg, obj }),
    error: (obj: object, msg: string) => logs.push({ level: 'error', msg, obj }),
  };
  const exits: number[] = [];
  const supervisor = new Supervisor({
    settings,
    host,
    clock,
    logger,
    random: () => 0,
    sampleMemory: async (pids) => new Map(pids.map((pid) => [pid, { rss: 1_000, cpu: 1 }])),
    onExit: (code) => exits.push(code),
  });
  return { clock, host, logs, exits, supervisor };
}

describe('supervisor executor', () => {
  it('routes each message of route supervisor through its table row, and tells the task broker of a new worker', () => {
    const { host, supervisor } = setup({ workers: 1 });
    supervisor.start();
    supervisor.taskBroker.setPaused('api', 'crm', true);
    host.emit({ type: 'message', id: 1, message: { $sw: 'hello', protocol: 1, pid: 5001, node: 'v20.20.2' } });
    expect(host.sent).toContainEqual({ id: 1, message: { $sw: 'task-op', requestId: 0, op: 'pause', type: 'crm' } });
    host.emit({ type: 'message', id: 1, message: { $sw: 'queues', hosted: ['mail'], counts: {}, sampledAt: 1 } });
    expect(supervisor.queues.hostsOf('mail')).toEqual([1]);
  });

  it('forks through the host with the settings of the app, and records pids', () => {
    const { host, supervisor } = setup({ workers: 2, maxRequests: 100 });
    supervisor.start();
    expect(host.forks.map((f) => [f.slot, f.generation, f.requestLimit, f.app.name])).toEqual([
      [0, 0, 100, 'api'],
      [1, 0, 100, 'api'],
    ]);
    expect(supervisor.state.workers[1]!.pid).toBe(5001);
  });

  it("numbers workers across apps as pm2's pm_id does, and passes the app's worker count", () => {
    const settings = { ...settingsWith(), apps: [appSettings({ name: 'api', workers: 2 }), appSettings({ name: 'jobs', workers: 1 })] };
    const { host, supervisor } = setup({}, settings);
    supervisor.start();
    expect(host.forks.map((f) => [f.app.name, f.slot, f.pmId, f.instances])).toEqual([
      ['api', 0, 0, 2],
      ['api', 1, 1, 2],
      ['jobs', 0, 2, 1],
    ]);
  });

  it('gives a slot added by scaling the next free pm_id, never one of another app, and keeps it for the slot', async () => {
    const settings = { ...settingsWith(), apps: [appSettings({ name: 'api', workers: 2 }), appSettings({ name: 'jobs', workers: 1 })] };
    const { clock, host, supervisor } = setup({}, settings);
    supervisor.start();
    for (const id of [1, 2, 3]) host.emit({ type: 'listening', id });
    const control = createClusterControl(supervisor, { configSource: 'test' });
    const scaled = control.scale({ app: 'api', delta: 1 }, true);
    host.emit({ type: 'listening', id: 4 });
    expect(await scaled).toMatchObject({ ok: true });
    host.emit({ type: 'exit', id: 4, code: 1, signal: null }); // slot 2 of api crashes: same pm_id again
    clock.advance(1_000); // its backoff
    const pmIds = host.forks.map((f) => [f.app.name, f.slot, f.pmId]);
    expect(pmIds.slice(3)).toEqual([
      ['api', 2, 3],
      ['api', 2, 3],
    ]);
  });

  it("delivers pm2's 'shutdown' to the app through the host, beside the retire", () => {
    const { host, supervisor } = setup({ workers: 1, shutdownWithMessage: true });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    supervisor.signal('SIGTERM');
    expect(host.sent.map((s) => s.message.$sw)).toEqual(['retire']);
    expect(host.appMessages).toEqual([{ id: 1, message: 'shutdown' }]);
  });

  it('feeds host events back into the policy and performs the resulting effects', () => {
    const { host, supervisor } = setup({ workers: 1, maxRequests: 10 });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    host.emit({
      type: 'message',
      id: 1,
      message: { $sw: 'report', served: 10, inflight: 0, connections: 1, loopDelayMs: 1, tasks: { started: 0, completed: 0, failed: 0, cancelled: 0, activeByType: {} } },
    });
    expect(host.forks).toHaveLength(2);
    host.emit({ type: 'listening', id: 2 });
    expect(host.sent).toEqual([{ id: 1, message: { $sw: 'retire', reason: 'max_requests', idleGraceMs: 1000, drainTimeoutMs: 30_000 } }]);
  });

  it('ticks deadlines on its clock: a silent worker is SIGKILLed', () => {
    const { clock, host, supervisor } = setup({ workers: 1, timeout: 1_000 });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    clock.advance(1_000 + TICK_MS);
    expect(host.kills).toEqual([{ id: 1, signal: 'SIGKILL' }]);
  });

  it('samples memory on its interval and stores it per worker', async () => {
    const { clock, host, supervisor } = setup({ workers: 1, memoryCheckInterval: 500 });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    clock.advance(500);
    await new Promise((r) => setImmediate(r));
    expect(supervisor.state.workers[1]!.rssBytes).toBe(1_000);
  });

  it('logs malformed messages a few times, not once per message, and keeps going', () => {
    const { host, logs, supervisor } = setup({ workers: 1 });
    supervisor.start();
    for (let i = 0; i < 500; i++) host.emit({ type: 'bad-message', id: 1, error: 'malformed' });
    expect(logs.filter((l) => l.msg.startsWith('dropped a malformed')).length).toBe(3);
    host.emit({ type: 'listening', id: 1 });
    expect(supervisor.state.workers[1]!.state).toBe('ready');
  });

  it('reports the exit code once every worker is gone after a stop', () => {
    const { host, exits, supervisor } = setup({ workers: 2 });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    host.emit({ type: 'listening', id: 2 });
    supervisor.signal('SIGTERM');
    host.emit({ type: 'exit', id: 1, code: 0, signal: null });
    expect(exits).toEqual([]);
    host.emit({ type: 'exit', id: 2, code: 0, signal: null });
    expect(exits).toEqual([0]);
  });

  it('keeps the old config when a reload finds the file invalid', () => {
    const clock = new FakeClock();
    const host = new FakeHost();
    const errors: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (_o: object, msg: string) => errors.push(msg) };
    const supervisor = new Supervisor({
      settings: settingsWith({ workers: 1 }),
      host,
      clock,
      logger,
      reloadSettings: () => {
        throw new Error('config: unknown key `wrokers`');
      },
      onExit: () => {},
    });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    supervisor.signal('SIGHUP');
    expect(errors.some((m) => m.startsWith('reload aborted'))).toBe(true);
    expect(host.forks).toHaveLength(1);
  });
});

describe('cluster control', () => {
  it('reload resolves only once every worker has been replaced', async () => {
    const { host, supervisor } = setup({ workers: 2 });
    supervisor.start();
    host.emit({ type: 'listening', id: 1 });
    host.emit({ type: 'listening', id: 2 });
    const control = createClusterControl(supervisor, { configSource: 'test' });
    let settled = false;
    const result = control.reload(undefined, true).then((r) => {
      settled = true;
      return r;
    });
    await Promise.resolve();
    expect(host.forks).toHaveLength(3);
    host.emit({ type: 'listening', id: 3 });
    await Promise.resolve();
    expect(settled).toBe(false);
    host.emit({ type: 'listening', id: 4 });
    expect(await result).toMatchObject({ ok: true });
    expect(control.snapshot().totals.recyclesByReason.reload).toBe(2);
  });

  it('refuses unknown apps and scale below one, and reports readiness', async () => {
    const { host, supervisor } = setup({ workers: 1 });
    supervisor.start();
    const control = createClusterControl(supervisor, { configSource: 'test' });
    expect(control.isReady(1)).toBe(false);
    host.emit({ type: 'listening', id: 1 });
    expect(control.isReady(1)).toBe(true);
    expect(await control.reload('nope', true)).toMatchObject({ ok: false, message: "no app named 'nope'; apps: api" });
    expect(await control.scale({ absolute: 0 }, true)).toMatchObject({ ok: false });
    const scaled = control.scale({ delta: 1 }, true);
    host.emit({ type: 'listening', id: 2 });
    expect(await scaled).toMatchObject({ ok: true });
    await control.stop(false);
    expect(control.isReady(1)).toBe(false);
  });
});
