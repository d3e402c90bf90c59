/**
 * The settings table: one row per setting, as in gunicorn's config.py. Everything else —
 * YAML keys, CLI flags, env vars, defaults, validation, the README reference and the
 * example config/workers.yaml — is derived from it, so a new key cannot miss any of them.
 */
import { resolve } from 'node:path';
import type { AppSettings, Settings } from './types';
import {
  formatDuration,
  parseBoolean,
  parseCount,
  parseDuration,
  parseListenAddress,
  parseSize,
  parseStringList,
  parseStringMap,
} from './parse';
import { CRON_ACCEPTS, parseCron } from './cron';
import { parseTaskTypes, TASK_TYPES_ACCEPTS } from './task-types';

export type SettingKind =
  | 'duration' // ms
  | 'size' // bytes
  | 'count' // a whole number, at least `min`
  | 'boolean'
  | 'string' // non-empty, optionally matching `pattern`
  | 'path' // resolved against the config file's directory (file values) or the working directory
  | 'address' // host:port
  | 'string-list'
  | 'string-map'
  | 'enum' // one of `choices`
  | 'cron' // a cron expression (see cron.ts), kept as written
  | 'watch' // true/false, or a list of paths to watch (true = the app's cwd, `.`)
  | 'workers' // a whole number >= 1, or `auto` (what auto means: `auto`)
  | 'task-types'; // a map of task type → settings (see task-types.ts)

/** `app`: per worker group (an entry of `apps:`, or the single app); `global`: the primary. */
export type SettingScope = 'app' | 'global';

interface SettingRow<Field extends string> {
  /** snake_case; a dot nests it in YAML (`status.listen` is `status: { listen: … }`). */
  key: string;
  /** The field of AppSettings (scope app) or Settings (scope global). */
  field: Field;
  kind: SettingKind;
  description: string;
  /** In the form a YAML file would hold it; absent = unset, or computed (see defaultText). */
  default?: string | number | boolean | readonly string[] | Readonly<Record<string, string>> | Readonly<Record<string, never>>;
  /** Shown in the docs instead of the default when there is no literal default. */
  defaultText?: string;
  /** count: the smallest value; duration: the smallest value in ms. */
  min?: number;
  /** duration: why nothing shorter than `min` can work, for the message that refuses it. */
  minReason?: string;
  /** duration: 0 is accepted too, meaning off. */
  zeroIsOff?: boolean;
  /** enum: the accepted values. */
  choices?: readonly string[];
  /** workers: what `auto` resolves to. */
  auto?: 'available CPUs' | "the app's workers";
  /** string: the accepted form, and what it is called in messages. */
  pattern?: { regex: RegExp; accepts: string };
  /** Never echoed in messages or printed configs. */
  secret?: boolean;
  /** Overrides the derived flag, when that one is taken; the reason is given at the row. */
  flag?: string;
  /** An example value for the docs, for settings without a literal default. */
  example?: string;
  /**
   * Per-app settings apply on a reload (SIGHUP, `smartworkers reload`): the workers forked by the
   * rolling restart run with the new values. `restart`: read once when the primary starts.
   * The primary's own settings always need a restart.
   */
  reload?: 'restart';
}

export type AppSettingRow = SettingRow<keyof AppSettings>;
export type GlobalSettingRow = SettingRow<Exclude<keyof Settings, 'apps' | 'configFile'>>;

// Names as pm2 accepts them (`My API`, `api:v2`): any text but control characters, which would break
// log lines and status tables, and not starting or ending with a space; 200 characters at most, as
// the control protocol takes them.
const NAME_PATTERN = {
  regex: /^(?=[^]{1,200}$)[^\s\p{Cc}](?:[^\p{Cc}]*[^\s\p{Cc}])?$/u,
  accepts: 'a name of up to 200 characters, without control characters or spaces at either end',
};
// pm2 takes any string for instance_var (`INSTANCE-ID` is in the field); an environment can hold
// any name without `=`.
const ENV_NAME_PATTERN = { regex: /^[^=\p{Cc}]+$/u, accepts: 'an environment variable name (any characters but `=` and control characters)' };

const APP_ROWS = [
  {
    key: 'app', field: 'script', kind: 'path', defaultText: 'none (required)', example: './app.js',
    description: "The app's entry script (CommonJS or ESM). The script argument of `smartworkers start` overrides it.",
  },
  {
    key: 'name', field: 'name', kind: 'string', pattern: NAME_PATTERN, defaultText: "the script's base name", example: 'api',
    description: 'Name of the app in logs, status and CLI commands. Required and unique for each entry of `apps:`.',
  },
  { key: 'args', field: 'args', kind: 'string-list', default: [], description: 'Arguments passed to the script.' },
  {
    key: 'node_args', field: 'nodeArgs', kind: 'string-list', default: [],
    description: 'Node.js flags for the workers, e.g. `--max-old-space-size=512`.',
  },
  {
    // `--env <name>` selects a pm2 ecosystem environment (`pm2 start ecosystem.config.js --env production`),
    // so the flag for this map is `--worker-env KEY=VALUE`, repeatable.
    key: 'env', field: 'env', kind: 'string-map', default: {}, flag: '--worker-env',
    description: 'Extra environment variables for the workers (flag: `KEY=VALUE`, repeatable; env var: a JSON object).',
  },
  {
    key: 'cwd', field: 'cwd', kind: 'path', defaultText: 'the current directory', example: '/srv/app',
    description: 'Working directory of the workers.',
  },
  {
    key: 'workers', field: 'workers', kind: 'workers', default: 'auto', auto: 'available CPUs',
    description: 'Number of workers; `auto` = the available CPUs (`os.availableParallelism()`).',
  },
  {
    key: 'max_requests', field: 'maxRequests', kind: 'count', default: 0, min: 0,
    description: 'Requests after which a worker is recycled (surge-then-retire); 0 = never.',
  },
  {
    key: 'max_requests_jitter', field: 'maxRequestsJitter', kind: 'count', default: 0, min: 0,
    description: "Each worker's limit is max_requests plus a random whole number in [0, jitter], so workers do not recycle all at once.",
  },
  {
    key: 'max_memory', field: 'maxMemory', kind: 'size', default: 0,
    description: 'Soft RSS ceiling: a worker above it is recycled once its background tasks end; 0 = off.',
  },
  {
    key: 'max_memory_hard', field: 'maxMemoryHard', kind: 'size', default: 0,
    description: 'Hard RSS ceiling: a worker above it is replaced at once, tasks in flight are lost (and logged); 0 = off. Must be above max_memory.',
  },
  {
    key: 'memory_check_interval', field: 'memoryCheckInterval', kind: 'duration', default: '1s', min: 100, reload: 'restart',
    description: "How often each worker's RSS is sampled.",
  },
  {
    key: 'timeout', field: 'timeout', kind: 'duration', default: '30s', min: 2_000,
    minReason: 'a loaded machine stalls healthy workers longer than that, and they would be killed',
    description: 'A worker whose event loop sends no heartbeat for this long is killed (SIGKILL) and replaced. At least 2s (an idle worker sends a heartbeat every timeout/4, at most every 10s; one with counts to report, within 200ms).',
  },
  {
    key: 'graceful_timeout', field: 'gracefulTimeout', kind: 'duration', default: '30s', min: 1_000,
    minReason: 'a shorter stop cuts requests in flight and idle keep-alive connections before they can drain',
    description: 'On stop, how long workers may take to finish their requests and tasks before SIGKILL. At least 1s.',
  },
  {
    key: 'max_task_wait', field: 'maxTaskWait', kind: 'duration', default: '5m', min: 0,
    description: 'How long a retired worker waits for its background tasks; tasks still running then are logged as lost.',
  },
  {
    key: 'boot_timeout', field: 'bootTimeout', kind: 'duration', default: '30s', min: 1_000,
    minReason: 'Node alone takes a few hundred ms to start a worker on a loaded machine',
    description: 'A worker not ready within this is a failed boot. At least 1s.',
  },
  {
    key: 'wait_ready', field: 'waitReady', kind: 'boolean', default: false,
    description: "A worker is ready when the app calls `process.send('ready')` instead of when its first server listens.",
  },
  {
    key: 'restart_delay', field: 'restartDelay', kind: 'duration', default: '100ms', min: 0,
    description: 'Delay before replacing a worker that died before serving a request (failed boot, crash loop); doubles with each consecutive such crash of the slot. A worker that served requests is replaced at once.',
  },
  {
    key: 'max_restart_delay', field: 'maxRestartDelay', kind: 'duration', default: '15s', min: 0,
    description: 'Cap of the crash backoff. At least restart_delay.',
  },
  {
    key: 'min_uptime', field: 'minUptime', kind: 'duration', default: '10s', min: 0,
    description: "A worker up this long counts as stable: its slot's crash backoff resets.",
  },
  {
    key: 'max_retiring', field: 'maxRetiring', kind: 'workers', default: 'auto', auto: "the app's workers",
    description: "Surge cap: how many retired workers of the app may drain or wait on tasks at once; past it the next recycle is postponed. `auto` = the app's workers.",
  },
  {
    key: 'drain_timeout', field: 'drainTimeout', kind: 'duration', default: '30s', min: 0,
    description: "How long a retiring or stopping worker's long-lived connections (WebSockets and other upgrades, server-sent events, streaming responses and uploads) may stay open: the app is told the deadline at once (`onDrain`, and pm2's `'shutdown'` message with `shutdown_with_message`); what is still open then is cut, logged, counted and makes the exit code 1. Within `graceful_timeout` on a stop. Background tasks keep their own bound, `max_task_wait`.",
  },
  {
    key: 'drain_idle_grace', field: 'drainIdleGrace', kind: 'duration', default: '1s', min: 0,
    description: 'A retiring worker closes a keep-alive connection once it has been idle this long.',
  },
  {
    key: 'ready_on', field: 'readyOn', kind: 'enum', choices: ['listening', 'message', 'online'],
    defaultText: '`message` with `wait_ready`, else `listening`', example: 'online',
    description: "When a worker counts as ready: `listening` (its first server listens), `message` (the app calls `process.send('ready')`, as `wait_ready`) or `online` (its process has started: for queue consumers and schedulers without a server).",
  },
  {
    key: 'max_restarts', field: 'maxRestarts', kind: 'count', default: 0, min: 0,
    description: "Consecutive unstable exits (a worker that crashed before `min_uptime`) after which its slot is no longer restarted, as pm2's max_restarts; 0 = always restart. When every slot of every app has given up, smartworkers stops with exit code 1.",
  },
  {
    key: 'autorestart', field: 'autorestart', kind: 'boolean', default: true,
    description: 'Replace a worker that exits on its own (crash or exit). `false`: its slot stays empty until the next reload; recycling still replaces workers. When every slot of every app is empty, smartworkers stops.',
  },
  {
    key: 'instance_var', field: 'instanceVar', kind: 'string', pattern: ENV_NAME_PATTERN, default: 'NODE_APP_INSTANCE',
    description: "Name of the env var holding the worker's stable slot 0..N-1 (pm2's `NODE_APP_INSTANCE`).",
  },
  {
    key: 'increment_var', field: 'incrementVar', kind: 'string', pattern: ENV_NAME_PATTERN, defaultText: 'none', example: 'PORT',
    description: 'An env var increased by the slot number in each worker, as pm2 does (`PORT` 3000 → 3000, 3001, …); a value that is not a whole number counts as 0.',
  },
  {
    key: 'cron_restart', field: 'cronRestart', kind: 'cron', defaultText: 'none', example: "'0 3 * * *'",
    description: 'A rolling reload of the app on this cron schedule (5 fields, or 6 with seconds first; local time): surge-then-retire, like `reload`.',
  },
  {
    key: 'watch', field: 'watch', kind: 'watch', default: false,
    description: "Rolling reload of the app when a file under these paths changes (debounced); `true` = the app's `cwd`. Relative paths are relative to the app's `cwd`. `smartworkers dev` turns it on.",
  },
  {
    key: 'ignore_watch', field: 'ignoreWatch', kind: 'string-list', default: [],
    description: 'Names or globs not watched, besides `node_modules`, `.git` and `*.log` (always ignored): a name matches any path segment (`logs`), a pattern with `/` or `*` the path relative to the watched directory (`public/**/*.css`).',
  },
  {
    key: 'shutdown_with_message', field: 'shutdownWithMessage', kind: 'boolean', default: false,
    description: "Also send the message `'shutdown'` to a worker being retired or stopped, just before its drain begins, as pm2's shutdown_with_message (the app listens with `process.on('message')`; cleanup it starts with `tasks.run()` is waited for).",
  },
  // Log files (pm2's fields; see the README's Logs section). Unset: the stream is inherited from the primary.
  {
    key: 'out_file', field: 'outFile', kind: 'path', defaultText: "none: the primary's stdout", example: './logs/out.log',
    description: "File the workers' stdout is appended to; one file per slot (`out-0.log`, `out-1.log`, …) unless `merge_logs`. `/dev/null` discards it.",
  },
  {
    key: 'error_file', field: 'errorFile', kind: 'path', defaultText: "none: the primary's stderr", example: './logs/error.log',
    description: "File the workers' stderr (and a crash's stack trace) is appended to; per slot unless `merge_logs`. `/dev/null` discards it.",
  },
  {
    key: 'log_file', field: 'logFile', kind: 'path', defaultText: 'none', example: './logs/combined.log',
    description: "File that receives both stdout and stderr lines too (pm2's combined log); per slot unless `merge_logs`.",
  },
  {
    key: 'merge_logs', field: 'mergeLogs', kind: 'boolean', default: false,
    description: 'One file per app for all its workers instead of one per slot (whole lines are appended with O_APPEND, never interleaved).',
  },
  {
    key: 'time', field: 'time', kind: 'boolean', default: false,
    description: 'Prefix each line written to a log file with its time (`log_date_format`, default ISO 8601 with milliseconds and offset).',
  },
  {
    key: 'log_date_format', field: 'logDateFormat', kind: 'string', defaultText: 'none', example: "'YYYY-MM-DD HH:mm:ss.SSS Z'",
    description: 'Prefix each line written to a log file with its time in this format (dayjs tokens, as pm2: `YYYY MM DD HH mm ss SSS Z`); implies `time`.',
  },
  {
    key: 'log_type', field: 'logType', kind: 'enum', choices: ['raw', 'json'], default: 'raw',
    description: "`json`: each line written to a log file is a JSON object (`message`, `timestamp`, `type`, `app_name`, `process_id` = the slot), as pm2's `log_type: json`.",
  },
  {
    key: 'log_max_size', field: 'logMaxSize', kind: 'size', default: '10MB',
    description: 'A log file that reaches this size is rotated (checked every 1–5 s, sooner the faster the file grows, at most 32 files a second); 0 = no rotation by size.',
  },
  {
    key: 'log_rotate_cron', field: 'logRotateCron', kind: 'cron', defaultText: 'none', example: "'0 0 * * *'",
    description: "Rotate the app's log files on this cron schedule too (local time), whatever their size.",
  },
  {
    key: 'log_retain', field: 'logRetain', kind: 'count', default: 10, min: 1,
    description: 'Rotated files kept per log file; the oldest beyond it are deleted.',
  },
  {
    key: 'log_compress', field: 'logCompress', kind: 'boolean', default: false,
    description: 'Gzip each rotated file (`.gz`), once every worker has reopened the new file.',
  },
  {
    key: 'kind', field: 'kind', kind: 'enum', choices: ['cluster', 'process'],
    defaultText: '`cluster` for JavaScript / TypeScript run by Node, else `process`', example: 'process',
    description: "How the workers run. `cluster`: node:cluster workers sharing the app's ports, with the runtime (requests, heartbeat, drain, tasks). `process`: plain child processes, each in its own process group, supervised the same way (instances, restarts with backoff, memory ceilings of the process tree, `cron_restart`, start-new-then-stop-old replacement, `stop_signal` then SIGKILL): Python, shell scripts, binaries. `process` for a JavaScript file runs it on this Node as one process per worker (each binds its own port).",
  },
  {
    key: 'interpreter', field: 'interpreter', kind: 'string', defaultText: 'by the script', example: 'python3',
    description: "What runs the script, as pm2's `interpreter`: `node` (cluster workers), `none` (the script is a program: a binary or an executable with a shebang), or a program (`python3`, `bash`, a path) — then the app is a process app. Unset: `node` for JavaScript / TypeScript; `python3` for `.py`, `bash` for `.sh`, `ruby`, `perl`, `php` by extension; else the file runs itself. A program that is not installed stops the start (exit 2).",
  },
  {
    key: 'interpreter_args', field: 'interpreterArgs', kind: 'string-list', default: [],
    description: "Process apps: arguments for the interpreter, before the script (`-u` for python3). pm2's `interpreter_args` / `node_args` of a process app land here.",
  },
  {
    key: 'stop_signal', field: 'stopSignal', kind: 'enum', default: 'SIGTERM', choices: ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'],
    description: "Process apps: the signal sent to a worker's process group to stop or replace it; SIGKILL follows after `graceful_timeout` (pm2's `kill_timeout`). SIGTERM is Celery's warm shutdown; pm2 sends SIGINT. Cluster workers are drained over IPC instead.",
  },
  {
    key: 'ready_probe', field: 'readyProbe', kind: 'string', defaultText: 'none', example: 'http://127.0.0.1:8000/health',
    pattern: { regex: /^(?:tcp:\/\/[^\s/]+:\d+|https?:\/\/[^\s/]+(?:\/\S*)?)$/, accepts: 'a probe like `tcp://127.0.0.1:8000` or `http://127.0.0.1:8000/health`' },
    description: 'Process apps: a worker is ready once this answers (a TCP connection, or an HTTP status below 500), tried every 200ms until `boot_timeout`. Without it a process worker is ready when it has started, or on `process.send(\'ready\')` with `wait_ready` (Node programs).',
  },
  {
    key: 'max_tasks', field: 'maxTasks', kind: 'count', default: 0, min: 0,
    description: "Background tasks a worker may start before it is recycled (surge-then-retire, task-aware), as Celery's max-tasks-per-child; 0 = never.",
  },
  {
    key: 'max_tasks_jitter', field: 'maxTasksJitter', kind: 'count', default: 0, min: 0,
    description: "Each worker's limit is max_tasks plus a random whole number in [0, jitter].",
  },
  {
    key: 'task_types', field: 'taskTypes', kind: 'task-types', default: {},
    description: 'Per task type: `concurrency` (cluster-wide, 0 = none), `priority`, `time_limit` (soft: aborts the signal), `hard_time_limit` (task failed, worker recycled), `retries`, `retry_delay` (doubles per retry), `stale_after` (default 3 × the estimate). See Background tasks. Env var or flag: JSON.',
  },
  {
    key: 'task_history', field: 'taskHistory', kind: 'count', default: 100, min: 0,
    description: 'Ended tasks each worker remembers for `smartworkers tasks history` (bounded memory).',
  },
] as const satisfies readonly AppSettingRow[];

const GLOBAL_ROWS = [
  {
    key: 'log_format', field: 'logFormat', kind: 'enum', default: 'auto', choices: ['json', 'pretty', 'auto'],
    description: "Format of the primary's own log lines; `auto` = `pretty` when stdout is a terminal, else `json`.",
  },
  {
    key: 'log_level', field: 'logLevel', kind: 'enum', default: 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
    description: "Lowest level of the primary's own log lines.",
  },
  {
    key: 'control.socket', field: 'controlSocket', kind: 'path', defaultText: 'in the state directory (see "Where the control socket lives")',
    example: '/run/smartworkers/api.sock',
    description: 'Unix socket the CLI commands (`status`, `reload`, …) talk to the primary through.',
  },
  {
    key: 'status.listen', field: 'statusListen', kind: 'address', defaultText: 'off', example: '127.0.0.1:9100',
    description: '`host:port` of the HTTP status server (the dashboard at `/`, `/status`, `/metrics`, `/healthz`, `/readyz`).',
  },
  {
    key: 'status.token', field: 'statusToken', kind: 'string', secret: true, defaultText: 'none', example: 'change-me',
    description: 'Bearer token the status server requires; mandatory when it listens on a non-loopback address. Prefer the env var: flags show in `ps`.',
  },
  {
    key: 'min_ready', field: 'minReady', kind: 'count', default: 1, min: 1,
    description: '`/readyz` answers 200 while at least this many workers are ready (and the cluster is not stopping).',
  },
  {
    key: 'summary_interval', field: 'summaryInterval', kind: 'duration', default: '30s', min: 1_000, zeroIsOff: true,
    minReason: 'more often floods the log',
    description: 'Interval of the one-line summary in the log (workers ready, in-flight requests, tasks, recycles); 0 = off, else at least 1s.',
  },
] as const satisfies readonly GlobalSettingRow[];

// A field of AppSettings or Settings without a row is a compile error here, naming the field.
type MissingAppFields = Exclude<keyof AppSettings, (typeof APP_ROWS)[number]['field']>;
type MissingGlobalFields = Exclude<keyof Settings, 'apps' | 'configFile' | (typeof GLOBAL_ROWS)[number]['field']>;
const everyFieldHasARow: [MissingAppFields | MissingGlobalFields] extends [never] ? true : MissingAppFields | MissingGlobalFields = true;
void everyFieldHasARow;

/** A row with the names derived from its key. */
export interface Setting extends SettingRow<string> {
  scope: SettingScope;
  /** `--max-requests` */
  flag: string;
  /** `SMARTWORKERS_MAX_REQUESTS` */
  envVar: string;
  /** The key commander stores the flag's value under: `maxRequests`. */
  optionKey: string;
  /** A reload (SIGHUP) applies a new value; false: only a restart of the primary does. */
  appliedOnReload: boolean;
}

function derive(row: SettingRow<string>, scope: SettingScope): Setting {
  const flag = row.flag ?? `--${row.key.replace(/[._]/g, '-')}`;
  return {
    ...row,
    scope,
    flag,
    envVar: `SMARTWORKERS_${row.key.replace(/\./g, '_').toUpperCase()}`,
    optionKey: flag.slice(2).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase()),
    appliedOnReload: scope === 'app' && row.reload !== 'restart',
  };
}

export const APP_SETTINGS: readonly Setting[] = APP_ROWS.map((row) => derive(row, 'app'));
export const GLOBAL_SETTINGS: readonly Setting[] = GLOBAL_ROWS.map((row) => derive(row, 'global'));
/** Every setting, in the order of the docs: per-app first, then the primary's. */
export const SETTINGS: readonly Setting[] = [...APP_SETTINGS, ...GLOBAL_SETTINGS];

export const SETTINGS_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((setting) => [setting.key, setting]));

/**
 * What a setting accepts, as the end of "expected `key` to be …". `textual`: the value came
 * from an env var or a flag, where lists and maps are written differently than in YAML.
 */
export function describeAccepted(setting: Setting, textual: boolean): string {
  switch (setting.kind) {
    case 'duration': {
      const forms = 'like `30s`, `10m`, `250ms` or a number of seconds';
      const min = setting.min ?? 0;
      if (min === 0) return `a duration ${forms}`;
      if (min === 1) return `a duration above 0, ${forms}`;
      const floor = `a duration of at least ${formatDuration(min)}${setting.minReason ? ` (${setting.minReason})` : ''}`;
      return `${setting.zeroIsOff ? '0 (off) or ' : ''}${floor}, ${forms}`;
    }
    case 'size':
      return 'a size like `400MB`, `1.5GB`, `512KB` or a number of bytes';
    case 'count':
      return `a whole number >= ${setting.min ?? 0}`;
    case 'boolean':
      return textual ? 'true or false (or yes/no, 1/0)' : 'true or false';
    case 'string':
      return setting.pattern?.accepts ?? 'a non-empty string';
    case 'path':
      return 'a path';
    case 'address':
      return '`host:port` like `127.0.0.1:9100` or `[::1]:9100`';
    case 'string-list':
      return textual ? 'a JSON array of strings or space-separated words' : 'a list of strings';
    case 'string-map':
      return textual ? 'a JSON object of strings or `KEY=VALUE`' : 'a map of names to strings';
    case 'enum':
      return `one of ${(setting.choices ?? []).map((choice) => `\`${choice}\``).join(', ')}`;
    case 'cron':
      return CRON_ACCEPTS;
    case 'watch':
      return textual ? 'true or false, or paths (a JSON array or space-separated words)' : 'true or false, or a list of paths';
    case 'workers':
      return `a whole number >= 1 or \`auto\` (${setting.auto})`;
    case 'task-types':
      return textual ? `${TASK_TYPES_ACCEPTS}, as JSON` : TASK_TYPES_ACCEPTS;
  }
}

/** `auto` of a `workers` setting, until it is resolved (it may depend on other settings). */
export const AUTO = 'auto';

/**
 * The typed value of `raw` for `setting`, or undefined when it is not accepted.
 * Paths resolve against `baseDir`; `auto` stays `AUTO` for `workers` settings.
 */
export function parseSettingValue(setting: Setting, raw: unknown, baseDir: string): unknown {
  switch (setting.kind) {
    case 'duration': {
      const ms = parseDuration(raw);
      return ms !== undefined && (ms >= (setting.min ?? 0) || (setting.zeroIsOff === true && ms === 0)) ? ms : undefined;
    }
    case 'size':
      return parseSize(raw);
    case 'count': {
      const count = parseCount(raw);
      return count !== undefined && count >= (setting.min ?? 0) ? count : undefined;
    }
    case 'boolean':
      return parseBoolean(raw);
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
      const text = String(raw).trim();
      if (text === '' || (setting.pattern && !setting.pattern.regex.test(text))) return undefined;
      return text;
    }
    case 'path':
      return typeof raw === 'string' && raw.trim() !== '' ? resolve(baseDir, raw.trim()) : undefined;
    case 'address':
      return parseListenAddress(raw) ? String(raw).trim() : undefined;
    case 'string-list':
      return parseStringList(raw);
    case 'string-map':
      return parseStringMap(raw);
    case 'enum':
      return typeof raw === 'string' && setting.choices?.includes(raw.trim()) ? raw.trim() : undefined;
    case 'cron':
      return typeof raw === 'string' && parseCron(raw).ok ? raw.trim() : undefined;
    case 'watch': {
      // Paths stay as written: they are relative to the app's cwd, resolved once it is known.
      const flag = parseBoolean(raw);
      if (flag !== undefined) return flag ? ['.'] : [];
      const paths = parseStringList(raw);
      return paths?.every((path) => path.trim() !== '') ? paths : undefined;
    }
    case 'workers': {
      if (typeof raw === 'string' && raw.trim().toLowerCase() === AUTO) return AUTO;
      const count = parseCount(raw);
      return count !== undefined && count >= 1 ? count : undefined;
    }
    case 'task-types': {
      const parsed = parseTaskTypes(raw);
      return parsed.ok ? parsed.value : undefined;
    }
  }
}


/** The default as the docs and `--help` show it: `30s`, `[]`, `auto`, or the row's defaultText. */
export function describeDefault(setting: Setting): string {
  const value = setting.default;
  if (value === undefined) return setting.defaultText ?? 'unset';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : JSON.stringify(value);
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '{}' : JSON.stringify(value);
  return String(value);
}
