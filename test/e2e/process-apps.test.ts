/**
 * Process apps end to end: a Python HTTP server and a shell-script worker run as plain child
 * processes under the real CLI — restarted on a crash, replaced start-new-then-stop-old, stopped
 * with their stop signal (then SIGKILL), recycled over a memory ceiling — and a multi-app file
 * whose broken app is given up while the other keeps serving under load.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { python3 } from '../helpers/python';
import { freePort } from '../helpers/net';
import { BIN, type Cluster, cleanup, clientLoad, FIXTURES, get, isMsg, type LogLine, ROOT, run, tempDir } from './harness';

const PROCESS_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'process');
const SERVER_PY = path.join(PROCESS_FIXTURES, 'server.py');
const WORKER_SH = path.join(PROCESS_FIXTURES, 'worker.sh');
const CRASH_PY = path.join(PROCESS_FIXTURES, 'crash.py');

let python = '';
beforeAll(() => {
  python = python3();
});

// Process-app workers run in process groups of their own, outside the primary's: end them too.
const started: Cluster[] = [];
afterEach(async () => {
  for (const cluster of started.splice(0)) {
    // Every worker pid the primary logged leads its group; a fixture's own pid may not (a shim).
    for (const line of cluster.lines) {
      if (typeof line.pid !== 'number' || (typeof line.fixture !== 'string' && typeof line.worker !== 'number')) continue;
      for (const target of [-line.pid, line.pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
  await cleanup();
});

/**
 * GET that tries again on a reset: the fixture's Python servers share the port with SO_REUSEPORT,
 * and a connection queued on a stopping server's socket is reset by the kernel when it closes
 * (documented under Process apps). Only resets are retried, three times at most.
 */
async function getServed(port: number, urlPath: string): ReturnType<typeof get> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await get(port, urlPath);
    } catch (err) {
      if (attempt >= 3 || (err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
    }
  }
}

function start(yaml: string, extra: string[] = []): Cluster {
  const dir = tempDir();
  const file = path.join(dir, 'workers.yaml');
  fs.writeFileSync(file, yaml);
  // The Python found above first on the PATH: `interpreter: python3` and `.py` resolve to it.
  const cluster = run(['start', '--config', file, '--log-format', 'json', '--summary-interval', '0', ...extra], {
    PATH: `${path.dirname(python)}${path.delimiter}${process.env.PATH ?? ''}`,
  });
  started.push(cluster);
  return cluster;
}

function cli(cluster: Cluster, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--socket', cluster.controlSocket], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}


const fixture = (name: string, more: (l: LogLine) => boolean = () => true) => (l: LogLine) => l.fixture === name && more(l);
const indexOf = (cluster: Cluster, predicate: (l: LogLine) => boolean) => cluster.lines.findIndex(predicate);

describe('a Python HTTP server as a process app', () => {
  it('serves, restarts a crashed worker, replaces each worker start-new-then-stop-old, and stops with its stop signal', async () => {
    const port = await freePort();
    const cluster = start(
      [
        'apps:',
        '  - name: py',
        `    app: ${JSON.stringify(SERVER_PY)}`,
        '    workers: 2',
        '    stop_signal: SIGINT',
        `    env: { PORT: "${port}" }`,
        '',
      ].join('\n'),
    );
    const first = await cluster.waitForCount(fixture('listening'), 2, 30_000, '2 Python servers listening');
    await cluster.waitForCount(isMsg('worker ready'), 2, 30_000, '2 workers ready');
    expect(first.map((l) => l.port)).toEqual([port, port]);
    expect((await getServed(port, '/')).body).toMatch(/^ok \d+\n$/);

    // A crash: the slot is restarted.
    const crashed = first[0]!.pid as number;
    await get(port, '/crash').catch(() => undefined); // the worker that took it exits mid-request
    await cluster.waitFor(isMsg('worker crashed'), 30_000, 'worker crashed');
    await cluster.waitForCount(fixture('listening'), 3, 30_000, 'a replacement listening');
    await cluster.waitForCount(isMsg('worker ready'), 3, 30_000, 'the replacement ready');
    const crash = cluster.lines.find(isMsg('worker crashed'))!;
    expect(crash).toMatchObject({ app: 'py', code: 1 });
    expect(crashed === crash.pid || first[1]!.pid === crash.pid).toBe(true);

    // A reload: each new process has started before its predecessor gets SIGINT.
    const reload = await cli(cluster, 'reload');
    expect(reload.code).toBe(0);
    await cluster.waitForCount(fixture('stopping'), 2, 30_000, '2 old servers stopping');
    const stops = cluster.lines.filter(fixture('stopping'));
    expect(stops.map((l) => l.signal)).toEqual(['SIGINT', 'SIGINT']);
    for (const retired of cluster.lines.filter((l) => l.msg === 'worker retiring')) {
      expect(retired.reason).toBe('reload');
      const replacement = cluster.lines.find((l) => l.msg === 'forking replacement' && (l.replaces as { id: number }).id === retired.worker)!;
      const readyAt = indexOf(cluster, (l) => l.msg === 'worker ready' && l.worker === replacement.worker);
      expect(readyAt).toBeGreaterThan(-1);
      expect(readyAt).toBeLessThan(cluster.lines.indexOf(retired)); // the new one started before the old one was signalled
    }
    await cluster.waitForCount(fixture('listening'), 5, 30_000, 'the 2 new servers listening');
    expect((await getServed(port, '/')).status).toBe(200);

    // status: the kind and the command.
    const status = await cli(cluster, 'status', '--json');
    const snapshot = JSON.parse(status.stdout) as StatusSnapshot;
    expect(snapshot.apps[0]).toMatchObject({ name: 'py', kind: 'process', readyWorkers: 2 });
    expect(snapshot.apps[0]!.command).toMatch(/python3 .*server\.py$/);

    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
    expect(cluster.lines.filter(fixture('stopping')).map((l) => l.signal)).toEqual(['SIGINT', 'SIGINT', 'SIGINT', 'SIGINT']);
  });

  it('recycles a server over max_memory (the RSS of its process tree): the new one first', async () => {
    const port = await freePort();
    const cluster = start(
      [
        'apps:',
        '  - name: py',
        `    app: ${JSON.stringify(SERVER_PY)}`,
        '    workers: 1',
        '    max_memory: 100MB',
        '    memory_check_interval: 200ms',
        `    env: { PORT: "${port}" }`,
        '',
      ].join('\n'),
    );
    await cluster.waitFor(isMsg('worker ready'), 30_000, 'worker ready');
    await cluster.waitFor(fixture('listening'), 30_000);
    expect((await get(port, '/grow?mb=150')).status).toBe(200);
    const over = await cluster.waitFor(isMsg('worker over max_memory'), 30_000, 'over max_memory');
    expect(over.rssBytes as number).toBeGreaterThan(100 * 1024 * 1024);
    const stop = await cluster.waitFor(fixture('stopping'), 30_000, 'the old server stopping');
    expect(stop.signal).toBe('SIGTERM'); // the default stop_signal
    // The primary's log line and the server's own line reach stdout through different writers.
    const retired = await cluster.waitFor(isMsg('worker retiring'), 10_000, 'worker retiring');
    expect(retired.reason).toBe('memory');
    const readyAt = indexOf(cluster, (l) => l.msg === 'worker ready' && l.generation === 1);
    expect(readyAt).toBeGreaterThan(-1);
    expect(readyAt).toBeLessThan(cluster.lines.indexOf(retired));
  });

  it('with ready_probe, a worker is ready only once its server answers', async () => {
    const port = await freePort();
    const cluster = start(
      ['apps:', '  - name: py', `    app: ${JSON.stringify(SERVER_PY)}`, '    workers: 1', `    ready_probe: tcp://127.0.0.1:${port}`, `    env: { PORT: "${port}", LISTEN_DELAY_MS: "2500" }`, ''].join('\n'),
    );
    await cluster.waitFor(isMsg('worker ready'), 30_000, 'worker ready');
    // Ordered by time, not by line: the server's line and the primary's reach stdout through different writers.
    const listening = await cluster.waitFor(fixture('listening'), 30_000, 'the server listening');
    expect(listening.listenedAt as number).toBeLessThanOrEqual(cluster.lines.find(isMsg('worker ready'))!.time as number);
    expect((cluster.lines.find(isMsg('worker ready'))!.bootMs as number)).toBeGreaterThanOrEqual(2_500);
  });
});

describe('a shell-script worker as a process app', () => {
  it('is restarted when killed, and SIGKILLed when it ignores its stop signal past graceful_timeout', async () => {
    const cluster = start(
      ['apps:', '  - name: sh', `    app: ${JSON.stringify(WORKER_SH)}`, '    workers: 1', '    graceful_timeout: 1s', '    env: { IGNORE_STOP: "1" }', ''].join('\n'),
    );
    const first = await cluster.waitFor(fixture('started'), 30_000, 'shell worker started');
    await cluster.waitFor(isMsg('worker ready'), 30_000);
    // The whole group, as an OOM kill of the worker would: killing only the shell leaves its `sleep`
    // behind, which the primary then ends and reports (exit code 1 at the stop, by design).
    process.kill(-(first.pid as number), 'SIGKILL');
    await cluster.waitFor(isMsg('worker crashed'), 30_000);
    const second = (await cluster.waitForCount(fixture('started'), 2, 30_000, 'restarted'))[1]!;
    expect(second.pid).not.toBe(first.pid);
    await cluster.waitForCount(isMsg('worker ready'), 2, 30_000);

    const stopping = Date.now();
    cluster.signal('SIGTERM');
    const ignored = await cluster.waitFor(fixture('ignored'), 30_000, 'the stop signal reaching the script');
    expect(ignored.signal).toBe('SIGTERM');
    await cluster.waitFor(isMsg('worker did not exit in time: SIGKILL'), 30_000);
    const { code } = await cluster.exited;
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(1_000);
    expect(code).toBe(0);
  });
});

describe('one broken app never takes the others down', () => {
  // A loaded machine (the whole suite beside other work) can take long to run 6 boot attempts.
  it('gives the broken app up while the other serves under load with 0 failed requests; status, /readyz and /metrics say so', { timeout: 240_000 }, async () => {
    const cluster = start(
      [
        'status:',
        '  listen: 127.0.0.1:0',
        'apps:',
        '  - name: web',
        `    app: ${JSON.stringify(path.join(FIXTURES, 'http.cjs'))}`,
        '    workers: 2',
        '  - name: broken',
        `    app: ${JSON.stringify(CRASH_PY)}`,
        '    workers: 2',
        '',
      ].join('\n'),
    );
    const socket = await cluster.waitFor(isMsg('control socket ready'), 30_000);
    const statusUrl = socket.statusUrl as string;
    const port = await cluster.port();
    await cluster.waitForCount((l) => l.msg === 'worker ready' && l.app === 'web', 2, 30_000, 'web ready');
    const loadRun = clientLoad(port, { connections: 10 });
    await cluster.waitFor((l) => typeof l.msg === 'string' && l.msg.includes("no worker of app 'broken' could boot; giving it up"), 150_000, 'broken given up');
    // Keep the load on a little past the give-up.
    const servedAtGiveUp = loadRun.ok();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (loadRun.ok() > servedAtGiveUp + 200) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    const result = await loadRun.stop();
    expect(result).toMatchObject({ failed: 0, refused: 0 });
    expect(result.ok).toBeGreaterThan(200);
    expect(cluster.stderr()).toContain('crash.py: cannot connect to the broker');
    expect(cluster.child.exitCode).toBeNull();

    const table = await cli(cluster, 'status');
    expect(table.stdout).toMatch(/app broken: process · 0\/2 ready · .*crash\.py\n  FAILED: no worker of app 'broken' could boot; giving it up after 6 attempts; the other apps keep running \(last worker: exit code 1\)/);
    expect(table.stdout).toMatch(/app web: cluster · 2\/2 ready · node .*http\.cjs/);
    const readyz = await fetch(`${statusUrl}/readyz`);
    expect(readyz.status).toBe(503);
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/^smartworkers_app_failed\{app="broken"\} 1$/m);
    expect(metrics).toMatch(/^smartworkers_app_failed\{app="web"\} 0$/m);
    expect(metrics).toMatch(/^smartworkers_apps_failed_total 1$/m);
    expect(metrics).toMatch(/^smartworkers_app_info\{app="broken",kind="process",command=".*crash\.py"\} 1$/m);

    cluster.signal('SIGTERM');
    expect((await cluster.exited).code).toBe(0);
  });

  it('exits 3 when no app of a multi-app file could boot', async () => {
    const cluster = start(
      ['apps:', '  - name: a', `    app: ${JSON.stringify(CRASH_PY)}`, '    workers: 1', '  - name: b', `    app: ${JSON.stringify(path.join(FIXTURES, 'boot-fail.cjs'))}`, '    workers: 1', ''].join('\n'),
    );
    expect((await cluster.exited).code).toBe(3);
    expect(cluster.lines.some(isMsg('no app could boot: stopping'))).toBe(true);
  });
});
