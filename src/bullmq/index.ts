/**
 * `smartworkers/bullmq`: BullMQ workers as a first-class kind of app.
 *
 * ```js
 * const { createWorker } = require('smartworkers/bullmq');
 * createWorker('email', async (job) => send(job.data), { connection, concurrency: 5 });
 * ```
 *
 * The contract, per worker process:
 * - every job this process runs is a smartworkers task (type = the queue name, description = the
 *   job's name and id) from the moment it is taken until BullMQ has recorded it completed or failed
 *   in Redis, so a recycle or a stop waits for it like for any task;
 * - when the worker is retired (recycle, reload, stop) or loses its primary, every BullMQ worker
 *   of the process stops taking jobs at once (`Worker.close()`: other workers and the replacement
 *   take the queue), finishes its active jobs, and closes its connections;
 * - a job still running when the primary gives up (`max_task_wait`, `graceful_timeout`, a forced
 *   stop) is moved back to waiting at once — not left to stall detection — then reported lost
 *   with the other tasks (logged, counted, exit code);
 * - slot 0 of each app samples its queues' counts (one Redis round trip per queue per interval)
 *   and reports them to the primary, which only shows them; `smartworkers queues pause|resume`
 *   pauses queues in Redis, for every worker of every machine.
 *
 * Outside smartworkers (`node app.js`) the same code runs plain BullMQ workers.
 * `bullmq` is an optional peer dependency: only this entry requires it.
 */
import { Queue, Worker } from 'bullmq';
import type { ConnectionOptions, Job, Processor, WorkerOptions } from 'bullmq';
import { ENV, TAG, isTagged } from '../protocol';
import type { QueueCommandMessage } from '../protocol';
import { connected, sendToPrimary } from '../worker/ipc';
import { beforeAbandon, onLeave } from '../worker/leave-hooks';
import { parseRuntimeOptions } from '../worker/options';
import { taskRegistry } from '../worker/tasks';
import { COUNT_KEYS, type QueueActionResult, type QueueCounts } from './types';

export type { QueueCounts, QueueActionResult } from './types';

/** How often slot 0 samples its queues' counts, by default. */
export const DEFAULT_COUNTS_INTERVAL_MS = 5_000;
/** The task type of a worker's `close()` during a drain (see `Manager.leave`). */
export const CLOSE_TASK_TYPE = 'bullmq-close';
/** Before the worker's own `graceful_timeout` without a primary, jobs are handed back this early. */
const HAND_BACK_MARGIN_MS = 500;

/** BullMQ's worker options plus the adapter's own. */
export interface SmartWorkerOptions extends WorkerOptions {
  /** How often this app's slot-0 worker samples the queue's counts, ms (0 = never). Default 5000. */
  countsIntervalMs?: number;
  /**
   * Send pm2's `'ready'` message once every worker created so far is connected to Redis, so that
   * with `ready_on: message` a replacement counts as ready (and its predecessor retires) only once
   * it can take jobs. Ignored by the primary under other `ready_on` values. Default true; false if
   * the app sends `'ready'` itself.
   */
  readyMessage?: boolean;
}

interface Running {
  job: Job;
  token: string;
  taskId: string;
  failed: boolean;
}

const registry = taskRegistry();

function underSmartworkers(): boolean {
  return process.env[ENV.runtime] !== undefined && typeof process.send === 'function';
}

function log(line: string): void {
  process.stderr.write(`smartworkers bullmq ${process.pid}: ${line}\n`);
}

/**
 * A BullMQ `Worker` whose jobs are smartworkers tasks. Use it as you would `Worker` (events,
 * `pause`, `close`); create it with {@link createWorker}.
 */
export class SmartWorker<DataType = any, ResultType = any, NameType extends string = string> extends Worker<DataType, ResultType, NameType> {
  /** The jobs this worker runs now, by job id. */
  readonly jobsRunning = new Map<string, Running>();

  constructor(queue: string, processor: Processor<DataType, ResultType, NameType> | string | URL | null, options: SmartWorkerOptions) {
    super(queue, processor, options);
    this.on('failed', (job) => {
      const entry = job?.id === undefined ? undefined : this.jobsRunning.get(job.id);
      if (entry) entry.failed = true;
    });
  }

  /**
   * The task spans the whole of BullMQ's own processing of the job, the write of its outcome to
   * Redis included: a worker never exits between a job's end and its acknowledgement (which would
   * leave it active in Redis, to be run a second time after stall detection).
   */
  override async processJob(job: Job<DataType, ResultType, NameType>, token: string, fetchNextCallback?: () => boolean) {
    const id = job.id ?? '?';
    const taskId = registry.register({ type: this.name, description: `${job.name} ${id}`, id: `${this.name}:${id}` });
    const entry: Running = { job: job as Job, token, taskId, failed: false };
    this.jobsRunning.set(id, entry);
    try {
      return await super.processJob(job, token, fetchNextCallback);
    } finally {
      if (this.jobsRunning.get(id) === entry) this.jobsRunning.delete(id);
      registry.unregister(taskId, entry.failed ? 'failed' : 'completed');
    }
  }

  /**
   * BullMQ may still take one job after `close()` began (a fetch already waiting on Redis
   * continues into moveToActive): a closing worker takes none, so that a job handed back to
   * waiting goes to a worker that stays.
   */
  protected override async moveToActive(token: string, name?: string): Promise<Job<DataType, ResultType, NameType>> {
    if (this.closing) return undefined as unknown as Job<DataType, ResultType, NameType>;
    return super.moveToActive(token, name);
  }

  /**
   * Moves every running job back to waiting, now (one round trip: the commands leave together),
   * so another worker takes it at once instead of after stall detection. The tasks stay
   * registered: the runtime reports them lost.
   */
  async handBack(why: string): Promise<void> {
    if (!this.closing) void this.close().catch(() => {});
    const entries = [...this.jobsRunning.values()];
    await Promise.all(
      entries.map(async ({ job, token }) => {
        try {
          await job.moveToWait(token);
          log(`job ${this.name}:${job.id} (${job.name}) still running ${why}: moved back to waiting`);
        } catch (err) {
          log(`job ${this.name}:${job.id} (${job.name}) still running ${why}: could not move it back to waiting (${describeError(err)}); stall detection will recover it`);
        }
      }),
    );
  }
}

/** The process's adapter state: every managed worker, the sampler, the hooks. */
class Manager {
  readonly workers = new Set<SmartWorker>();
  private installed = false;
  private leaving = false;
  private sampler: NodeJS.Timeout | null = null;
  private readonly countQueues = new Map<string, Queue>();
  private countsIntervalMs = DEFAULT_COUNTS_INTERVAL_MS;
  private sampling = false;
  private readonly closeTasks = new Set<string>();

  add(worker: SmartWorker, options: SmartWorkerOptions): void {
    this.workers.add(worker);
    worker.on('closed', () => this.workers.delete(worker));
    if (!underSmartworkers()) return;
    this.install();
    if (this.leaving) {
      // Created after the worker began leaving (an app's late start): it takes no job.
      void worker.close();
      return;
    }
    this.announce();
    if (options.readyMessage !== false) this.readyWhenConnected(worker);
    if (options.countsIntervalMs !== undefined) this.countsIntervalMs = options.countsIntervalMs;
    if (process.env[ENV.workerId] === '0' && this.countsIntervalMs > 0 && !this.countQueues.has(worker.name)) {
      const queue = new Queue(worker.name, { connection: options.connection as ConnectionOptions, prefix: options.prefix });
      queue.on('error', () => {
        // Redis unreachable: the sample fails and says so; the queue reconnects on its own.
      });
      this.countQueues.set(worker.name, queue);
      this.startSampler();
    }
  }

  private readonly connecting = new Set<SmartWorker>();
  private readySent = false;

  private readyWhenConnected(worker: SmartWorker): void {
    if (this.readySent) return;
    this.connecting.add(worker);
    worker
      .waitUntilReady()
      .then(() => {
        this.connecting.delete(worker);
        // Workers created in the same turn of the loop all count: wait for the last of them.
        setImmediate(() => {
          if (this.readySent || this.connecting.size > 0 || this.leaving) return;
          this.readySent = true;
          if (connected()) process.send!('ready', undefined, {}, () => {});
        });
      })
      .catch(() => {
        // Never connected: the worker is not ready, and boot_timeout says so.
      });
  }

  hosted(): string[] {
    return [...new Set([...this.workers].map((w) => w.name))];
  }

  private announce(): void {
    sendToPrimary({ [TAG]: 'queues', hosted: this.hosted() });
  }

  private install(): void {
    if (this.installed) return;
    this.installed = true;
    onLeave((reason) => this.leave(reason));
    beforeAbandon(() => this.handBack('when the primary gave up on it'));
    process.on('message', (message: unknown) => {
      if (isTagged(message) && message[TAG] === 'queue-command') void this.command(message as unknown as QueueCommandMessage);
    });
  }

  private leave(reason: string): void {
    if (this.leaving) return;
    this.leaving = true;
    this.stopSampler();
    // Stop taking jobs now; close() resolves once the active ones are done and connections closed.
    // It is itself a task, registered before the runtime's drain looks: a fetch already on its way
    // to Redis can still hand this worker a job after the retire, and the process must not exit
    // before that job is run and acknowledged (it would stall), nor before the connections close.
    for (const worker of this.workers) {
      const id = registry.register({ type: CLOSE_TASK_TYPE, description: `closing the BullMQ worker of queue ${worker.name}` });
      this.closeTasks.add(id);
      worker
        .close()
        .catch((err: unknown) => log(`closing the worker of queue ${worker.name}: ${describeError(err)}`))
        .finally(() => {
          this.closeTasks.delete(id);
          registry.unregister(id, 'completed');
        });
    }
    if (reason === 'primary-lost') {
      // Nobody will send `abandon`: the runtime exits at its own graceful_timeout; hand back before it.
      const { options } = parseRuntimeOptions(process.env[ENV.runtime] ?? '');
      const at = Math.max(0, options.gracefulTimeoutMs - HAND_BACK_MARGIN_MS);
      setTimeout(() => void this.handBack('at graceful_timeout without a primary'), at).unref();
    }
  }

  private async handBack(why: string): Promise<void> {
    await Promise.all([...this.workers].map((w) => w.handBack(why)));
    // The jobs are the tasks that were lost; closing the worker is not one of them.
    for (const id of this.closeTasks) registry.unregister(id, 'cancelled');
    this.closeTasks.clear();
  }

  private startSampler(): void {
    if (this.sampler !== null) return;
    const tick = (): void => {
      void this.sample();
    };
    this.sampler = setInterval(tick, this.countsIntervalMs);
    this.sampler.unref();
    setImmediate(tick).unref();
  }

  private stopSampler(): void {
    if (this.sampler !== null) clearInterval(this.sampler);
    this.sampler = null;
    for (const queue of this.countQueues.values()) void queue.close().catch(() => {});
    this.countQueues.clear();
  }

  /** One round trip per queue: the counts script and the paused flag leave together. */
  private async sample(): Promise<void> {
    if (this.sampling || this.leaving || !connected()) return;
    this.sampling = true;
    try {
      const counts: Record<string, QueueCounts> = {};
      await Promise.all(
        [...this.countQueues].map(async ([name, queue]) => {
          try {
            const [c, paused] = await Promise.all([queue.getJobCounts(...COUNT_KEYS), queue.isPaused()]);
            counts[name] = {
              waiting: c.waiting ?? 0,
              active: c.active ?? 0,
              delayed: c.delayed ?? 0,
              completed: c.completed ?? 0,
              failed: c.failed ?? 0,
              paused,
            };
          } catch {
            // Left out of this sample: the primary keeps showing the previous one, with its age.
          }
        }),
      );
      if (!this.leaving) sendToPrimary({ [TAG]: 'queues', hosted: this.hosted(), counts, sampledAt: Date.now() });
    } finally {
      this.sampling = false;
    }
  }

  private async command(message: QueueCommandMessage): Promise<void> {
    const byName = new Map([...this.workers].map((w) => [w.name, w]));
    const results: QueueActionResult[] = await Promise.all(
      message.queues.map(async (name): Promise<QueueActionResult> => {
        const worker = byName.get(name);
        if (!worker) return { queue: name, ok: false, error: 'not processed in this worker' };
        const queue = new Queue(name, { connection: worker.opts.connection, prefix: worker.opts.prefix });
        queue.on('error', () => {});
        try {
          if (message.action === 'pause') await queue.pause();
          else await queue.resume();
          return { queue: name, ok: true, paused: await queue.isPaused() };
        } catch (err) {
          return { queue: name, ok: false, error: describeError(err) };
        } finally {
          void queue.close().catch(() => {});
        }
      }),
    );
    sendToPrimary({ [TAG]: 'queue-reply', requestId: message.requestId, results });
  }
}

const MANAGER_KEY = Symbol.for('smartworkers.bullmq');

function manager(): Manager {
  const store = globalThis as unknown as Record<symbol, unknown>;
  const existing = store[MANAGER_KEY];
  if (existing instanceof Manager) return existing;
  const created = new Manager();
  Object.defineProperty(store, MANAGER_KEY, { value: created, configurable: true, writable: false, enumerable: false });
  return created;
}

/**
 * Starts a BullMQ worker on `queue` whose jobs smartworkers waits for (see the header).
 * `options` are BullMQ's own (`connection`, `concurrency`, `limiter`, …) plus `countsIntervalMs`.
 * BullMQ's `'error'` events are logged (a worker without a listener would crash on one).
 */
export function createWorker<DataType = any, ResultType = any, NameType extends string = string>(
  queue: string,
  processor: Processor<DataType, ResultType, NameType> | string | URL | null,
  options: SmartWorkerOptions,
): SmartWorker<DataType, ResultType, NameType> {
  const worker = new SmartWorker<DataType, ResultType, NameType>(queue, processor, options);
  let lastError = '';
  let lastAt = 0;
  worker.on('error', (err) => {
    // Redis down makes the same error every retry: one line per distinct error per 5 s.
    const text = describeError(err);
    const now = Date.now();
    if (text === lastError && now - lastAt < 5_000) return;
    lastError = text;
    lastAt = now;
    log(`worker of queue ${queue}: ${text}`);
  });
  manager().add(worker as unknown as SmartWorker, options);
  return worker;
}

/** One worker per entry: `defineWorkers([{ queue, processor, options }])`. */
export function defineWorkers(
  specs: ReadonlyArray<{ queue: string; processor: Processor | string | URL | null; options: SmartWorkerOptions }>,
): SmartWorker[] {
  return specs.map((s) => createWorker(s.queue, s.processor, s.options));
}

/** The managed workers of this process (for tests and shutdown code). */
export function managedWorkers(): SmartWorker[] {
  return [...manager().workers];
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
