import { describe, expect, it } from 'vitest';
import { nextCronTime, parseCron, type CronSchedule } from '../../src/config/cron';

function schedule(expression: string): CronSchedule {
  const parsed = parseCron(expression);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.schedule;
}

/** Local time, as cron reads it. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => new Date(y, mo - 1, d, h, mi, s).getTime();
const show = (t: number | null) => (t === null ? null : new Date(t).toString().slice(0, 24));

function next(expression: string, after: number): string | null {
  return show(nextCronTime(schedule(expression), after));
}

describe('parseCron', () => {
  it('reads numbers, ranges, steps, lists and names', () => {
    const s = schedule('*/15 9-17 1,15 jan-mar mon-fri');
    expect([...s.seconds]).toEqual([0]);
    expect([...s.minutes]).toEqual([0, 15, 30, 45]);
    expect([...s.hours]).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17]);
    expect([...s.daysOfMonth]).toEqual([1, 15]);
    expect([...s.months]).toEqual([1, 2, 3]);
    expect([...s.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
  });

  it('takes six fields with seconds first, `a/n` steps, and folds weekday 7 onto Sunday', () => {
    const s = schedule('*/20 5/20 0 * * 7');
    expect([...s.seconds]).toEqual([0, 20, 40]);
    expect([...s.minutes]).toEqual([5, 25, 45]);
    expect([...s.daysOfWeek]).toEqual([0]);
  });

  it('expands the shorthands', () => {
    expect(schedule('@daily')).toMatchObject({ minutes: new Set([0]), hours: new Set([0]), anyDayOfMonth: true });
    expect([...schedule('@hourly').hours]).toHaveLength(24);
    expect([...schedule('@weekly').daysOfWeek]).toEqual([0]);
  });

  it.each([
    ['', /5 or 6 fields, got 0/],
    ['* * * *', /5 or 6 fields, got 4/],
    ['60 * * * *', /minute: 60 is outside 0–59/],
    ['* 24 * * *', /hour: 24/],
    ['* * 0 * *', /day of month: 0/],
    ['* * * 13 *', /month: 13/],
    ['* * * * 8', /day of week: 8/],
    ['*/0 * * * *', /step .* at least 1/],
    ['5-1 * * * *', /runs backwards/],
    ['* * * foo *', /"foo" is not a number or a name/],
    ['1,,2 * * * *', /cannot read ""/],
    ['@often', /5 or 6 fields/],
  ])('rejects %j', (expression, error) => {
    const parsed = parseCron(expression);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(error);
  });
});

describe('nextCronTime', () => {
  it('finds the next minute, strictly after the time given', () => {
    expect(next('* * * * *', at(2024, 5, 10, 12, 30, 0))).toBe(show(at(2024, 5, 10, 12, 31)));
    expect(next('* * * * *', at(2024, 5, 10, 12, 30, 59) + 999)).toBe(show(at(2024, 5, 10, 12, 31)));
    expect(next('30 12 * * *', at(2024, 5, 10, 12, 30, 0))).toBe(show(at(2024, 5, 11, 12, 30)));
  });

  it('rolls over hours, days, months and years', () => {
    expect(next('0 0 * * *', at(2024, 12, 31, 23, 59, 59))).toBe(show(at(2025, 1, 1)));
    expect(next('15 3 1 * *', at(2024, 1, 31, 10))).toBe(show(at(2024, 2, 1, 3, 15)));
    expect(next('0 0 29 2 *', at(2024, 3, 1))).toBe(show(at(2028, 2, 29)));
  });

  it('runs a day matching either day-of-month or day-of-week when both are given, as cron does', () => {
    // 2024-06-01 is a Saturday; the 15th a Saturday too; Mondays: 3, 10, 17.
    expect(next('0 0 15 * mon', at(2024, 6, 1))).toBe(show(at(2024, 6, 3)));
    expect(next('0 0 15 * mon', at(2024, 6, 10, 1))).toBe(show(at(2024, 6, 15)));
    // Only the weekday restricts when day-of-month is `*`.
    expect(next('0 9 * * fri', at(2024, 6, 1))).toBe(show(at(2024, 6, 7, 9)));
  });

  it('steps through seconds with six fields', () => {
    expect(next('*/10 * * * * *', at(2024, 6, 1, 8, 0, 5))).toBe(show(at(2024, 6, 1, 8, 0, 10)));
    expect(next('*/10 * * * * *', at(2024, 6, 1, 8, 0, 50) + 500)).toBe(show(at(2024, 6, 1, 8, 1, 0)));
  });

  it('returns null for a date that never comes', () => {
    expect(nextCronTime(schedule('0 0 30 2 *'), at(2024, 1, 1))).toBeNull();
  });

  it('is consistent: each next time matches and nothing in between does', () => {
    const s = schedule('*/7 1-3 * * *');
    let t = at(2024, 6, 1);
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const n = nextCronTime(s, t)!;
      expect(n).toBeGreaterThan(t);
      seen.push(new Date(n).toTimeString().slice(0, 5));
      t = n;
    }
    expect(seen).toEqual(['01:00', '01:07', '01:14', '01:21', '01:28', '01:35', '01:42', '01:49', '01:56', '02:00', '02:07', '02:14']);
  });
});
