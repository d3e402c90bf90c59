/**
 * `task_types:` — per-type settings of background tasks, one map per app:
 *
 *     task_types:
 *       crm-sync: { concurrency: 2, priority: 5, time_limit: 30s, hard_time_limit: 2m, retries: 3 }
 *
 * A type without an entry costs what an untyped task costs (a Map insert and delete, no IPC).
 * Validation gives one line naming the exact key (`task_types.crm-sync.concurrency`).
 */
import { parseCount, parseDuration } from './parse';

/** The resolved settings of one task type. Durations in ms; 0 = off. */
export interface TaskTypeSettings {
  /** At most this many run at once across every worker of the app (the primary holds the permits); 0 = no limit. */
  concurrency: number;
  /** Default priority of a `run` of this type; higher runs first when queued for a permit. */
  priority: number;
  /** Soft limit: the task's AbortSignal is aborted with reason 'time_limit'; 0 = off. */
  timeLimit: number;
  /** Hard limit: the task is recorded failed ('timed out') and its worker recycled; 0 = off. */
  hardTimeLimit: number;
  /** Times a rejected `run` is tried again. */
  retries: number;
  /** Delay before the first retry, doubled for each next one. */
  retryDelay: number;
  /** Flag a task as overdue past this; 0 = its estimate × {@link STALE_FACTOR} (none without an estimate). */
  staleAfter: number;
}

export type TaskTypesSettings = Readonly<Record<string, Readonly<TaskTypeSettings>>>;

/** A task with an estimate and no `stale_after` is overdue past estimate × this. */
export const STALE_FACTOR = 3;

export const TASK_TYPE_DEFAULTS: Readonly<TaskTypeSettings> = Object.freeze({
  concurrency: 0,
  priority: 0,
  timeLimit: 0,
  hardTimeLimit: 0,
  retries: 0,
  retryDelay: 1_000,
  staleAfter: 0,
});

const KEYS: Record<string, { field: keyof TaskTypeSettings; kind: 'count' | 'duration' | 'number'; accepts: string }> = {
  concurrency: { field: 'concurrency', kind: 'count', accepts: 'a whole number >= 0 (0 = no limit)' },
  priority: { field: 'priority', kind: 'number', accepts: 'a number (higher runs first)' },
  time_limit: { field: 'timeLimit', kind: 'duration', accepts: 'a duration like `30s` (0 = off)' },
  hard_time_limit: { field: 'hardTimeLimit', kind: 'duration', accepts: 'a duration like `2m` (0 = off)' },
  retries: { field: 'retries', kind: 'count', accepts: 'a whole number >= 0' },
  retry_delay: { field: 'retryDelay', kind: 'duration', accepts: 'a duration like `1s`' },
  stale_after: { field: 'staleAfter', kind: 'duration', accepts: 'a duration like `10m` (0 = 3 × the estimate)' },
};

/** Type names as they appear in metrics labels and the CLI: short, printable. */
const TYPE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export const TASK_TYPES_ACCEPTS = `a map of task types to { ${Object.keys(KEYS).join(', ')} }`;

export type TaskTypesParse = { ok: true; value: TaskTypesSettings } | { ok: false; error: string };

/** Parses `task_types` (an object, or its JSON from an env var or flag). `key` prefixes messages. */
export function parseTaskTypes(raw: unknown, key = 'task_types'): TaskTypesParse {
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = value.trim() === '' ? {} : JSON.parse(value);
    } catch {
      return { ok: false, error: `expected \`${key}\` to be ${TASK_TYPES_ACCEPTS} (a JSON object in an env var or flag), got ${show(raw)}` };
    }
  }
  if (value === null || value === undefined) return { ok: true, value: {} };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: `expected \`${key}\` to be ${TASK_TYPES_ACCEPTS}, got ${show(raw)}` };
  }
  const out: Record<string, TaskTypeSettings> = {};
  for (const [type, entry] of Object.entries(value as Record<string, unknown>)) {
    if (!TYPE_NAME.test(type)) {
      return { ok: false, error: `expected the task type name ${show(type)} in \`${key}\` to be 1-64 letters, digits, '_', '.', ':' or '-'` };
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      return { ok: false, error: `expected \`${key}.${type}\` to be a map of { ${Object.keys(KEYS).join(', ')} }, got ${show(entry)}` };
    }
    const settings: TaskTypeSettings = { ...TASK_TYPE_DEFAULTS };
    for (const [name, given] of Object.entries(entry as Record<string, unknown>)) {
      const spec = KEYS[name];
      if (spec === undefined) {
        return { ok: false, error: `unknown setting \`${key}.${type}.${name}\`; a task type takes ${Object.keys(KEYS).join(', ')}` };
      }
      const parsed = spec.kind === 'count' ? parseCount(given) : spec.kind === 'duration' ? parseDuration(given) : parseNumber(given);
      if (parsed === undefined || parsed < (spec.kind === 'number' ? -Infinity : 0)) {
        return { ok: false, error: `expected \`${key}.${type}.${name}\` to be ${spec.accepts}, got ${show(given)}` };
      }
      settings[spec.field] = parsed;
    }
    if (settings.hardTimeLimit > 0 && settings.timeLimit > 0 && settings.hardTimeLimit <= settings.timeLimit) {
      return {
        ok: false,
        error: `expected \`${key}.${type}.hard_time_limit\` (${settings.hardTimeLimit}ms) to be above time_limit (${settings.timeLimit}ms): the soft limit warns first`,
      };
    }
    out[type] = Object.freeze(settings);
  }
  return { ok: true, value: Object.freeze(out) };
}

function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Checks resolved settings as the runtime receives them (camelCase, ms); null when malformed. */
export function checkResolvedTaskTypes(value: unknown): Record<string, TaskTypeSettings> | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: Record<string, TaskTypeSettings> = {};
  for (const [type, entry] of Object.entries(value as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object') return null;
    const settings: TaskTypeSettings = { ...TASK_TYPE_DEFAULTS };
    for (const field of Object.keys(TASK_TYPE_DEFAULTS) as Array<keyof TaskTypeSettings>) {
      const v = (entry as Record<string, unknown>)[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || (field !== 'priority' && v < 0)) return null;
      settings[field] = v;
    }
    out[type] = settings;
  }
  return out;
}
