/**
 * The operate commands (src/cli/commands) through a commander program of their own, against
 * a real control socket served from a fake cluster.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerOperateCommands } from '../../src/cli/commands';
import { watchStatus } from '../../src/cli/commands/status';
import type { CommandIO } from '../../src/cli/commands/io';
import { startControlServer, type ControlServer } from '../../src/control/server';
import { FakeControl, makeSnapshot, makeWorker } from './fake-control';

let dir: string;
let server: ControlServer;
let control: FakeControl;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sw-cli-'));
  control = new FakeControl();
  server = await startControlServer({ socketPath: path.join(dir, 'ctl.sock'), control });
});

afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | undefined;
}

function captureIO(outcome: Outcome, onWrite?: (text: string) => void): CommandIO {
  return {
    stdout: {
      write: (text: string) => {
        outcome.stdout += text;
        onWrite?.(text);
      },
    },
    stderr: { write: (text: string) => (outcome.stderr += text) },
    cwd: dir,
    env: {},
  };
}

async function cli(...args: string[]): Promise<Outcome> {
  const outcome: Outcome = { stdout: '', stderr: '', code: undefined };
  const program = new Command('smartworkers').exitOverride();
  registerOperateCommands(program, { io: captureIO(outcome), setExitCode: (code) => (outcome.code = code) });
  await program.parseAsync(['node', 'smartworkers', ...args]);
  return outcome;
}

/** Runs a command against the test's socket. */
function op(...args: string[]): Promise<Outcome> {
  return cli(...args, '--socket', server.socketPath);
}

describe('status', () => {
  it('--json prints the status document', async () => {
    const { stdout, stderr, code } = await op('status', '--json');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout)).toEqual(makeSnapshot());
  });

  it('prints a readable table of the primary, every worker and the totals', async () => {
    control.current.workers.push(makeWorker({ id: 3, slot: 0, pid: 4103, state: 'waiting-for-tasks', retireReason: 'max_requests' }));
    const { stdout, code } = await op('status');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('primary 4100 · running · up 3m12s · node v20.20.2 · rss 45.0 MiB');
    expect(lines[1]).toBe('config /srv/app/workers.yaml');
    expect(lines[3]).toMatch(/^APP\s+SLOT\s+ID\s+PID\s+GEN\s+STATE\s+UPTIME\s+SERVED\s+IN-FLIGHT\s+STREAMS\s+WS\s+IDLE\s+TASKS\s+RSS\s+CPU\s+LOOP\s+HEARTBEAT\s+RESTARTS$/);
    expect(lines[4]).toMatch(/^api\s+0\s+1\s+4101\s+1\s+ready\s+1m01s\s+1234\/10000\s+3\s+0\s+0\s+2\s+2 \(email 2\)\s+80\.0 MiB\s+3\.5%\s+1\.2ms\s+400ms\s+0$/);
    expect(lines[5]).toMatch(/^api\s+0\s+3\s+4103\s+1\s+waiting-for-tasks \(max_requests\)/);
    expect(lines[6]).toMatch(/^api\s+1\s+2\s+4102\s+.*\s+-\s+-\s+-\s+-\s+0$/);
    expect(stdout).not.toMatch(/exited/);
    expect(stdout).toContain('app api: cluster · 2/2 ready · /srv/app/server.js');
    expect(stdout).toContain('tasks: 120 started · 110 completed · 3 failed · 4 cancelled · 1 lost · active: email 2');
    expect(stdout).toContain('recycles: max_requests 3 · memory 1 · reload 2 · 2 waited on tasks (4.1s in total)');
    expect(stdout).toContain('requests served: 123456');
    expect(stdout).not.toContain('stopped');
  });

  it('says which slots are left empty, and why', async () => {
    control.current.apps[0] = { ...control.current.apps[0]!, readyWorkers: 1, stoppedSlots: [{ slot: 1, reason: 'max_restarts' }] };
    const { stdout, code } = await op('status');
    expect(code).toBe(0);
    expect(stdout).toContain('app api: cluster · 1/2 ready · /srv/app/server.js\n  slot 1 stopped (max_restarts reached) until the next reload\n');
  });

  it('shows each app\'s kind and command, and an app given up with its error', async () => {
    control.current.apps[0] = {
      ...control.current.apps[0]!,
      kind: 'process',
      command: '/usr/bin/python3 -u /srv/worker.py',
      readyWorkers: 0,
      stoppedSlots: [{ slot: 0, reason: 'boot_failed' }, { slot: 1, reason: 'boot_failed' }],
      failure: "no worker of app 'api' could boot; giving it up after 6 attempts; the other apps keep running (last worker: exit code 1)",
    };
    const { stdout, code } = await op('status');
    expect(code).toBe(0);
    expect(stdout).toContain(
      "app api: process · 0/2 ready · /usr/bin/python3 -u /srv/worker.py\n  FAILED: no worker of app 'api' could boot; giving it up after 6 attempts; the other apps keep running (last worker: exit code 1); `smartworkers reload api` tries again\ntasks:",
    );
  });

  it('--watch redraws in place until stopped', async () => {
    const outcome: Outcome = { stdout: '', stderr: '', code: undefined };
    const controller = new AbortController();
    let frames = 0;
    const io = captureIO(outcome, (text) => {
      if (text.includes('primary 4100') && ++frames === 3) controller.abort();
    });
    const code = await watchStatus({ socket: server.socketPath }, io, { intervalMs: 10, signal: controller.signal });
    expect(code).toBe(0);
    expect(frames).toBe(3);
    expect(outcome.stdout.startsWith('\x1b[?25l\x1b[2J')).toBe(true);
    expect(outcome.stdout.split('\x1b[H').length - 1).toBe(3);
    expect(outcome.stdout).toContain('smartworkers status · ');
    expect(outcome.stdout).toContain('\x1b[K\n');
    expect(outcome.stdout.endsWith('\x1b[J\x1b[?25h')).toBe(true);
  });

  it('--watch --json prints one document per line', async () => {
    const outcome: Outcome = { stdout: '', stderr: '', code: undefined };
    const controller = new AbortController();
    const io = captureIO(outcome, () => {
      if (outcome.stdout.split('\n').length > 2) controller.abort();
    });
    await watchStatus({ socket: server.socketPath, json: true }, io, { intervalMs: 10, signal: controller.signal });
    const lines = outcome.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(JSON.parse(line)).toEqual(makeSnapshot());
  });

  it('--watch shows a cluster that went away and keeps trying', async () => {
    await server.close();
    const outcome: Outcome = { stdout: '', stderr: '', code: undefined };
    const controller = new AbortController();
    const io = captureIO(outcome, (text) => {
      if (text.includes('SW_NOT_RUNNING')) controller.abort();
    });
    const code = await watchStatus({ socket: server.socketPath }, io, { intervalMs: 10, signal: controller.signal });
    expect(code).toBe(0);
    expect(outcome.stdout).toContain(`smartworkers: no cluster is running at ${server.socketPath} [SW_NOT_RUNNING]`);
    expect(outcome.stdout).toContain('retrying every 10ms');
  });

  it('finds the socket through --config', async () => {
    const config = path.join(dir, 'workers.yaml');
    await writeFile(config, 'control:\n  socket: ctl.sock\n');
    const { stdout, code } = await cli('status', '--json', '--config', config);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).primary.pid).toBe(4100);
  });
});

describe('tasks', () => {
  beforeEach(() => {
    const now = Date.now();
    control.tasks = [
      { id: 't-1', type: 'email', description: 'welcome a@b.c', startedAt: now - 2000, estimatedMs: 10_000, app: 'api', workerId: 1, slot: 0, pid: 4101 },
      { id: 't-2', type: 'report', startedAt: now - 90_000, estimatedMs: 60_000, app: 'api', workerId: 2, slot: 1, pid: 4102 },
      { id: 't-3', type: 'sms', startedAt: now - 500, app: 'api', workerId: 2, slot: 1, pid: null },
    ];
  });

  it('--json lists every task with its running time and overdue flag, longest first', async () => {
    const { stdout, code } = await op('tasks', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { now: number; tasks: Array<Record<string, unknown>> };
    expect(result.tasks.map((t) => [t.id, t.overdue])).toEqual([
      ['t-2', true],
      ['t-1', false],
      ['t-3', false],
    ]);
    expect(result.tasks[0]).toMatchObject({ app: 'api', workerId: 2, slot: 1, pid: 4102, type: 'report', estimatedMs: 60_000 });
    expect(result.tasks[0].runningMs).toBeGreaterThanOrEqual(90_000);
  });

  it('prints a table with a flag on tasks past their estimate', async () => {
    const { stdout } = await op('tasks');
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^APP\s+SLOT\s+WORKER\s+PID\s+TASK\s+TYPE\s+RUNNING\s+ESTIMATE\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^api\s+1\s+2\s+4102\s+t-2\s+report\s+1m3\ds\s+1m00s OVERDUE$/);
    expect(lines[2]).toMatch(/^api\s+0\s+1\s+4101\s+t-1\s+email\s+2\.\ds\s+10\.0s\s+welcome a@b\.c$/);
    expect(lines[3]).toMatch(/^api\s+1\s+2\s+-\s+t-3\s+sms\s+\d+ms\s+-$/);
    expect(lines.at(-1)).toBe('3 active tasks, 1 past the estimate');
  });

  it('says when there are none', async () => {
    control.tasks = [];
    expect((await op('tasks')).stdout).toBe('no active tasks\n');
  });
});

describe('actions', () => {
  it('reload [app] [--no-wait]', async () => {
    control.actionResult = () => ({ ok: true, message: 'reloaded 2 workers of api in 1.2s', details: { retired: [1, 2] } });
    const waited = await op('reload', '--json');
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout)).toEqual({ ok: true, message: 'reloaded 2 workers of api in 1.2s', details: { retired: [1, 2] } });
    const begun = await op('reload', 'api', '--no-wait');
    expect(begun.stdout).toBe('reloaded 2 workers of api in 1.2s\n');
    expect(control.actions()).toEqual([
      { method: 'reload', app: undefined, wait: true },
      { method: 'reload', app: 'api', wait: false },
    ]);
  });

  it('recycle <slot|all|app:slot> [--force] [--no-wait]', async () => {
    expect((await op('recycle', '1', '--json')).code).toBe(0);
    await op('recycle', 'all', '--force');
    await op('recycle', 'api:0', '--no-wait');
    await op('recycle', 'api:all');
    expect(control.actions()).toEqual([
      { method: 'recycle', target: { slot: 1 }, force: false, wait: true },
      { method: 'recycle', target: { slot: 'all' }, force: true, wait: true },
      { method: 'recycle', target: { app: 'api', slot: 0 }, force: false, wait: false },
      { method: 'recycle', target: { app: 'api', slot: 'all' }, force: false, wait: true },
    ]);
    const bad = await op('recycle', 'first');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('smartworkers: Expected the recycle target to be <slot>, all, <app>:<slot> or <app>:all, got "first" [SW_USAGE]\n');
  });

  it('scale <N|+K|-K> [--app name] and scale <app> <N>', async () => {
    await op('scale', '4');
    await op('scale', '+2', '--no-wait');
    await op('scale', '-1');
    await op('scale', '3', '--app', 'api');
    await op('scale', 'api', '-2');
    expect(control.actions()).toEqual([
      { method: 'scale', spec: { absolute: 4 }, wait: true },
      { method: 'scale', spec: { delta: 2 }, wait: false },
      { method: 'scale', spec: { delta: -1 }, wait: true },
      { method: 'scale', spec: { app: 'api', absolute: 3 }, wait: true },
      { method: 'scale', spec: { app: 'api', delta: -2 }, wait: true },
    ]);
    for (const args of [['many'], ['+0'], ['api', '2', '--app', 'web']]) {
      const bad = await op('scale', ...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/\[SW_USAGE\]\n$/);
    }
  });

  it('stop waits until the cluster has gone, unless --no-wait', async () => {
    control.actionResult = () => ({ ok: true, message: 'stopping: 2 workers draining' });
    const begun = await op('stop', '--no-wait', '--json');
    expect(JSON.parse(begun.stdout)).toEqual({ ok: true, message: 'stopping: 2 workers draining' });

    control.onStop = () => void server.close();
    const stopped = await op('stop', '--force');
    expect(stopped).toEqual({ code: 0, stderr: '', stdout: 'stopping: 2 workers draining; the cluster has stopped\n' });
    expect(control.actions()).toEqual([
      { method: 'stop', force: false },
      { method: 'stop', force: true },
    ]);
  });

  it('exits 1 with the message when the cluster reports the action failed', async () => {
    control.actionResult = () => ({ ok: false, message: 'recycle refused: slot 7 does not exist (slots 0-1)' });
    const failed = await op('recycle', '7');
    expect(failed).toEqual({ code: 1, stdout: '', stderr: 'smartworkers: recycle refused: slot 7 does not exist (slots 0-1)\n' });
    const asJson = await op('recycle', '7', '--json');
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stdout).ok).toBe(false);
  });
});

describe('no cluster running', () => {
  it('every command exits 1 with one line naming the socket', async () => {
    const socketPath = path.join(dir, 'nobody', 'ctl.sock');
    const commands = [['status'], ['status', '--json'], ['tasks'], ['reload'], ['recycle', 'all'], ['scale', '+1'], ['stop']];
    for (const command of commands) {
      const outcome = await cli(...command, '--socket', socketPath);
      expect(outcome, command.join(' ')).toEqual({
        code: 1,
        stdout: '',
        stderr: `smartworkers: no cluster is running at ${socketPath} [SW_NOT_RUNNING]\n`,
      });
    }
  });
});
