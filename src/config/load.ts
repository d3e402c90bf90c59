/**
 * Loads the settings the primary runs with from the config file, env vars and flags
 * (precedence: flag > env > file > default), validates every value given anywhere, and
 * returns one deeply frozen `Settings`. Every problem is a SmartworkersError with a
 * one-line message naming the key, where the value came from, the value and what is accepted.
 */
import { parseTaskTypes } from './task-types';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, extname, resolve } from 'node:path';
import type { LineCounter } from 'yaml';

/** `yaml` is loaded only when a file is read: the primary keeps what it loads for its whole life. */
const yaml = (): typeof import('yaml') => require('yaml') as typeof import('yaml');
import { Problems, SmartworkersError } from '../errors';
import { typescriptNodeArgs } from './entry-file';
import { findProgram, resolveRunner } from './runner';
import { formatDuration, formatSize } from './parse';
import { readRegularFile } from './read-file';
import {
  APP_SETTINGS,
  AUTO,
  GLOBAL_SETTINGS,
  SETTINGS,
  SETTINGS_BY_KEY,
  describeAccepted,
  parseSettingValue,
  type Setting,
} from './settings';
import { nearest } from './suggest';
import type { AppKind, AppSettings, Settings } from './types';

export interface LoadInput {
  /** The script argument of the CLI; overrides `app` of a single-app config. */
  script?: string;
  /** Path of the YAML config file, relative to `cwd` or absolute. */
  configFile?: string;
  /** Option values as commander gives them (camelCase); keys that are not settings are ignored. */
  flags: Record<string, unknown>;
  /** Only `SMARTWORKERS_<KEY>` of known keys are read; other `SMARTWORKERS_*` vars are left alone. */
  env: NodeJS.ProcessEnv;
  /** Relative paths from the CLI and env resolve against it; the default `cwd` of the workers. */
  cwd: string;
  /** Whether stdout is a terminal: `log_format: auto` means pretty then. */
  isTTY?: boolean;
  /**
   * Defaults of a command (`smartworkers dev`: one worker, watch, pretty logs), keyed like `flags`:
   * below the config file, above the built-in defaults.
   */
  defaults?: CommandDefaults;
}

/** A command's own defaults: setting fields (as flags name them) and the raw value a flag would carry. */
export type CommandDefaults = Partial<Record<keyof AppSettings | Exclude<keyof Settings, 'apps' | 'configFile'>, string | boolean>>;

/** Reads `input.configFile` (when given) and loads the settings; see the module comment. */
export function loadSettings(input: LoadInput): Settings {
  if (input.configFile === undefined) return build(undefined, undefined, input);
  const configPath = resolve(input.cwd, input.configFile);
  const { raw, locate } = readYamlFile(configPath, input.configFile);
  return build(raw, { name: input.configFile, baseDir: dirname(configPath), configPath, locate }, input);
}

/**
 * Loads settings from an object already parsed from some other format (a pm2 ecosystem
 * file converted to smartworkers keys), exactly as if it were the YAML file's content.
 * `sourceName` names it in messages; when `input.configFile` is given, relative paths in
 * the object resolve against its directory and it is recorded as `Settings.configFile`.
 */
export function loadSettingsFromObject(raw: unknown, sourceName: string, input: LoadInput): Settings {
  const configPath = input.configFile === undefined ? undefined : resolve(input.cwd, input.configFile);
  const baseDir = configPath === undefined ? input.cwd : dirname(configPath);
  // Without lines to point at, an entry is named by its app's name: `ecosystem.config.js, app "api"`.
  const entries = (raw as { apps?: unknown } | null)?.apps;
  const locate = (keyPath: KeyPath): string => {
    const entry = keyPath[0] === 'apps' && typeof keyPath[1] === 'number' && Array.isArray(entries) ? (entries[keyPath[1]] as { name?: unknown } | undefined) : undefined;
    return typeof entry?.name === 'string' ? `${sourceName}, app ${JSON.stringify(entry.name)}` : sourceName;
  };
  return build(raw, { name: sourceName, baseDir, configPath, locate }, input);
}

type KeyPath = readonly (string | number)[];

interface FileSource {
  /** As the user named it, for messages: `workers.yaml`. */
  name: string;
  /** Relative paths in the file resolve against it. */
  baseDir: string;
  configPath: string | undefined;
  /** `workers.yaml:12`: where the key at `path` is, as precisely as known. */
  locate(path: KeyPath): string;
}

/** A value given for a setting somewhere, parsed, with what messages need to name it. */
interface Given {
  value: unknown;
  raw: unknown;
  /** The key as the user wrote it: `max_requests`, `status.listen`, `apps[1].workers`. */
  key: string;
  /** `--max-requests`, `SMARTWORKERS_MAX_REQUESTS`, `workers.yaml:3`, `the command line`. */
  from: string;
}

/** The values one source gives, by setting key. Layers are searched in order of precedence. */
type Layer = ReadonlyMap<string, Given>;

interface FileLayers {
  appDefaults: Layer;
  globals: Layer;
  /** The entries of `apps:`, when the file has that list. */
  apps?: readonly Layer[];
}

const NO_FILE: FileLayers = { appDefaults: new Map(), globals: new Map() };

/** The top-level YAML keys that hold a group of dotted settings: `status` for `status.listen`. */
const GROUPS: ReadonlyMap<string, readonly Setting[]> = groupNestedSettings();

/**
 * Every value is checked even after one failed, so that one run reports every error of the file,
 * the env vars and the flags at once (a SmartworkersErrors, one line each).
 */
function build(raw: unknown, source: FileSource | undefined, callerInput: LoadInput): Settings {
  const input = { ...callerInput, cwd: resolve(callerInput.cwd) };
  const problems = new Problems();
  const file = source === undefined ? NO_FILE : readFileLayers(raw, source, problems);
  const env = readEnvLayer(input.env, input.cwd, problems);
  const flags = readFlagLayer(input.flags, input.cwd, problems);
  const commandDefaults = readFlagLayer(input.defaults ?? {}, input.cwd, problems, 'the command');
  const scriptLayer = new Map<string, Given>();
  if (input.script !== undefined) {
    const script = problems.attempt(() => given(SETTINGS_BY_KEY.get('app')!, input.script, 'app', 'the command line', input.cwd, true));
    if (script !== undefined) scriptLayer.set('app', script);
  }

  const resolved: (AppSettings | undefined)[] = [];
  // A name given outside the entries makes every entry's name the same: one error is enough.
  let identityRefused = false;
  if (file.apps === undefined) {
    resolved.push(problems.attempt(() => resolveApp([scriptLayer, flags, env, file.appDefaults, commandDefaults], input, undefined, problems)));
  } else {
    identityRefused = problems.attempt(() => refuseIdentityOutsideEntries([scriptLayer, flags, env], source!.name)) === undefined;
    for (const [index, entry] of file.apps.entries()) {
      resolved.push(problems.attempt(() => resolveApp([flags, env, entry, file.appDefaults, commandDefaults], input, index, problems)));
    }
  }
  const apps = resolved.filter((app): app is AppSettings => app !== undefined);
  if (file.apps !== undefined && apps.length === file.apps.length && !identityRefused) problems.attempt(() => checkUniqueNames(apps, file.apps!));
  problems.throwIfAny();

  const settings: Record<string, unknown> = { apps };
  for (const setting of GLOBAL_SETTINGS) {
    const value = pick([flags, env, file.globals, commandDefaults], setting)?.value ?? defaultValue(setting);
    if (value !== undefined) settings[setting.field] = value;
  }
  if (settings.logFormat === AUTO) settings.logFormat = input.isTTY ? 'pretty' : 'json';
  if (source?.configPath !== undefined) settings.configFile = source.configPath;
  // Complete by construction: settings.ts fails to compile when a field of Settings has no row.
  return deepFreeze(settings as unknown as Settings);
}

function resolveApp(layers: readonly Layer[], input: LoadInput, entryIndex: number | undefined, problems: Problems): AppSettings {
  const where = entryIndex === undefined ? '' : `apps[${entryIndex}].`;
  const values: Record<string, unknown> = {};
  for (const setting of APP_SETTINGS) {
    const value = pick(layers, setting)?.value ?? defaultValue(setting);
    if (value !== undefined) values[setting.field] = value;
  }
  const givenFor = (key: string) => pick(layers, SETTINGS_BY_KEY.get(key)!);

  const script = givenFor('app');
  if (script === undefined) {
    if (entryIndex === undefined) {
      throw new SmartworkersError(
        'SW_USAGE',
        'config: no app to run: give the script (`smartworkers start app.js`) or set `app` in the config file',
      );
    }
    throw new SmartworkersError('SW_CONFIG_INVALID', `config: \`${where}app\` is missing; every entry of \`apps\` needs the script it runs`);
  }
  const scriptFound = problems.attempt(() => checkScriptExists(script, input)) !== undefined;
  if (scriptFound) values.script = script.value;

  if (givenFor('name') === undefined) {
    const derived = basename(script.value as string, extname(script.value as string));
    const name = parseSettingValue(SETTINGS_BY_KEY.get('name')!, derived, input.cwd);
    if (name === undefined) {
      problems.errors.push(
        new SmartworkersError(
          'SW_CONFIG_INVALID',
          `config: expected \`name\` (derived from the script's file name) to be ${describeAccepted(SETTINGS_BY_KEY.get('name')!, false)}, got ${JSON.stringify(derived)}; set \`name\``,
        ),
      );
    }
    values.name = name ?? derived;
  }

  const cwd = givenFor('cwd');
  if (cwd === undefined) values.cwd = input.cwd;
  else problems.attempt(() => checkDirectoryExists(cwd));
  const label = `config: app ${JSON.stringify(values.name)}`;
  // Cluster workers or plain processes, and what runs the script (runner.ts).
  const runner = scriptFound
    ? problems.attempt(() =>
        resolveRunner({ label, script: values.script as string, kind: values.kind as AppKind | undefined, interpreter: values.interpreter as string | undefined, cwd: values.cwd as string, env: { PATH: input.env.PATH ?? process.env.PATH } }),
      )
    : undefined;
  if (runner !== undefined) {
    values.kind = runner.kind;
    if (runner.interpreter === undefined) delete values.interpreter;
    else values.interpreter = runner.interpreter;
    if (runner.loaderNodeArgs !== undefined && runner.loaderNodeArgs.length > 0) {
      if (runner.kind === 'cluster') values.nodeArgs = [...runner.loaderNodeArgs, ...(values.nodeArgs as string[])];
      else values.interpreterArgs = [...runner.loaderNodeArgs, ...(values.interpreterArgs as string[])];
    }
  } else {
    values.kind ??= 'cluster';
  }
  // A TypeScript entry file: the flags this Node needs to load it (entry-file.ts).
  if (scriptFound && values.kind === 'cluster') {
    const nodeArgs = problems.attempt(() => typescriptNodeArgs({ label, script: values.script as string, nodeArgs: values.nodeArgs as string[], cwd: values.cwd as string }));
    if (nodeArgs !== undefined) values.nodeArgs = nodeArgs;
  }
  if (values.kind === 'process') checkProcessReadiness(values, givenFor, problems);
  else if (givenFor('ready_probe') !== undefined) {
    const probe = givenFor('ready_probe')!;
    problems.errors.push(invalid(probe.key, probe.from, 'unset for a cluster app (its workers are ready when their servers listen, or on `wait_ready`)', probe.raw));
  }

  if (values.workers === AUTO) values.workers = availableParallelism();
  if (values.maxRetiring === AUTO) values.maxRetiring = values.workers;
  // Watched paths are the app's: relative to its working directory, as pm2 reads them.
  values.watch = (values.watch as string[]).map((path) => resolve(values.cwd as string, path));

  // `wait_ready: true` is `ready_on: message`; both given and disagreeing is a mistake.
  // A process app has no server node:cluster sees: it is ready once started, or on its probe.
  const readyOn = givenFor('ready_on');
  if (readyOn === undefined) {
    values.readyOn = values.waitReady || (values.kind === 'process' && values.readyProbe !== undefined) ? 'message' : values.kind === 'process' ? 'online' : 'listening';
  } else if (values.waitReady && readyOn.value !== 'message') {
    const waitReady = givenFor('wait_ready');
    problems.errors.push(
      new SmartworkersError(
        'SW_CONFIG_INVALID',
        `config: expected \`${readyOn.key}\` (from ${readyOn.from}) to be \`message\` or unset, since \`wait_ready\` is true (from ${waitReady?.from ?? 'the default'}), got ${describeValue(readyOn.raw)}`,
      ),
    );
  }

  const app = values as unknown as AppSettings;
  // The soft ceiling never acts when the hard one is at or below it.
  if (app.maxMemory > 0 && app.maxMemoryHard > 0 && app.maxMemoryHard <= app.maxMemory) {
    problems.errors.push(outOfOrder(givenFor('max_memory_hard'), `${where}max_memory_hard`, `above \`max_memory\` (${formatSize(app.maxMemory)}) or 0`, formatSize(app.maxMemoryHard)));
  }
  if (app.maxRestartDelay < app.restartDelay) {
    problems.errors.push(outOfOrder(givenFor('max_restart_delay'), `${where}max_restart_delay`, `at least \`restart_delay\` (${formatDuration(app.restartDelay)})`, formatDuration(app.maxRestartDelay)));
  }
  return app;
}

/** A value that contradicts another setting; it may be a default (then there is no Given). */
function outOfOrder(value: Given | undefined, key: string, accepted: string, formatted: string): SmartworkersError {
  return invalid(value?.key ?? key, value?.from ?? 'the default', accepted, value?.raw ?? formatted);
}

/**
 * The script must be a file (what runs it is runner.ts's to say); a bare name that is no file here
 * but a program on the PATH (`celery`, `gunicorn`) is that program. Returns the path.
 */
function checkScriptExists(script: Given, input: LoadInput): string {
  const path = script.value as string;
  const kind = statKind(path);
  if (kind === 'file') return path;
  const raw = typeof script.raw === 'string' ? script.raw.trim() : '';
  const onPath = kind === 'missing' && raw !== '' && !raw.includes('/') ? findProgram(raw, input.cwd, { PATH: input.env.PATH ?? process.env.PATH }) : undefined;
  if (onPath !== undefined) {
    script.value = onPath;
    return onPath;
  }
  const what = kind === 'directory' ? 'a directory, not a script' : 'a script that does not exist';
  throw new SmartworkersError(
    'SW_SCRIPT_NOT_FOUND',
    `config: \`${script.key}\` (from ${script.from}) names ${what}: ${JSON.stringify(script.raw)} (${path})`,
  );
}

/** A process app is ready when started, on `process.send('ready')` (a Node program) or on its probe; never on `listening`. */
function checkProcessReadiness(values: Record<string, unknown>, givenFor: (key: string) => Given | undefined, problems: Problems): void {
  const readyOn = givenFor('ready_on');
  if (readyOn?.value === 'listening') {
    problems.errors.push(invalid(readyOn.key, readyOn.from, '`online` or `message` for a process app (its servers are its own: set `ready_probe` to wait for one)', readyOn.raw));
  }
  const node = values.interpreter === process.execPath;
  if ((values.waitReady || readyOn?.value === 'message') && values.readyProbe === undefined && !node) {
    const key = readyOn?.value === 'message' ? readyOn : givenFor('wait_ready');
    problems.errors.push(
      invalid(key?.key ?? 'wait_ready', key?.from ?? 'the config', "unset for a process app that is not a Node program (only Node's `process.send('ready')` reaches smartworkers): set `ready_probe` instead", key?.raw ?? true),
    );
  }
}

function checkDirectoryExists(cwd: Given): void {
  if (statKind(cwd.value as string) === 'directory') return;
  throw invalid(cwd.key, cwd.from, `an existing directory (it resolves to ${cwd.value as string})`, cwd.raw);
}

function statKind(path: string): 'file' | 'directory' | 'missing' {
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) return 'directory';
    return stats.isFile() ? 'file' : 'missing';
  } catch {
    return 'missing';
  }
}

/** With `apps:`, the script and the name belong to each entry: one value for all of them is a mistake. */
function refuseIdentityOutsideEntries(layers: readonly Layer[], fileName: string): true {
  for (const key of ['app', 'name']) {
    const outside = pick(layers, SETTINGS_BY_KEY.get(key)!);
    if (outside === undefined) continue;
    throw new SmartworkersError(
      'SW_USAGE',
      `config: \`${key}\` is given by ${outside.from}, but ${fileName} lists several apps under \`apps\`; set \`${key}\` in each entry instead`,
    );
  }
  return true;
}

function checkUniqueNames(apps: readonly AppSettings[], entries: readonly Layer[]): void {
  const firstIndexByName = new Map<string, number>();
  apps.forEach((app, index) => {
    const earlier = firstIndexByName.get(app.name);
    if (earlier === undefined) {
      firstIndexByName.set(app.name, index);
      return;
    }
    const name = entries[index].get('name')!;
    throw new SmartworkersError(
      'SW_CONFIG_INVALID',
      `config: expected \`${name.key}\` (from ${name.from}) to be unique, got ${JSON.stringify(app.name)}, already the name of apps[${earlier}]`,
    );
  });
}

function pick(layers: readonly Layer[], setting: Setting): Given | undefined {
  for (const layer of layers) {
    const value = layer.get(setting.key);
    if (value !== undefined) return value;
  }
  return undefined;
}

function defaultValue(setting: Setting): unknown {
  if (setting.default === undefined) return undefined;
  const value = parseSettingValue(setting, setting.default, '/');
  if (value === undefined) throw new Error(`settings table: the default of \`${setting.key}\` is not accepted by its own kind`);
  return value;
}

/** Parses a value for `setting`; throws the one-line SW_CONFIG_INVALID when it is not accepted. */
function given(setting: Setting, raw: unknown, key: string, from: string, baseDir: string, textual: boolean): Given {
  if (setting.kind === 'task-types') {
    // One line naming the exact key that is wrong (`task_types.crm.concurrency`), not the whole map.
    const parsed = parseTaskTypes(raw, key);
    if (!parsed.ok) throw new SmartworkersError('SW_CONFIG_INVALID', `config: ${parsed.error} (from ${from})`);
  }
  const value = parseSettingValue(setting, raw, baseDir);
  if (value === undefined) throw invalid(key, from, describeAccepted(setting, textual), raw, setting.secret);
  return { value, raw, key, from };
}

function invalid(key: string, from: string, accepted: string, raw: unknown, secret = false): SmartworkersError {
  return new SmartworkersError('SW_CONFIG_INVALID', `config: expected \`${key}\` (from ${from}) to be ${accepted}, got ${describeValue(raw, secret)}`);
}

function describeValue(raw: unknown, secret = false): string {
  if (secret) return 'a value not shown (it is a secret)';
  if (raw === null || raw === undefined) return 'an empty value';
  if (typeof raw === 'function') return 'a function';
  const text = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : JSON.stringify(raw);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function readEnvLayer(env: NodeJS.ProcessEnv, cwd: string, problems: Problems): Layer {
  const layer = new Map<string, Given>();
  for (const setting of SETTINGS) {
    const raw = env[setting.envVar];
    // An empty variable counts as unset, as shells and compose files produce them for "nothing".
    if (raw === undefined || raw === '') continue;
    const value = problems.attempt(() => given(setting, raw, setting.key, setting.envVar, cwd, true));
    if (value !== undefined) layer.set(setting.key, value);
  }
  return layer;
}

function readFlagLayer(flags: Record<string, unknown>, cwd: string, problems: Problems, from?: string): Layer {
  const layer = new Map<string, Given>();
  for (const setting of SETTINGS) {
    const raw = flags[setting.optionKey];
    if (raw === undefined) continue;
    const textual = typeof raw === 'string' || Array.isArray(raw);
    const value = problems.attempt(() => given(setting, raw, setting.key, from ?? setting.flag, cwd, textual));
    if (value !== undefined) layer.set(setting.key, value);
  }
  return layer;
}

function readFileLayers(raw: unknown, source: FileSource, problems: Problems): FileLayers {
  const top = raw ?? {};
  if (!isPlainObject(top)) {
    throw new SmartworkersError('SW_CONFIG_INVALID', `config: expected ${source.name} to hold a map of settings, got ${describeValue(top)}`);
  }
  const appDefaults = new Map<string, Given>();
  const globals = new Map<string, Given>();
  let apps: Layer[] | undefined;

  // A value that is not accepted is recorded, and the key left unset, so the next keys are still read.
  const fileValue = (setting: Setting, value: unknown, path: KeyPath, layer: Map<string, Given>): void => {
    const parsed = problems.attempt(() => given(setting, value, displayKey(path), source.locate(path), source.baseDir, false));
    if (parsed !== undefined) layer.set(setting.key, parsed);
  };

  for (const [key, value] of Object.entries(top)) {
    // `x-` keys are free for YAML anchors shared by several apps (as in compose files).
    if (key.startsWith('x-')) continue;
    if (key === 'apps') {
      apps = problems.attempt(() => readAppEntries(value, source, fileValue, problems)) ?? [];
      continue;
    }
    const setting = SETTINGS_BY_KEY.get(key);
    if (setting !== undefined) {
      fileValue(setting, value, [key], setting.scope === 'app' ? appDefaults : globals);
      continue;
    }
    const group = GROUPS.get(key);
    if (group !== undefined) {
      problems.attempt(() => readGroup(key, value, group, source, fileValue, globals, problems));
      continue;
    }
    problems.errors.push(unknownKey(key, source.locate([key]), topLevelKeys()));
  }
  return { appDefaults, globals, apps };
}

function readGroup(
  groupKey: string,
  value: unknown,
  members: readonly Setting[],
  source: FileSource,
  fileValue: (setting: Setting, value: unknown, path: KeyPath, layer: Map<string, Given>) => void,
  globals: Map<string, Given>,
  problems: Problems,
): void {
  if (value === null) return; // `status:` with every key commented out
  const memberNames = members.map((setting) => setting.key.slice(groupKey.length + 1));
  if (!isPlainObject(value)) {
    throw invalid(groupKey, source.locate([groupKey]), `a map with the keys ${memberNames.map((name) => `\`${name}\``).join(', ')}`, value);
  }
  for (const [subKey, subValue] of Object.entries(value)) {
    const setting = SETTINGS_BY_KEY.get(`${groupKey}.${subKey}`);
    if (setting === undefined) {
      problems.errors.push(unknownKey(`${groupKey}.${subKey}`, source.locate([groupKey, subKey]), members.map((member) => member.key)));
      continue;
    }
    fileValue(setting, subValue, [groupKey, subKey], globals);
  }
}

function readAppEntries(
  value: unknown,
  source: FileSource,
  fileValue: (setting: Setting, value: unknown, path: KeyPath, layer: Map<string, Given>) => void,
  problems: Problems,
): Layer[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every(isPlainObject)) {
    throw invalid('apps', source.locate(['apps']), 'a non-empty list of maps, one per app', value);
  }
  return value.map((entry, index) => {
    const layer = new Map<string, Given>();
    for (const [key, entryValue] of Object.entries(entry)) {
      const path = ['apps', index, key];
      const setting = SETTINGS_BY_KEY.get(key);
      if (setting?.scope === 'app') {
        fileValue(setting, entryValue, path, layer);
      } else if (setting !== undefined || GROUPS.has(key)) {
        problems.errors.push(
          new SmartworkersError(
            'SW_CONFIG_UNKNOWN_KEY',
            `config: \`${displayKey(path)}\` in ${source.locate(path)} applies to the whole manager, not to one app; move it to the top level`,
          ),
        );
      } else {
        problems.errors.push(unknownKey(displayKey(path), source.locate(path), APP_SETTINGS.map((appSetting) => appSetting.key), key));
      }
    }
    if (!layer.has('name') && !('name' in entry)) {
      problems.errors.push(
        new SmartworkersError(
          'SW_CONFIG_INVALID',
          `config: \`apps[${index}].name\` is missing in ${source.locate(['apps', index])}; every entry of \`apps\` needs a unique name`,
        ),
      );
    }
    return layer;
  });
}

function unknownKey(key: string, where: string, candidates: readonly string[], word = key): SmartworkersError {
  const suggestion = nearest(word, candidates);
  const hint = suggestion === undefined ? 'the accepted keys are in the configuration reference' : `did you mean \`${suggestion}\`?`;
  return new SmartworkersError('SW_CONFIG_UNKNOWN_KEY', `config: unknown key \`${key}\` in ${where}; ${hint}`);
}

function topLevelKeys(): string[] {
  return ['apps', ...SETTINGS.map((setting) => setting.key)];
}

/** `['apps', 1, 'workers']` → `apps[1].workers`. */
function displayKey(path: KeyPath): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

function groupNestedSettings(): Map<string, Setting[]> {
  const groups = new Map<string, Setting[]>();
  for (const setting of SETTINGS) {
    const dot = setting.key.indexOf('.');
    if (dot === -1) continue;
    const group = setting.key.slice(0, dot);
    groups.set(group, [...(groups.get(group) ?? []), setting]);
  }
  return groups;
}

function readYamlFile(path: string, name: string): { raw: unknown; locate: (keyPath: KeyPath) => string } {
  let text: string;
  try {
    text = readRegularFile(path);
  } catch (error) {
    throw new SmartworkersError('SW_CONFIG_FILE', `config: cannot read ${name}: ${(error as Error).message} (${path})`);
  }
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // merge: `<<: *defaults` lets several apps share settings.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    const { line, col } = lineCounter.linePos(syntaxError.pos[0]);
    throw new SmartworkersError('SW_CONFIG_FILE', `config: invalid YAML in ${name}:${line}:${col}: ${firstLine(syntaxError.message)}`);
  }
  let raw: unknown;
  try {
    raw = document.toJS();
  } catch (error) {
    throw new SmartworkersError('SW_CONFIG_FILE', `config: invalid YAML in ${name}: ${firstLine(String((error as Error).message))}`);
  }
  const locate = (keyPath: KeyPath): string => {
    const line = lineOf(document.contents, keyPath, lineCounter);
    return line === undefined ? name : `${name}:${line}`;
  };
  return { raw, locate };
}

/** The line of the deepest node of `keyPath` found in the YAML tree (1-based). */
function lineOf(root: unknown, keyPath: KeyPath, lineCounter: LineCounter): number | undefined {
  const { isMap, isScalar, isSeq } = yaml();
  let node = root;
  let line: number | undefined;
  for (const part of keyPath) {
    let located: { range?: [number, number, number] | null } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === String(part));
      if (pair === undefined) break;
      located = pair.key as { range?: [number, number, number] | null };
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      located = node.items[part] as { range?: [number, number, number] | null } | undefined;
      node = located;
    } else {
      break;
    }
    if (located?.range) line = lineCounter.linePos(located.range[0]).line;
  }
  return line;
}

function firstLine(text: string): string {
  return text.split('\n')[0].trim();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
