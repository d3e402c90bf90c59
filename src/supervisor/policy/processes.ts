/**
 * Process apps in the one policy: the same rules as cluster apps, with the differences their
 * workers impose. A process worker has no runtime inside: no heartbeat to judge (it is never
 * killed for silence), no drain to wait for and no tasks to count — retiring it is its stop
 * signal (the process host turns `retire` into `stop_signal` to its group), and SIGKILL follows
 * after `graceful_timeout` (pm2's kill_timeout), for a recycle as for a stop.
 */
import type { WorkerRecord } from '../state';
import type { Ctx } from './actions';

export function isProcessWorker(ctx: Ctx, w: WorkerRecord): boolean {
  return ctx.s.apps[w.app]?.settings.kind === 'process';
}

/** How long a retired worker may take: a process worker has no tasks to wait for, only its stop. */
export function retireWait(ctx: Ctx, w: WorkerRecord, stopping: boolean): number {
  const settings = ctx.s.apps[w.app]?.settings;
  const graceful = settings?.gracefulTimeout ?? 30_000;
  if (stopping || isProcessWorker(ctx, w)) return graceful;
  return settings?.maxTaskWait ?? 300_000;
}

/** After giving up on a worker's drain: a process worker is past its stop signal's grace, so SIGKILL now. */
export function abandonGrace(ctx: Ctx, w: WorkerRecord, grace: number): number {
  return isProcessWorker(ctx, w) ? 0 : grace;
}
