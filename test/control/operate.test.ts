import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sendCommand } from '../../src/control/client';
import { startOperateServices } from '../../src/control/operate';
import { defaultSocketPath } from '../../src/control/socket-path';
import { listClusters } from '../../src/control/registry';
import { FakeControl } from './fake-control';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sw-op-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recordingLogger() {
  const lines: Array<[string, object]> = [];
  let summaryLogged!: (fields: object) => void;
  const firstSummary = new Promise<object>((resolve) => (summaryLogged = resolve));
  const info = (fields: object, line: string): void => {
    lines.push([line, fields]);
    if (line.startsWith('workers ')) summaryLogged(fields);
  };
  return { lines, firstSummary, info, warn: info, debug: () => {} };
}

describe('startOperateServices', () => {
  it('starts the control socket at the default location, the status server and the summary; close() stops them', async () => {
    const control = new FakeControl();
    const logger = recordingLogger();
    const configFile = path.join(dir, 'workers.yaml');
    const services = await startOperateServices({
      control,
      logger,
      configFile,
      cwd: dir,
      env: { SMARTWORKERS_STATE_DIR: path.join(dir, 'state') },
      statusListen: '127.0.0.1:0',
      minReady: 2,
      summaryIntervalMs: 10,
    });
    const stateEnv = { SMARTWORKERS_STATE_DIR: path.join(dir, 'state') };
    expect(services.socketPath).toBe(defaultSocketPath({ configFile, cwd: dir }, stateEnv));
    expect(services.socketPath.startsWith(path.join(dir, 'state'))).toBe(true);
    // Registered: found by name from anywhere, and gone from the registry once closed.
    expect(listClusters(path.join(dir, 'state'))).toEqual([expect.objectContaining({ pid: process.pid, socket: services.socketPath, config: configFile })]);
    expect((await sendCommand(services.socketPath, 'status', {}, 2000)).primary.pid).toBe(4100);
    expect((await fetch(`${services.statusUrl}/readyz`)).status).toBe(200);

    expect(await logger.firstSummary).toMatchObject({ summary: { workersReady: 2, workersTotal: 2 } });
    expect(logger.lines.find(([line]) => line.startsWith('workers'))![0]).toMatch(/^workers 2\/2 ready · 3 in flight/);

    await services.close();
    expect(existsSync(services.socketPath)).toBe(false);
    expect(listClusters(path.join(dir, 'state'))).toEqual([]);
    await expect(fetch(`${services.statusUrl}/readyz`)).rejects.toThrow();
    await expect(sendCommand(services.socketPath, 'status', {}, 2000)).rejects.toMatchObject({ code: 'SW_NOT_RUNNING' });
  });

  it('releases the control socket when the status server cannot start', async () => {
    const socketPath = path.join(dir, 'ctl.sock');
    await expect(
      startOperateServices({ control: new FakeControl(), socketPath, cwd: dir, env: { SMARTWORKERS_STATE_DIR: path.join(dir, 'state') }, statusListen: '0.0.0.0:0', minReady: 1, summaryIntervalMs: 0 }),
    ).rejects.toMatchObject({ code: 'SW_STATUS_TOKEN_REQUIRED' });
    expect(existsSync(socketPath)).toBe(false);
  });
});
