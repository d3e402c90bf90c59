/**
 * The BullMQ queues' series in `/metrics`, from the status snapshot (the counts the sampling
 * worker last reported): nothing here reaches Redis.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StatusSnapshot } from '../status/snapshot';
import { COUNT_KEYS } from './types';

export function registerQueueMetrics(registers: Registry[], snapshot: () => StatusSnapshot): void {
  const sampled = () => (snapshot().queues ?? []).filter((q) => q.counts !== null);
  new Gauge({
    name: 'smartworkers_queue_jobs',
    help: 'Jobs of each BullMQ queue by state (waiting, active, delayed, completed, failed), as last sampled.',
    labelNames: ['queue', 'state'],
    registers,
    collect() {
      this.reset();
      for (const q of sampled()) for (const state of COUNT_KEYS) this.set({ queue: q.name, state }, q.counts![state]);
    },
  });
  new Gauge({
    name: 'smartworkers_queue_paused',
    help: 'Whether each BullMQ queue is paused in Redis (1) or not (0), as last sampled.',
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const q of sampled()) this.set({ queue: q.name }, q.counts!.paused ? 1 : 0);
    },
  });
  new Gauge({
    name: 'smartworkers_queue_sample_age_seconds',
    help: "Seconds since each BullMQ queue's counts were sampled.",
    labelNames: ['queue'],
    registers,
    collect() {
      this.reset();
      for (const q of sampled()) this.set({ queue: q.name }, (q.sampleAgeMs ?? 0) / 1000);
    },
  });
}
