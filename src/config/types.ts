/**
 * The resolved, validated and frozen configuration the primary runs with.
 * YAML keys are snake_case (`max_requests`), CLI flags kebab-case (`--max-requests`),
 * env vars `SMARTWORKERS_MAX_REQUESTS`; here they are camelCase. Durations are ms,
 * sizes bytes. The settings table in `settings.ts` is the single source for all of them.
 */
import type { TaskTypesSettings } from './task-types';

export type LogFormat = 'json' | 'pretty';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * `cluster`: Node code forked with node:cluster, sharing ports, with the worker runtime (requests,
 * heartbeat, drain, tasks). `process`: any program as plain child processes, each in its own
 * process group (Python, shell, binaries, a package manager's script that cannot be resolved).
 */
export type AppKind = 'cluster' | 'process';

/** The signal a process app's worker gets to stop (graceful_timeout later, SIGKILL). */
export type StopSignalName = 'SIGTERM' | 'SIGINT' | 'SIGQUIT' | 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';

/** One worker group: a script run as N workers (node:cluster workers, or plain processes). */
export interface AppSettings {
  /** Name used in logs, status and the CLI (defaults to the script's base name). */
  name: string;
  /** Absolute path of the app's entry script (CommonJS or ESM). */
  script: string;
  /** Arguments passed to the script. */
  args: readonly string[];
  /** Node.js flags for the workers (e.g. --max-old-space-size=512). */
  nodeArgs: readonly string[];
  /** Extra environment for the workers. */
  env: Readonly<Record<string, string>>;
  /** Working directory of the workers (absolute). */
  cwd: string;
  /** Number of workers (`auto` is resolved to the available CPUs). */
  workers: number;
  /** Requests after which a worker is recycled; 0 = never. */
  maxRequests: number;
  /** Upper bound of the random extra added to max_requests per worker. */
  maxRequestsJitter: number;
  /** Soft RSS ceiling in bytes (task-aware recycle); 0 = off. */
  maxMemory: number;
  /** Hard RSS ceiling in bytes (replace at once, tasks lost); 0 = off. */
  maxMemoryHard: number;
  /** How often RSS is sampled, ms. */
  memoryCheckInterval: number;
  /** A worker silent for this long (no heartbeat) is killed and replaced, ms. */
  timeout: number;
  /** How long a stopping worker may take to finish requests and tasks, ms. */
  gracefulTimeout: number;
  /** How long a retired worker may wait for its background tasks, ms. */
  maxTaskWait: number;
  /** A worker not ready within this is a failed boot, ms. */
  bootTimeout: number;
  /** Ready on process.send('ready') instead of on the first `listening`. */
  waitReady: boolean;
  /** Base delay before replacing a crashed worker; doubles per consecutive crash, ms. */
  restartDelay: number;
  /** Cap of the crash backoff, ms. */
  maxRestartDelay: number;
  /** Uptime after which a worker counts as stable and its slot's backoff resets, ms. */
  minUptime: number;
  /** How many retired workers of this app may drain or wait on tasks at once (the surge cap). */
  maxRetiring: number;
  /** A draining worker cuts the long-lived connections (upgrades, streams) the app has not closed after this long, ms. */
  drainTimeout: number;
  /** A draining worker closes a keep-alive connection idle for this long, ms. */
  drainIdleGrace: number;
  /** When a worker is ready (resolved: `message` when `wait_ready` is on and `ready_on` unset). */
  readyOn: ReadyOn;
  /** Consecutive unstable exits after which a slot is no longer restarted; 0 = never give up. */
  maxRestarts: number;
  /** Replace a worker that exits on its own (pm2's autorestart). */
  autorestart: boolean;
  /** Env var holding the worker's slot (pm2's instance_var; default NODE_APP_INSTANCE). */
  instanceVar: string;
  /** Env var increased by the slot number in each worker (pm2's increment_var). */
  incrementVar?: string;
  /** Cron expression of the scheduled rolling reload (validated). */
  cronRestart?: string;
  /** Absolute paths watched for changes (a rolling reload on change); empty = off. */
  watch: readonly string[];
  /** Names or globs not watched (besides node_modules and .git). */
  ignoreWatch: readonly string[];
  /** Also send the string 'shutdown' to a worker on retire and stop (pm2's shutdown_with_message). */
  shutdownWithMessage: boolean;
  /** Absolute path of the stdout log file (per slot unless mergeLogs); unset = inherited. `/dev/null` discards. */
  outFile?: string;
  /** Absolute path of the stderr log file; unset = inherited. */
  errorFile?: string;
  /** Absolute path of the combined (stdout + stderr) log file; unset = none. */
  logFile?: string;
  /** One file per app instead of one per slot. */
  mergeLogs: boolean;
  /** Timestamp each line written to a log file. */
  time: boolean;
  /** dayjs-style format of the timestamp; implies `time`. */
  logDateFormat?: string;
  /** `json`: each line is a JSON object, as pm2's log_type. */
  logType: 'raw' | 'json';
  /** Rotate a log file at this size, bytes; 0 = off. */
  logMaxSize: number;
  /** Cron schedule of rotation (validated); unset = none. */
  logRotateCron?: string;
  /** Rotated files kept per log file. */
  logRetain: number;
  /** Gzip rotated files. */
  logCompress: boolean;
  /** How the workers run (resolved from the script and `interpreter` when not given). */
  kind: AppKind;
  /** Process apps: the absolute path of the program that runs `script`; unset = `script` runs itself. */
  interpreter?: string;
  /** Process apps: arguments for the interpreter, before the script (pm2's interpreter_args). */
  interpreterArgs: readonly string[];
  /** Process apps: the signal that asks a worker to stop (SIGKILL follows after graceful_timeout). */
  stopSignal: StopSignalName;
  /** Process apps: `tcp://host:port` or `http://host:port/path`; the worker is ready once it answers. */
  readyProbe?: string;
  /** Tasks a worker may start before it is recycled; 0 = never. */
  maxTasks: number;
  /** Upper bound of the random extra added to max_tasks per worker. */
  maxTasksJitter: number;
  /** Per task type settings (limits, priorities, time limits, retries). */
  taskTypes: TaskTypesSettings;
  /** Ended tasks each worker remembers for `tasks history`. */
  taskHistory: number;
}

/** `listening`: its first server listens; `message`: process.send('ready'); `online`: its process started. */
export type ReadyOn = 'listening' | 'message' | 'online';

export interface Settings {
  apps: readonly AppSettings[];
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Absolute path of the control socket; unset = the control module picks the default location. */
  controlSocket?: string;
  /**
   * `host:port` of the HTTP status server (validated; IPv6 hosts in brackets); unset = off.
   * Split it with `parseListenAddress` from `config/parse`.
   */
  statusListen?: string;
  /** Bearer token the status server requires (a secret: never log it). */
  statusToken?: string;
  /** `/readyz` answers 200 while at least this many workers are ready. */
  minReady: number;
  /** Interval of the one-line summary in the log, ms; 0 = off. */
  summaryInterval: number;
  /** Absolute path of the config file, when one was used (re-read on SIGHUP). */
  configFile?: string;
}
