import { mkdtemp, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendCommand, stopCluster } from '../../src/control/client';
import { MAX_REQUEST_BYTES } from '../../src/control/protocol';
import { startControlServer, type ControlServer } from '../../src/control/server';
import { SmartworkersError } from '../../src/errors';
import { FakeControl, makeSnapshot } from './fake-control';
import { openIdleConnections } from './idle-connections';

let dir: string;
const servers: ControlServer[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sw-ctl-'));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function start(control = new FakeControl(), socketPath = path.join(dir, 'run', 'ctl.sock')): Promise<{ server: ControlServer; control: FakeControl }> {
  const server = await startControlServer({ socketPath, control });
  servers.push(server);
  return { server, control };
}

/** A raw connection: send bytes, read reply lines, see when the server closes. */
class RawClient {
  private buffer = '';
  private waiting: Array<(line: string) => void> = [];
  private lines: string[] = [];
  readonly socket: net.Socket;
  readonly closed: Promise<void>;

  constructor(socketPath: string) {
    this.socket = net.connect(socketPath);
    this.socket.setEncoding('utf8');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) !== -1) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        const waiter = this.waiting.shift();
        if (waiter) waiter(line);
        else this.lines.push(line);
      }
    });
    this.closed = once(this.socket, 'close').then(() => undefined);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  async reply(): Promise<{ v: number; id: unknown; ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
    const line = this.lines.shift() ?? (await new Promise<string>((resolve) => this.waiting.push(resolve)));
    return JSON.parse(line);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

describe('control server: the socket file', () => {
  it('creates the socket 0600 inside a new 0700 directory', async () => {
    const socketPath = path.join(dir, 'nested', 'run', 'ctl.sock');
    await start(new FakeControl(), socketPath);
    expect((await stat(socketPath)).isSocket()).toBe(true);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(socketPath))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, 'nested'))).mode & 0o777).toBe(0o700);
  });

  it('puts a managed directory back to 0700 and leaves a directory the user chose alone', async () => {
    const managed = path.join(dir, '.smartworkers');
    await mkdir(managed, { mode: 0o755 });
    await chmod(managed, 0o755);
    await start(new FakeControl(), path.join(managed, 'a.sock'));
    expect((await stat(managed)).mode & 0o777).toBe(0o700);

    const chosen = path.join(dir, 'chosen');
    await mkdir(chosen);
    await chmod(chosen, 0o755);
    await start(new FakeControl(), path.join(chosen, 'b.sock'));
    expect((await stat(chosen)).mode & 0o777).toBe(0o755);
    expect((await stat(path.join(chosen, 'b.sock'))).mode & 0o777).toBe(0o600);
  });

  it('removes the socket file on close', async () => {
    const { server } = await start();
    await server.close();
    expect(existsSync(server.socketPath)).toBe(false);
    await expect(sendCommand(server.socketPath, 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });
  });

  it('replaces a stale socket left by a dead primary', async () => {
    const socketPath = path.join(dir, 'stale.sock');
    // A primary killed with SIGKILL leaves its socket file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.stdout.write('listening'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect((await stat(socketPath)).isSocket()).toBe(true);
    await expect(sendCommand(socketPath, 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });

    const { control } = await start(new FakeControl(), socketPath);
    const snapshot = await sendCommand(socketPath, 'status', {}, 2000);
    expect(snapshot).toEqual(control.current);
  });

  it('refuses to start a second cluster on a live socket', async () => {
    const { server } = await start();
    const second = startControlServer({ socketPath: server.socketPath, control: new FakeControl() });
    await expect(second).rejects.toBeInstanceOf(SmartworkersError);
    await expect(second).rejects.toMatchObject({ code: 'SW_ALREADY_RUNNING', message: expect.stringContaining(server.socketPath) });
    // the first one still serves
    expect((await sendCommand(server.socketPath, 'status', {}, 2000)).primary.pid).toBe(4100);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const socketPath = path.join(dir, 'plain');
    await writeFile(socketPath, 'keep me');
    await expect(startControlServer({ socketPath, control: new FakeControl() })).rejects.toMatchObject({ code: 'SW_CONTROL_SOCKET' });
  });

  it('refuses a path too long for a Unix socket', async () => {
    const socketPath = path.join(dir, 'x'.repeat(120), 'ctl.sock');
    await expect(startControlServer({ socketPath, control: new FakeControl() })).rejects.toMatchObject({
      code: 'SW_CONTROL_SOCKET',
      message: expect.stringMatching(/longer than the \d+ a Unix socket allows/),
    });
  });
});

describe('control server: requests', () => {
  it('answers every command and passes its arguments to the cluster', async () => {
    const { server, control } = await start();
    control.tasks = [{ id: 't1', type: 'email', startedAt: 1000, app: 'api', workerId: 1, slot: 0, pid: 4101 }];
    const socket = server.socketPath;
    expect(await sendCommand(socket, 'status', {}, 2000)).toEqual(makeSnapshot());
    const tasks = await sendCommand(socket, 'tasks', {}, 2000);
    expect(tasks.tasks).toEqual(control.tasks);
    expect(typeof tasks.now).toBe('number');
    expect(await sendCommand(socket, 'reload', { app: 'api', wait: false }, 2000)).toEqual({ ok: true, message: 'done' });
    await sendCommand(socket, 'reload', {}, 2000);
    await sendCommand(socket, 'recycle', { app: 'api', slot: 1, force: true }, 2000);
    await sendCommand(socket, 'recycle', { slot: 'all' }, 2000);
    await sendCommand(socket, 'scale', { delta: -1, wait: false }, 2000);
    await sendCommand(socket, 'scale', { app: 'api', absolute: 3 }, 2000);
    expect(control.actions()).toEqual([
      { method: 'listTasks' },
      { method: 'reload', app: 'api', wait: false },
      { method: 'reload', app: undefined, wait: true },
      { method: 'recycle', target: { app: 'api', slot: 1 }, force: true, wait: true },
      { method: 'recycle', target: { slot: 'all' }, force: false, wait: true },
      { method: 'scale', spec: { delta: -1 }, wait: false },
      { method: 'scale', spec: { app: 'api', absolute: 3 }, wait: true },
    ]);
  });

  it('answers several requests on one connection in order, and a request split across packets', async () => {
    const { server } = await start();
    const client = new RawClient(server.socketPath);
    client.send('{"v":1,"id":"a","cmd":"status"}\n{"v":1,"id":"b","cmd":"rel');
    const first = await client.reply();
    expect(first).toMatchObject({ id: 'a', ok: true });
    client.send('oad","args":{"wait":false}}\r\n');
    expect(await client.reply()).toEqual({ v: 1, id: 'b', ok: true, result: { ok: true, message: 'done' } });
    client.destroy();
  });

  it('answers garbage, unknown commands and bad arguments with errors and keeps the connection', async () => {
    const { server } = await start();
    const client = new RawClient(server.socketPath);
    client.send('this is not json\n');
    expect(await client.reply()).toMatchObject({ v: 1, id: null, ok: false, error: { code: 'SW_CONTROL_BAD_REQUEST', message: expect.stringMatching(/not valid JSON/) } });
    client.send('{"v":1,"id":7,"cmd":"explode"}\n');
    expect(await client.reply()).toMatchObject({ id: 7, ok: false, error: { code: 'SW_CONTROL_BAD_REQUEST', message: expect.stringMatching(/unknown command "explode"; expected one of status, tasks/) } });
    client.send('{"v":1,"id":8,"cmd":"recycle","args":{"slot":"three"}}\n');
    expect(await client.reply()).toMatchObject({ id: 8, ok: false, error: { message: expect.stringMatching(/'slot' to be a whole number/) } });
    client.send('\n\n{"v":1,"id":9,"cmd":"status"}\n');
    expect(await client.reply()).toMatchObject({ id: 9, ok: true });
    client.destroy();
  });

  it('refuses an oversized line, closes that connection, and serves the next client', async () => {
    const { server } = await start();
    const client = new RawClient(server.socketPath);
    client.send(`{"v":1,"id":1,"cmd":"status","pad":"${'x'.repeat(MAX_REQUEST_BYTES)}`); // no newline yet
    expect(await client.reply()).toMatchObject({ id: null, ok: false, error: { code: 'SW_CONTROL_REQUEST_TOO_LARGE', message: expect.stringMatching(/longer than 65536 bytes/) } });
    await client.closed;

    const longWithNewline = new RawClient(server.socketPath);
    longWithNewline.send(`${'y'.repeat(MAX_REQUEST_BYTES + 10)}\n`);
    expect(await longWithNewline.reply()).toMatchObject({ error: { code: 'SW_CONTROL_REQUEST_TOO_LARGE' } });
    await longWithNewline.closed;

    expect((await sendCommand(server.socketPath, 'status', {}, 2000)).version).toBe(1);
  });

  it('answers a request sent just before the client half-closes', async () => {
    const { server } = await start();
    const client = new RawClient(server.socketPath);
    client.socket.end('{"v":1,"id":1,"cmd":"status"}\n');
    expect(await client.reply()).toMatchObject({ id: 1, ok: true });
    await client.closed;
  });

  it('turns a failing action into an error reply, with the catalogue code when there is one', async () => {
    const { server, control } = await start();
    control.actionResult = () => {
      throw new SmartworkersError('SW_USAGE', 'no app named "web"; apps: api');
    };
    await expect(sendCommand(server.socketPath, 'reload', { app: 'web' }, 2000)).rejects.toMatchObject({
      code: 'SW_USAGE',
      message: 'no app named "web"; apps: api',
    });
    control.actionResult = () => {
      throw new Error('slot 9 does not exist');
    };
    await expect(sendCommand(server.socketPath, 'recycle', { slot: 9 }, 2000)).rejects.toMatchObject({
      code: 'SW_CONTROL_ACTION_FAILED',
      message: 'slot 9 does not exist',
    });
    control.actionResult = () => ({ ok: false, message: 'scale refused: the cluster is stopping' });
    expect(await sendCommand(server.socketPath, 'scale', { absolute: 1 }, 2000)).toEqual({ ok: false, message: 'scale refused: the cluster is stopping' });
  });

  it('keeps serving while a slow action is in flight on another connection', async () => {
    const { server, control } = await start();
    let finish!: () => void;
    control.actionResult = () => new Promise((resolve) => (finish = () => resolve({ ok: true, message: 'reloaded' })));
    const slow = sendCommand(server.socketPath, 'reload', {}, 0);
    await expect(sendCommand(server.socketPath, 'status', {}, 2000)).resolves.toMatchObject({ version: 1 });
    finish();
    await expect(slow).resolves.toEqual({ ok: true, message: 'reloaded' });
  });
});

describe('control client', () => {
  it('says no cluster is running when the socket does not exist', async () => {
    const socketPath = path.join(dir, 'nobody.sock');
    const error = await sendCommand(socketPath, 'status', {}, 2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmartworkersError);
    expect((error as SmartworkersError).toLine()).toBe(`smartworkers: no cluster is running at ${socketPath} [SW_NOT_RUNNING]`);
  });

  it('times out when the cluster does not answer', async () => {
    const socketPath = path.join(dir, 'mute.sock');
    const mute = net.createServer(() => {});
    await new Promise<void>((resolve) => mute.listen(socketPath, resolve));
    try {
      await expect(sendCommand(socketPath, 'status', {}, 200)).rejects.toMatchObject({ code: 'SW_CONTROL_NO_REPLY', message: expect.stringMatching(/within 0.2s/) });
    } finally {
      mute.close();
    }
  });

  it('reports a connection closed before the reply', async () => {
    const socketPath = path.join(dir, 'rude.sock');
    const rude = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => rude.listen(socketPath, resolve));
    try {
      await expect(sendCommand(socketPath, 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_CONTROL_NO_REPLY' });
    } finally {
      rude.close();
    }
  });

  it('stop waits until the primary closes the connection', async () => {
    const { server, control } = await start();
    control.actionResult = () => ({ ok: true, message: 'stopping 2 workers' });
    control.onStop = () => void server.close();
    const outcome = await stopCluster(server.socketPath, true, { timeoutMs: 2000, waitForExit: true, exitTimeoutMs: 0 });
    expect(outcome).toEqual({ result: { ok: true, message: 'stopping 2 workers' }, exited: true });
    expect(control.actions()).toEqual([{ method: 'stop', force: true }]);
  });
});

describe('control server: idle connections cannot lock the CLI out', () => {
  it('answers status, reload and stop with 1,000 idle connections open, evicting the oldest idle ones', async () => {
    const { server, control } = await start();
    const idle = await openIdleConnections(server.socketPath, 1000);
    expect(idle.opened).toBe(1000);
    try {
      expect((await sendCommand(server.socketPath, 'status', {}, 5000)).version).toBe(1);
      expect(await sendCommand(server.socketPath, 'reload', {}, 5000)).toEqual({ ok: true, message: 'done' });
      const stopping = stopCluster(server.socketPath, false, { timeoutMs: 5000, waitForExit: false, exitTimeoutMs: 0 });
      await expect(stopping).resolves.toMatchObject({ result: { ok: true } });
      expect(control.actions().map((a) => a.method)).toEqual(['reload', 'stop']);
      // The server kept at most 64 of them: the others were closed, oldest first.
      await expect.poll(() => idle.closedByServer(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1000 - 64);
    } finally {
      idle.stop();
    }
  }, 30_000);

  it('keeps a connection busy with a command, and closes idle and too-slow ones on its timeouts', async () => {
    const control = new FakeControl();
    let finish!: () => void;
    control.actionResult = () => new Promise((resolve) => (finish = () => resolve({ ok: true, message: 'reloaded' })));
    const socketPath = path.join(dir, 'short.sock');
    const server = await startControlServer({ socketPath, control, maxConnections: 4, idleTimeoutMs: 200, requestTimeoutMs: 200 });
    servers.push(server);
    const slow = sendCommand(socketPath, 'reload', {}, 0); // busy: never evicted, never timed out

    const silent = new RawClient(socketPath);
    await silent.closed; // idle past 200 ms

    const dribbler = new RawClient(socketPath);
    dribbler.send('{"v":1,');
    const dribble = setInterval(() => dribbler.send(' '), 50); // never idle, never a whole line
    await dribbler.closed;
    clearInterval(dribble);

    const crowd = Array.from({ length: 8 }, () => new RawClient(socketPath));
    await Promise.all(crowd.slice(0, 4).map((c) => c.closed)); // the oldest idle ones made room
    expect((await sendCommand(socketPath, 'status', {}, 2000)).version).toBe(1);
    finish();
    await expect(slow).resolves.toEqual({ ok: true, message: 'reloaded' });
    for (const c of crowd) c.destroy();
  });
});
