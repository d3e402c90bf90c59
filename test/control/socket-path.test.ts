import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSocketFromConfigFile, resolveSocketPath } from '../../src/cli/commands/socket';
import { MAX_SOCKET_PATH_BYTES, defaultSocketPath } from '../../src/control/socket-path';

describe('defaultSocketPath', () => {
  it('lives under $XDG_RUNTIME_DIR/smartworkers, named after the config directory', () => {
    const socket = defaultSocketPath({ configFile: 'conf/workers.yaml', cwd: '/srv/shop' }, { XDG_RUNTIME_DIR: '/run/user/1000' });
    expect(socket).toMatch(/^\/run\/user\/1000\/smartworkers\/conf-[0-9a-f]{10}\.sock$/);
  });

  it('falls back to <config dir>/.smartworkers without XDG_RUNTIME_DIR', () => {
    expect(defaultSocketPath({ configFile: '/srv/shop/workers.yaml', cwd: '/' }, {})).toMatch(/^\/srv\/shop\/\.smartworkers\/shop-[0-9a-f]{10}\.sock$/);
    expect(defaultSocketPath({ cwd: '/srv/shop' }, {})).toMatch(/^\/srv\/shop\/\.smartworkers\/shop-[0-9a-f]{10}\.sock$/);
  });

  it('gives the same path for a config file and its directory, different ones for different projects', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(defaultSocketPath({ configFile: 'workers.yaml', cwd: '/srv/shop' }, env)).toBe(defaultSocketPath({ cwd: '/srv/shop' }, env));
    expect(defaultSocketPath({ cwd: '/srv/shop' }, env)).not.toBe(defaultSocketPath({ cwd: '/opt/shop' }, env));
  });

  it('moves to <tmpdir>/smartworkers-<uid> when the path would be too long for a socket', () => {
    const deep = `/srv/${'very-long-directory-name/'.repeat(6)}app`;
    const socket = defaultSocketPath({ cwd: deep }, {});
    expect(socket.startsWith(path.join(tmpdir(), `smartworkers-${process.getuid!()}`))).toBe(true);
    expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(MAX_SOCKET_PATH_BYTES);
  });
});

describe('resolveSocketPath (CLI)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sw-sock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers --socket, then $SMARTWORKERS_CONTROL_SOCKET, then the config file, then the default', async () => {
    const config = path.join(dir, 'workers.yaml');
    await writeFile(config, 'workers: 2\ncontrol:\n  socket: run/ctl.sock\n');
    const env = { SMARTWORKERS_CONTROL_SOCKET: '/tmp/env.sock' };
    expect(resolveSocketPath({ socket: 'a.sock', config }, '/home/me', env)).toBe('/home/me/a.sock');
    expect(resolveSocketPath({ config }, '/home/me', env)).toBe('/tmp/env.sock');
    expect(resolveSocketPath({ config }, '/home/me', {})).toBe(path.join(dir, 'run', 'ctl.sock'));
    await writeFile(config, 'workers: 2\n');
    expect(resolveSocketPath({ config }, '/home/me', {})).toBe(defaultSocketPath({ configFile: config, cwd: '/' }, {}));
    expect(resolveSocketPath({}, dir, {})).toBe(defaultSocketPath({ cwd: dir }, {}));
  });

  it('reports an unreadable or invalid config file', async () => {
    expect(() => readSocketFromConfigFile(path.join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'SW_CONFIG_FILE' }));
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'control: [unclosed\n');
    expect(() => readSocketFromConfigFile(bad)).toThrow(expect.objectContaining({ code: 'SW_CONFIG_FILE' }));
  });
});
