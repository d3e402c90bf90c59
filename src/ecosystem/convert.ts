/**
 * A pm2 ecosystem object → smartworkers' raw config object (`{ apps: [...] }`, YAML key names), plus
 * warnings: one per field smartworkers does not support (naming it and the apps that use it), and one
 * per behaviour that differs enough to surprise (fork mode, an interpreter, a left-out app).
 *
 * The result is not validated here: the config loader validates it like a workers.yaml, so a bad
 * smartworkers key in an ecosystem file gets the same one-line error as in YAML.
 *
 * Units: in an ecosystem file a number of time is pm2's — milliseconds — also for the names pm2
 * and smartworkers share (`min_uptime`, `restart_delay`); durations are emitted as `"<n>ms"`.
 * smartworkers-only keys (`graceful_timeout`, `max_requests`, …) pass through untouched.
 */
import os from 'node:os';
import path from 'node:path';
import { Problems, SmartworkersError, SmartworkersErrors } from '../errors';
import { nearest } from '../config/suggest';
import { describeAccepted, parseSettingValue, SETTINGS_BY_KEY } from '../config/settings';
import { resolveScript, type ResolvedScript, type ScriptInput } from './resolve-script';
import { PM2_FIELD_BY_SPELLING, SMARTWORKERS_APP_KEYS, SMARTWORKERS_TOP_KEYS, type Pm2Field } from './fields';

export interface ConvertOptions {
  /** `--env <name>`: selects `env_<name>` (and `deploy.<name>.env`). */
  env?: string;
  /** The directory relative `cwd` and `script` are resolved against (pm2: where the CLI runs). */
  cwd: string;
  /** CPU count for negative `instances` (default: os.availableParallelism()). */
  cpus?: number;
  /** Where programs named by `script` are looked up (PATH); default process.env. */
  processEnv?: NodeJS.ProcessEnv;
  /** What a `script` runs (default: resolve-script.ts, which reads the file system); tests of the mapping pass their own. */
  resolveScript?: (input: ScriptInput) => ResolvedScript;
}

export type RawApp = Record<string, unknown>;

export interface ConvertResult {
  raw: { apps: RawApp[] } & Record<string, unknown>;
  warnings: string[];
  /** Every error found (an app with an error in `script`, `name` or `cwd` is left out of `raw`). */
  errors: SmartworkersError[];
  /** What each app's `script` resolved to, when it was a command (`npm start` → server.js). */
  notes: string[];
}

type Dict = Record<string, unknown>;

function isDict(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): SmartworkersError {
  return new SmartworkersError('SW_ECOSYSTEM_INVALID', message);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * pm2's split of a string given where a list is expected (args, node_args, ignore_watch): on
 * whitespace, keeping `"…"` / `'…'` together (quotes removed) and `key="…"` / `key='…'` whole
 * (quotes kept), like pm2's Config.js.
 */
export function splitPm2List(text: string): string[] {
  const words: string[] = [];
  const re = /([\w-]+="[^"]*")|([\w-]+='[^']*')|"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const word = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5];
    if (word !== undefined && word.trim() !== '') words.push(word);
  }
  return words;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A pm2 time (a number of ms, a numeric string, or `"2h"`/`"1m"`/`"3s"`) → `"<ms>ms"`. */
function pm2Duration(label: string, field: string, value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return `${Math.round(value)}ms`;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (m) return `${Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 'ms'])}ms`;
  }
  throw invalid(`${label}: expected \`${field}\` to be a number of milliseconds or a duration like "30s", got ${show(value)}`);
}

const SIZE_UNITS: Record<string, { factor: number; suffix: string }> = {
  K: { factor: 1024, suffix: 'KB' },
  M: { factor: 1024 ** 2, suffix: 'MB' },
  G: { factor: 1024 ** 3, suffix: 'GB' },
};

/** pm2's `max_memory_restart` (bytes, or `"300M"`, `"1G"`, `"200K"`: powers of 1024) → a size. */
function pm2Size(label: string, field: string, value: unknown): string | number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+)\s*([KMG])?\s*$/i.exec(value);
    if (m) {
      if (!m[2]) return Number(m[1]);
      return `${m[1]}${SIZE_UNITS[m[2].toUpperCase()].suffix}`;
    }
    // Already a smartworkers size ("400MB", "1GB"): the loader validates it.
    if (/^\s*\d+(?:\.\d+)?\s*[KMGT]i?B\s*$/i.test(value)) return value.trim();
  }
  throw invalid(`${label}: expected \`${field}\` to be a number of bytes or a size like "300M", got ${show(value)}`);
}

function pm2List(label: string, field: string, value: unknown): string[] {
  if (typeof value === 'string') return splitPm2List(value);
  if (Array.isArray(value) && value.every((v) => ['string', 'number', 'boolean'].includes(typeof v))) return value.map(String);
  throw invalid(`${label}: expected \`${field}\` to be a string or a list of strings, got ${show(value)}`);
}

function pm2Bool(label: string, field: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw invalid(`${label}: expected \`${field}\` to be true or false, got ${show(value)}`);
}

function pm2String(label: string, field: string, value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  throw invalid(`${label}: expected \`${field}\` to be a non-empty string, got ${show(value)}`);
}

function pm2Count(label: string, field: string, value: unknown): number {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0) return n;
  throw invalid(`${label}: expected \`${field}\` to be a whole number >= 0, got ${show(value)}`);
}

/** pm2's `instances` → `workers`: 0 / 'max' → 'auto'; -N → CPUs − N (at least 1). */
function pm2Instances(label: string, value: unknown, cpus: number): number | 'auto' {
  let n: number;
  if (value === 'max') return 'auto';
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) n = Number(value);
  else throw invalid(`${label}: expected \`instances\` to be a whole number, 0, -1 or "max", got ${show(value)}`);
  if (!Number.isInteger(n)) throw invalid(`${label}: expected \`instances\` to be a whole number, 0, -1 or "max", got ${show(value)}`);
  if (n === 0) return 'auto';
  if (n < 0) return Math.max(1, cpus + n);
  return n;
}

/** pm2 env values: objects JSON-encoded, everything else a string. */
function envStrings(label: string, field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isDict(value)) throw invalid(`${label}: expected \`${field}\` to be an object of environment variables, got ${show(value)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

function defaultCpus(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Collects "field X is not supported" by field, so each gets exactly one warning naming its apps. */
class Warnings {
  private readonly unsupported = new Map<string, { apps: string[]; note: string }>();
  private readonly lines: string[] = [];

  unsupportedField(field: string, app: string, note: string): void {
    const entry = this.unsupported.get(field) ?? { apps: [], note };
    if (!entry.apps.includes(app)) entry.apps.push(app);
    this.unsupported.set(field, entry);
  }

  add(line: string): void {
    this.lines.push(line);
  }

  list(): string[] {
    const fields = [...this.unsupported].map(([field, { apps, note }]) => {
      const where = apps.length === 1 ? `app ${apps[0]}` : `apps ${apps.join(', ')}`;
      return `\`${field}\` (${where}) is ignored: ${note}`;
    });
    return [...fields, ...this.lines];
  }
}

/** The list of app objects in whichever shape pm2 accepts: `{apps: [...]}`, `{apps: {...}}`, `[...]`, or one app. */
function appList(ecosystem: unknown): { apps: unknown[]; top: Dict } {
  if (Array.isArray(ecosystem)) return { apps: ecosystem, top: {} };
  if (!isDict(ecosystem)) throw invalid(`Expected the ecosystem file to export an object with \`apps\`, got ${show(ecosystem)}`);
  if ('apps' in ecosystem) {
    const { apps, ...top } = ecosystem;
    if (Array.isArray(apps)) return { apps, top };
    if (isDict(apps)) return { apps: [apps], top };
    throw invalid(`Expected \`apps\` to be a list of apps, got ${show(apps)}`);
  }
  if ('script' in ecosystem) return { apps: [ecosystem], top: {} };
  throw invalid(`Expected the ecosystem file to have \`apps\` (a list of apps, each with a \`script\`), got keys ${show(Object.keys(ecosystem))}`);
}

/** Converts, throwing every error at once (a SmartworkersErrors with the warnings) if there is any. */
export function convertEcosystem(ecosystem: unknown, options: ConvertOptions): ConvertResult {
  const result = convertEcosystemWithErrors(ecosystem, options);
  if (result.errors.length > 0) throw new SmartworkersErrors(result.errors, result.warnings);
  return result;
}

/**
 * Converts every app it can, returning the errors beside the result: an app whose `script`,
 * `name` or `cwd` is in error is left out of `raw`, the others are there to be validated too.
 */
export function convertEcosystemWithErrors(ecosystem: unknown, options: ConvertOptions): ConvertResult {
  const cpus = options.cpus ?? defaultCpus();
  const envName = options.env;
  const warnings = new Warnings();
  const problems = new Problems();
  const { apps, top } = appList(ecosystem);
  if (apps.length === 0) throw invalid('Expected `apps` to list at least one app, got an empty list');

  const raw: ConvertResult['raw'] = { apps: [] };
  let deployEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(top)) {
    if (key === 'deploy') {
      warnings.add('`deploy` is ignored: smartworkers does not deploy code; use your CI/CD. Its `env` for `--env` is still applied.');
      if (envName && isDict(value) && isDict(value[envName])) {
        deployEnv = problems.attempt(() => envStrings(`deploy.${envName}`, 'env', (value[envName] as Dict).env)) ?? {};
      }
    } else if (SMARTWORKERS_TOP_KEYS.includes(key)) {
      raw[key] = value;
    } else {
      warnings.add(`\`${key}\` (top level) is ignored: it is neither a pm2 nor a smartworkers setting.`);
    }
  }

  const names = new Set<string>();
  const missingEnv: string[] = [];
  const notes: string[] = [];
  let leftOut = 0;
  apps.forEach((entry, index) => {
    if (!isDict(entry)) {
      problems.errors.push(invalid(`Expected app #${index + 1} to be an object, got ${show(entry)}`));
      return;
    }
    const app = convertApp(entry, index, {
      cwd: options.cwd,
      cpus,
      envName,
      deployEnv,
      warnings,
      missingEnv,
      problems,
      notes,
      resolve: options.resolveScript ?? ((input) => resolveScript({ ...input, env: options.processEnv })),
    });
    if (app === 'left out') leftOut += 1;
    if (app === 'left out' || app === null) return;
    const name = app.name as string;
    if (names.has(name)) {
      problems.errors.push(invalid(`Expected app names to be unique, got ${JSON.stringify(name)} twice (smartworkers addresses apps by name)`));
      return;
    }
    names.add(name);
    raw.apps.push(app);
  });
  if (envName && missingEnv.length > 0) {
    warnings.add(`--env ${envName}: ${missingEnv.join(', ')} ${missingEnv.length === 1 ? 'has' : 'have'} no \`env_${envName}\`; using \`env\` only (as pm2 does).`);
  }
  if (leftOut === apps.length) problems.errors.push(invalid('Expected at least one app to start, but every app has `autostart: false`'));
  return { raw, warnings: warnings.list(), errors: problems.errors, notes };
}

interface AppContext {
  cwd: string;
  cpus: number;
  envName?: string;
  deployEnv: Record<string, string>;
  warnings: Warnings;
  missingEnv: string[];
  problems: Problems;
  /** What each app's `script` resolved to, one line each. */
  notes: string[];
  resolve: (input: ScriptInput) => ResolvedScript;
}

/**
 * One app entry → its smartworkers keys. Each field's error is recorded and the others still
 * converted, so one read shows all of them; null when the app cannot be given to the loader.
 */
function convertApp(entry: Dict, index: number, ctx: AppContext): RawApp | null | 'left out' {
  // Sort the entry's keys into pm2 fields (canonical name → value; the canonical spelling wins over
  // an alias, as in pm2), smartworkers keys, env_<name> sections and unknown keys.
  const pm2 = new Map<string, { field: Pm2Field; spelling: string; value: unknown }>();
  const own: Dict = {};
  const unknown: string[] = [];
  for (const [spelling, value] of Object.entries(entry)) {
    if (value === undefined) continue;
    if (/^env_\S+$/.test(spelling)) continue;
    const field = PM2_FIELD_BY_SPELLING.get(spelling);
    if (field) {
      const existing = pm2.get(field.name);
      if (!existing || spelling === field.name) pm2.set(field.name, { field, spelling, value });
    } else if (SMARTWORKERS_APP_KEYS.includes(spelling)) {
      own[spelling] = value;
    } else {
      unknown.push(spelling);
    }
  }
  const get = (name: string): unknown => pm2.get(name)?.value;
  const { warnings, problems } = ctx;
  const attempt = <T>(fn: () => T): T | undefined => problems.attempt(fn);

  const scriptValue = get('script') ?? own.app;
  const nameValue = get('name');
  const provisional = typeof nameValue === 'string' && nameValue ? nameValue : `#${index + 1}`;
  if (typeof scriptValue !== 'string' || scriptValue.trim() === '') {
    problems.errors.push(invalid(`app ${provisional}: expected \`script\` to be the path of the app's entry file or a command, got ${show(scriptValue)}`));
    return null;
  }
  const name = nameValue === undefined ? path.basename(scriptValue, path.extname(scriptValue)) : attempt(() => pm2String(`app #${index + 1}`, 'name', nameValue));
  if (name === undefined) return null;
  const label = `app ${name}`;

  const autostart = get('autostart') === undefined ? true : attempt(() => pm2Bool(label, 'autostart', get('autostart')));
  if (autostart === false) {
    warnings.add(`\`autostart\` (app ${name}) is false: the app is left out; smartworkers starts every app it is given.`);
    return 'left out';
  }

  const out: RawApp = { name };
  const set = (key: string, fn: () => unknown): void => {
    const value = attempt(fn);
    if (value !== undefined) out[key] = value;
  };
  const cwdValue = get('cwd');
  const cwd = cwdValue === undefined ? ctx.cwd : attempt(() => path.resolve(ctx.cwd, pm2String(label, 'cwd', cwdValue)));
  if (cwd === undefined) return null;
  out.cwd = cwd;

  const args = get('args') === undefined ? [] : attempt(() => pm2List(label, 'args', get('args')));
  const nodeArgs = get('node_args') === undefined ? [] : attempt(() => pm2List(label, 'node_args', get('node_args')));
  const interpreter = pm2.get('exec_interpreter');
  const interpreterValue = interpreter === undefined ? undefined : attempt(() => pm2String(label, interpreter.spelling, interpreter.value));
  // `script: 'npm'`, `node server.js`, `tsx src/main.ts`, `interpreter: python3`: what it runs (resolve-script.ts).
  const resolved = attempt(() =>
    ctx.resolve({
      app: name,
      script: scriptValue,
      args: args ?? [],
      interpreter: interpreter === undefined || interpreterValue === undefined ? undefined : { field: interpreter.spelling, value: interpreterValue },
      cwd,
    }),
  );
  // An app whose script cannot be resolved is still converted, so its other errors show too.
  if (resolved !== undefined) out.app = resolved.script;
  if (resolved?.cwd !== undefined) out.cwd = resolved.cwd;
  if (resolved !== undefined && (resolved.args.length > 0 || get('args') !== undefined)) out.args = resolved.args;
  if (resolved?.kind === 'process') {
    // pm2's interpreter_args (an alias of node_args) are the interpreter's arguments.
    out.kind = 'process';
    if (resolved.interpreter !== undefined) out.interpreter = resolved.interpreter;
    if (nodeArgs !== undefined && nodeArgs.length > 0) out.interpreter_args = nodeArgs;
    if (resolved.warning !== undefined) warnings.add(resolved.warning);
  } else if (resolved !== undefined && (resolved.nodeArgs.length > 0 || get('node_args') !== undefined)) {
    out.node_args = [...resolved.nodeArgs, ...(nodeArgs ?? [])];
  }
  const runsAs = resolved?.kind === 'process' ? 'as a process app' : 'as cluster workers';
  if (resolved?.via !== undefined) ctx.notes.push(`app ${JSON.stringify(name)}: ${resolved.via} → runs ${resolved.script}${resolved.args.length > 0 ? ` ${resolved.args.join(' ')}` : ''} ${runsAs}`);
  set('workers', () => (get('instances') === undefined ? 1 : pm2Instances(label, get('instances'), ctx.cpus)));

  // env, as pm2 merges it: deploy.<env>.env < env < env_<env>; then `port` as PORT. Variables the
  // command line set (`NODE_ENV=production node …`, npm's own) are below all of them.
  const env: Record<string, string> = { ...resolved?.env, ...ctx.deployEnv, ...(attempt(() => envStrings(label, 'env', get('env'))) ?? {}) };
  if (ctx.envName) {
    const section = `env_${ctx.envName}`;
    if (section in entry) Object.assign(env, attempt(() => envStrings(label, section, entry[section])) ?? {});
    else ctx.missingEnv.push(name);
  }
  if (get('port') !== undefined) {
    const port = attempt(() => pm2Count(label, 'port', get('port')));
    if (port !== undefined) env.PORT = String(port);
  }
  if (Object.keys(env).length > 0) out.env = env;

  const execMode = get('exec_mode');
  if (execMode !== undefined) {
    const mode = typeof execMode === 'string' ? execMode.replace(/_mode$/, '') : execMode;
    if (mode !== 'cluster' && mode !== 'fork') problems.errors.push(invalid(`${label}: expected \`exec_mode\` to be "cluster" or "fork", got ${show(execMode)}`));
    if (mode === 'fork' && resolved?.kind !== 'process') {
      warnings.add(`\`exec_mode\` (app ${name}) is fork: it runs as node:cluster workers like cluster mode; a server it opens is shared by its workers instead of each binding its own port.`);
    }
  }

  if (get('max_memory_restart') !== undefined) set('max_memory', () => pm2Size(label, 'max_memory_restart', get('max_memory_restart')));
  if (get('kill_timeout') !== undefined) set('graceful_timeout', () => pm2Duration(label, 'kill_timeout', get('kill_timeout')));
  if (get('wait_ready') !== undefined) set('wait_ready', () => pm2Bool(label, 'wait_ready', get('wait_ready')));
  if (get('listen_timeout') !== undefined) set('boot_timeout', () => pm2Duration(label, 'listen_timeout', get('listen_timeout')));
  if (get('min_uptime') !== undefined) set('min_uptime', () => pm2Duration(label, 'min_uptime', get('min_uptime')));
  if (get('max_restarts') !== undefined) set('max_restarts', () => pm2Count(label, 'max_restarts', get('max_restarts')));

  const backoff = get('exp_backoff_restart_delay');
  const fixed = get('restart_delay');
  if (backoff !== undefined) {
    set('restart_delay', () => pm2Duration(label, 'exp_backoff_restart_delay', backoff));
    out.max_restart_delay = '15s';
    if (fixed !== undefined) warnings.add(`\`restart_delay\` (app ${name}) is ignored: \`exp_backoff_restart_delay\` is set and wins, as in pm2.`);
  } else if (fixed !== undefined) {
    set('restart_delay', () => pm2Duration(label, 'restart_delay', fixed));
    if (out.restart_delay !== undefined) out.max_restart_delay = out.restart_delay;
  }

  if (get('instance_var') !== undefined) set('instance_var', () => pm2String(label, 'instance_var', get('instance_var')));
  if (get('increment_var') !== undefined) set('increment_var', () => pm2String(label, 'increment_var', get('increment_var')));
  if (get('autorestart') !== undefined) set('autorestart', () => pm2Bool(label, 'autorestart', get('autorestart')));
  if (get('cron_restart') !== undefined) set('cron_restart', () => pm2String(label, 'cron_restart', get('cron_restart')));
  if (get('shutdown_with_message') !== undefined) set('shutdown_with_message', () => pm2Bool(label, 'shutdown_with_message', get('shutdown_with_message')));
  const watch = get('watch');
  if (watch !== undefined) {
    if (typeof watch === 'boolean') out.watch = watch;
    else if (typeof watch === 'string') out.watch = [watch];
    else set('watch', () => pm2List(label, 'watch', watch));
  }
  if (get('ignore_watch') !== undefined) set('ignore_watch', () => pm2List(label, 'ignore_watch', get('ignore_watch')));
  // Log files: paths relative to the app's cwd, as pm2 resolves them (src/logs/).
  for (const [field, key] of [['out_file', 'out_file'], ['error_file', 'error_file'], ['log_file', 'log_file']] as const) {
    const value = get(field);
    if (value === undefined) continue;
    const spelling = pm2.get(field)!.spelling;
    // pm2 takes `false` (and `log_file: true`, its default combined path) here; a path is what we can honour.
    if (value === false || value === null) continue;
    set(key, () => path.resolve(cwd, pm2String(label, spelling, value)));
  }
  if (get('disable_logs') !== undefined && attempt(() => pm2Bool(label, 'disable_logs', get('disable_logs'))) === true) {
    out.out_file = '/dev/null';
    out.error_file = '/dev/null';
  }
  if (get('merge_logs') !== undefined) set('merge_logs', () => pm2Bool(label, pm2.get('merge_logs')!.spelling, get('merge_logs')));
  if (get('time') !== undefined) set('time', () => pm2Bool(label, 'time', get('time')));
  if (get('log_date_format') !== undefined) set('log_date_format', () => pm2String(label, 'log_date_format', get('log_date_format')));
  // pm2 treats any log_type but `json` as raw lines.
  if (get('log_type') !== undefined) out.log_type = get('log_type') === 'json' ? 'json' : 'raw';

  // Fields with no smartworkers key: one warning per field (the table says why and what to do).
  for (const { field, spelling } of pm2.values()) {
    if (field.key !== null || field.name === 'autostart' || field.name === 'exec_mode' || field.name === 'exec_interpreter') continue;
    warnings.unsupportedField(spelling, name, field.note);
  }
  for (const key of unknown) {
    const near = nearest(key, [...PM2_FIELD_BY_SPELLING.keys(), ...SMARTWORKERS_APP_KEYS]);
    warnings.unsupportedField(key, name, `it is neither a pm2 nor a smartworkers field${near ? ` (did you mean \`${near}\`?)` : ''}.`);
  }

  // smartworkers' own keys pass through and win over the pm2 field they replace.
  for (const [key, value] of Object.entries(own)) {
    if (key === 'app') {
      if (get('script') !== undefined) warnings.add(`\`app\` (app ${name}) is ignored: \`script\` is set and wins.`);
      continue;
    }
    if (key in out && key !== 'name') {
      const source = [...pm2.values()].find((p) => p.field.key === key);
      if (source) warnings.add(`\`${source.spelling}\` (app ${name}) is overridden by \`${key}\`, set in the same app.`);
    }
    out[key] = value;
  }
  if (resolved === undefined) {
    // Left out of what the loader validates: its own keys are checked here instead.
    for (const [key, value] of Object.entries(own)) {
      const setting = SETTINGS_BY_KEY.get(key);
      if (key === 'app' || setting === undefined || parseSettingValue(setting, value, cwd) !== undefined) continue;
      problems.errors.push(
        new SmartworkersError('SW_CONFIG_INVALID', `config: expected \`${key}\` (app ${name}) to be ${describeAccepted(setting, false)}, got ${show(value)}`),
      );
    }
    return null;
  }
  return out;
}
