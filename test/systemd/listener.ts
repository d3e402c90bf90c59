/**
 * A real Unix datagram listener standing in for systemd's notify socket, run by python3 in a child
 * process (Node cannot bind a datagram Unix socket). Every datagram is recorded byte for byte.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

/** `kind: 'path'` binds a socket file in a fresh temp dir; `'abstract'` an abstract name (`@…`). */
export async function startNotifyListener(kind: 'path' | 'abstract' = 'path'): Promise<NotifyListener> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sw-notify-'));
  const address = kind === 'path' ? path.join(dir, 'notify.sock') : `@sw-notify-test-${process.pid}-${path.basename(dir)}`;
  const child: ChildProcess = spawn('python3', [SCRIPT, address], { stdio: ['pipe', 'pipe', 'inherit'] });
  const datagrams: Datagram[] = [];
  const waiters: Array<() => void> = [];
  const notify = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };

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
      const bytes = Buffer.from(parsed.hex, 'hex');
      datagrams.push({ bytes, text: bytes.toString('utf8'), fds: parsed.fds });
      notify();
    });
  });

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

  return {
    address,
    datagrams,
    messages,
    waitFor: (match, label = 'a datagram', timeoutMs = 10_000) => waitUntil(() => datagrams.find(match), label, timeoutMs),
    waitForMessages: (count, timeoutMs = 10_000) =>
      waitUntil(() => (messages().length >= count ? messages() : undefined), `${count} messages`, timeoutMs),
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.removeAllListeners('exit');
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin!.end();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
