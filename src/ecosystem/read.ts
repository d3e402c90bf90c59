/**
 * Reading a pm2 ecosystem file: `.js` / `.cjs` / `.mjs` evaluated with bounds (evaluate.ts),
 * `.json` as pm2 reads it (json-relaxed.ts), `.yaml` / `.yml` with the yaml package. Every read is
 * fresh (SIGHUP re-reads the file), and any failure is one SW_ECOSYSTEM_FILE line.
 */
import path from 'node:path';
/** Loaded on first use: `smartworkers start` imports this module, and the primary keeps what it loads. */
const parseYaml = (text: string): unknown => (require('yaml') as typeof import('yaml')).parse(text);
import { SmartworkersError } from '../errors';
import { convertEcosystemWithErrors, type ConvertResult } from './convert';
import { readRegularFile } from '../config/read-file';
import { evaluateEcosystemModule, type EvaluateOptions } from './evaluate';
import { parseRelaxedJson } from './json-relaxed';

export type EcosystemFormat = 'js' | 'mjs' | 'json' | 'yaml';

/** The format of a file by its extension, or null when it is not one an ecosystem file can have. */
export function ecosystemFormat(file: string): EcosystemFormat | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.js' || ext === '.cjs') return 'js';
  if (ext === '.mjs') return 'mjs';
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return null;
}

/**
 * pm2's own rule (`Common.isConfigFile`) for telling an ecosystem file from an app script on the
 * command line: `*.config.js|cjs|mjs`, `*.json`, `*.yml`, `*.yaml`. `start app.js` stays an app.
 */
export function looksLikeEcosystemFile(file: string): boolean {
  const base = path.basename(file).toLowerCase();
  return /\.config\.(c|m)?js$/.test(base) || /\.(json|ya?ml)$/.test(base);
}

/**
 * Whether a `--config` file is a pm2 ecosystem file rather than a smartworkers workers.yaml:
 * `.js`, `.cjs`, `.mjs` and `.json` always are; a YAML file is when it reads like pm2's (a list
 * of apps, or apps given by `script`), not smartworkers' (apps given by `app`). An unreadable
 * YAML file is left to the config loader, which reports it.
 */
export function isEcosystemConfig(file: string): boolean {
  const format = ecosystemFormat(file);
  if (format !== 'yaml') return format !== null;
  let raw: unknown;
  try {
    raw = parseYaml(readRegularFile(file));
  } catch {
    return false;
  }
  if (Array.isArray(raw)) return true;
  if (typeof raw !== 'object' || raw === null) return false;
  const entries: unknown[] = Array.isArray((raw as { apps?: unknown }).apps) ? ((raw as { apps: unknown[] }).apps) : [raw];
  return entries.some((entry) => typeof entry === 'object' && entry !== null && 'script' in entry && !('app' in entry));
}

function fileError(file: string, err: unknown): SmartworkersError {
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.split('\n').find((line) => line.trim() !== '') ?? message;
  return new SmartworkersError('SW_ECOSYSTEM_FILE', `Cannot load ecosystem file ${file}: ${firstLine.trim()}`);
}

function formatOf(file: string, absolute: string): EcosystemFormat {
  const format = ecosystemFormat(absolute);
  if (format === null) {
    throw new SmartworkersError('SW_ECOSYSTEM_FILE', `Cannot load ecosystem file ${file}: expected a .js, .cjs, .mjs, .json, .yaml or .yml file`);
  }
  return format;
}

function readDataFile(absolute: string, format: 'json' | 'yaml'): unknown {
  const text = readRegularFile(absolute);
  return format === 'json' ? parseRelaxedJson(text) : parseYaml(text);
}

export interface ReadEcosystemOptions extends EvaluateOptions {}

/**
 * The raw value the ecosystem file exports or contains, read afresh (SIGHUP re-reads it), as
 * plain data. Regular files of at most 1 MiB only; JavaScript is evaluated within a time bound
 * (evaluate.ts); `.json` is read as pm2 reads it (comments, trailing commas: json-relaxed.ts).
 * Any failure is one SW_ECOSYSTEM_FILE line.
 */
export function readEcosystemFileSync(file: string, options: ReadEcosystemOptions = {}): unknown {
  const absolute = path.resolve(file);
  const format = formatOf(file, absolute);
  try {
    if (format === 'json' || format === 'yaml') return readDataFile(absolute, format);
    return evaluateEcosystemModule(absolute, options);
  } catch (err) {
    throw fileError(file, err);
  }
}

/** {@link readEcosystemFileSync}, as a promise (the API's asynchronous form). */
export async function readEcosystemFile(file: string, options: ReadEcosystemOptions = {}): Promise<unknown> {
  return readEcosystemFileSync(file, options);
}

export interface LoadEcosystemOptions {
  /** `--env <name>`. */
  env?: string;
  /** Base for relative `cwd` / `script` (default: process.cwd(), as pm2 resolves them). */
  cwd?: string;
  cpus?: number;
}

/** Reads and converts an ecosystem file: the raw smartworkers config object, the warnings and every error. */
export async function loadEcosystem(file: string, options: LoadEcosystemOptions = {}): Promise<ConvertResult> {
  const ecosystem = await readEcosystemFile(file);
  return convertEcosystemWithErrors(ecosystem, { env: options.env, cwd: options.cwd ?? process.cwd(), cpus: options.cpus });
}

/** {@link loadEcosystem}, synchronously (see {@link readEcosystemFileSync}). */
export function loadEcosystemSync(file: string, options: LoadEcosystemOptions = {}): ConvertResult {
  const ecosystem = readEcosystemFileSync(file);
  return convertEcosystemWithErrors(ecosystem, { env: options.env, cwd: options.cwd ?? process.cwd(), cpus: options.cpus });
}
