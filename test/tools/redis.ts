/**
 * A real redis-server per test: a free port from the OS, its own directory, stopped (and its
 * directory removed) by `stop()`. Installed by scripts/install-redis.sh (.ci/run calls it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/net';

export interface RedisServer {
  port: number;
  dir: string;
  connection: { host: string; port: number };
  /** Stops it (SIGTERM: an append-only file is flushed), keeps the directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (the data come back from the AOF). */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
  cli(...args: string[]): string;
}

export function findRedis(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('redis-server is not installed: run `bash scripts/install-redis.sh` (apt-get install redis-server), as .ci/run does');
  return found;
}


const started = new Set<RedisServer>();

export async function startRedis(): Promise<RedisServer> {
  const bin = findRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-redis-'));
  let port = 0;
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      // Every write on disk before the reply: a restart under load must lose nothing of its own.
      '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', '', '--protected-mode', 'no',
    ];
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 20 s:\n${out}`)), 20_000);
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}) while starting:\n${out}`));
      });
    });
    proc.stdout!.resume();
    proc.stderr!.resume();
  };

  // The port may be taken between the probe and the start: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      if (attempt >= 4) throw err;
    }
  }

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  };

  const server: RedisServer = {
    port,
    dir,
    connection: { host: '127.0.0.1', port },
    stop,
    restart: launch,
    async destroy() {
      await stop();
      started.delete(server);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    cli(...args) {
      const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
      return r.stdout.trim();
    },
  };
  started.add(server);
  return server;
}

/** Stops every server still running (afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...started].map((s) => s.destroy()));
}
