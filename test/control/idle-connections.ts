/**
 * An attacker's idle connections, from another process as they would be: `n` connections opened
 * one after another to a TCP port on 127.0.0.1 or a Unix socket, each sending `prefix` (maybe
 * nothing) and then nothing more. A connect refused because the backlog is full is retried.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface IdleConnections {
  opened: number;
  /** How many of them the server has closed so far. */
  closedByServer(): Promise<number>;
  stop(): void;
}

export async function openIdleConnections(target: number | string, n: number, prefix: (i: number) => string = () => ''): Promise<IdleConnections> {
  const prefixes = Array.from({ length: n }, (_, i) => prefix(i));
  const script = `
    const net = require('node:net');
    const target = ${JSON.stringify(target)};
    const prefixes = ${JSON.stringify(prefixes)};
    const keep = [];
    let closed = 0;
    const open = (i) => {
      if (i === prefixes.length) return process.send({ opened: keep.length });
      const s = typeof target === 'number' ? net.connect(target, '127.0.0.1') : net.connect(target);
      let connected = false;
      s.on('close', () => connected && closed++);
      // A full backlog (EAGAIN) while the server is busy: try again shortly, as a real client would.
      s.on('error', () => connected || setTimeout(() => open(i), 10));
      s.once('connect', () => {
        connected = true;
        keep.push(s);
        if (prefixes[i]) s.write(prefixes[i]);
        open(i + 1);
      });
    };
    open(0);
    process.on('message', () => process.send({ closed }));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [{ opened: number }];
  return {
    opened: ready.opened,
    async closedByServer() {
      child.send('count?');
      const [reply] = (await once(child, 'message')) as [{ closed: number }];
      return reply.closed;
    },
    stop: () => child.kill('SIGKILL'),
  };
}
