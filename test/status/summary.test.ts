import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StatusSnapshot } from '../../src/status/snapshot';
import { formatSummaryLine, scheduleSummary, summaryFields } from '../../src/status/summary';
import { makeSnapshot, makeWorker } from '../control/fake-control';

function withRecycles(base: StatusSnapshot, changes: Partial<StatusSnapshot['totals']['recyclesByReason']>, lost = base.totals.tasksLost): StatusSnapshot {
  return { ...base, totals: { ...base.totals, tasksLost: lost, recyclesByReason: { ...base.totals.recyclesByReason, ...changes } } };
}

describe('formatSummaryLine', () => {
  it('shows workers ready/total, in-flight requests, active tasks and recycles since the last line', () => {
    const first = makeSnapshot();
    expect(formatSummaryLine(null, first)).toBe('workers 2/2 ready · 3 in flight · 2 tasks (email 2) · recycles +6 (max_requests 3, reload 2, memory 1) · 1 task lost');
    const later = withRecycles(first, { max_requests: 5, crash: 1 }, 3);
    later.workers = [
      ...first.workers,
      makeWorker({ id: 3, slot: 0, state: 'waiting-for-tasks', inflight: 0 }),
      makeWorker({ id: 4, slot: 2, state: 'starting', inflight: 0 }),
    ];
    later.totals.activeTasksByType = { email: 1, sms: 3 };
    expect(formatSummaryLine(first, later)).toBe(
      'workers 2/4 ready (1 retiring) · 3 in flight · 4 tasks (sms 3, email 1) · recycles +3 (max_requests 2, crash 1) · 2 tasks lost',
    );
    expect(formatSummaryLine(later, later)).toBe('workers 2/4 ready (1 retiring) · 3 in flight · 4 tasks (sms 3, email 1) · recycles +0');
  });

  it('says "1 task" and leaves out empty breakdowns', () => {
    const s = makeSnapshot();
    s.totals.activeTasksByType = { pdf: 1 };
    expect(formatSummaryLine(s, s)).toBe('workers 2/2 ready · 3 in flight · 1 task (pdf 1) · recycles +0');
    s.totals.activeTasksByType = {};
    expect(formatSummaryLine(s, s)).toBe('workers 2/2 ready · 3 in flight · 0 tasks · recycles +0');
  });

  it('gives the numbers for structured logs', () => {
    const now = withRecycles(makeSnapshot(), { reload: 4 });
    expect(summaryFields(makeSnapshot(), now)).toEqual({
      workersReady: 2,
      workersTotal: 2,
      workersRetiring: 0,
      inflight: 3,
      activeTasks: 2,
      activeTasksByType: { email: 2 },
      recycles: 2,
      recyclesByReason: { reload: 2 },
      tasksLost: 0,
      upgraded: 0,
      streaming: 0,
      drainingLongLived: 0,
      drainLeftMs: 0,
      connectionsCut: 0,
    });
  });
});

describe('scheduleSummary', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs a line every interval, counting recycles since the previous line', () => {
    vi.useFakeTimers();
    let current = makeSnapshot();
    const lines: string[] = [];
    const schedule = scheduleSummary({ intervalMs: 30_000, snapshot: () => current, log: (line) => lines.push(line) });
    vi.advanceTimersByTime(29_999);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(1);
    current = withRecycles(current, { max_requests: 4 });
    vi.advanceTimersByTime(30_000);
    expect(lines[1]).toMatch(/recycles \+1 \(max_requests 1\)$/);
    schedule.stop();
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
  });

  it('is off at 0 and skips a line when the snapshot throws', () => {
    vi.useFakeTimers();
    const log = vi.fn();
    scheduleSummary({ intervalMs: 0, snapshot: makeSnapshot, log }).stop();
    vi.advanceTimersByTime(120_000);
    expect(log).not.toHaveBeenCalled();

    let fail = true;
    const schedule = scheduleSummary({
      intervalMs: 1000,
      snapshot: () => {
        if (fail) throw new Error('not yet');
        return makeSnapshot();
      },
      log,
    });
    vi.advanceTimersByTime(1000);
    expect(log).not.toHaveBeenCalled();
    fail = false;
    vi.advanceTimersByTime(1000);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][1]).toMatchObject({ workersReady: 2, recycles: 6 });
    schedule.stop();
  });
});
