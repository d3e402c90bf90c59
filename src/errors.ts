/**
 * The error catalogue: every error smartworkers reports has a code, a one-line message
 * naming what was wrong and what is accepted, and a fix. The README's "Error codes"
 * table is kept in step with this object by a test.
 */
import type { ReadyOn } from './config/types';
import { formatDuration } from './config/parse';

export const EXIT = {
  /** Stopped cleanly: no request or task lost. */
  ok: 0,
  /** Stopped, but tasks were lost (forced stop, timeout) or the primary failed. */
  failure: 1,
  /** Bad command line or configuration: nothing was started. */
  usage: 2,
  /** No app could boot: every app's first workers failed (an app that boots keeps the primary running). */
  bootFailed: 3,
} as const;

interface CatalogueEntry {
  /** What the error means, for the README. */
  summary: string;
  /** How to fix it. */
  fix: string;
  exitCode: number;
}

export const ERRORS = {
  SW_CONFIG_UNKNOWN_KEY: {
    summary: 'A config file, flag or env var names a key smartworkers does not have.',
    fix: 'Check the spelling against the config reference; the message names the nearest key.',
    exitCode: EXIT.usage,
  },
  SW_CONFIG_INVALID: {
    summary: 'A config value has the wrong type or is out of range.',
    fix: 'Use a value of the accepted form the message names (e.g. `30s`, `400MB`, a whole number).',
    exitCode: EXIT.usage,
  },
  SW_CONFIG_FILE: {
    summary: 'The config file cannot be read or is not valid YAML.',
    fix: 'Check the path and the YAML syntax at the line the message names.',
    exitCode: EXIT.usage,
  },
  SW_USAGE: {
    summary: 'The command line is malformed (unknown command, missing script, bad flag).',
    fix: 'Run `smartworkers --help` or `smartworkers <command> --help`.',
    exitCode: EXIT.usage,
  },
  SW_SCRIPT_NOT_FOUND: {
    summary: 'The app script does not exist.',
    fix: 'Pass the path of the app entry file, relative to the working directory or absolute.',
    exitCode: EXIT.usage,
  },
  SW_BOOT_FAILED: {
    summary: 'No worker of the first generation became ready: the app crashed at start, or was not ready within `boot_timeout` (no server listened, or no `ready` message came).',
    fix: "A crash: read the app's own error printed above; run it with `node <script>` to reproduce. No server listened: an app without an HTTP server needs `ready_on: online` (or `ready_on: message` and `process.send('ready')`); a slow one a longer `boot_timeout`.",
    exitCode: EXIT.bootFailed,
  },
  SW_IPC_MALFORMED: {
    summary: 'A worker sent a smartworkers-tagged IPC message that is malformed; it was dropped.',
    fix: 'Do not send objects with a `$sw` key from the app; other messages are left alone.',
    exitCode: EXIT.failure,
  },
  SW_ECOSYSTEM_FILE: {
    summary: 'A pm2 ecosystem file cannot be read, parsed or evaluated.',
    fix: 'Check the path and run the file with `node <file>` (or a JSON/YAML linter) to see its own error.',
    exitCode: EXIT.usage,
  },
  SW_ECOSYSTEM_INVALID: {
    summary: 'A pm2 ecosystem file has no usable `apps`, or an app field has a value pm2 would reject too.',
    fix: 'Give `apps` as a list of objects, each with a `script`; use the value form the message names (e.g. `300M`, a number of ms).',
    exitCode: EXIT.usage,
  },
  SW_APP_UNSUPPORTED: {
    summary: 'An app cannot run as asked: `kind: cluster` for a program that is not JavaScript, a file that is neither executable nor of a known kind, a command smartworkers cannot resolve (nothing is guessed).',
    fix: 'Set `interpreter` (`python3`, `bash`, a path) or `chmod +x` the script; `check` shows what each app resolved to.',
    exitCode: EXIT.usage,
  },
  SW_INTERPRETER_NOT_FOUND: {
    summary: 'The interpreter an app names (or its script implies: `python3` for `.py`, `bash` for `.sh`) is not installed: not an executable on the PATH or at that path.',
    fix: 'Install it, name it by its path (`interpreter: /opt/venv/bin/python`), or set `interpreter: none` for a script that runs itself.',
    exitCode: EXIT.usage,
  },
  SW_PACKAGE_SCRIPT: {
    summary: 'An app runs an npm / yarn / pnpm script that its package.json does not have, or the package.json cannot be read or is not valid JSON.',
    fix: 'Name a script the package.json defines (the message lists them), or fix the package.json at the path the message names.',
    exitCode: EXIT.usage,
  },
  SW_TYPESCRIPT: {
    summary: 'A TypeScript entry file, and this Node does not strip types while neither tsx nor ts-node is installed for the app.',
    fix: 'Install tsx (`npm install --save-dev tsx`) or ts-node in the app, or run Node >= 22.18 (types stripped by default).',
    exitCode: EXIT.usage,
  },
  SW_SYSTEMD_UNIT: {
    summary: 'A systemd unit cannot be rendered from the options given (a relative path, an invalid user name), or `systemd-unit --install` could not run `systemctl daemon-reload` / `enable`.',
    fix: "Use absolute paths for the working directory, node and the config file, and a plain user name; with --install, read systemctl's own message (the unit file is left in place).",
    exitCode: EXIT.usage,
  },
  SW_NOTIFY_FAILED: {
    summary: 'A message to systemd (NOTIFY_SOCKET) could not be sent; the cluster keeps running.',
    fix: 'Install `systemd-notify` (package `systemd`) or `python3` on the host; check NOTIFY_SOCKET points to a live socket.',
    exitCode: EXIT.failure,
  },
  SW_LOG_FILE: {
    summary: 'A log file (`out_file`, `error_file`, `log_file`) cannot be opened, written, rotated or compressed (permission, a directory, a full disk); the app keeps running and no worker is killed for it.',
    fix: 'Fix the path or its permissions, or free disk space; the workers retry every second, and their lines go to the primary\'s stdout/stderr meanwhile.',
    exitCode: EXIT.ok,
  },
  SW_ALREADY_RUNNING: {
    summary: 'A cluster is already running on this control socket; a second one was not started.',
    fix: 'Stop it first (`smartworkers stop`), or give this cluster its own `control.socket`.',
    exitCode: EXIT.usage,
  },
  SW_NOT_RUNNING: {
    summary: 'No cluster answers on the control socket the command used.',
    fix: 'Start one with `smartworkers start` (or `start --daemon`); `smartworkers ls` lists the running ones; pick one by name, `--config <file>` or `--socket <path>`.',
    exitCode: EXIT.failure,
  },
  SW_SEVERAL_CLUSTERS: {
    summary: 'Several clusters run and the command did not say which one (no name, `--config` or `--socket`).',
    fix: 'Pass the cluster\'s name (`smartworkers ls` lists them: the name or the id), or `--config <file>`.',
    exitCode: EXIT.usage,
  },
  SW_CONTROL_SOCKET: {
    summary: 'The control socket cannot be created or used safely (path too long, not a socket, a symlink, owned by another user, in a directory another user owns or can write, no permission); nothing was sent to it.',
    fix: 'Set `control.socket` to a short path (under 108 bytes) in a directory only you can write (not `/tmp` itself), and run the CLI as the cluster\'s user.',
    exitCode: EXIT.usage,
  },
  SW_CONTROL_BAD_REQUEST: {
    summary: 'A control socket request is not valid JSON, names an unknown command or has bad arguments; it was answered with an error.',
    fix: 'Send one JSON object per line: `{"v":1,"id":1,"cmd":"status","args":{}}`; the reply names the accepted commands and arguments.',
    exitCode: EXIT.usage,
  },
  SW_CONTROL_REQUEST_TOO_LARGE: {
    summary: 'A control socket request line exceeds the size limit (64 KiB); it was refused and the connection closed.',
    fix: 'Send one short JSON object per line, ended by a newline.',
    exitCode: EXIT.usage,
  },
  SW_CONTROL_NO_REPLY: {
    summary: 'The cluster did not answer a control command in time, or closed the connection before answering.',
    fix: 'Check the primary is alive and not stuck (`GET /healthz`, its log); retry, or use a longer `--timeout`.',
    exitCode: EXIT.failure,
  },
  SW_CONTROL_ACTION_FAILED: {
    summary: 'The cluster accepted a control command but could not carry it out.',
    fix: 'Read the message; it names what the primary refused (e.g. an unknown app or slot) and what it accepts.',
    exitCode: EXIT.failure,
  },
  SW_STATUS_LISTEN: {
    summary: 'The status server cannot listen on `status.listen` (malformed address, port in use, no permission).',
    fix: 'Use `host:port` (e.g. `127.0.0.1:9100`, `[::1]:9100`) with a free port.',
    exitCode: EXIT.usage,
  },
  SW_STATUS_TOKEN_REQUIRED: {
    summary: 'The status server would listen on a non-loopback address without `status.token`.',
    fix: 'Set `status.token` (clients send `Authorization: Bearer <token>`), or listen on 127.0.0.1 / ::1.',
    exitCode: EXIT.usage,
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

/** What the primary knows when the first workers of an app all failed to boot. */
export interface BootFailureFacts {
  app: string;
  readyOn: ReadyOn;
  bootTimeoutMs: number;
  /** The last worker was killed at boot_timeout (rather than exiting on its own: a crash). */
  timedOut: boolean;
}

/**
 * The SW_BOOT_FAILED log line and its fix, worded from what went wrong: a crash printed its own
 * error above; a worker killed at boot_timeout printed nothing, so say what it did not do.
 */
export function describeBootFailure(facts: BootFailureFacts, outcome = 'stopping'): { msg: string; fix: string } {
  const head = `no worker of app '${facts.app}' could boot`;
  const tail = `${outcome} [SW_BOOT_FAILED]`;
  if (!facts.timedOut) {
    return { msg: `${head}; ${tail}`, fix: "read the app's own error above; run it with `node <script>` to reproduce" };
  }
  const within = `within boot_timeout (${formatDuration(facts.bootTimeoutMs)})`;
  switch (facts.readyOn) {
    case 'listening':
      return {
        msg: `${head}: no server listened ${within}; ${tail}`,
        fix: "an app without an HTTP server (a queue consumer, a scheduler) needs `ready_on: online`, or `ready_on: message` and `process.send('ready')` when it is ready; an app that listens later needs a longer boot_timeout",
      };
    case 'message':
      return {
        msg: `${head}: the app did not send 'ready' ${within}; ${tail}`,
        fix: "call `process.send('ready')` once the app is ready (ready_on: message / wait_ready), use `ready_on: listening` for an app with a server, or a longer boot_timeout",
      };
    case 'online':
      return {
        msg: `${head}: no worker process came online ${within}; ${tail}`,
        fix: 'the machine may be overloaded or node_args wrong; run the app with `node <script>`, or use a longer boot_timeout',
      };
  }
}

/** An error the user can act on. `message` is one line; `fix` says what to do. */
export class SmartworkersError extends Error {
  readonly code: ErrorCode;
  readonly fix: string;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'SmartworkersError';
    this.code = code;
    this.fix = ERRORS[code].fix;
    this.exitCode = ERRORS[code].exitCode;
  }

  /** `smartworkers: <message> [CODE]` — the one line printed on stderr. */
  toLine(): string {
    return `smartworkers: ${this.message} [${this.code}]`;
  }
}

/**
 * Every error of one config (and its warnings), reported together so a file is fixed in one pass:
 * `toLine()` gives one line per warning, then one per error. The code and exit code are the first
 * error's (all config errors exit 2).
 */
export class SmartworkersErrors extends SmartworkersError {
  constructor(
    readonly errors: readonly SmartworkersError[],
    readonly warnings: readonly string[] = [],
  ) {
    super(errors[0].code, errors.map((error) => error.message).join('; '));
    this.name = 'SmartworkersErrors';
  }

  override toLine(): string {
    return [...this.warnings.map((warning) => `smartworkers: warning: ${warning}`), ...this.errors.map((error) => error.toLine())].join('\n');
  }
}

/** Collects SmartworkersErrors instead of stopping at the first; other exceptions pass through. */
export class Problems {
  readonly errors: SmartworkersError[] = [];

  /** Runs `fn`; a SmartworkersError it throws is recorded (each error of a SmartworkersErrors) and undefined returned. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (error instanceof SmartworkersErrors) this.errors.push(...error.errors);
      else if (error instanceof SmartworkersError) this.errors.push(error);
      else throw error;
      return undefined;
    }
  }

  /** Throws every recorded error at once (with `warnings`), if there is any. */
  throwIfAny(warnings: readonly string[] = []): void {
    if (this.errors.length > 0) throw new SmartworkersErrors(this.errors, warnings);
  }
}
