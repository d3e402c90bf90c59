/**
 * Reading a pm2 ecosystem file: `.js` / `.cjs` with require (falling back to import() for an ES
 * module), `.mjs` with import(), `.json` with JSON.parse, `.yaml` / `.yml` with the yaml package.
 * Every read is fresh (SIGHUP re-reads the file), and any failure is one SW_ECOSYSTEM_FILE line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
/** Loaded on first use: `smartworkers start` imports this module, and the primary keeps what it loads. */
const parseYaml = (text: string): unknown => (require('yaml') as typeof import('yaml')).parse(text);
import { SmartworkersError } from '../errors';
import { convertEcosystem, type ConvertResult } from './convert';
import { importModule } from './import-module';

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
    raw = parseYaml(readFileSync(file, 'utf8'));
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

/** A module's configuration object: its default export when it has one (ESM, or transpiled CJS). */
function moduleValue(mod: unknown): unknown {
  if (typeof mod === 'object' && mod !== null && 'default' in mod && !('apps' in mod)) {
    return (mod as { default: unknown }).default;
  }
  return mod;
}

async function importFresh(file: string): Promise<unknown> {
  const url = pathToFileURL(file);
  url.searchParams.set('smartworkers-read', String(Date.now()));
  return moduleValue(await importModule(url.href));
}

function requireFresh(file: string): unknown {
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  try {
    return moduleValue(require(resolved));
  } finally {
    delete require.cache[resolved];
  }
}

function isModuleNamespace(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Module]';
}

function formatOf(file: string, absolute: string): EcosystemFormat {
  const format = ecosystemFormat(absolute);
  if (format === null) {
    throw new SmartworkersError('SW_ECOSYSTEM_FILE', `Cannot load ecosystem file ${file}: expected a .js, .cjs, .mjs, .json, .yaml or .yml file`);
  }
  return format;
}

function readDataFile(absolute: string, format: 'json' | 'yaml'): unknown {
  const text = readFileSync(absolute, 'utf8');
  return format === 'json' ? JSON.parse(text) : parseYaml(text);
}

/** The raw value the ecosystem file exports or contains, read afresh. */
export async function readEcosystemFile(file: string): Promise<unknown> {
  const absolute = path.resolve(file);
  const format = formatOf(file, absolute);
  try {
    if (format === 'mjs') return await importFresh(absolute);
    if (format !== 'js') return readDataFile(absolute, format);
    const resolved = require.resolve(absolute);
    let mod: unknown;
    try {
      mod = require(resolved) as unknown;
    } catch (err) {
      // An ES module in a `"type": "module"` package, on a Node that cannot require it.
      if ((err as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') return await importFresh(absolute);
      throw err;
    } finally {
      delete require.cache[resolved];
    }
    // An ES module that Node required (Node >= 20.19): import it instead, so that a re-read is fresh.
    return isModuleNamespace(mod) ? await importFresh(absolute) : moduleValue(mod);
  } catch (err) {
    throw fileError(file, err);
  }
}

/**
 * The same, synchronously, for a caller that cannot wait (a SIGHUP re-read). CommonJS, JSON and
 * YAML are read afresh; an ES module (`.mjs`, or `.js` of a `"type": "module"` package) is
 * required, which needs Node >= 20.19 and returns the module as first loaded by this process.
 */
export function readEcosystemFileSync(file: string): unknown {
  const absolute = path.resolve(file);
  const format = formatOf(file, absolute);
  try {
    if (format === 'json' || format === 'yaml') return readDataFile(absolute, format);
    return requireFresh(absolute);
  } catch (err) {
    throw fileError(file, err);
  }
}

export interface LoadEcosystemOptions {
  /** `--env <name>`. */
  env?: string;
  /** Base for relative `cwd` / `script` (default: process.cwd(), as pm2 resolves them). */
  cwd?: string;
  cpus?: number;
}

/** Reads and converts an ecosystem file: the raw smartworkers config object and the warnings. */
export async function loadEcosystem(file: string, options: LoadEcosystemOptions = {}): Promise<ConvertResult> {
  const ecosystem = await readEcosystemFile(file);
  return convertEcosystem(ecosystem, { env: options.env, cwd: options.cwd ?? process.cwd(), cpus: options.cpus });
}

/** {@link loadEcosystem}, synchronously (see {@link readEcosystemFileSync}). */
export function loadEcosystemSync(file: string, options: LoadEcosystemOptions = {}): ConvertResult {
  const ecosystem = readEcosystemFileSync(file);
  return convertEcosystem(ecosystem, { env: options.env, cwd: options.cwd ?? process.cwd(), cpus: options.cpus });
}
