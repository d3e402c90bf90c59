/**
 * Every pm2 app field smartworkers knows, with what it becomes and how the behaviour differs.
 * One table drives the converter (which fields are read, which are warned about) and the README's
 * migration table (`renderMigrationTable`, kept in step by a test).
 */
import { APP_SETTINGS, GLOBAL_SETTINGS } from '../config/settings';

export interface Pm2Field {
  /** The field's name in pm2's schema (snake_case; pm2 also accepts its camelCase spelling). */
  name: string;
  /** Other names pm2 accepts for it. */
  aliases?: readonly string[];
  /** The smartworkers key it becomes; null = not supported (a warning names it). */
  key: string | null;
  /** What differs, or for an unsupported field why and what to do instead. */
  note: string;
}

export const PM2_FIELDS: readonly Pm2Field[] = [
  { name: 'name', key: 'name', note: 'Same: any text pm2 accepts (spaces, quotes, `:`), without control characters, up to 200 characters. Defaults to the script file name without extension, as in pm2; names must be unique (pm2 allows duplicates).' },
  { name: 'script', aliases: ['exec'], key: 'app', note: 'A JavaScript or TypeScript file runs as cluster workers. A command is resolved to the file it runs, which then runs as cluster workers: `npm` / `yarn` / `pnpm` with `args: "start"` or `"run prod"` (the package.json script is read, never run), `node [flags] file [args]`, `npx` / `tsx` / `ts-node file`, a package binary whose target is JavaScript (`next start`), or a command line in `script` itself. Everything else is a process app (plain child processes, same supervision): a program that is not JavaScript (`python3 -m http.server`, `celery`, a binary) runs as itself; a command line that needs a shell runs under `/bin/sh -c`; a package script with pre/post scripts, a shell body or a watcher (nodemon) runs through its package manager, with a warning saying why. `smartworkers check` shows what each app resolved to.' },
  { name: 'args', key: 'args', note: 'Same; a string is split on spaces the way pm2 splits it (quoted parts kept together).' },
  { name: 'cwd', key: 'cwd', note: 'Same: relative to the directory smartworkers is started from, as in pm2. The script is resolved against it.' },
  { name: 'instances', key: 'workers', note: '`0`, `"max"` → `auto` (one per available CPU); `-1` → CPUs − 1 (at least 1), computed when the file is read; absent → 1, as in pm2.' },
  { name: 'exec_mode', key: null, note: 'Not needed: what `script` is decides the kind. A Node app runs as node:cluster workers: `cluster` behaves as in pm2; `fork` apps also become cluster workers, so N instances share the port instead of failing with EADDRINUSE (a warning says so). Anything else runs as a process app (`kind: process`, which also forces one plain process per worker for a JavaScript file).' },
  { name: 'env', key: 'env', note: 'Same. Objects are JSON-encoded, other values turned into strings, as pm2 does.' },
  { name: 'env_<name>', key: 'env', note: 'Selected by `--env <name>` and merged over `env` (and over `deploy.<name>.env`), exactly as pm2 merges them.' },
  { name: 'port', key: 'env', note: 'Sets `PORT` in the env, as in pm2.' },
  { name: 'node_args', aliases: ['interpreter_args'], key: 'node_args', note: 'Same for cluster apps; a string is split as pm2 splits it. For a process app they are the interpreter\'s arguments (`interpreter_args`, e.g. `-u` for python3), as in pm2.' },
  { name: 'max_memory_restart', key: 'max_memory', note: 'pm2 restarts the process (samples every 30 s). smartworkers samples RSS every `memory_check_interval` (1 s by default) and recycles surge-then-retire: the replacement serves first, the old worker finishes its requests and background tasks. `max_memory_hard` adds a ceiling that replaces at once.' },
  { name: 'kill_timeout', key: 'graceful_timeout', note: 'pm2 waits this long after SIGINT, then SIGKILLs. smartworkers stops accepting at once, finishes in-flight requests and tracked background tasks within it, then SIGKILLs. pm2 default 1.6 s; smartworkers default is longer — check it fits your tasks. A process app gets its `stop_signal` (default SIGTERM; pm2 sends SIGINT) to its process group, then SIGKILL after this.' },
  { name: 'wait_ready', key: 'wait_ready', note: "Same: the worker is ready on `process.send('ready')` (cluster apps, and process apps that are Node programs). A process app that is not Node has no IPC channel: `ready_probe` instead (a TCP or HTTP check)." },
  { name: 'listen_timeout', key: 'boot_timeout', note: 'pm2 carries on as if the app were ready when it passes; smartworkers counts it a failed boot, keeps the old worker serving and retries with backoff.' },
  { name: 'min_uptime', key: 'min_uptime', note: 'pm2: a process that exits sooner counts as an unstable restart (see `max_restarts`). smartworkers: also the uptime after which the crash backoff resets.' },
  { name: 'max_restarts', key: 'max_restarts', note: 'Same: consecutive unstable restarts (uptime < `min_uptime`) after which the slot is no longer restarted (logged, shown by `status` and the `smartworkers_slots_stopped` metric); once every slot of every app has given up, smartworkers exits 1. A reload starts the slots again. pm2 defaults to 16; without it smartworkers retries forever with capped backoff, except at start: if no first worker boots, it exits 3.' },
  { name: 'restart_delay', key: 'restart_delay', note: 'pm2 waits a fixed delay before restarting a crashed app; converted to `restart_delay` = `max_restart_delay` = the value, so the delay stays fixed.' },
  { name: 'exp_backoff_restart_delay', key: 'restart_delay', note: 'pm2 multiplies the delay by 1.5 up to 15 s; converted to `restart_delay` = the value and `max_restart_delay: 15s`: smartworkers doubles the delay, up to that cap, and resets it after `min_uptime`. Wins over `restart_delay`, as in pm2.' },
  { name: 'instance_var', key: 'instance_var', note: 'Same (any name without `=`, `INSTANCE-ID` included): renames `NODE_APP_INSTANCE`, the stable slot 0..N-1 (a replacement inherits its slot).' },
  { name: 'increment_var', key: 'increment_var', note: 'Same: the named env var (e.g. `PORT`) is increased by the slot number in each worker.' },
  { name: 'autorestart', key: 'autorestart', note: '`false`: a worker that exits is not replaced (until the next reload or `cron_restart`). Recycling (max_requests, memory, reload) still replaces workers. When no worker is left, smartworkers exits (0 if each exited with 0).' },
  { name: 'cron_restart', aliases: ['cron'], key: 'cron_restart', note: "A rolling reload on the schedule (surge-then-retire), not pm2's stop-then-start: no request or task is dropped." },
  { name: 'watch', key: 'watch', note: "A debounced rolling reload (surge-then-retire) of the app when a file under the watched paths changes (`true`: the app's `cwd`); a syntax error leaves the running workers serving." },
  { name: 'ignore_watch', key: 'ignore_watch', note: 'Names and globs not watched: a name matches any path segment, a pattern with `/` or `*` the path relative to the watched directory; `node_modules`, `.git` and `*.log` are always ignored. Regular expressions are not supported.' },
  { name: 'shutdown_with_message', key: 'shutdown_with_message', note: "pm2 sends `'shutdown'` instead of SIGINT. smartworkers sends it just before its own drain (the worker stops accepting, finishes its requests and tasks, then exits): cleanup the handler starts with `tasks.run()` is waited for." },
  { name: 'autostart', key: null, note: '`false`: the app is left out (smartworkers has no list of stopped apps); a warning names it.' },
  { name: 'exec_interpreter', aliases: ['interpreter'], key: null, note: '`node` (or a path to it) or unset: cluster workers on the Node.js that runs smartworkers; `tsx` / `ts-node`: the same, loaded with that loader installed for the app. `python3`, `bash`, any program or path: a process app running `<interpreter> <interpreter_args> <script> <args>`; `none`: the script runs itself (a binary, an executable with a shebang). Unset for a non-JavaScript file: picked by extension as pm2 does (`python3` for `.py`, `bash` for `.sh`, `ruby`, `perl`, `php`), or the file runs itself. An interpreter that is not installed stops the start with `SW_INTERPRETER_NOT_FOUND` (exit 2).' },
  { name: 'watch_delay', key: null, note: 'Not supported: the dev-mode reload has its own debounce.' },
  { name: 'watch_options', key: null, note: 'Not supported (chokidar options).' },
  { name: 'out_file', aliases: ['out', 'output', 'out_log'], key: 'out_file', note: "Same: per worker (`out-0.log`, `out-1.log`, by slot, so a replacement appends to its predecessor's file) unless `merge_logs`; relative to the app's `cwd`; `/dev/null` discards. Each worker appends whole lines itself (O_APPEND): nothing passes through the primary. Rotated built in (`log_max_size`, default 10MB; `log_retain`; `log_rotate_cron`; `log_compress`) — no pm2-logrotate needed." },
  { name: 'error_file', aliases: ['error', 'err', 'err_file', 'err_log'], key: 'error_file', note: 'Same as `out_file`, for stderr; a crash\'s stack trace is written there too.' },
  { name: 'log_file', aliases: ['log'], key: 'log_file', note: "Same: stdout and stderr lines both go there too. `log_file: true` (pm2's default combined path) is ignored: give a path." },
  { name: 'merge_logs', aliases: ['combine_logs'], key: 'merge_logs', note: 'Same: one file per app instead of one per worker.' },
  { name: 'log_date_format', key: 'log_date_format', note: 'Same (dayjs tokens `YYYY MM DD HH mm ss SSS Z`…): each line in the files gets the time it was written, added in the worker.' },
  { name: 'log_type', key: 'log_type', note: 'Same: `json` writes a JSON object per line (`message`, `timestamp`, `type`, `app_name`, `process_id` = the slot).' },
  { name: 'time', key: 'time', note: 'Same: timestamps with `log_date_format`, else ISO 8601 with milliseconds.' },
  { name: 'disable_logs', key: 'out_file', note: '`true`: `out_file` and `error_file` are `/dev/null`, as in pm2.' },
  { name: 'pid_file', aliases: ['pid'], key: null, note: 'Not supported: `smartworkers status` (or systemd) gives the pids.' },
  { name: 'uid', aliases: ['user'], key: null, note: 'Not supported: run smartworkers as that user (systemd `User=`, Docker `USER`).' },
  { name: 'gid', key: null, note: 'Not supported: run smartworkers with that group (systemd `Group=`).' },
  { name: 'username', key: null, note: 'Not supported (pm2 bookkeeping).' },
  { name: 'namespace', key: null, note: 'Not supported: one smartworkers primary per ecosystem file.' },
  { name: 'name_prefix', key: null, note: 'Not supported.' },
  { name: 'append_env_to_name', key: null, note: 'Not supported: give the names you want.' },
  { name: 'filter_env', key: null, note: "Not supported: workers inherit the primary's environment plus `env`." },
  { name: 'stop_exit_codes', key: null, note: 'Not supported: every unexpected exit is replaced with backoff.' },
  { name: 'kill_retry_time', key: null, note: 'Not supported.' },
  { name: 'treekill', key: null, note: "Not supported: a worker's own child processes are the app's to stop." },
  { name: 'force', key: null, note: 'Not needed: one primary runs each app once.' },
  { name: 'source_map_support', key: null, note: 'Not supported: add `--enable-source-maps` to `node_args`.' },
  { name: 'disable_source_map_support', key: null, note: 'Not needed: source maps are off unless `node_args` has `--enable-source-maps`.' },
  { name: 'windowsHide', key: null, note: 'Not supported (Linux only).' },
  { name: 'vizion', key: null, note: 'Not supported (pm2 versioning metadata).' },
  { name: 'post_update', key: null, note: 'Not supported (pm2 versioning).' },
  { name: 'install_url', key: null, note: 'Not supported (pm2 modules).' },
  { name: 'execute_command', key: null, note: 'Not supported.' },
  { name: 'write', key: null, note: 'Not supported.' },
  { name: 'pmx', key: null, note: 'Not supported (PM2.io monitoring): use `/metrics`.' },
  { name: 'automation', key: null, note: 'Not supported (PM2.io).' },
  { name: 'trace', key: null, note: 'Not supported (PM2.io tracing).' },
  { name: 'disable_trace', key: null, note: 'Not supported (PM2.io tracing).' },
  { name: 'v8', key: null, note: 'Not supported (PM2.io).' },
  { name: 'event_loop_inspector', key: null, note: 'Not supported (PM2.io): event-loop delay is in `status` and `/metrics`.' },
  { name: 'deep_monitoring', key: null, note: 'Not supported (PM2.io).' },
  { name: 'io', key: null, note: 'Not supported (PM2.io).' },
];

/** The smartworkers keys an app entry may carry beside pm2's (from the settings table; the loader validates them). */
export const SMARTWORKERS_APP_KEYS: readonly string[] = APP_SETTINGS.map((setting) => setting.key);

/** Top-level smartworkers keys an ecosystem file may carry beside `apps` (`status`, `log_format`, …). */
export const SMARTWORKERS_TOP_KEYS: readonly string[] = [...new Set(GLOBAL_SETTINGS.map((setting) => setting.key.split('.')[0]))];

function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Every spelling pm2 accepts (name, aliases, their camelCase forms) → the canonical field name. */
export const PM2_FIELD_BY_SPELLING: ReadonlyMap<string, Pm2Field> = (() => {
  const map = new Map<string, Pm2Field>();
  for (const field of PM2_FIELDS) {
    if (field.name.includes('<')) continue;
    for (const spelling of [field.name, ...(field.aliases ?? [])]) {
      map.set(spelling, field);
      map.set(camelCase(spelling), field);
    }
  }
  // pm2's own camelCase alias of node_args.
  map.set('interpreterArgs', map.get('node_args')!);
  return map;
})();

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The README's migration table (markdown). */
export function renderMigrationTable(): string {
  const rows = PM2_FIELDS.map((f) => {
    const names = [f.name, ...(f.aliases ?? [])].map((n) => `\`${n}\``).join(', ');
    const key = f.key === null ? '—' : `\`${f.key}\``;
    return `| ${names} | ${key} | ${cell(f.note)} |`;
  });
  return ['| pm2 field | smartworkers key | difference |', '| --- | --- | --- |', ...rows].join('\n');
}
