import { describe, expect, it } from 'vitest';
import { createStatusMetrics } from '../../src/status/metrics';
import { FakeControl, makeWorker } from '../control/fake-control';
import { parsePrometheusText, type Family } from './prometheus-text';

function value(family: Family | undefined, labels: Record<string, string> = {}): number | undefined {
  return family?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('Prometheus metrics', () => {
  it('renders a valid exposition with stable prefixed names and help text', async () => {
    const control = new FakeControl();
    const metrics = createStatusMetrics(control, { primaryLoopLagMs: () => 12 });
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusText(await metrics.render());
    for (const family of families.values()) {
      expect(family.name).toMatch(/^smartworkers_[a-z_]+$/);
      expect(family.help.length).toBeGreaterThan(10);
    }
    expect([...families.keys()].sort()).toEqual([
      'smartworkers_active_tasks',
      'smartworkers_app_failed',
      'smartworkers_app_info',
      'smartworkers_apps_failed_total',
      'smartworkers_connections_cut_total',
      'smartworkers_primary_event_loop_lag_seconds',
      'smartworkers_primary_phase',
      'smartworkers_primary_rss_bytes',
      'smartworkers_primary_uptime_seconds',
      'smartworkers_processes_killed_total',
      'smartworkers_queue_jobs',
      'smartworkers_queue_paused',
      'smartworkers_queue_sample_age_seconds',
      'smartworkers_recycle_task_wait_seconds_total',
      'smartworkers_recycles_delayed_by_tasks_total',
      'smartworkers_recycles_total',
      'smartworkers_requests_served_total',
      'smartworkers_slots_stopped',
      'smartworkers_task_permit_wait_seconds',
      'smartworkers_task_permits',
      'smartworkers_task_permits_in_use',
      'smartworkers_task_retries_total',
      'smartworkers_task_time_limit_hits_total',
      'smartworkers_task_type_paused',
      'smartworkers_tasks_finished_total',
      'smartworkers_tasks_overdue_total',
      'smartworkers_tasks_queued',
      'smartworkers_tasks_started_total',
      'smartworkers_worker_active_tasks',
      'smartworkers_worker_connections',
      'smartworkers_worker_cpu_percent',
      'smartworkers_worker_drain_left_seconds',
      'smartworkers_worker_event_loop_delay_seconds',
      'smartworkers_worker_generation',
      'smartworkers_worker_heartbeat_age_seconds',
      'smartworkers_worker_idle_connections',
      'smartworkers_worker_inflight_requests',
      'smartworkers_worker_request_limit',
      'smartworkers_worker_requests_served_total',
      'smartworkers_worker_rss_bytes',
      'smartworkers_worker_slot_restarts',
      'smartworkers_worker_state',
      'smartworkers_worker_streaming_responses',
      'smartworkers_worker_upgraded_connections',
      'smartworkers_worker_uptime_seconds',
      'smartworkers_workers',
      'smartworkers_workers_desired',
      'smartworkers_workers_ready',
    ]);
  });

  it('shows the BullMQ queues the snapshot carries, and none before a sample', async () => {
    const control = new FakeControl();
    const base = control.snapshot.bind(control);
    const counts = { waiting: 12, active: 3, delayed: 1, completed: 140, failed: 2, paused: true };
    control.snapshot = () => ({
      ...base(),
      queues: [
        { name: 'email', workers: 2, counts, sampleAgeMs: 1500 },
        { name: 'sms', workers: 1, counts: null, sampleAgeMs: null },
      ],
    });
    const families = parsePrometheusText(await createStatusMetrics(control).render());
    expect(value(families.get('smartworkers_queue_jobs'), { queue: 'email', state: 'waiting' })).toBe(12);
    expect(value(families.get('smartworkers_queue_jobs'), { queue: 'email', state: 'failed' })).toBe(2);
    expect(value(families.get('smartworkers_queue_paused'), { queue: 'email' })).toBe(1);
    expect(value(families.get('smartworkers_queue_sample_age_seconds'), { queue: 'email' })).toBe(1.5);
    expect(families.get('smartworkers_queue_jobs')!.samples.some((s) => s.labels.queue === 'sms')).toBe(false);
  });

  it('reads every value from the snapshot at scrape time', async () => {
    const control = new FakeControl();
    const metrics = createStatusMetrics(control, { primaryLoopLagMs: () => 12 });
    let families = parsePrometheusText(await metrics.render());
    const w1 = { app: 'api', slot: '0', worker_id: '1' };
    const w2 = { app: 'api', slot: '1', worker_id: '2' };
    expect(value(families.get('smartworkers_worker_state'), { ...w1, state: 'ready' })).toBe(1);
    expect(value(families.get('smartworkers_worker_state'), { ...w1, state: 'retiring' })).toBe(0);
    expect(families.get('smartworkers_worker_state')!.samples).toHaveLength(2 * 6);
    expect(value(families.get('smartworkers_worker_requests_served_total'), w1)).toBe(1234);
    expect(families.get('smartworkers_worker_requests_served_total')!.type).toBe('counter');
    expect(value(families.get('smartworkers_worker_inflight_requests'), w1)).toBe(3);
    expect(value(families.get('smartworkers_worker_active_tasks'), w1)).toBe(2);
    expect(value(families.get('smartworkers_worker_rss_bytes'), w1)).toBe(80 * 1024 * 1024);
    expect(value(families.get('smartworkers_worker_cpu_percent'), w1)).toBe(3.5);
    expect(value(families.get('smartworkers_worker_event_loop_delay_seconds'), w1)).toBeCloseTo(0.0012);
    expect(value(families.get('smartworkers_worker_heartbeat_age_seconds'), w1)).toBe(0.4);
    expect(value(families.get('smartworkers_worker_uptime_seconds'), w1)).toBe(61);
    // No sample yet: no series, rather than a made-up 0.
    expect(value(families.get('smartworkers_worker_rss_bytes'), w2)).toBeUndefined();
    expect(value(families.get('smartworkers_worker_heartbeat_age_seconds'), w2)).toBeUndefined();

    expect(value(families.get('smartworkers_tasks_started_total'))).toBe(120);
    expect(value(families.get('smartworkers_tasks_finished_total'), { outcome: 'completed' })).toBe(110);
    expect(value(families.get('smartworkers_tasks_finished_total'), { outcome: 'failed' })).toBe(3);
    expect(value(families.get('smartworkers_tasks_finished_total'), { outcome: 'cancelled' })).toBe(4);
    expect(value(families.get('smartworkers_tasks_finished_total'), { outcome: 'lost' })).toBe(1);
    expect(families.get('smartworkers_recycles_total')!.samples.map((s) => [s.labels.reason, s.value])).toEqual([
      ['max_requests', 3], ['memory', 1], ['memory_hard', 0], ['timeout', 0], ['reload', 2], ['manual', 0], ['crash', 0], ['scale', 0], ['signal', 0], ['max_tasks', 0], ['hard_time_limit', 0],
    ]);
    expect(value(families.get('smartworkers_recycles_delayed_by_tasks_total'))).toBe(2);
    expect(value(families.get('smartworkers_recycle_task_wait_seconds_total'))).toBe(4.1);
    expect(value(families.get('smartworkers_requests_served_total'))).toBe(123_456);
    expect(value(families.get('smartworkers_active_tasks'), { type: 'email' })).toBe(2);
    expect(value(families.get('smartworkers_workers_desired'), { app: 'api' })).toBe(2);
    expect(value(families.get('smartworkers_workers_ready'), { app: 'api' })).toBe(2);
    expect(value(families.get('smartworkers_workers'), { app: 'api', state: 'ready' })).toBe(2);
    expect(value(families.get('smartworkers_workers'), { app: 'api', state: 'starting' })).toBe(0);
    expect(value(families.get('smartworkers_primary_phase'), { phase: 'running' })).toBe(1);
    expect(value(families.get('smartworkers_primary_event_loop_lag_seconds'))).toBe(0.012);

    // A worker replaced between scrapes: the old series go, the new ones come.
    control.current = {
      ...control.current,
      workers: [makeWorker({ id: 7, slot: 0, generation: 2, state: 'starting', app: 'we"ird\\app' })],
      primary: { ...control.current.primary, phase: 'stopping' },
    };
    families = parsePrometheusText(await metrics.render());
    const ids = new Set(families.get('smartworkers_worker_generation')!.samples.map((s) => s.labels.worker_id));
    expect([...ids]).toEqual(['7']);
    expect(value(families.get('smartworkers_worker_state'), { worker_id: '7', state: 'starting' })).toBe(1);
    expect(value(families.get('smartworkers_worker_generation'), { app: 'we"ird\\app' })).toBe(2);
    expect(value(families.get('smartworkers_primary_phase'), { phase: 'stopping' })).toBe(1);
  });

  it('takes one snapshot per scrape', async () => {
    const control = new FakeControl();
    const metrics = createStatusMetrics(control);
    await metrics.render();
    expect(control.calls.filter((c) => c.method === 'snapshot')).toHaveLength(1);
  });
});

describe('the test parser is strict', () => {
  const bad: Array<[string, RegExp]> = [
    ['x 1\n', /without HELP\/TYPE/],
    ['# HELP x_total h\n# TYPE x_total counter\nx_total 1\nx_total 2\n', /duplicate series/],
    ['# HELP x h\n# TYPE x counter\nx 1\n', /should end in _total/],
    ['# HELP x h\n# TYPE x gauge\nx{a="1} 1\n', /unterminated/],
    ['# HELP x h\n# TYPE x gauge\nx{1a="1"} 1\n', /bad label name/],
    ['# HELP x h\n# TYPE x gauge\nx one\n', /bad value/],
    ['# HELP x h\n# TYPE x gauge\nx 1', /end with a newline/],
    ['# HELP x h\n# TYPE x gauge\nx 1\n# HELP y h\n# TYPE y gauge\ny 1\nx{a="b"} 2\n', /outside its family/],
    ['# HELP x h\n# TYPE x flavour\nx 1\n', /unknown TYPE/],
    ['# TYPE x gauge\nx 1\n', /no HELP/],
  ];
  it.each(bad)('rejects %j', (text, error) => {
    expect(() => parsePrometheusText(text)).toThrow(error);
  });
});
