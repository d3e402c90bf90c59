/**
 * pm2's `log_date_format` (dayjs tokens) without dayjs: a formatter for the workers, and the
 * matching parser `smartworkers logs` uses to merge files in time order. Text in `[brackets]`
 * is literal, as in dayjs. Local time, as pm2's.
 */

const TOKEN = /\[([^\]]*)\]|YYYY|YY|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|ZZ|Z|A|a|X|x/g;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function offset(date: Date, colon: boolean): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${colon ? ':' : ''}${pad(abs % 60)}`;
}

function token(date: Date, t: string): string {
  switch (t) {
    case 'YYYY': return String(date.getFullYear());
    case 'YY': return pad(date.getFullYear() % 100);
    case 'MM': return pad(date.getMonth() + 1);
    case 'M': return String(date.getMonth() + 1);
    case 'DD': return pad(date.getDate());
    case 'D': return String(date.getDate());
    case 'HH': return pad(date.getHours());
    case 'H': return String(date.getHours());
    case 'hh': return pad(date.getHours() % 12 || 12);
    case 'h': return String(date.getHours() % 12 || 12);
    case 'mm': return pad(date.getMinutes());
    case 'm': return String(date.getMinutes());
    case 'ss': return pad(date.getSeconds());
    case 's': return String(date.getSeconds());
    case 'SSS': return pad(date.getMilliseconds(), 3);
    case 'Z': return offset(date, true);
    case 'ZZ': return offset(date, false);
    case 'A': return date.getHours() < 12 ? 'AM' : 'PM';
    case 'a': return date.getHours() < 12 ? 'am' : 'pm';
    case 'X': return String(Math.floor(date.getTime() / 1000));
    case 'x': return String(date.getTime());
    default: return t;
  }
}

export function formatDate(date: Date, format: string): string {
  return format.replace(TOKEN, (match, literal: string | undefined) => (literal !== undefined ? literal : token(date, match)));
}

/** Tokens whose text changes within a second; every other token is rendered once per second. */
const SUB_SECOND = new Set(['SSS', 'x']);

/**
 * A formatter for a worker's lines: the format is compiled once into its parts; the parts that
 * change at most once a second (date, hour, offset…) are rendered once a second, the sub-second
 * ones (`SSS`, `x`) once per millisecond, and the text is reused within a millisecond. At a few
 * thousand lines a second most lines fall in a millisecond of their own: a regex replace and a
 * dozen Date getters per line would cost more than the rest of the line's path.
 */
export function cachedFormatter(format: string, now: () => number = Date.now): () => string {
  const rendered: string[] = [];
  const perSecond: Array<{ index: number; token: string }> = [];
  const perMs: Array<{ index: number; token: string }> = [];
  let at = 0;
  for (const match of format.matchAll(TOKEN)) {
    if (match.index! > at) rendered.push(format.slice(at, match.index));
    if (match[1] !== undefined) rendered.push(match[1]); // [literal]
    else {
      (SUB_SECOND.has(match[0]) ? perMs : perSecond).push({ index: rendered.length, token: match[0] });
      rendered.push('');
    }
    at = match.index! + match[0].length;
  }
  if (at < format.length) rendered.push(format.slice(at));
  let lastSecond = Number.NaN;
  let lastMs = Number.NaN;
  let text = '';
  return () => {
    const ms = now();
    if (ms === lastMs) return text;
    lastMs = ms;
    const date = new Date(ms);
    const second = Math.floor(ms / 1000);
    if (second !== lastSecond) {
      lastSecond = second;
      for (const part of perSecond) rendered[part.index] = token(date, part.token);
    }
    for (const part of perMs) rendered[part.index] = token(date, part.token);
    text = rendered.join('');
    return text;
  };
}

const PATTERN: Record<string, string> = {
  YYYY: '(\\d{4})', YY: '(\\d{2})', MM: '(\\d{2})', M: '(\\d{1,2})', DD: '(\\d{2})', D: '(\\d{1,2})',
  HH: '(\\d{2})', H: '(\\d{1,2})', hh: '(\\d{2})', h: '(\\d{1,2})', mm: '(\\d{2})', m: '(\\d{1,2})',
  ss: '(\\d{2})', s: '(\\d{1,2})', SSS: '(\\d{3})', Z: '([+-]\\d{2}:\\d{2})', ZZ: '([+-]\\d{4})',
  A: '(AM|PM)', a: '(am|pm)', X: '(\\d+)', x: '(\\d+)',
};

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Parses the `<date>: ` prefix a worker wrote with `format`: the epoch ms and the rest of the line,
 * or undefined when the line does not start with such a prefix (a line the app wrote before
 * `time` was turned on, or a crash printed by Node itself).
 */
export function prefixParser(format: string): (line: string) => { time: number; rest: string } | undefined {
  const tokens: string[] = [];
  let source = '^';
  let at = 0;
  for (const match of format.matchAll(TOKEN)) {
    source += escape(format.slice(at, match.index));
    if (match[1] !== undefined) source += escape(match[1]);
    else {
      source += PATTERN[match[0]];
      tokens.push(match[0]);
    }
    at = match.index! + match[0].length;
  }
  source += `${escape(format.slice(at))}: `;
  const regex = new RegExp(source);
  return (line) => {
    const m = regex.exec(line);
    if (!m) return undefined;
    const parts = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, ms: 0 };
    let pm: boolean | undefined;
    let zone: number | undefined;
    let epoch: number | undefined;
    tokens.forEach((t, i) => {
      const v = m[i + 1];
      switch (t) {
        case 'YYYY': parts.year = Number(v); break;
        case 'YY': parts.year = 2000 + Number(v); break;
        case 'MM': case 'M': parts.month = Number(v); break;
        case 'DD': case 'D': parts.day = Number(v); break;
        case 'HH': case 'H': case 'hh': case 'h': parts.hour = Number(v); break;
        case 'mm': case 'm': parts.minute = Number(v); break;
        case 'ss': case 's': parts.second = Number(v); break;
        case 'SSS': parts.ms = Number(v); break;
        case 'A': case 'a': pm = v.toLowerCase() === 'pm'; break;
        case 'Z': case 'ZZ': {
          const sign = v[0] === '-' ? -1 : 1;
          const digits = v.slice(1).replace(':', '');
          zone = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
          break;
        }
        case 'X': epoch = Number(v) * 1000; break;
        case 'x': epoch = Number(v); break;
      }
    });
    if (pm !== undefined) parts.hour = (parts.hour % 12) + (pm ? 12 : 0);
    let time: number;
    if (epoch !== undefined) time = epoch;
    else if (zone !== undefined) time = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second, parts.ms) - zone * 60_000;
    else time = new Date(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second, parts.ms).getTime();
    return Number.isFinite(time) ? { time, rest: line.slice(m[0].length) } : undefined;
  };
}
