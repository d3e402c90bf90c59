/**
 * Managed background tasks end to end, with the real CLI: a cluster-wide limit with priorities,
 * cancel, time limits (soft reaches the signal, hard recycles the worker), max_tasks, pause and
 * resume under load, and history that outlives a recycle.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { BIN, cleanup, FIXTURES, get, isMsg, load, run, tempDir, type Cluster, type LogLine } from './harness';

const APP = path.join(FIXTURES, 'managed-tasks.cjs');

afterEach(cleanup);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(cluster: Cluster, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--socket', cluster.controlSocket], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function json<T>(cluster: Cluster, ...args: string[]): Promise<T> {
  const result = await cli(cluster, ...args, '--json');
  expect(result, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

async function start(yaml: string, prefix = ''): Promise<{ cluster: Cluster; port: number; config: string }> {
  const dir = tempDir();
  const config = path.join(dir, 'workers.yaml');
  writeFileSync(config, `${prefix}app: ${APP}\nworkers: 2\nlog_format: json\nsummary_interval: 0\n${yaml}`);
  const cluster = run(['start', '-c', config]);
  await cluster.waitForCount(isMsg('worker ready'), 2, 30_000, '2 workers ready');
  return { cluster, port: await cluster.port(), config };
}

async function call(port: number, pathname: string): Promise<{ pid: number; ids?: string[] }> {
  const res = await get(port, pathname);
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as { pid: number; ids?: string[] };
}

const fixture = (kind: string, label?: string) => (l: LogLine) => l.fixture === kind && (label === undefined || l.label === label);

type TaskRow = { id: string; type: string; state?: string; priority?: number; workerId: number };

describe('managed background tasks', () => {
  it('a limit of 2 across 2 workers: never more than 2 run, queued ones start by priority; cancel of a queued and a running task', async () => {
    const { cluster, port } = await start('task_types:\n  crm: { concurrency: 2 }\n');
    // Two blockers take both permits and run until cancelled or released.
    const blockers = await call(port, '/hold?type=crm&n=2&label=blocker');
    await cluster.waitForCount(fixture('task-start'), 2, 10_000, 'blockers started');
    // 18 more, each its own request (so both workers queue), priorities shuffled.
    const priorities = [7, 3, 15, 0, 11, 5, 17, 1, 9, 13, 2, 16, 4, 8, 12, 6, 14, 10];
    const queuedIds = new Map<number, string>();
    for (const p of priorities) queuedIds.set(p, (await call(port, `/run?type=crm&ms=50&priority=${p}&label=p${p}`)).ids![0]!);

    const listed = await json<{ tasks: TaskRow[] }>(cluster, 'tasks');
    expect(listed.tasks.filter((t) => t.state === 'running')).toHaveLength(2);
    expect(listed.tasks.filter((t) => t.state === 'queued')).toHaveLength(18);
    expect(new Set(listed.tasks.filter((t) => t.state === 'queued').map((t) => t.workerId)).size).toBe(2);
    const table = await cli(cluster, 'tasks');
    expect(table.stdout).toMatch(/^APP\s+SLOT\s+WORKER\s+PID\s+TASK\s+TYPE\s+PRIORITY\s+STATE\s+FOR\s+ESTIMATE\s+DESCRIPTION$/m);
    expect(table.stdout).toMatch(/20 active tasks \(2 running, 18 queued\)/);

    // Cancel a queued task: it never starts.
    const cancelQueued = await cli(cluster, 'tasks', 'cancel', queuedIds.get(16)!);
    expect(cancelQueued).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/cancelled while queued/) });
    // Cancel a running blocker: its signal says why; the other blocker is released.
    const cancelRunning = await cli(cluster, 'tasks', 'cancel', blockers.ids![0]!);
    expect(cancelRunning).toMatchObject({ code: 0, stdout: expect.stringMatching(/its signal is aborted/) });
    expect(await cluster.waitFor(fixture('task-end', 'blocker-0'), 10_000)).toMatchObject({ outcome: 'aborted', reason: 'cancelled' });
    await call(port, '/release');
    await call(port, '/release'); // whichever worker holds the other blocker

    await cluster.waitForCount((l) => fixture('task-end')(l) && String(l.label).startsWith('p'), 17, 30_000, '17 tasks ended');
    const events = cluster.lines.filter((l) => l.fixture === 'task-start' || l.fixture === 'task-end');
    let runningNow = 0;
    let most = 0;
    for (const e of events) {
      runningNow += e.fixture === 'task-start' ? 1 : -1;
      most = Math.max(most, runningNow);
    }
    expect(most).toBeLessThanOrEqual(2);
    const order = events.filter((e) => e.fixture === 'task-start' && String(e.label).startsWith('p')).map((e) => e.priority as number);
    expect([...order].sort((a, b) => b - a)).toEqual([...priorities].filter((p) => p !== 16).sort((a, b) => b - a));
    // Highest first. Two tasks granted at the same moment start in two processes, whose log lines
    // may interleave either way: with a limit of 2, a task may be overtaken by at most one lower one.
    order.forEach((p, i) => expect(order.slice(i + 1).filter((later) => later > p).length, `start order ${order.join(',')}`).toBeLessThanOrEqual(1));

    // Bad input: one line, exit 1, nothing else changes.
    expect(await cli(cluster, 'tasks', 'cancel', queuedIds.get(16)!)).toMatchObject({ code: 1, stderr: expect.stringMatching(/^smartworkers: task .* has already ended \(cancelled\)/) });
    expect(await cli(cluster, 'tasks', 'cancel', 'no-such-task')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^smartworkers: no task with id "no-such-task"/) });
    expect(await cli(cluster, 'tasks', 'pause', 'nosuch')).toMatchObject({ code: 1, stderr: expect.stringMatching(/^smartworkers: unknown task type 'nosuch'/) });

    const status = await json<StatusSnapshot>(cluster, 'status');
    expect(status.taskManagement!['managed-tasks']!.permits).toEqual({ crm: { limit: 2, inUse: 0, queued: 0 } });
    expect(status.taskManagement!['managed-tasks']!.permitWaits.count).toBe(19);
  });

  it('soft limit reaches the signal; hard limit fails the task and recycles its worker, its other task finishing; history outlives the recycle', async () => {
    const { cluster, port } = await start('task_types:\n  report: { time_limit: 300ms }\n  stuck: { hard_time_limit: 1s }\n');
    await call(port, '/run?type=report&label=soft');
    expect(await cluster.waitFor(fixture('task-end', 'soft-0'), 10_000)).toMatchObject({ outcome: 'aborted', reason: 'time_limit' });
    await cluster.waitFor(isMsg('task past its time_limit'), 10_000);

    const stuck = await call(port, '/run?type=stuck&mode=ignore&label=stuck&companion=2500');
    const hard = await cluster.waitFor(isMsg('task past its hard_time_limit'), 10_000);
    expect(hard).toMatchObject({ pid: expect.any(Number), task: expect.objectContaining({ id: stuck.ids![0], type: 'stuck' }) });
    const retiring = await cluster.waitFor((l) => l.msg === 'worker retiring' && l.reason === 'hard_time_limit', 30_000);
    const exited = await cluster.waitFor((l) => l.msg === 'worker exited' && l.worker === retiring.worker, 30_000);
    expect(exited).toBeDefined();
    // The companion task of that worker finished before it exited; nothing was lost.
    const companion = cluster.lines.findIndex(fixture('task-end', 'companion'));
    expect(companion).toBeGreaterThanOrEqual(0);
    expect(cluster.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('task lost'))).toBe(false);

    const history = await json<{ entries: Array<{ id: string; status: string; error?: string; exited: boolean }> }>(cluster, 'tasks', 'history', '--failed');
    expect(history.entries).toContainEqual(expect.objectContaining({ id: stuck.ids![0], status: 'failed', error: 'timed out', exited: true }));
    const byType = await json<{ entries: Array<{ type: string }> }>(cluster, 'tasks', 'history', '--type', 'report');
    expect(byType.entries.map((e) => e.type)).toEqual(['report']);
    const status = await json<StatusSnapshot>(cluster, 'status');
    expect(status.totals.recyclesByReason.hard_time_limit).toBe(1);
    expect(status.taskManagement!['managed-tasks']).toMatchObject({ softLimitHits: 1, hardLimitHits: 1 });
  });

  it('max_tasks recycles a worker; pause and resume a type under load while HTTP keeps serving', async () => {
    const { cluster, port } = await start('max_tasks: 6\ntask_types:\n  crm: { concurrency: 1 }\n');
    const { pid } = await call(port, '/run?type=email&n=6&ms=10');
    const retiring = await cluster.waitFor((l) => l.msg === 'worker retiring' && l.reason === 'max_tasks', 30_000);
    expect(retiring.pid).toBe(pid);
    await cluster.waitFor((l) => l.msg === 'worker ready' && l.generation === 1, 30_000);

    const paused = await cli(cluster, 'tasks', 'pause', 'crm');
    expect(paused).toMatchObject({ code: 0, stdout: expect.stringMatching(/^task type 'crm' paused in 2 worker\(s\)/) });
    let resumed = false;
    const traffic = load(port, {
      seconds: 30,
      connections: 4,
      until: (async () => {
        const ids = [(await call(port, '/run?type=crm&ms=10&label=after-pause-a')).ids![0], (await call(port, '/run?type=crm&ms=10&label=after-pause-b')).ids![0]];
        const listed = await json<{ tasks: TaskRow[] }>(cluster, 'tasks');
        expect(listed.tasks.filter((t) => ids.includes(t.id)).map((t) => t.state)).toEqual(['queued', 'queued']);
        expect(cluster.lines.some(fixture('task-start', 'after-pause-a-0'))).toBe(false);
        expect(await cli(cluster, 'tasks', 'resume', 'crm')).toMatchObject({ code: 0 });
        resumed = true;
        await cluster.waitFor(fixture('task-end', 'after-pause-a-0'), 10_000);
        await cluster.waitFor(fixture('task-end', 'after-pause-b-0'), 10_000);
      })(),
    });
    const result = await traffic;
    expect(resumed).toBe(true);
    expect(result.requests).toBeGreaterThan(0);
    expect(result.failed).toBe(0);
  });

  it('a recycled worker starts its queued tasks (permits keep coming while it retires) before it exits: none lost', async () => {
    const { cluster, port } = await start('task_types:\n  crm: { concurrency: 1 }\n');
    const { pid } = await call(port, '/hold?type=crm&n=3&label=queued');
    await cluster.waitFor(fixture('task-start', 'queued-0'), 10_000);
    const status = await json<StatusSnapshot>(cluster, 'status');
    const slot = status.workers.find((w) => w.pid === pid)!.slot;
    expect(await cli(cluster, 'recycle', String(slot), '--no-wait')).toMatchObject({ code: 0 });
    await cluster.waitFor((l) => l.msg === 'worker retiring' && l.pid === pid, 30_000);
    // Each end frees the permit; the next queued task then gets it, in the retiring worker.
    for (const label of ['queued-0', 'queued-1', 'queued-2']) {
      await cluster.waitFor(fixture('task-start', label), 10_000);
      // The retiring worker takes no new connection: its task is ended through its signal.
      const running = (await json<{ tasks: TaskRow[] }>(cluster, 'tasks')).tasks.find((t) => t.state === 'running');
      expect(await cli(cluster, 'tasks', 'cancel', running!.id)).toMatchObject({ code: 0 });
      await cluster.waitFor(fixture('task-end', label), 10_000);
    }
    await cluster.waitFor((l) => l.msg === 'worker exited' && l.pid === pid, 30_000);
    expect(cluster.lines.filter(fixture('task-start')).map((l) => l.pid)).toEqual([pid, pid, pid]);
    expect(cluster.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('task lost'))).toBe(false);
    const history = await json<{ entries: Array<{ status: string; exited: boolean }> }>(cluster, 'tasks', 'history', '--type', 'crm');
    expect(history.entries.map((e) => [e.status, e.exited])).toEqual([['cancelled', true], ['cancelled', true], ['cancelled', true]]);
  });

  it('a forced stop aborts running tasks with reason forced_stop (managed or not); a queued task never starts and is reported lost', async () => {
    const { cluster, port } = await start('task_types:\n  crm: { concurrency: 1 }\n');
    await call(port, '/hold?type=job&label=plain');
    const crm = await call(port, '/hold?type=crm&n=2&label=crm');
    await cluster.waitFor(fixture('task-start', 'plain-0'), 10_000);
    await cluster.waitFor(fixture('task-start', 'crm-0'), 10_000);
    const listed = await json<{ tasks: TaskRow[] }>(cluster, 'tasks');
    expect(listed.tasks.find((t) => t.id === crm.ids![1])?.state).toBe('queued');

    expect(await cli(cluster, 'stop', '--force')).toMatchObject({ code: 0 });
    expect((await cluster.exited).code).toBe(1); // tasks were lost: the primary's documented exit code 1
    for (const label of ['plain-0', 'crm-0']) {
      expect(cluster.lines.find(fixture('task-end', label)), label).toMatchObject({ outcome: 'aborted', reason: 'forced_stop' });
    }
    // The queued one was withdrawn: no start even though the running one gave its permit back.
    expect(cluster.lines.some(fixture('task-start', 'crm-1'))).toBe(false);
    const lost = cluster.lines.filter(isMsg('task lost')).map((l) => (l.task as { id: string }).id);
    // Nothing vanished: the running ones ended through their signal (above), the queued one is reported.
    expect(lost).toContain(crm.ids![1]);
  });

  it('an overdue task is logged once with its id, type and description, and shows as overdue in `tasks --json`, status and /metrics', async () => {
    const { cluster, port } = await start('task_types:\n  report: { stale_after: 300ms }\n', 'status:\n  listen: 127.0.0.1:0\n');
    const statusUrl = (await cluster.waitFor(isMsg('control socket ready'), 30_000)).statusUrl as string;
    // A managed type past its stale_after, and a plain task past 3 × its estimate.
    const report = await call(port, '/hold?type=report&label=nightly-report');
    const overdue = (id: string) => (l: LogLine) => isMsg('task overdue')(l) && (l.task as { id?: string } | undefined)?.id === id;
    const first = await cluster.waitFor(overdue(report.ids![0]!), 10_000);
    expect(first).toMatchObject({ level: expect.anything(), pid: report.pid, task: { id: report.ids![0], type: 'report', description: 'nightly-report-0' } });
    // A second task goes overdue later: the overdue sweep ran again meanwhile, the first is not logged again.
    const plain = await call(port, '/hold?type=job&est=100&label=estimated');
    const second = await cluster.waitFor(overdue(plain.ids![0]!), 10_000);
    expect(second).toMatchObject({ task: { type: 'job', description: 'estimated-0' }, estimatedMs: 100 });
    expect(cluster.lines.filter(overdue(report.ids![0]!))).toHaveLength(1);

    const listed = await json<{ tasks: Array<TaskRow & { overdue: boolean }> }>(cluster, 'tasks');
    expect(listed.tasks.filter((t) => t.overdue).map((t) => t.id).sort()).toEqual([report.ids![0], plain.ids![0]].sort());
    const table = await cli(cluster, 'tasks');
    expect(table.stdout).toMatch(/OVERDUE/);
    // The counters reach the primary with the workers' next report (the log line came with the alert).
    const deadline = Date.now() + 10_000;
    let status = await json<StatusSnapshot>(cluster, 'status');
    while ((status.taskManagement?.['managed-tasks']?.overdue ?? 0) < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await json<StatusSnapshot>(cluster, 'status');
    }
    expect(status.taskManagement!['managed-tasks']!.overdue).toBe(2);
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/^smartworkers_tasks_overdue_total\{app="managed-tasks"\} 2$/m);
    await call(port, '/release');
    await call(port, '/release');
  });

  it('bad task_types: one line and exit code 2 at start; a reload with them is refused and the running tasks go on', async () => {
    const bad: Array<[string, RegExp]> = [
      ['  crm: { concurency: 2 }', /unknown setting `task_types\.crm\.concurency`/],
      ['  crm: { concurrency: -1 }', /`task_types\.crm\.concurrency` to be a whole number >= 0/],
      ['  crm: { priority: high }', /`task_types\.crm\.priority` to be a number/],
    ];
    for (const [line, error] of bad) {
      const dir = tempDir();
      const config = path.join(dir, 'workers.yaml');
      writeFileSync(config, `app: ${APP}\nworkers: 1\ntask_types:\n${line}\n`);
      const started = run(['start', '-c', config]);
      expect((await started.exited).code, line).toBe(2);
      const stderr = started.stderr().trim();
      expect(stderr.split('\n'), stderr).toHaveLength(1);
      expect(stderr).toMatch(error);
      expect(stderr).toMatch(/\[SW_CONFIG_INVALID\]$/);
    }

    const { cluster, port, config } = await start('task_types:\n  crm: { concurrency: 1 }\n');
    const held = await call(port, '/hold?type=crm&label=held');
    await cluster.waitFor(fixture('task-start', 'held-0'), 10_000);
    writeFileSync(config, `app: ${APP}\nworkers: 2\nlog_format: json\nsummary_interval: 0\ntask_types:\n  crm: { concurrency: 1, priority: high }\n`);
    const reload = await cli(cluster, 'reload');
    expect(reload.code).not.toBe(0);
    expect(reload.stderr.trim().split('\n')).toHaveLength(1);
    expect(reload.stderr).toMatch(/reload aborted, workers keep running: .*`task_types\.crm\.priority` to be a number/);
    const listed = await json<{ tasks: TaskRow[] }>(cluster, 'tasks');
    expect(listed.tasks.map((t) => [t.id, t.state])).toEqual([[held.ids![0], 'running']]);
    expect(cluster.child.exitCode).toBeNull();
    await call(port, '/release');
    await call(port, '/release');
    expect(await cluster.waitFor(fixture('task-end', 'held-0'), 10_000)).toMatchObject({ outcome: 'completed' });
  });
});
