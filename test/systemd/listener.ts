/**
 * Listeners standing in for systemd's notify socket, each recording every message byte for byte:
 * - `startNotifyListener`: a real Unix datagram socket, bound by python3 in a child process (Node
 *   cannot bind one), for the real helpers systemd-notify and python3 (the tool suite, test/tools/).
 * - `startStandInListener`: a Unix stream socket bound by Node, for the stand-in systemd-notify
 *   (fixtures/stand-in/) that `npm test` uses on a machine without systemd's tools or python3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface Datagram {
  bytes: Buffer;
  text: string;
  /** File descriptors that came with it (1 for sd_notify's BARRIER=1). */
  fds: number;
}

export interface NotifyListener {
  /** The value for NOTIFY_SOCKET. */
  address: string;
  /** Every datagram so far, in arrival order. */
  datagrams: Datagram[];
  /** The datagrams that are not BARRIER=1 handshakes. */
  messages(): string[];
  /** Resolves with the first datagram (already received or future) matching `match`. */
  waitFor(match: (d: Datagram) => boolean, label?: string, timeoutMs?: number): Promise<Datagram>;
  /** Resolves once at least `count` non-barrier messages have arrived. */
  waitForMessages(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'fixtures', 'notify-listener.py');

/** A fresh temp dir, and the address to bind: a socket file in it, or an abstract name (`@…`). */
function addressFor(kind: 'path' | 'abstract'): { dir: string; address: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sw-notify-'));
  const address = kind === 'path' ? path.join(dir, 'notify.sock') : `@sw-notify-test-${process.pid}-${path.basename(dir)}`;
  return { dir, address };
}

/** The real datagram socket (python3). `kind: 'path'` binds a socket file, `'abstract'` an abstract name. */
export async function startNotifyListener(kind: 'path' | 'abstract' = 'path'): Promise<NotifyListener> {
  const { dir, address } = addressFor(kind);
  const child: ChildProcess = spawn('python3', [SCRIPT, address], { stdio: ['pipe', 'pipe', 'inherit'] });
  const recorder = record(address, async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.removeAllListeners('exit');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`notify listener exited early with code ${code}`)));
    lines.on('line', (line) => {
      if (line === 'LISTENING') {
        resolve();
        return;
      }
      const parsed = JSON.parse(line) as { hex: string; fds: number };
      recorder.add(Buffer.from(parsed.hex, 'hex'), parsed.fds);
    });
  });
  return recorder.listener;
}

/**
 * The stand-in's stream socket: one connection per message, recorded when the sender half-closes;
 * closing the connection then releases the sender (its barrier).
 */
export async function startStandInListener(kind: 'path' | 'abstract' = 'path'): Promise<NotifyListener> {
  const { dir, address } = addressFor(kind);
  const server = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('end', () => {
      recorder.add(Buffer.concat(chunks), 0);
      socket.destroy();
    });
  });
  const recorder = record(address, async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.startsWith('@') ? `\0${address.slice(1)}` : address, resolve);
  });
  return recorder.listener;
}

/** The recording and waiting both listeners share. */
function record(address: string, close: () => Promise<void>): { listener: NotifyListener; add(bytes: Buffer, fds: number): void } {
  const datagrams: Datagram[] = [];
  const waiters: Array<() => void> = [];
  const add = (bytes: Buffer, fds: number): void => {
    datagrams.push({ bytes, text: bytes.toString('utf8'), fds });
    for (const waiter of waiters.splice(0)) waiter();
  };

  const messages = (): string[] => datagrams.filter((d) => d.text !== 'BARRIER=1').map((d) => d.text);

  function waitUntil<T>(check: () => T | undefined, label: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}; got ${JSON.stringify(messages())}`)), timeoutMs);
      const attempt = (): void => {
        const found = check();
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else {
          waiters.push(attempt);
        }
      };
      attempt();
    });
  }

  const listener: NotifyListener = {
    address,
    datagrams,
    messages,
    waitFor: (match, label = 'a datagram', timeoutMs = 30_000) => waitUntil(() => datagrams.find(match), label, timeoutMs),
    waitForMessages: (count, timeoutMs = 30_000) =>
      waitUntil(() => (messages().length >= count ? messages() : undefined), `${count} messages`, timeoutMs),
    close,
  };
  return { listener, add };
}
