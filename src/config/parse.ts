/**
 * Parsers for the value kinds of the settings table. Each takes what a YAML file, an env
 * var or a flag may hold (a YAML scalar or list or map, or a string) and returns the typed
 * value, or `undefined` when the value is not of the accepted form. Range checks and the
 * error message are the settings table's job: a parser only knows the form.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;

/** `30s`, `10m`, `1h`, `250ms`, `1.5s`, or a bare number of seconds → whole milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return toWholeNumber(value * SECOND);
  if (typeof value !== 'string') return undefined;
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 's').toLowerCase();
  return toWholeNumber(Number(match[1]) * DURATION_UNITS[unit]);
}

const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;

// Memory ceilings are compared with RSS, which every tool reports in powers of 1024:
// `MB` means MiB here, as it does in pm2's max_memory_restart and in `ps`.
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: KIB, kb: KIB, kib: KIB,
  m: MIB, mb: MIB, mib: MIB,
  g: GIB, gb: GIB, gib: GIB,
};
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i;

/** `400MB`, `1.5GB`, `512KB`, `64M`, `1GiB`, or a bare number of bytes → whole bytes. */
export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = SIZE_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const multiplier = SIZE_UNITS[(match[2] ?? 'b').toLowerCase()];
  if (multiplier === undefined) return undefined;
  return toWholeNumber(Number(match[1]) * multiplier);
}

/** A whole number >= 0, as a number or a string of digits. */
export function parseCount(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  const count = Number(value.trim());
  return Number.isSafeInteger(count) ? count : undefined;
}

const TRUE_WORDS = new Set(['true', 'yes', '1', 'on']);
const FALSE_WORDS = new Set(['false', 'no', '0', 'off']);

/** true/false, or from env and flags: true/false, yes/no, 1/0, on/off (any case). */
export function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return undefined;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

// YAML turns `--port 3000` items and `PORT: 3000` values into numbers; they are meant as text.
// Plain checks rather than a schema library: these three shapes are all the primary needs,
// and a schema library costs it several MB of resident memory for its whole life.
const isScalar = (v: unknown): v is string | number | boolean =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';

function scalarList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || !value.every(isScalar)) return undefined;
  return value.map(String);
}

function scalarMap(value: unknown): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '' || !isScalar(item)) return undefined;
    out[key] = String(item);
  }
  return out;
}

/**
 * A list of strings: a YAML list, or a string holding a JSON array (`["--inspect"]`) or
 * space-separated words (`--max-old-space-size=512 --inspect`).
 */
export function parseStringList(value: unknown): string[] | undefined {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('[')) return parseJson(text, scalarList);
    return text === '' ? [] : text.split(/\s+/);
  }
  return scalarList(value);
}

/**
 * A map of names to strings: a YAML map, or a string holding a JSON object or one
 * `KEY=VALUE`, or a list of such strings (a repeated flag); later entries win.
 */
export function parseStringMap(value: unknown): Record<string, string> | undefined {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) return parseJson(text, scalarMap);
    const equals = text.indexOf('=');
    if (equals <= 0) return undefined;
    return { [text.slice(0, equals)]: text.slice(equals + 1) };
  }
  if (Array.isArray(value)) {
    const merged: Record<string, string> = {};
    for (const item of value) {
      const entry = typeof item === 'string' ? parseStringMap(item) : undefined;
      if (entry === undefined) return undefined;
      Object.assign(merged, entry);
    }
    return merged;
  }
  return scalarMap(value);
}

export interface ListenAddress {
  /** Without brackets, also for IPv6 (`::1`). */
  host: string;
  /** 0–65535; 0 lets the OS pick a free port. */
  port: number;
}

const ADDRESS_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/;

/** `127.0.0.1:9100`, `localhost:9100`, `0.0.0.0:9100`, `[::1]:9100` → host and port. */
export function parseListenAddress(value: unknown): ListenAddress | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ADDRESS_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2], port };
}

/** Milliseconds in the largest unit that divides them exactly: `5m`, `90s`, `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  if (ms % SECOND === 0) return `${ms / SECOND}s`;
  return `${ms}ms`;
}

/** Bytes in the largest 1024-based unit that divides them exactly: `1GB`, `1536MB`, `100`. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  if (bytes % GIB === 0) return `${bytes / GIB}GB`;
  if (bytes % MIB === 0) return `${bytes / MIB}MB`;
  if (bytes % KIB === 0) return `${bytes / KIB}KB`;
  return String(bytes);
}

function toWholeNumber(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  const whole = Math.round(value);
  return Number.isSafeInteger(whole) ? whole : undefined;
}

function parseJson<T>(text: string, check: (value: unknown) => T | undefined): T | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  return check(data);
}
