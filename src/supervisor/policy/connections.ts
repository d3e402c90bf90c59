/**
 * Long-lived connections — WebSockets (upgrades), server-sent events, streaming downloads and
 * uploads — in a drain:
 *
 * - a retiring or stopping worker is given `drain_timeout` (within `graceful_timeout` on a stop)
 *   for them; the worker tells the app the deadline at once and cuts what is left at it;
 * - every cut is logged (worker, kind, open for how long, path), counted by kind and reason, and
 *   makes the exit code 1 after the stop, as a lost task does: the worker reports its own cuts
 *   (`cut`), the primary counts those of a worker it had to SIGKILL from its last report;
 * - a worker held only by such connections has its own bound, so it does not count against the
 *   surge cap (`max_retiring`): the next reload or recycle is not held back by it;
 * - the primary gives up on a worker (`abandon`) at `max_task_wait` only once its connections
 *   had their `drain_timeout`: the two bounds are separate.
 */
import { CUT_KINDS, type CutKind, type CutMessage } from '../../protocol';
import type { AppSettings } from '../../config/types';
import type { ConnectionCutReason, Totals, WorkerRecord } from '../state';
import { ABANDON_GRACE_MS, type Ctx, log, mutTotals, mutWorker, who } from './actions';

export const CUT_REASONS: readonly ConnectionCutReason[] = ['drain_timeout', 'abandoned', 'killed'];

export function emptyConnectionsCut(): Totals['connectionsCut'] {
  const out = {} as Totals['connectionsCut'];
  for (const kind of CUT_KINDS) out[kind] = { drain_timeout: 0, abandoned: 0, killed: 0 };
  return out;
}

export function connectionsCutTotal(totals: Totals): number {
  let n = 0;
  for (const kind of CUT_KINDS) for (const reason of CUT_REASONS) n += totals.connectionsCut[kind][reason];
  return n;
}

/** The bound of a drain's long-lived connections, ms from the retire. */
export function drainBound(settings: AppSettings | undefined, stopping: boolean, force: boolean): number {
  const drain = settings?.drainTimeout ?? 30_000;
  const graceful = settings?.gracefulTimeout ?? 30_000;
  return stopping || force ? Math.min(drain, graceful) : drain;
}

/** Long-lived connections the worker last reported: upgraded ones and streaming responses. */
export function longLived(w: WorkerRecord): number {
  return w.upgraded + w.streaming;
}

/**
 * A retired worker that waits only on long-lived connections (no plain request in flight, no
 * task): bounded by its drain deadline, it does not count against `max_retiring`.
 */
export function heldOnlyByLongLived(w: WorkerRecord): boolean {
  return w.state === 'retiring' && w.drainDeadline !== null && w.activeTasks === 0 && w.inflight - w.streaming === 0 && longLived(w) > 0;
}

/** The primary waits to abandon a worker whose connections have not had their drain_timeout yet. */
export function connectionsStillBounded(ctx: Ctx, w: WorkerRecord): boolean {
  return ctx.s.phase === 'running' && w.state === 'retiring' && w.drainDeadline !== null && ctx.env.now < w.drainDeadline + ABANDON_GRACE_MS;
}

export function onCut(ctx: Ctx, found: WorkerRecord, m: CutMessage): void {
  const w = mutWorker(ctx, found);
  if (m.reason === 'abandoned') w.cutReported = true;
  const totals = mutTotals(ctx);
  const cut = { ...totals.connectionsCut };
  let total = 0;
  for (const kind of CUT_KINDS) {
    cut[kind] = { ...cut[kind], [m.reason]: cut[kind][m.reason] + m.counts[kind] };
    total += m.counts[kind];
  }
  totals.connectionsCut = cut;
  const bound = m.reason === 'drain_timeout' ? 'drain_timeout passed' : 'the worker was given up on';
  for (const c of m.connections) {
    log(ctx, 'warn', `connection cut: ${c.kind} still open when ${bound}`, {
      ...who(w),
      kind: c.kind,
      reason: m.reason,
      openMs: c.openMs,
      path: c.path,
    });
  }
  if (total > m.connections.length) {
    log(ctx, 'warn', `connection cut: ${total - m.connections.length} more (${describeCounts(m.counts)} in all)`, {
      ...who(w),
      reason: m.reason,
      counts: m.counts,
    });
  }
}

/**
 * A worker the primary SIGKILLed (hung, over max_memory_hard, past its stop deadline) takes the
 * connections of its last report with it, unless it reported its cut first.
 */
export function cutAtExit(ctx: Ctx, w: WorkerRecord): void {
  if (!w.killSent || w.cutReported) return;
  const counts: Record<CutKind, number> = { request: Math.max(0, w.inflight - w.streaming), stream: w.streaming, upgraded: w.upgraded };
  const total = counts.request + counts.stream + counts.upgraded;
  if (total === 0) return;
  const totals = mutTotals(ctx);
  const cut = { ...totals.connectionsCut };
  for (const kind of CUT_KINDS) cut[kind] = { ...cut[kind], killed: cut[kind].killed + counts[kind] };
  totals.connectionsCut = cut;
  log(ctx, 'warn', `connection cut: ${total} connection(s) open when the worker was killed (${describeCounts(counts)})`, {
    ...who(w),
    reason: 'killed',
    counts,
  });
}

export function describeCounts(counts: Record<CutKind, number>): string {
  return CUT_KINDS.filter((k) => counts[k] > 0)
    .map((k) => `${counts[k]} ${k}`)
    .join(', ');
}
