import { describe, expect, it } from 'vitest';
import { createStatusMetrics } from '../../src/status/metrics';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { FakeControl } from '../control/fake-control';
import { checkMetrics, parsePrometheusText } from './prometheus-text';

describe('managed task metrics', () => {
  it('queued tasks, permits, permit waits, time-limit hits, overdue and retries per app', async () => {
    const control = new FakeControl();
    const base = control.snapshot.bind(control);
    control.snapshot = (): StatusSnapshot => ({
      ...base(),
      taskManagement: {
        api: {
          permits: { crm: { limit: 2, inUse: 2, queued: 5 } },
          paused: ['email'],
          permitWaits: { buckets: [1, 2, 3, 4, 5, 5, 5], count: 5, sumSeconds: 12.5 },
          queuedByType: { crm: 5 },
          overdue: 1,
          softLimitHits: 2,
          hardLimitHits: 1,
          retries: 3,
        },
      },
    });
    const text = await createStatusMetrics(control).render();
    expect(checkMetrics(text)).toEqual([]);
    const families = parsePrometheusText(text);
    const sample = (name: string, labels: Record<string, string>) =>
      families.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(sample('smartworkers_tasks_queued', { app: 'api', type: 'crm' })).toBe(5);
    expect(sample('smartworkers_task_permits', { app: 'api', type: 'crm' })).toBe(2);
    expect(sample('smartworkers_task_permits_in_use', { app: 'api', type: 'crm' })).toBe(2);
    expect(sample('smartworkers_task_type_paused', { app: 'api', type: 'email' })).toBe(1);
    expect(sample('smartworkers_task_time_limit_hits_total', { app: 'api', limit: 'hard' })).toBe(1);
    expect(sample('smartworkers_tasks_overdue_total', { app: 'api' })).toBe(1);
    expect(sample('smartworkers_task_retries_total', { app: 'api' })).toBe(3);
    expect(text).toContain('smartworkers_task_permit_wait_seconds_bucket{app="api",le="+Inf"} 5');
    expect(text).toContain('smartworkers_task_permit_wait_seconds_count{app="api"} 5');
  });
});
