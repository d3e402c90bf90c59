/**
 * A small cron parser for `cron_restart`: the classic five fields (minute hour day-of-month
 * month day-of-week), or six with seconds first (as pm2's cron library accepts), plus the
 * `@hourly`-style shorthands. Times are the host's local time, as cron's are.
 *
 * Each field: `*`, a number, a range `a-b`, a step `*\/n`, `a-b/n` or `a/n`, and lists of those
 * separated by commas. Months and weekdays also by name (`jan`, `mon`); weekday 7 is Sunday.
 * When both day-of-month and day-of-week are restricted, a day matching either runs (as in cron).
 *
 * Pure: `parseCron` validates, `nextCronTime` finds the next run strictly after a time.
 */

export interface CronSchedule {
  /** The expression as given. */
  source: string;
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>; // 1–12
  daysOfWeek: ReadonlySet<number>; // 0–6, Sunday = 0
  /** Whether day-of-month / day-of-week were `*` (then only the other one restricts days). */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

export type CronParse = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The first name stands for this number. */
  namesFrom?: number;
}

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day of month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, namesFrom: 1 };
// 7 is accepted for Sunday and folded onto 0.
const DAY_OF_WEEK: FieldSpec = { name: 'day of week', min: 0, max: 7, names: DAY_NAMES, namesFrom: 0 };

/** What a valid expression looks like, for error messages. */
export const CRON_ACCEPTS = 'a cron expression of 5 fields (minute hour day month weekday) or 6 (seconds first), or @hourly/@daily/@weekly/@monthly/@yearly';

export function parseCron(expression: string): CronParse {
  const source = expression.trim();
  const expanded = SHORTHANDS[source.toLowerCase()] ?? source;
  const parts = expanded.split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5 && parts.length !== 6) {
    return { ok: false, error: `expected 5 or 6 fields, got ${parts.length}` };
  }
  const withSeconds = parts.length === 6 ? parts : ['0', ...parts];
  const specs = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK];
  const sets: Set<number>[] = [];
  for (let i = 0; i < specs.length; i++) {
    const parsed = parseField(withSeconds[i]!, specs[i]!);
    if (typeof parsed === 'string') return { ok: false, error: parsed };
    sets.push(parsed);
  }
  const daysOfWeek = sets[5]!;
  if (daysOfWeek.has(7)) {
    daysOfWeek.delete(7);
    daysOfWeek.add(0);
  }
  return {
    ok: true,
    schedule: {
      source,
      seconds: sets[0]!,
      minutes: sets[1]!,
      hours: sets[2]!,
      daysOfMonth: sets[3]!,
      months: sets[4]!,
      daysOfWeek,
      anyDayOfMonth: withSeconds[3] === '*' || withSeconds[3] === '?',
      anyDayOfWeek: withSeconds[5] === '*' || withSeconds[5] === '?',
    },
  };
}

function parseField(text: string, spec: FieldSpec): Set<number> | string {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|\?|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m) return `${spec.name}: cannot read ${JSON.stringify(item)}`;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isInteger(step) || step < 1) return `${spec.name}: the step of ${JSON.stringify(item)} must be at least 1`;
    let from: number;
    let to: number;
    if (m[1] === '*' || m[1] === '?') {
      from = spec.min;
      to = spec === DAY_OF_WEEK ? 6 : spec.max;
    } else {
      const [a, b] = m[1]!.split('-');
      const start = value(a!, spec);
      if (typeof start === 'string') return start;
      from = start;
      if (b !== undefined) {
        const end = value(b, spec);
        if (typeof end === 'string') return end;
        to = end;
      } else {
        // `a/n` means from a to the end; a bare `a` is just a.
        to = m[2] === undefined ? start : spec.max;
      }
      if (to < from) return `${spec.name}: the range ${JSON.stringify(m[1])} runs backwards`;
    }
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function value(text: string, spec: FieldSpec): number | string {
  let n: number;
  if (/^\d+$/.test(text)) {
    n = Number(text);
  } else {
    const index = spec.names?.indexOf(text.toLowerCase()) ?? -1;
    if (index === -1) return `${spec.name}: ${JSON.stringify(text)} is not a number${spec.names ? ' or a name' : ''}`;
    n = index + (spec.namesFrom ?? 0);
  }
  if (n < spec.min || n > spec.max) return `${spec.name}: ${n} is outside ${spec.min}–${spec.max}`;
  return n;
}

/** The day matches: month, and day-of-month / day-of-week as cron combines them. */
function dayMatches(s: CronSchedule, d: Date): boolean {
  if (!s.months.has(d.getMonth() + 1)) return false;
  const dom = s.daysOfMonth.has(d.getDate());
  const dow = s.daysOfWeek.has(d.getDay());
  if (s.anyDayOfMonth && s.anyDayOfWeek) return true;
  if (s.anyDayOfMonth) return dow;
  if (s.anyDayOfWeek) return dom;
  return dom || dow;
}

/** Searching further than this finds nothing (e.g. `0 0 30 2 *`, February 30th). */
const SEARCH_DAYS = 366 * 8;

/**
 * The first time (epoch ms, whole second, local time) strictly after `after` at which the
 * schedule runs, or null when it never does.
 */
export function nextCronTime(s: CronSchedule, after: number): number | null {
  const d = new Date(after);
  d.setMilliseconds(0);
  d.setSeconds(d.getSeconds() + 1);
  for (let day = 0; day <= SEARCH_DAYS; day++) {
    if (dayMatches(s, d)) {
      const found = timeOnDay(s, d);
      if (found !== null) return found;
    }
    // Next day, at midnight.
    d.setHours(24, 0, 0, 0);
  }
  return null;
}

/** The first matching time on `d`'s day at or after `d`'s time of day. */
function timeOnDay(s: CronSchedule, d: Date): number | null {
  const start = d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
  for (let hour = d.getHours(); hour < 24; hour++) {
    if (!s.hours.has(hour)) continue;
    for (let minute = 0; minute < 60; minute++) {
      if (!s.minutes.has(minute)) continue;
      const base = hour * 3600 + minute * 60;
      if (base + 59 < start) continue;
      for (let second = 0; second < 60; second++) {
        if (!s.seconds.has(second) || base + second < start) continue;
        const t = new Date(d);
        t.setHours(hour, minute, second, 0);
        // A time skipped by a DST change lands in another hour: take the next real one.
        if (t.getHours() !== hour || t.getTime() < d.getTime()) continue;
        return t.getTime();
      }
    }
  }
  return null;
}
