/** Shared helpers for the examples' tests: paths, YAML, durations as the config documents them. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadSettings, loadSettingsFromObject } from '../../src/config/load';
import type { Settings } from '../../src/config/types';
import { ROOT } from '../helpers/paths';

export { ROOT };
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

/** An example's workers.yaml through the real config loader (validated; durations in ms). */
export function loadExampleConfig(...parts: string[]): Settings {
  const file = exampleFile(...parts);
  return loadSettings({ configFile: file, flags: {}, env: {}, cwd: path.dirname(file) });
}

/** A config object (e.g. from a ConfigMap) through the real loader, relative paths against `cwd`. */
export function loadConfigObject(raw: unknown, sourceName: string, cwd: string, env: NodeJS.ProcessEnv = {}): Settings {
  return loadSettingsFromObject(raw, sourceName, { flags: {}, env, cwd });
}
