/**
 * Operating a real cluster with the real CLI: status, tasks, reload, scale, recycle and stop
 * over the control socket; the status server's probes and metrics; a second start refused;
 * a stale socket replaced.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { checkMetrics, parsePrometheusText } from '../status/prometheus-text';
import { BIN, cleanup, FIXTURES, get, isMsg, run, tempDir, type Cluster } from './harness';

const HTTP = path.join(FIXTURES, 'http.cjs');

afterEach(cleanup);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<CliResult> {
  return cliWithEnv({}, ...args);
}

function cliWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command against the cluster's socket and parses its --json output. */
async function json<T>(cluster: Cluster, ...args: string[]): Promise<T> {
  const result = await cli(...args, '--json', '--socket', cluster.controlSocket);
  expect(result, args.join(' ')).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

async function startCluster(extra: string[] = []): Promise<{ cluster: Cluster; statusUrl: string; port: number }> {
  const cluster = run(['start', HTTP, '--workers', '2', '--status-listen', '127.0.0.1:0', '--summary-interval', '0', '--log-format', 'json', ...extra]);
  const ready = await cluster.waitFor(isMsg('control socket ready'), 20_000, 'control socket ready');
  await cluster.waitForCount(isMsg('worker ready'), 2, 20_000, '2 workers ready');
  return { cluster, statusUrl: ready.statusUrl as string, port: await cluster.port() };
}

const readyIds = (s: StatusSnapshot): number[] => s.workers.filter((w) => w.state === 'ready').map((w) => w.id).sort((a, b) => a - b);

describe('operating a running cluster', () => {
  it('status, tasks, reload, scale, recycle and stop through the CLI; /readyz turns 503 during the stop', async () => {
    const { cluster, statusUrl, port } = await startCluster();

    // status
    const first = await json<StatusSnapshot>(cluster, 'status');
    expect(first.version).toBe(1);
    expect(first.primary).toMatchObject({ pid: cluster.pid, phase: 'running', configSource: 'command line' });
    expect(first.apps).toEqual([expect.objectContaining({ name: 'http', desiredWorkers: 2, readyWorkers: 2 })]);
    expect(readyIds(first)).toHaveLength(2);
    const table = await cli('status', '--socket', cluster.controlSocket);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^primary ${cluster.pid} · running`));
    expect(table.stdout).toMatch(/^http\s+0\s+\d+\s+\d+\s+0\s+ready\b/m);
    expect(await (await fetch(`${statusUrl}/status`)).json()).toMatchObject({ version: 1, primary: { pid: cluster.pid } });

    // tasks: one background task that outlasts the reload below, however slow the machine: it ends on SIGUSR2
    expect((await get(port, '/task?ms=600000')).status).toBe(200);
    const tasks = await json<{ now: number; tasks: Array<Record<string, unknown>> }>(cluster, 'tasks');
    expect(tasks.tasks).toEqual([
      expect.objectContaining({ app: 'http', type: 'job', estimatedMs: 600000, overdue: false, description: expect.stringMatching(/^job \d+-1$/) }),
    ]);
    const taskWorker = tasks.tasks[0].workerId as number;
    const withTask = parsePrometheusText(await (await fetch(`${statusUrl}/metrics`)).text());
    expect(withTask.get('smartworkers_active_tasks')!.samples).toEqual([expect.objectContaining({ labels: { type: 'job' }, value: 1 })]);
    expect(withTask.get('smartworkers_worker_active_tasks')!.samples.find((s) => s.labels.worker_id === String(taskWorker))!.value).toBe(1);
    expect((await cli('tasks', '--socket', cluster.controlSocket)).stdout).toMatch(/^APP\s+SLOT\s+WORKER\s+PID\s+TASK\s+TYPE/);

    // reload: every worker replaced; the one with the task keeps it while it waits
    const reload = await json<{ ok: boolean; message: string }>(cluster, 'reload');
    expect(reload).toMatchObject({ ok: true, message: expect.stringMatching(/^reload: 2 worker\(s\) replaced/) });
    const afterReload = await json<StatusSnapshot>(cluster, 'status');
    expect(readyIds(afterReload)).toHaveLength(2);
    expect(readyIds(afterReload).some((id) => readyIds(first).includes(id))).toBe(false);
    expect(afterReload.totals.recyclesByReason.reload).toBe(2);
    const retired = afterReload.workers.find((w) => w.id === taskWorker);
    expect(retired, `worker ${taskWorker} (the one with the task) in ${JSON.stringify(afterReload.workers)}`).toBeDefined();
    expect({ state: retired!.state, activeTasks: retired!.activeTasks, retireReason: retired!.retireReason }).toEqual({
      state: expect.stringMatching(/^(retiring|waiting-for-tasks)$/), // draining its idle connections, then waiting
      activeTasks: 1,
      retireReason: 'reload',
    });

    // scale up and back down
    expect(await json(cluster, 'scale', '+1')).toMatchObject({ ok: true, message: expect.stringMatching(/^scaled http from 2 to 3 workers/) });
    expect(readyIds(await json<StatusSnapshot>(cluster, 'status'))).toHaveLength(3);
    expect(await json(cluster, 'scale', 'http', '2')).toMatchObject({ ok: true, message: expect.stringMatching(/^scaled http from 3 to 2 workers/) });
    const scaled = await json<StatusSnapshot>(cluster, 'status');
    expect(scaled.apps[0]).toMatchObject({ desiredWorkers: 2, readyWorkers: 2 });

    // recycle slot 0
    const slot0 = scaled.workers.find((w) => w.slot === 0 && w.state === 'ready')!.id;
    expect(await json(cluster, 'recycle', '0')).toMatchObject({ ok: true, details: { workers: [slot0] } });
    const recycled = await json<StatusSnapshot>(cluster, 'status');
    expect(recycled.totals.recyclesByReason.manual).toBe(1);
    expect(recycled.workers.find((w) => w.slot === 0 && w.state === 'ready')!.id).not.toBe(slot0);
    const refused = await cli('recycle', '7', '--socket', cluster.controlSocket);
    expect(refused).toMatchObject({ code: 1, stderr: 'smartworkers: no ready worker in slot 7\n' });

    // the task ends: its retired worker exits
    process.kill(retired!.pid!, 'SIGUSR2');
    await cluster.waitFor((l) => l.msg === 'worker exited' && l.worker === taskWorker, 30_000, `worker ${taskWorker} to exit once its task ended`);

    // metrics from the real cluster pass the checks of `promtool check metrics` (the real one: test/tools/)
    const metricsText = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(checkMetrics(metricsText)).toEqual([]);
    const recycles = parsePrometheusText(metricsText).get('smartworkers_recycles_total')!;
    expect(Object.fromEntries(recycles.samples.map((s) => [s.labels.reason, s.value]))).toMatchObject({ reload: 2, manual: 1, scale: 1 });

    // stop: waits for the task (held until SIGUSR2); readiness is withdrawn at once, liveness stays
    expect((await get(port, '/task?ms=600000')).status).toBe(200);
    const holding = (await json<{ tasks: Array<{ workerId: number }> }>(cluster, 'tasks')).tasks.map((t) => t.workerId);
    const holdingPids = recycled.workers.filter((w) => holding.includes(w.id)).map((w) => w.pid!);
    expect(holdingPids, `the worker holding the task among ${JSON.stringify(recycled.workers)}`).toHaveLength(1);
    const statusPort = Number(new URL(statusUrl).port);
    expect((await get(statusPort, '/readyz')).status).toBe(200);
    const stopping = cli('stop', '--socket', cluster.controlSocket);
    await cluster.waitFor((l) => isMsg('worker waiting for 1 task')(l) && l.worker === holding[0], 60_000, `worker ${holding[0]} to stop and wait for its task`);
    expect((await get(statusPort, '/readyz')).status).toBe(503);
    expect((await get(statusPort, '/healthz')).status).toBe(200);
    process.kill(holdingPids[0]!, 'SIGUSR2');
    const stopped = await stopping;
    expect(stopped).toEqual({ code: 0, stderr: '', stdout: 'graceful stop started; the cluster has stopped\n' });
    expect((await cluster.exited).code).toBe(0);
    expect(cluster.lines.filter(isMsg('primary exiting'))).toEqual([expect.objectContaining({ code: 0, tasksLost: 0 })]);
    expect(existsSync(cluster.controlSocket)).toBe(false);
    expect(await cli('status', '--socket', cluster.controlSocket)).toEqual({
      code: 1,
      stdout: '',
      stderr: `smartworkers: no cluster is running at ${cluster.controlSocket} [SW_NOT_RUNNING]\n`,
    });
  }, 180_000);

  it('a second start on a live socket is refused before forking; garbage on the socket changes nothing', async () => {
    const { cluster } = await startCluster();
    const second = run(['start', HTTP, '--workers', '2', '--log-format', 'json'], { SMARTWORKERS_CONTROL_SOCKET: cluster.controlSocket });
    expect((await second.exited).code).toBe(2);
    expect(second.stderr()).toBe(
      `smartworkers: a cluster is already running on control socket ${cluster.controlSocket}; not starting a second one [SW_ALREADY_RUNNING]\n`,
    );
    expect(second.lines.filter(isMsg('forking worker'))).toEqual([]);

    // Garbage, an unknown command and an oversized line get error replies from the real primary.
    const replies = await rawExchange(cluster.controlSocket, `not json\n{"v":1,"id":1,"cmd":"restart"}\n${'x'.repeat(70_000)}`);
    expect(replies.map((r) => r.error?.code)).toEqual(['SW_CONTROL_BAD_REQUEST', 'SW_CONTROL_BAD_REQUEST', 'SW_CONTROL_REQUEST_TOO_LARGE']);
    const status = await json<StatusSnapshot>(cluster, 'status');
    expect(status.primary.pid).toBe(cluster.pid);
    expect(readyIds(status)).toHaveLength(2);
  }, 60_000);

  it('replaces the stale socket of a primary that was killed', async () => {
    const { cluster } = await startCluster();
    cluster.signalGroup('SIGKILL');
    await cluster.exited;
    expect(existsSync(cluster.controlSocket)).toBe(true);
    expect(await cli('status', '--socket', cluster.controlSocket)).toMatchObject({ code: 1, stderr: expect.stringMatching(/\[SW_NOT_RUNNING\]\n$/) });

    const next = run(['start', HTTP, '--workers', '1', '--summary-interval', '0', '--log-format', 'json'], { SMARTWORKERS_CONTROL_SOCKET: cluster.controlSocket });
    await next.waitFor(isMsg('worker ready'), 20_000, 'worker ready');
    const status = await json<StatusSnapshot>({ ...next, controlSocket: cluster.controlSocket }, 'status');
    expect(status.primary.pid).toBe(next.pid);
    const stopped = await cli('stop', '--socket', cluster.controlSocket);
    expect(stopped.code).toBe(0);
    expect((await next.exited).code).toBe(0);
  }, 60_000);

  it('finds the cluster through --config (default socket in the state directory, nothing in the project)', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'workers.yaml');
    writeFileSync(config, `app: ${JSON.stringify(HTTP)}\nworkers: 1\nsummary_interval: 0\nlog_format: json\n`);
    // Not the harness's per-cluster socket: the default location, in a state directory of the test's own.
    const stateDir = tempDir();
    const noSocketEnv = { SMARTWORKERS_CONTROL_SOCKET: undefined, SMARTWORKERS_STATE_DIR: stateDir };
    const cluster = run(['start', '--config', config], noSocketEnv);
    await cluster.waitFor(isMsg('worker ready'), 20_000, 'worker ready');
    expect(readdirSync(dir)).toEqual(['workers.yaml']);
    expect(readdirSync(stateDir).sort()).toEqual([expect.stringMatching(/-[0-9a-f]{10}\.json$/), expect.stringMatching(/-[0-9a-f]{10}\.sock$/)]);
    const status = await cliWithEnv(noSocketEnv, 'status', '--json', '--config', config);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).primary).toMatchObject({ pid: cluster.pid, configSource: config });
    expect((await cliWithEnv(noSocketEnv, 'stop', '--config', config)).code).toBe(0);
    expect((await cluster.exited).code).toBe(0);
  }, 60_000);
});

interface RawReply {
  ok: boolean;
  error?: { code: string; message: string };
}

/** Sends raw bytes on the control socket and collects the replies until the primary closes the connection. */
function rawExchange(socketPath: string, data: string): Promise<RawReply[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received.trim().split('\n').map((line) => JSON.parse(line) as RawReply)));
    socket.write(data);
  });
}
