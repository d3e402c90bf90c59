import { describe, expect, it } from 'vitest';
import { QueueBoard, describeQueue } from '../../src/bullmq/board';
import { parsePrimaryMessage, parseWorkerMessage } from '../../src/protocol';
import { parseRequest } from '../../src/control/protocol';

const counts = (over: Partial<Record<string, number | boolean>> = {}) => ({ waiting: 1, active: 2, delayed: 0, completed: 10, failed: 0, paused: false, ...over });

describe('the primary\'s queue board', () => {
  it('keeps which live worker processes which queue, and the newest sample of each queue', () => {
    const board = new QueueBoard();
    board.update(1, ['email', 'sms'], undefined, undefined, 1_000);
    board.update(2, ['email'], { email: counts({ waiting: 5 }) }, 900, 1_000);
    board.update(3, ['email'], { email: counts({ waiting: 7 }) }, 800, 1_000); // older: ignored
    expect(board.hostsOf('email')).toEqual([1, 2, 3]);
    expect(board.snapshot(1_500)).toEqual([
      { name: 'email', workers: 3, counts: counts({ waiting: 5 }), sampleAgeMs: 600 },
      { name: 'sms', workers: 1, counts: null, sampleAgeMs: null },
    ]);
    board.forget(1);
    expect(board.hostsOf('sms')).toEqual([]);
    // The last sample outlives its sampler: shown with its age until the next one.
    expect(board.snapshot(2_000)[0]).toMatchObject({ name: 'email', workers: 2, sampleAgeMs: 1_100 });
  });

  it('describes a queue in one line for the summary and status', () => {
    expect(describeQueue({ name: 'jobs', workers: 2, counts: counts({ paused: true }), sampleAgeMs: 0 })).toBe(
      'jobs 1 waiting, 2 active, 0 delayed, 10 completed, 0 failed (paused)',
    );
    expect(describeQueue({ name: 'jobs', workers: 2, counts: null, sampleAgeMs: null })).toBe('jobs (no sample yet)');
  });
});

describe('the queue messages', () => {
  it('accepts well-formed queues, queue-reply and queue-command messages and refuses malformed ones', () => {
    expect(parseWorkerMessage({ $sw: 'queues', hosted: ['email'] })).toMatchObject({ ok: true });
    expect(parseWorkerMessage({ $sw: 'queues', hosted: ['email'], counts: { email: counts() }, sampledAt: 5 })).toMatchObject({ ok: true });
    expect(parseWorkerMessage({ $sw: 'queues', hosted: ['email'], counts: { email: { waiting: 1 } } })).toMatchObject({ ok: false });
    expect(parseWorkerMessage({ $sw: 'queues', hosted: [''] })).toMatchObject({ ok: false });
    expect(parseWorkerMessage({ $sw: 'queues', hosted: Array.from({ length: 300 }, (_, i) => `q${i}`) })).toMatchObject({ ok: false });
    expect(parseWorkerMessage({ $sw: 'queue-reply', requestId: 3, results: [{ queue: 'email', ok: true, paused: true }] })).toMatchObject({ ok: true });
    expect(parseWorkerMessage({ $sw: 'queue-reply', requestId: 3, results: [{ queue: 'email' }] })).toMatchObject({ ok: false });
    expect(parsePrimaryMessage({ $sw: 'queue-command', requestId: 1, action: 'pause', queues: ['email'] })).toMatchObject({ ok: true });
    expect(parsePrimaryMessage({ $sw: 'queue-command', requestId: 1, action: 'drop', queues: ['email'] })).toMatchObject({ ok: false });
  });

  it('checks the control command `queues`', () => {
    expect(parseRequest({ v: 1, id: 1, cmd: 'queues', args: { action: 'pause', queue: 'email' } })).toMatchObject({ ok: true });
    expect(parseRequest({ v: 1, id: 1, cmd: 'queues', args: { action: 'drop' } })).toMatchObject({ ok: false, message: expect.stringMatching(/"list", "pause" or "resume"/) });
  });
});

describe('the summary line', () => {
  it('ends with each queue\'s latest counts', async () => {
    const { FakeControl } = await import('../control/fake-control');
    const { formatSummaryLine } = await import('../../src/status/summary');
    const snap = new FakeControl().snapshot();
    const line = formatSummaryLine(null, { ...snap, queues: [{ name: 'email', workers: 2, counts: counts(), sampleAgeMs: 10 }] });
    expect(line).toMatch(/ · queue email 1 waiting, 2 active, 0 delayed, 10 completed, 0 failed$/);
    expect(formatSummaryLine(null, snap)).not.toMatch(/queue/);
  });
});
