/**
 * `smartworkers/bullmq` against a real Redis (Debian `redis-server`, installed by
 * scripts/install-redis.sh; each test starts its own instance on a free port and stops it).
 * Job ids are recorded by the processor itself (test/fixtures/apps/bullmq-worker.cjs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cleanup, FIXTURES, isMsg, ROOT, tempDir } from '../e2e/harness';
import { outcome, Pm2Style, queueOf, readJobLog, startCluster, stream, until } from './bullmq-harness';
import { startRedis, stopAllRedis } from './redis';

afterEach(async () => {
  await cleanup();
  await stopAllRedis();
});
afterAll(async () => {
  await cleanup();
  await stopAllRedis();
});

const ready = (c: { waitForCount: Function }, n: number) =>
  (c.waitForCount as (p: (l: Record<string, unknown>) => boolean, n: number, t: number, w: string) => Promise<unknown>)(
    (l) => l.fixture === 'bullmq-ready',
    n,
    60_000,
    'BullMQ workers ready',
  );

describe('smartworkers/bullmq on a real Redis', () => {
  it(
    'runs a stream of 2,000 jobs through 10 recycles and a reload: each completed exactly once, none stalled or failed (a plain BullMQ worker under pm2-style restarts beside it)',
    async () => {
      const redis = await startRedis();
      const total = 2_000;
      const cluster = startCluster(redis, { env: { CONCURRENCY: '10' } });
      await ready(cluster, 2);
      const plainLog = path.join(cluster.dir, 'plain.log');
      const plain = new Pm2Style({ REDIS_PORT: String(redis.port), JOB_LOG: plainLog, QUEUE: 'plain', CONCURRENCY: '10' }, 2);
      await plain.start();

      const ours = queueOf(redis, 'jobs');
      const theirs = queueOf(redis, 'plain');
      // 5% of the jobs take 1.5–2.5 s (longer than pm2's 1.6 s kill), the rest 20 ms; 30 s of stream.
      const ms = (i: number) => (i % 20 === 7 ? 1_500 + ((i * 37) % 1_000) : 20);
      const producer = stream([ours, theirs], { total, batch: 10, everyMs: 150, prefix: ['s', 'p'], ms });

      const started = Date.now();
      for (let r = 0; r < 10; r++) {
        const [recycle] = await Promise.all([cluster.ctl('recycle', 'all'), plain.restart()]);
        expect(recycle.code, recycle.stdout + recycle.stderr).toBe(0);
      }
      const [reload] = await Promise.all([cluster.ctl('reload'), plain.restart()]);
      expect(reload.code, reload.stdout + reload.stderr).toBe(0);
      const restartsDoneAt = Date.now() - started;
      await producer.done;
      const enqueuedBy = producer.added();

      await until(() => ours.getJobCounts('completed', 'failed'), (c) => (c.completed ?? 0) + (c.failed ?? 0) >= total, 120_000, 'all of our jobs finished');
      const oursDoneAt = Date.now() - started;
      // The plain worker's cut jobs come back only through stall detection (BullMQ's default: every 30 s).
      await until(() => theirs.getJobCounts('completed', 'failed'), (c) => (c.completed ?? 0) + (c.failed ?? 0) >= total, 150_000, 'all of the plain jobs finished').catch(() => null);
      const theirsDoneAt = Date.now() - started;

      const ids = (p: string) => Array.from({ length: total }, (_, i) => `${p}${i}`);
      const a = await outcome(ours, ids('s'), readJobLog(cluster.jobLog));
      const b = await outcome(theirs, ids('p'), readJobLog(plainLog));
      const plainLogRecords = readJobLog(plainLog);
      const recoveries = b.stalledIds
        .map((id) => plainLogRecords.get(id)?.starts ?? [])
        .filter((s) => s.length > 1)
        .map((s) => s[1]!.at - s[0]!.at);
      const lost = cluster.lines.filter(isMsg('task lost')).length;
      const table = [
        `enqueued ${enqueuedBy} jobs to each queue over ${(restartsDoneAt / 1000).toFixed(0)} s of restarts (10 recycles + 1 reload each)`,
        `                  enqueued completed once duplicated stalled failed unfinished interrupted`,
        `smartworkers      ${[a.enqueued, a.completed, a.completedOnce, a.duplicated, a.stalled, a.failed, a.notFinished, a.interrupted].map((n) => String(n).padStart(8)).join(' ')}   (all done ${(oursDoneAt / 1000).toFixed(1)} s, tasks lost ${lost})`,
        `plain, pm2-style  ${[b.enqueued, b.completed, b.completedOnce, b.duplicated, b.stalled, b.failed, b.notFinished, b.interrupted].map((n) => String(n).padStart(8)).join(' ')}   (${(theirsDoneAt / 1000).toFixed(1)} s; SIGKILLs ${plain.kills}; stalled jobs back after ${recoveries.length ? `${Math.min(...recoveries)}–${Math.max(...recoveries)} ms` : '-'})`,
      ].join('\n');
      console.log(table);
      const ourLog = readJobLog(cluster.jobLog);
      for (const id of a.stalledIds.slice(0, 5)) console.log(`ours, stalled ${id}: ${JSON.stringify(ourLog.get(id))}`);
      await plain.stop();
      await Promise.all([ours.close(), theirs.close()]);

      expect(a).toMatchObject({ enqueued: total, completed: total, completedOnce: total, duplicated: 0, stalled: 0, failed: 0, notFinished: 0, interrupted: 0 });
      expect(lost).toBe(0);
      const stop = await cluster.ctl('stop');
      expect(stop.code).toBe(0);
      expect((await cluster.exited).code).toBe(0);
    },
    420_000,
  );

  it('moves the jobs a forced stop cuts back to waiting at once; a new cluster completes them', async () => {
    const redis = await startRedis();
    const cluster = startCluster(redis);
    await ready(cluster, 2);
    const q = queueOf(redis, 'jobs');
    await q.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'long', data: { ms: 60_000 }, opts: { jobId: `f${i}` } })));
    await until(async () => readJobLog(cluster.jobLog).size, (n) => n === 6, 30_000, 'six jobs started');

    const stopAt = Date.now();
    const stop = await cluster.ctl('stop', '--force');
    expect(stop.code, stop.stderr).toBe(0);
    const { code } = await cluster.exited;
    const exitedMs = Date.now() - stopAt;
    // Back in waiting the moment the cluster is gone: nothing left active for stall detection.
    const counts = await q.getJobCounts('waiting', 'active', 'failed', 'completed');
    expect(counts).toMatchObject({ waiting: 6, active: 0, failed: 0, completed: 0 });
    expect(code).toBe(1); // tasks were lost: the exit code says so
    const lost = cluster.lines.filter(isMsg('task lost'));
    expect(lost.map((l) => (l.task as { id: string }).id).sort()).toEqual(['jobs:f0', 'jobs:f1', 'jobs:f2', 'jobs:f3', 'jobs:f4', 'jobs:f5']);
    expect((lost[0]!.task as { type: string }).type).toBe('jobs');
    expect(cluster.stderr()).toMatch(/job jobs:f\d \(long\) still running when the primary gave up on it: moved back to waiting/);
    console.log(`forced stop: cluster gone after ${exitedMs} ms; ${counts.waiting} jobs waiting, ${counts.active} active`);

    // Shorter jobs now: the same ids complete after a restart.
    for (let i = 0; i < 6; i++) await (await q.getJob(`f${i}`))!.updateData({ ms: 50 });
    const again = startCluster(redis, { dir: cluster.dir, jobLog: cluster.jobLog });
    await until(() => q.getJobCounts('completed'), (c) => c.completed === 6, 60_000, 'the six jobs completed after the restart');
    const log = readJobLog(cluster.jobLog);
    for (let i = 0; i < 6; i++) {
      const r = log.get(`f${i}`)!;
      expect(r.starts.length).toBe(2);
      expect(r.dones.length).toBe(1);
      expect((await q.getJob(`f${i}`))!.stalledCounter).toBe(0);
    }
    await q.close();
    expect((await again.ctl('stop')).code).toBe(0);
    expect((await again.exited).code).toBe(0);
  }, 180_000);

  it('recovers the jobs of a SIGKILLed worker through stall detection, and says how long it took', async () => {
    const redis = await startRedis();
    const cluster = startCluster(redis, { env: { STALLED_MS: '5000' } });
    await ready(cluster, 2);
    const q = queueOf(redis, 'jobs');
    await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'long', data: { ms: 3_000 }, opts: { jobId: `k${i}` } })));
    const log1 = await until(async () => readJobLog(cluster.jobLog), (m) => m.size === 4, 30_000, 'four jobs started');
    const victim = [...log1.values()][0]!.starts[0]!.pid;
    const cut = [...log1].filter(([, r]) => r.starts[0]!.pid === victim).map(([id]) => id);
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    await cluster.waitFor((l) => String(l.msg).startsWith('worker exited') && l.signal === 'SIGKILL', 30_000, 'the killed worker noticed');
    await until(() => q.getJobCounts('completed'), (c) => c.completed === 4, 120_000, 'all four jobs completed');
    const log = readJobLog(cluster.jobLog);
    const recovered = cut.map((id) => log.get(id)!.starts[1]!.at - killedAt);
    console.log(`SIGKILL: ${cut.length} job(s) cut, recovered by stall detection (lockDuration 30 s, stalledInterval 5 s) after ${recovered.join(', ')} ms`);
    for (const id of cut) {
      expect(log.get(id)!.starts.length).toBe(2);
      expect(log.get(id)!.dones.length).toBe(1);
      expect((await q.getJob(id))!.stalledCounter).toBe(1);
    }
    expect(cluster.child.exitCode).toBeNull();
    await q.close();
    expect((await cluster.ctl('stop')).code).toBe(0);
  }, 180_000);

  it('keeps the primary up while Redis is stopped and started again under load: workers reconnect, nothing is lost', async () => {
    const redis = await startRedis();
    const cluster = startCluster(redis, { env: { CONCURRENCY: '10' } });
    await ready(cluster, 2);
    const q = queueOf(redis, 'jobs');
    const total = 400;
    const producer = stream([q], { total, batch: 10, everyMs: 100, prefix: ['r'], ms: (i) => (i % 10 === 3 ? 800 : 30) });
    await until(async () => readJobLog(cluster.jobLog).size, (n) => n >= 100, 30_000, '100 jobs started');
    await redis.stop();
    const downAt = Date.now();
    // Down long enough that every worker sees it (its blocking fetch and its job writes fail).
    await new Promise((r) => setTimeout(r, 2_000));
    await redis.restart();
    const upAfter = Date.now() - downAt;
    await producer.done;
    await until(() => q.getJobCounts('completed', 'failed'), (c) => (c.completed ?? 0) + (c.failed ?? 0) >= total, 120_000, 'all jobs finished after Redis came back');
    const o = await outcome(q, Array.from({ length: total }, (_, i) => `r${i}`), readJobLog(cluster.jobLog));
    console.log(`Redis down for ${upAfter} ms under load: ${JSON.stringify({ ...o, stalledIds: undefined })}`);
    // Nothing lost or run twice. A job Redis moved to active just as it stopped may have had its
    // reply lost with the connection: stall detection gives it back (stalled, yet completed once).
    expect(o).toMatchObject({ enqueued: total, completed: total, failed: 0, notFinished: 0, duplicated: 0, interrupted: 0 });
    expect(o.completedOnce).toBe(total);
    expect(cluster.child.exitCode).toBeNull();
    expect(cluster.lines.filter((l) => l.msg === 'worker exited')).toEqual([]);
    await q.close();
    expect((await cluster.ctl('stop')).code).toBe(0);
    expect((await cluster.exited).code).toBe(0);
  }, 240_000);
  it('pauses and resumes a queue cluster-wide under a job stream; status, /status, /metrics and the summary line show its counts', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    const yaml = [
      `app: ${path.join(FIXTURES, 'bullmq-worker.cjs')}`, 'name: jobs', 'workers: 2', 'ready_on: online',
      'summary_interval: 1s', 'status:', '  listen: 127.0.0.1:0', '',
    ].join('\n');
    const cluster = startCluster(redis, { yaml, dir, env: { COUNTS_MS: '300' } });
    const socketLine = await cluster.waitFor(isMsg('control socket ready'), 30_000, 'control socket ready');
    const statusUrl = socketLine.statusUrl as string;
    await ready(cluster, 2);
    const q = queueOf(redis, 'jobs');
    const total = 600;
    const producer = stream([q], { total, batch: 10, everyMs: 100, prefix: ['q'], ms: () => 20 });
    await until(async () => readJobLog(cluster.jobLog).size, (n) => n >= 100, 30_000, '100 jobs started');

    const pause = await cluster.ctl('queues', 'pause', 'jobs');
    expect(pause, pause.stderr).toMatchObject({ code: 0, stdout: 'paused jobs\n' });
    const pausedAt = Date.now();
    // The next samples show it paused, with the stream piling up in waiting.
    const status = await until(
      async () => JSON.parse((await cluster.ctl('status', '--json')).stdout) as { queues?: Array<{ name: string; workers: number; counts: Record<string, number | boolean> | null }> },
      (s) => s.queues?.[0]?.counts?.paused === true && Number(s.queues[0].counts.waiting) >= 20,
      30_000,
      'status showing the queue paused with jobs waiting',
    );
    expect(status.queues).toEqual([expect.objectContaining({ name: 'jobs', workers: 2 })]);
    const startedSincePause = () => [...readJobLog(cluster.jobLog).values()].filter((r) => r.starts.some((st) => st.at > pausedAt + 500)).length;
    expect(startedSincePause()).toBe(0);
    expect(await (await fetch(`${statusUrl}/status`)).json()).toMatchObject({ queues: [expect.objectContaining({ name: 'jobs' })] });
    const metrics = await (await fetch(`${statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/^smartworkers_queue_jobs\{queue="jobs",state="waiting"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^smartworkers_queue_paused\{queue="jobs"\} 1$/m);
    const summary = await cluster.waitFor((l) => typeof l.msg === 'string' && /queue jobs \d+ waiting, .*\(paused\)/.test(l.msg), 30_000, 'a summary line with the paused queue');
    const table = await cluster.ctl('queues');
    expect(table.stdout).toMatch(/^jobs\s+2\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+yes\b/m);
    expect((await cluster.ctl('queues', 'pause', 'nope')).code).toBe(1);
    expect(startedSincePause()).toBe(0);
    console.log(`paused: ${String(summary.msg)}`);

    const resume = await cluster.ctl('queues', 'resume');
    expect(resume, resume.stderr).toMatchObject({ code: 0, stdout: 'resumed jobs\n' });
    await producer.done;
    await until(() => q.getJobCounts('completed'), (c) => c.completed === total, 60_000, 'every job completed after the resume');
    const o = await outcome(q, Array.from({ length: total }, (_, i) => `q${i}`), readJobLog(cluster.jobLog));
    expect(o).toMatchObject({ completed: total, completedOnce: total, failed: 0, stalled: 0 });
    await q.close();
    expect((await cluster.ctl('stop')).code).toBe(0);
  }, 180_000);
  it('runs examples/bullmq: the HTTP app enqueues, the worker group processes, through a recycle of the workers', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    const example = path.join(ROOT, 'examples', 'bullmq');
    const yaml = fs
      .readFileSync(path.join(example, 'workers.yaml'), 'utf8')
      .replace('app: api.js', `app: ${path.join(example, 'api.js')}`)
      .replace('app: worker.js', `app: ${path.join(example, 'worker.js')}`)
      .replace('PORT: "3000"', 'PORT: "0"');
    const cluster = startCluster(redis, { yaml, dir, env: { SEND_MS: '50' } });
    expect(yaml).toMatch(/ready_on: message/);
    const api = await cluster.waitFor((l) => /^api listening on port \d+$/.test(String(l.raw)), 60_000, 'the api listening');
    const port = Number(/(\d+)$/.exec(String(api.raw))![1]);
    await cluster.waitForCount(isMsg('worker ready'), 4, 60_000, 'four workers ready');
    const post = (to: string) => fetch(`http://127.0.0.1:${port}/emails?to=${to}`, { method: 'POST' }).then((r) => r.json() as Promise<{ queued: string }>);
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`a${i}@example.com`)));
    const recycle = cluster.ctl('recycle', 'mailer:all');
    const second = await Promise.all(Array.from({ length: 20 }, (_, i) => post(`b${i}@example.com`)));
    expect((await recycle).code).toBe(0);
    const q = queueOf(redis, 'email');
    await until(() => q.getJobCounts('completed', 'failed'), (c) => c.completed === 40, 60_000, '40 emails sent');
    const sent = cluster.lines.filter((l) => /^email \d+ sent to /.test(String(l.raw)));
    expect(new Set(sent.map((l) => String(l.raw).split(' ')[1])).size).toBe(40);
    expect([...first, ...second].every((r) => typeof r.queued === 'string')).toBe(true);
    const queues = await until(
      async () => JSON.parse((await cluster.ctl('queues', '--json')).stdout) as { queues: Array<{ name: string; workers: number; counts: { completed: number } | null }> },
      (r) => r.queues[0]?.counts?.completed === 40 && r.queues[0].workers === 2,
      30_000,
      'the sampled counts',
    );
    expect(queues.queues).toEqual([expect.objectContaining({ name: 'email', workers: 2 })]);
    await q.close();
    expect((await cluster.ctl('stop')).code).toBe(0);
    expect((await cluster.exited).code).toBe(0);
  }, 180_000);
});
