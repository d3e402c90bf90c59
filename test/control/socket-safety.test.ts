/**
 * Control socket impersonation: a fake socket put where the CLI looks for the cluster's must get
 * nothing from the CLI — not `stop`, not `status`. Real sockets, real modes and owners (the
 * suite runs as root here; a socket chown'ed to `nobody` (65534) stands for another user's).
 */
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendCommand, stopCluster } from '../../src/control/client';
import { startControlServer, type ControlServer } from '../../src/control/server';
import { checkSocketDirectory, chmodDirectoryNoFollow } from '../../src/control/socket-safety';
import { FakeControl } from './fake-control';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let dir: string;
const closers: Array<() => Promise<void> | void> = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sw-safety-'));
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await rm(dir, { recursive: true, force: true });
});

/** A fake cluster: answers every line with success, and counts what it was sent. */
async function fakeCluster(socketPath: string): Promise<{ connections: number; received: string }> {
  const seen = { connections: 0, received: '' };
  const server = net.createServer((socket) => {
    seen.connections += 1;
    socket.on('data', (chunk) => {
      seen.received += chunk.toString();
      socket.write('{"v":1,"id":1,"ok":true,"result":{"ok":true,"message":"stopped"}}\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return seen;
}

async function startReal(socketPath: string): Promise<ControlServer> {
  const server = await startControlServer({ socketPath, control: new FakeControl() });
  closers.push(() => server.close());
  return server;
}

describe('the CLI checks the socket before it sends anything', () => {
  it.runIf(isRoot)("refuses a socket owned by another user (uid 65534), and the fake gets nothing", async () => {
    const socketPath = path.join(dir, 'ctl.sock');
    const fake = await fakeCluster(socketPath);
    await chown(socketPath, NOBODY, NOBODY);
    await expect(stopCluster(socketPath, false, { timeoutMs: 2000, waitForExit: true, exitTimeoutMs: 2000 })).rejects.toMatchObject({
      code: 'SW_CONTROL_SOCKET',
      message: expect.stringContaining(`belongs to uid ${NOBODY}, not to this user (uid 0) or root`),
    });
    await expect(sendCommand(socketPath, 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_CONTROL_SOCKET' });
    expect(fake).toEqual({ connections: 0, received: '' });
  });

  it('refuses a symlink in place of the socket, even one pointing to a real cluster', async () => {
    const real = await startReal(path.join(dir, 'real', 'ctl.sock'));
    const linked = path.join(dir, 'link.sock');
    await symlink(real.socketPath, linked);
    await expect(sendCommand(linked, 'status', {}, 2000)).rejects.toMatchObject({
      code: 'SW_CONTROL_SOCKET',
      message: expect.stringContaining('is a symbolic link; refusing to follow it'),
    });
    expect((await sendCommand(real.socketPath, 'status', {}, 2000)).version).toBe(1);
  });

  it('refuses a socket in a directory other users can write, sticky or not', async () => {
    for (const mode of [0o777, 0o1777, 0o770]) {
      const shared = path.join(dir, `shared-${mode.toString(8)}`);
      await mkdir(shared);
      const socketPath = path.join(shared, 'ctl.sock');
      const fake = await fakeCluster(socketPath);
      await chmod(shared, mode);
      await expect(sendCommand(socketPath, 'stop', {}, 2000), mode.toString(8)).rejects.toMatchObject({
        code: 'SW_CONTROL_SOCKET',
        message: expect.stringContaining(`is writable by other users (mode ${mode.toString(8).padStart(4, '0')})`),
      });
      expect(fake.connections).toBe(0);
    }
  });

  it.runIf(isRoot)('refuses a directory owned by another user, and a non-sticky writable directory above', async () => {
    const theirs = path.join(dir, 'theirs');
    await mkdir(theirs, { mode: 0o755 });
    const fake = await fakeCluster(path.join(theirs, 'ctl.sock'));
    await chown(theirs, NOBODY, NOBODY);
    await expect(sendCommand(path.join(theirs, 'ctl.sock'), 'status', {}, 2000)).rejects.toMatchObject({
      message: expect.stringContaining(`belongs to uid ${NOBODY}`),
    });

    const open = path.join(dir, 'open');
    await mkdir(path.join(open, 'mine'), { recursive: true, mode: 0o700 });
    await chmod(open, 0o777);
    expect(() => checkSocketDirectory(path.join(open, 'mine'))).toThrow(/above the control socket .* writable by other users and not sticky \(mode 0777\)/);
    await chmod(open, 0o1777); // sticky, like /tmp: our own 0700 directory inside it is fine
    expect(() => checkSocketDirectory(path.join(open, 'mine'))).not.toThrow();
    expect(fake.connections).toBe(0);
  });

  it('says nothing runs when the socket or its directory is missing', async () => {
    await expect(sendCommand(path.join(dir, 'no', 'ctl.sock'), 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });
    await expect(sendCommand(path.join(dir, 'ctl.sock'), 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });
  });
});

describe('the primary refuses an unsafe socket directory', () => {
  it('refuses a world-writable directory, and sticky /tmp itself', async () => {
    const shared = path.join(dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    await expect(startControlServer({ socketPath: path.join(shared, 'ctl.sock'), control: new FakeControl() })).rejects.toMatchObject({
      code: 'SW_CONTROL_SOCKET',
      message: expect.stringMatching(/shared is writable by other users \(mode 0777\); .*put control.socket in a directory owned by you/),
    });
    if ((await stat('/tmp')).mode & 0o1000) {
      await expect(startControlServer({ socketPath: `/tmp/sw-test-${process.pid}.sock`, control: new FakeControl() })).rejects.toMatchObject({
        code: 'SW_CONTROL_SOCKET',
        message: expect.stringContaining('control socket directory /tmp is writable by other users (mode 1777)'),
      });
    }
  });

  it('accepts its own 0700 directory inside a sticky world-writable one', async () => {
    const sticky = path.join(dir, 'sticky');
    await mkdir(sticky);
    await chmod(sticky, 0o1777);
    const server = await startReal(path.join(sticky, 'mine', 'ctl.sock'));
    expect((await stat(path.dirname(server.socketPath))).mode & 0o777).toBe(0o700);
    expect((await lstat(server.socketPath)).mode & 0o777).toBe(0o600);
    expect((await sendCommand(server.socketPath, 'status', {}, 2000)).version).toBe(1);
  });

  it('never follows a symlink when setting a mode', async () => {
    const target = path.join(dir, 'target');
    await mkdir(target, { mode: 0o755 });
    await chmod(target, 0o755);
    const link = path.join(dir, '.smartworkers');
    await symlink(target, link);
    // Linux answers O_DIRECTORY | O_NOFOLLOW on a symlink with ENOTDIR (ELOOP elsewhere).
    expect(() => chmodDirectoryNoFollow(link, 0o700)).toThrow(/ENOTDIR|ELOOP/);
    expect((await stat(target)).mode & 0o777).toBe(0o755);
    // A managed directory that is a symlink is refused, and the directory it points to keeps its mode.
    await expect(startControlServer({ socketPath: path.join(link, 'ctl.sock'), control: new FakeControl() })).rejects.toMatchObject({
      code: 'SW_CONTROL_SOCKET',
    });
    expect((await stat(target)).mode & 0o777).toBe(0o755);
  });
});
