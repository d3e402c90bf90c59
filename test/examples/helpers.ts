/** Shared helpers for the examples' tests: paths, YAML, durations as the config documents them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');
export const EXAMPLES = path.join(ROOT, 'examples');

export function exampleFile(...parts: string[]): string {
  return path.join(EXAMPLES, ...parts);
}

export function readText(...parts: string[]): string {
  return readFileSync(exampleFile(...parts), 'utf8');
}

export function readYaml(...parts: string[]): Record<string, unknown> {
  return parseYaml(readText(...parts)) as Record<string, unknown>;
}

export function readYamlDocuments(...parts: string[]): Array<Record<string, unknown>> {
  return parseAllDocuments(readText(...parts)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors[0].message);
    return doc.toJS() as Record<string, unknown>;
  });
}

/** A config duration (`30s`, `250ms`, `10m`, `1h`, or a bare number of seconds) in ms. */
export function durationMs(value: unknown): number {
  if (typeof value === 'number') return value * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
  if (!m) throw new Error(`not a duration: ${String(value)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
}
