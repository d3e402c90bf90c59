/** Reads the {@link RuntimeOptions} the primary passes in `SMARTWORKERS_RUNTIME`. */
import { MAX_HISTORY, type RuntimeOptions } from '../protocol';
import { checkResolvedTaskTypes } from '../config/task-types';

const NUMERIC_KEYS = ['heartbeatMs', 'reportIntervalMs', 'requestLimit', 'gracefulTimeoutMs', 'idleGraceMs', 'drainTimeoutMs'] as const;

export const DEFAULT_RUNTIME_OPTIONS: Readonly<Required<Pick<RuntimeOptions, (typeof NUMERIC_KEYS)[number]>>> = Object.freeze({
  heartbeatMs: 1_000,
  reportIntervalMs: 100,
  requestLimit: 0,
  gracefulTimeoutMs: 30_000,
  idleGraceMs: 1_000,
  drainTimeoutMs: 30_000,
});

/**
 * Reports are what the primary's event loop — also the accept loop of every
 * connection — pays for: never more than about ten a second per worker.
 */
export const MIN_REPORT_INTERVAL_MS = 100;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Parses the JSON, keeping the default for any field that is missing or invalid, and
 * returns one warning line per problem (the worker still starts: a half-understood
 * option must not take the app down).
 */
export function parseRuntimeOptions(json: string): { options: RuntimeOptions; warnings: string[] } {
  const warnings: string[] = [];
  let given: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) given = parsed as Record<string, unknown>;
    else warnings.push(`expected a JSON object, got ${json.slice(0, 80)}`);
  } catch {
    warnings.push(`not valid JSON: ${json.slice(0, 80)}`);
  }
  const options: RuntimeOptions = { ...DEFAULT_RUNTIME_OPTIONS };
  // Validated by the primary's config loader; re-checked here so a mismatched primary cannot break the worker.
  if (given.taskTypes !== undefined) {
    const parsed = checkResolvedTaskTypes(given.taskTypes);
    if (parsed !== null) options.taskTypes = parsed;
    else warnings.push(`expected \`taskTypes\` to be a map of task types to settings, got ${JSON.stringify(given.taskTypes).slice(0, 80)}; no task type is managed`);
  }
  if (given.taskHistory !== undefined) {
    if (isCount(given.taskHistory)) options.taskHistory = Math.min(MAX_HISTORY, Math.floor(given.taskHistory));
    else warnings.push(`expected \`taskHistory\` to be a number >= 0, got ${JSON.stringify(given.taskHistory)}`);
  }
  for (const key of NUMERIC_KEYS) {
    const value = given[key];
    if (value === undefined) continue;
    if (isCount(value)) options[key] = value;
    else warnings.push(`expected \`${key}\` to be a number >= 0, got ${JSON.stringify(value)}; using ${options[key]}`);
  }
  options.reportIntervalMs = Math.max(MIN_REPORT_INTERVAL_MS, options.reportIntervalMs);
  options.heartbeatMs = Math.max(options.reportIntervalMs, options.heartbeatMs);
  return { options, warnings };
}
