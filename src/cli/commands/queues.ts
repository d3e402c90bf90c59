/**
 * `smartworkers queues [list]`, `smartworkers queues pause [queue]`, `smartworkers queues resume [queue]`:
 * the BullMQ queues of the cluster's `smartworkers/bullmq` workers. Pause and resume act in Redis
 * (BullMQ's `Queue.pause()`), so they hold for every worker on every machine, and for the
 * replacements of recycled workers, until resumed.
 */
import type { QueueStatus } from '../../bullmq/board';
import { sendCommand } from '../../control/client';
import type { QueuesResult } from '../../control/protocol';
import { EXIT, SmartworkersError } from '../../errors';
import { formatDuration, renderTable } from './format';
import { runReportingErrors, timeoutMs, type CommandIO, type ConnectionOptions } from './io';
import { resolveSocketPath } from './socket';

export interface QueuesOptions extends ConnectionOptions {
  json?: boolean;
}

/** The primary waits up to 5 s for the worker's Redis round trip; a margin on top. */
const QUEUES_TIMEOUT_MS = 15_000;

export function runQueues(action: string | undefined, queue: string | undefined, options: QueuesOptions, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const verb = action ?? 'list';
    if (verb !== 'list' && verb !== 'pause' && verb !== 'resume') {
      throw new SmartworkersError('SW_USAGE', `Expected the queues action to be list, pause or resume, got ${JSON.stringify(action)}`);
    }
    const socketPath = resolveSocketPath(options, io.cwd, io.env, io.readConfiguredSocket);
    const args: { action: typeof verb; queue?: string } = { action: verb };
    if (queue !== undefined) args.queue = queue;
    const result: QueuesResult = await sendCommand(socketPath, 'queues', args, timeoutMs(options, QUEUES_TIMEOUT_MS));
    if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else if (verb === 'list') io.stdout.write(`${renderQueues(result.queues)}\n`);
    else (result.ok ? io.stdout : io.stderr).write(`${result.ok ? '' : 'smartworkers: '}${result.message}\n`);
    return result.ok ? EXIT.ok : EXIT.failure;
  });
}

export function renderQueues(queues: QueueStatus[]): string {
  if (queues.length === 0) return 'no BullMQ queues (no worker uses smartworkers/bullmq)';
  const headers = ['QUEUE', 'WORKERS', 'WAITING', 'ACTIVE', 'DELAYED', 'COMPLETED', 'FAILED', 'PAUSED', 'SAMPLED'];
  const rows = queues.map((q) => {
    const c = q.counts;
    const n = (k: 'waiting' | 'active' | 'delayed' | 'completed' | 'failed') => (c ? String(c[k]) : '-');
    return [q.name, String(q.workers), n('waiting'), n('active'), n('delayed'), n('completed'), n('failed'), c ? (c.paused ? 'yes' : 'no') : '-', q.sampleAgeMs === null ? '-' : `${formatDuration(q.sampleAgeMs)} ago`];
  });
  return renderTable(headers, rows, new Set([1, 2, 3, 4, 5, 6]));
}
