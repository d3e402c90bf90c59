/**
 * Runs the fixture primary (test/fixtures/worker/primary.cjs) with real workers and
 * lets a test wait on what it relays: worker messages, listening, handle closes, exits.
 * Every wait is on an event, with a timeout that fails the test instead of hanging it.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { TAG } from '../../src/protocol';
import type { RuntimeOptions, WorkerMessage } from '../../src/protocol';

const root = path.resolve(__dirname, '../..');
export const runtimePath = path.join(root, 'dist/worker/runtime.js');
const primaryPath = path.join(root, 'test/fixtures/worker/primary.cjs');

export type Relayed =
  | { type: 'primary-ready'; pid: number }
  | { type: 'online'; slot: number; pid: number }
  | { type: 'listening'; slot: number; port: number }
  | { type: 'handle-closed'; slot: number }
  | { type: 'exit'; slot: number; code: number | null; signal: string | null }
  | { type: 'worker-message'; slot: number; message: unknown };

export interface AppReply {
  app: 'reply';
  event: string;
  [key: string]: unknown;
}

const WAIT_MS = 15_000;

export const fastRuntime: RuntimeOptions = {
  heartbeatMs: 500,
  reportIntervalMs: 100,
  requestLimit: 0,
  gracefulTimeoutMs: 10_000,
  idleGraceMs: 1_000,
};

interface Waiter {
  from: number;
  predicate: (event: Relayed) => boolean;
  resolve: (event: Relayed) => void;
}

export class FixtureCluster {
  readonly events: Relayed[] = [];
  stdout = '';
  stderr = '';
  private readonly waiters = new Set<Waiter>();
  private readonly stdoutEnded: Promise<void>;
  readonly child: ChildProcess;
  private workerPids: number[] = [];

  private constructor(config: { app: string; runtime: RuntimeOptions; workers?: number }) {
    if (!existsSync(runtimePath)) throw new Error(`${runtimePath} is missing: run \`npx tsc -p tsconfig.json\` first`);
    this.child = fork(primaryPath, [JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    // The workers inherit the primary's stdout: it ends only when every one of them has exited.
    this.stdoutEnded = new Promise((resolve) => this.child.stdout!.once('end', resolve));
    this.child.on('message', (event: Relayed) => this.record(event));
  }

  /** Starts the primary and waits until the worker (slot 0) listens; returns its port. */
  static async start(app: string, runtime: Partial<RuntimeOptions> = {}): Promise<{ cluster: FixtureCluster; port: number }> {
    const cluster = new FixtureCluster({ app, runtime: { ...fastRuntime, ...runtime } });
    live.add(cluster);
    const listening = await cluster.waitFor((e) => e.type === 'listening');
    return { cluster, port: (listening as Extract<Relayed, { type: 'listening' }>).port };
  }

  /** Pids of the workers seen online. */
  get pids(): number[] {
    return this.workerPids;
  }

  get workerPid(): number {
    const pid = this.workerPids[0];
    if (pid === undefined) throw new Error('no worker online yet');
    return pid;
  }

  /** Resolves with the first event, at or after index `from`, that matches. */
  waitFor(predicate: (event: Relayed) => boolean, from = 0, label = predicate.toString()): Promise<Relayed> {
    for (let i = from; i < this.events.length; i++) if (predicate(this.events[i])) return Promise.resolve(this.events[i]);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { from, predicate, resolve };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${label}\nevents: ${JSON.stringify(this.events.slice(-20))}\nstderr: ${this.stderr}`));
      }, WAIT_MS);
      waiter.resolve = (event) => {
        clearTimeout(timer);
        resolve(event);
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits for a smartworkers message of `kind` (and matching `predicate`). */
  async waitForMessage<K extends WorkerMessage[typeof TAG]>(
    kind: K,
    predicate: (message: Extract<WorkerMessage, { [TAG]: K }>) => boolean = () => true,
    from = 0,
  ): Promise<Extract<WorkerMessage, { [TAG]: K }>> {
    const event = await this.waitFor(
      (e) => e.type === 'worker-message' && isKind(e.message, kind) && predicate(e.message as Extract<WorkerMessage, { [TAG]: K }>),
      from,
      `'${kind}' ${predicate.toString()}`,
    );
    return (event as Extract<Relayed, { type: 'worker-message' }>).message as Extract<WorkerMessage, { [TAG]: K }>;
  }

  /** Waits for a reply of the fixture app. */
  async waitForReply(event: string, predicate: (reply: AppReply) => boolean = () => true, from = 0): Promise<AppReply> {
    const found = await this.waitFor(
      (e) => e.type === 'worker-message' && isReply(e.message) && e.message.event === event && predicate(e.message),
      from,
      `app reply '${event}'`,
    );
    return (found as Extract<Relayed, { type: 'worker-message' }>).message as AppReply;
  }

  /** Sends a message to the worker and waits for the app's reply to it. */
  async command(message: unknown, replyEvent: string): Promise<AppReply> {
    const from = this.events.length;
    this.send(message);
    return this.waitForReply(replyEvent, () => true, from);
  }

  /** Sends any message to the worker in slot 0. */
  send(message: unknown): void {
    this.child.send({ type: 'to-worker', slot: 0, message });
  }

  /** Messages of one kind received so far. */
  messages<K extends WorkerMessage[typeof TAG]>(kind: K, from = 0): Array<Extract<WorkerMessage, { [TAG]: K }>> {
    return this.events
      .slice(from)
      .flatMap((e) => (e.type === 'worker-message' && isKind(e.message, kind) ? [e.message as Extract<WorkerMessage, { [TAG]: K }>] : []));
  }

  indexOf(predicate: (event: Relayed) => boolean): number {
    return this.events.findIndex(predicate);
  }

  /** Resolves once the primary and every worker have closed their stdout (i.e. exited). */
  allExited(): Promise<void> {
    return withTimeout(this.stdoutEnded, 'every process to exit');
  }

  /** Kills the primary and any worker still alive. */
  async kill(): Promise<void> {
    for (const pid of this.workerPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private record(event: Relayed): void {
    if (event.type === 'online') this.workerPids.push(event.pid);
    const index = this.events.push(event) - 1;
    for (const waiter of this.waiters) {
      if (index >= waiter.from && waiter.predicate(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }
}

const live = new Set<FixtureCluster>();

/** For afterEach: kills every cluster a test started. */
export async function killAll(): Promise<void> {
  const clusters = [...live];
  live.clear();
  await Promise.all(clusters.map((c) => c.kill()));
}

export function isKind(message: unknown, kind: string): boolean {
  return typeof message === 'object' && message !== null && (message as Record<string, unknown>)[TAG] === kind;
}

function isReply(message: unknown): message is AppReply {
  return typeof message === 'object' && message !== null && (message as { app?: unknown }).app === 'reply';
}

function withTimeout<T>(promise: Promise<T>, label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${label}`)), WAIT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

export { get, type Response } from '../helpers/http';
