/** Running an example app as a plain child process, waiting on its output and messages (no sleeps). */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunningApp {
  child: ChildProcess;
  lines: string[];
  messages: unknown[];
  /** Resolves with the first stdout line (past or future) matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the first IPC message (past or future) equal to `value`. */
  message(value: unknown, timeoutMs?: number): Promise<void>;
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export function runApp(script: string, env: Record<string, string>, cwd: string): RunningApp {
  const child = fork(script, [], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const lines: string[] = [];
  const messages: unknown[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => waiters.forEach((w) => w());
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    wake();
  });
  child.on('message', (m) => {
    messages.push(m);
    wake();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      wake();
    });
  });

  function waitFor<T>(find: () => T | undefined, label: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`app exited before ${label}; output: ${lines.join(' | ')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${label}; output: ${lines.join(' | ')}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return {
    child,
    lines,
    messages,
    line: (pattern, timeoutMs = 60_000) => waitFor(() => lines.find((l) => pattern.test(l)), String(pattern), timeoutMs),
    message: (value, timeoutMs = 60_000) =>
      waitFor(() => (messages.some((m) => JSON.stringify(m) === JSON.stringify(value)) ? true : undefined), JSON.stringify(value), timeoutMs).then(() => {}),
    exited: () => exit,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exit;
      }
    },
  };
}
