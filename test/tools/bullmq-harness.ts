/**
 * What the BullMQ tool tests share: a cluster of tests/fixtures/apps/bullmq-worker.cjs on a real
 * Redis, the job log its processor writes, a producer, the CLI, and a pm2-style supervisor for the
 * plain BullMQ worker they are compared with.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { BIN, FIXTURES, run, tempDir, type Cluster } from '../e2e/harness';
import type { RedisServer } from './redis';

export interface JobRecord {
  starts: Array<{ pid: number; attempt: number; at: number }>;
  dones: number[];
}

/** The processor's own record: `start <id> <pid> <attempt> <ms>` and `done <id> <pid>` lines. */
export function readJobLog(file: string): Map<string, JobRecord> {
  const jobs = new Map<string, JobRecord>();
  if (!fs.existsSync(file)) return jobs;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [kind, id, pid, attempt, at] = line.split(' ');
    if (!id) continue;
    let r = jobs.get(id);
    if (!r) jobs.set(id, (r = { starts: [], dones: [] }));
    if (kind === 'start') r.starts.push({ pid: Number(pid), attempt: Number(attempt), at: Number(at) });
    if (kind === 'done') r.dones.push(Number(pid));
  }
  return jobs;
}

export interface BullCluster extends Cluster {
  jobLog: string;
  dir: string;
  /** Runs a CLI command against this cluster: exit code and output. */
  ctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
}

export function startCluster(redis: RedisServer, opts: { yaml?: string; env?: Record<string, string>; dir?: string; jobLog?: string } = {}): BullCluster {
  const dir = opts.dir ?? tempDir();
  const jobLog = opts.jobLog ?? path.join(dir, 'jobs.log');
  const config = path.join(dir, 'workers.yaml');
  fs.writeFileSync(
    config,
    opts.yaml ??
      [`app: ${path.join(FIXTURES, 'bullmq-worker.cjs')}`, 'name: jobs', 'workers: 2', 'ready_on: online', 'summary_interval: 0', ''].join('\n'),
  );
  const cluster = run(['start', '--config', config], { REDIS_PORT: String(redis.port), JOB_LOG: jobLog, ...opts.env });
  return Object.assign(cluster, {
    jobLog,
    dir,
    ctl: (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [BIN, ...args],
          { env: { ...process.env, SMARTWORKERS_CONTROL_SOCKET: cluster.controlSocket }, timeout: 120_000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        );
      }),
  });
}

export function queueOf(redis: RedisServer, name: string): Queue {
  // Unbounded retries: a producer outliving a Redis restart retries instead of throwing.
  const q = new Queue(name, { connection: { ...redis.connection, maxRetriesPerRequest: null } });
  q.on('error', () => {});
  return q;
}

/** Resolves once `check()` holds, checked every `everyMs`; rejects past `timeoutMs` with `what` and the last value. */
export async function until<T>(check: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number, what: string, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A steady stream: `batch` jobs every `everyMs` until `total`. Jobs carry their duration in
 * `data.ms`; ids are `${prefix}${i}` (an add that must be retried is idempotent).
 */
export function stream(queues: Queue[], opts: { total: number; batch: number; everyMs: number; prefix: string[]; ms: (i: number) => number }): {
  done: Promise<void>;
  added: () => number;
} {
  let added = 0;
  const done = (async () => {
    while (added < opts.total) {
      const from = added;
      const to = Math.min(opts.total, from + opts.batch);
      await Promise.all(
        queues.map((q, k) =>
          q.addBulk(
            Array.from({ length: to - from }, (_, j) => ({
              name: 'job',
              data: { ms: opts.ms(from + j) },
              opts: { jobId: `${opts.prefix[k]}${from + j}`, removeOnComplete: false, removeOnFail: false },
            })),
          ),
        ),
      );
      added = to;
      await new Promise((r) => setTimeout(r, opts.everyMs));
    }
  })();
  return { done, added: () => added };
}

/** A plain BullMQ worker process (bullmq-plain.cjs) under pm2's restart: SIGINT, then SIGKILL after 1.6 s. */
export class Pm2Style {
  private procs: ChildProcess[] = [];
  kills = 0;
  restarts = 0;
  constructor(
    private readonly env: Record<string, string>,
    private readonly instances: number,
  ) {}

  private spawnOne(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [path.join(FIXTURES, 'bullmq-plain.cjs')], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('plain-ready')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`plain worker exited (${code}) before it was ready`)));
    });
  }

  async start(): Promise<void> {
    this.procs = await Promise.all(Array.from({ length: this.instances }, () => this.spawnOne()));
  }

  /** pm2's restart of each instance in turn: SIGINT, 1.6 s, SIGKILL, start again. */
  async restart(): Promise<void> {
    for (let i = 0; i < this.procs.length; i++) {
      await this.stopOne(this.procs[i]!);
      this.procs[i] = await this.spawnOne();
      this.restarts++;
    }
  }

  private stopOne(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.kills++;
        child.kill('SIGKILL');
      }, 1_600);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGINT');
    });
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
  }
}

/** Per-queue outcome: what was enqueued, completed, run twice, stalled, failed or left over. */
export interface Outcome {
  enqueued: number;
  completed: number;
  completedOnce: number;
  duplicated: number;
  stalled: number;
  failed: number;
  notFinished: number;
  interrupted: number;
}

export async function outcome(q: Queue, ids: string[], log: Map<string, JobRecord>): Promise<Outcome & { stalledIds: string[] }> {
  const counts = await q.getJobCounts('completed', 'failed');
  let completedOnce = 0;
  let duplicated = 0;
  let interrupted = 0;
  const stalledIds: string[] = [];
  let notFinished = 0;
  for (const id of ids) {
    const r = log.get(id);
    const job = await q.getJob(id);
    const state = job ? await job.getState() : 'missing';
    if (state !== 'completed' && state !== 'failed') notFinished++;
    if ((job?.stalledCounter ?? 0) > 0 || /stalled/.test(job?.failedReason ?? '')) stalledIds.push(id);
    if (!r) continue;
    if (r.starts.length > 1) duplicated++;
    if (state === 'completed' && r.dones.length === 1 && r.starts.length === 1) completedOnce++;
    interrupted += r.starts.length - r.dones.length > 0 ? r.starts.length - r.dones.length : 0;
  }
  return {
    enqueued: ids.length,
    completed: counts.completed ?? 0,
    completedOnce,
    duplicated,
    stalled: stalledIds.length,
    failed: counts.failed ?? 0,
    notFinished,
    interrupted,
    stalledIds,
  };
}
