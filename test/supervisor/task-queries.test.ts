/**
 * `smartworkers tasks` and the `tasks` operations ask only workers that have a task runtime:
 * a process worker (a non-Node program, or a script run as a plain process) never answers, and
 * asking it would hold every listing for the whole reply timeout.
 */
import { describe, expect, it } from 'vitest';
import { Supervisor } from '../../src/supervisor/supervisor';
import { TAG, type PrimaryMessage } from '../../src/protocol';
import { FakeClock, FakeHost } from '../helpers/fakes';
import { appSettings, settingsWith } from './helpers';

function setup() {
  const settings = {
    ...settingsWith(),
    apps: [
      appSettings({ name: 'api', workers: 1 }),
      appSettings({ name: 'py', script: '/srv/server.py', kind: 'process', interpreter: '/usr/bin/python3', readyOn: 'online', workers: 1 }),
    ],
  };
  const host = new FakeHost();
  const quiet = () => {};
  const supervisor = new Supervisor({
    settings,
    host,
    clock: new FakeClock(),
    logger: { debug: quiet, info: quiet, warn: quiet, error: quiet },
    random: () => 0,
    sampleMemory: async (pids) => new Map(pids.map((pid) => [pid, { rss: 1_000, cpu: 1 }])),
    onExit: () => {},
  });
  supervisor.start();
  host.emit({ type: 'listening', id: 1 });
  host.emit({ type: 'online', id: 2 });
  return { host, supervisor };
}

const sentOf = (host: FakeHost, tag: string) => host.sent.filter((s) => (s.message as PrimaryMessage)[TAG] === tag);

describe('task queries skip process workers', () => {
  it('lists the tasks of cluster workers only, answered as soon as they reply', async () => {
    const { host, supervisor } = setup();
    expect(supervisor.state.workers[2]!.app).toBe('py');
    const listing = supervisor.listTasks(60_000);
    const asked = sentOf(host, 'list-tasks');
    expect(asked.map((s) => s.id)).toEqual([1]);
    const requestId = (asked[0]!.message as { requestId: number }).requestId;
    host.emit({ type: 'message', id: 1, message: { [TAG]: 'tasks', requestId, tasks: [{ id: 't1', type: 'crm', startedAt: 1 }] } });
    // Resolves on the one reply: a 60 s timeout would fail the test's own 5 s bound.
    expect(await listing).toEqual([{ workerId: 1, tasks: [{ id: 't1', type: 'crm', startedAt: 1 }] }]);
  });

  it('sends task operations (cancel, history, pause) to cluster workers only', async () => {
    const { host, supervisor } = setup();
    const answered = supervisor.taskBroker.ask('cancel', { id: 'x' }, undefined, 60_000);
    const asked = sentOf(host, 'task-op');
    expect(asked.map((s) => s.id)).toEqual([1]);
    const requestId = (asked[0]!.message as { requestId: number }).requestId;
    host.emit({ type: 'message', id: 1, message: { [TAG]: 'task-reply', requestId, result: { outcome: 'unknown' } } });
    expect(await answered).toEqual([{ workerId: 1, result: { outcome: 'unknown' } }]);
  });
});
