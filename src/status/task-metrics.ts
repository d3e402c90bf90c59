/**
 * Metrics of managed background tasks (`task_types`), from the snapshot's `taskManagement`:
 * queued tasks, permits, permit waits (a histogram the primary keeps), time-limit hits, overdue
 * tasks and retries. No series at all for an app without task settings.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { PERMIT_WAIT_BUCKETS, type TaskManagementStatus } from '../supervisor/task-broker';
import type { StatusSnapshot } from './snapshot';

type Entries = Array<[string, TaskManagementStatus]>;

export function registerTaskMetrics(registers: Registry[], snapshot: () => StatusSnapshot): void {
  const apps = (): Entries => Object.entries(snapshot().taskManagement ?? {});

  const perType = (name: string, help: string, read: (m: TaskManagementStatus) => Record<string, number>): void => {
    new Gauge({
      name,
      help,
      labelNames: ['app', 'type'],
      registers,
      collect() {
        this.reset();
        for (const [app, m] of apps()) for (const [type, value] of Object.entries(read(m))) this.set({ app, type }, value);
      },
    });
  };
  perType('smartworkers_tasks_queued', 'Background tasks waiting now (for a permit, a paused type or a retry), by type.', (m) => m.queuedByType);
  perType('smartworkers_task_permits', 'Cluster-wide permits of a limited task type (its concurrency).', (m) => mapValues(m.permits, (p) => p.limit));
  perType('smartworkers_task_permits_in_use', 'Permits of a limited task type held by running tasks now.', (m) => mapValues(m.permits, (p) => p.inUse));
  perType('smartworkers_task_type_paused', 'Task types paused with `tasks pause` (1); `*` = every type.', (m) => Object.fromEntries(m.paused.map((t) => [t, 1])));

  const perApp = (name: string, help: string, read: (m: TaskManagementStatus) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        for (const [app, m] of apps()) this.inc({ app }, read(m));
      },
    });
  };
  perApp('smartworkers_tasks_overdue_total', 'Tasks flagged overdue (past stale_after, or 3 × their estimate); each is logged once.', (m) => m.overdue);
  perApp('smartworkers_task_retries_total', 'Retries of rejected tasks (task_types retries).', (m) => m.retries);
  new Counter({
    name: 'smartworkers_task_time_limit_hits_total',
    help: 'Tasks past their time limit: soft (signal aborted) or hard (task failed, worker recycled).',
    labelNames: ['app', 'limit'],
    registers,
    collect() {
      this.reset();
      for (const [app, m] of apps()) {
        this.inc({ app, limit: 'soft' }, m.softLimitHits);
        this.inc({ app, limit: 'hard' }, m.hardLimitHits);
      }
    },
  });
  // The primary keeps the histogram's buckets itself (it grants the permits): exposed as is.
  for (const registry of registers) {
    registry.registerMetric({
      name: 'smartworkers_task_permit_wait_seconds',
      help: 'How long tasks of limited types waited for a permit, seconds.',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({
        name: 'smartworkers_task_permit_wait_seconds',
        help: 'How long tasks of limited types waited for a permit, seconds.',
        type: 'histogram',
        aggregator: 'sum',
        values: apps().flatMap(([app, m]) => [
          ...PERMIT_WAIT_BUCKETS.map((le, i) => ({ metricName: 'smartworkers_task_permit_wait_seconds_bucket', labels: { app, le }, value: m.permitWaits.buckets[i] ?? 0 })),
          { metricName: 'smartworkers_task_permit_wait_seconds_bucket', labels: { app, le: '+Inf' }, value: m.permitWaits.count },
          { metricName: 'smartworkers_task_permit_wait_seconds_sum', labels: { app }, value: m.permitWaits.sumSeconds },
          { metricName: 'smartworkers_task_permit_wait_seconds_count', labels: { app }, value: m.permitWaits.count },
        ]),
      }),
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }
}

function mapValues<T>(record: Record<string, T>, fn: (value: T) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) out[key] = fn(value);
  return out;
}
