import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSocketFromConfigFile, resolveSocketPath } from '../../src/cli/commands/socket';
import { MAX_SOCKET_PATH_BYTES, defaultSocketPath } from '../../src/control/socket-path';
import { stateDirectory } from '../../src/control/state-dir';

describe('defaultSocketPath', () => {
  it('lives in the state directory, named after the config directory', () => {
    const socket = defaultSocketPath({ configFile: 'conf/workers.yaml', cwd: '/srv/shop' }, { SMARTWORKERS_STATE_DIR: '/run/user/1000/sw' });
    expect(socket).toMatch(/^\/run\/user\/1000\/sw\/conf-[0-9a-f]{10}\.sock$/);
    // Never inside the project directory.
    expect(defaultSocketPath({ configFile: '/srv/shop/workers.yaml', cwd: '/' }, {}).startsWith('/srv/shop')).toBe(false);
  });

  it('the state directory: $SMARTWORKERS_STATE_DIR, else /run/smartworkers for root, else $XDG_RUNTIME_DIR/smartworkers, else ~/.smartworkers', () => {
    expect(stateDirectory({ SMARTWORKERS_STATE_DIR: '/var/sw', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/var/sw');
    expect(stateDirectory({ XDG_RUNTIME_DIR: '/run/user/0' }, 0)).toBe('/run/smartworkers');
    expect(stateDirectory({ XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/me' }, 1000)).toBe('/run/user/1000/smartworkers');
    expect(stateDirectory({ HOME: '/home/me' }, 1000)).toBe('/home/me/.smartworkers');
    expect(stateDirectory({ XDG_RUNTIME_DIR: 'relative', HOME: '/home/me' }, 1000)).toBe('/home/me/.smartworkers');
  });

  it('gives the same path for a config file and its directory, different ones for different projects', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(defaultSocketPath({ configFile: 'workers.yaml', cwd: '/srv/shop' }, env)).toBe(defaultSocketPath({ cwd: '/srv/shop' }, env));
    expect(defaultSocketPath({ cwd: '/srv/shop' }, env)).not.toBe(defaultSocketPath({ cwd: '/opt/shop' }, env));
  });

  it('moves to <tmpdir>/smartworkers-<uid> when the path would be too long for a socket', () => {
    const deep = `/srv/${'very-long-directory-name/'.repeat(6)}state`;
    const socket = defaultSocketPath({ cwd: '/srv/app' }, { SMARTWORKERS_STATE_DIR: deep });
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
    const state = { SMARTWORKERS_STATE_DIR: path.join(dir, 'state') };
    expect(resolveSocketPath({ config }, '/home/me', state)).toBe(path.join(dir, 'run', 'ctl.sock'));
    await writeFile(config, 'workers: 2\n');
    expect(resolveSocketPath({ config }, '/home/me', state)).toBe(defaultSocketPath({ configFile: config, cwd: '/' }, state));
    // Nothing named and nothing registered: not running, whatever the directory.
    expect(() => resolveSocketPath({}, dir, state)).toThrow(expect.objectContaining({ code: 'SW_NOT_RUNNING' }));
  });

  it('reports an unreadable or invalid config file', async () => {
    expect(() => readSocketFromConfigFile(path.join(dir, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'SW_CONFIG_FILE' }));
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'control: [unclosed\n');
    expect(() => readSocketFromConfigFile(bad)).toThrow(expect.objectContaining({ code: 'SW_CONFIG_FILE' }));
  });
});
