/** Queue facts shared by the adapter (in workers) and the primary; no import of `bullmq` here. */

/** Job counts of one queue, sampled in one Redis round trip. */
export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** The queue is paused in Redis (`smartworkers queues pause`, or `Queue.pause()`). */
  paused: boolean;
}

export const COUNT_KEYS = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

export type QueueAction = 'pause' | 'resume';

/** One queue's outcome of a pause or resume. */
export interface QueueActionResult {
  queue: string;
  ok: boolean;
  /** Paused in Redis after the action (when it succeeded). */
  paused?: boolean;
  error?: string;
}
