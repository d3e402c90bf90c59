/**
 * The README's generated sections and the example config/workers.yaml, rendered from the
 * settings table and the error catalogue. `npm run docs` writes them; a test fails when
 * what is in the repository differs from what these functions render.
 */
import { stringify } from 'yaml';
import { ERRORS, EXIT } from '../errors';
import { APP_SETTINGS, GLOBAL_SETTINGS, describeDefault, type Setting } from './settings';

/** What each exit code means; a new entry of EXIT does not compile until it is described here. */
const EXIT_MEANINGS: Record<keyof typeof EXIT, string> = {
  ok: "Stopped cleanly: nothing was lost or cut over the primary's whole life: no background task lost, no request, stream or WebSocket cut before the app ended it, no process a worker left running had to be ended (with `autorestart: false`: every worker finished with exit code 0).",
  failure:
    "Stopped, but something was lost or cut at some point in the primary's life: background tasks (a worker that crashed or called `process.exit()` mid-task, a forced stop, `graceful_timeout` or `max_task_wait` passed, `max_memory_hard`; each lost task is logged with its id where the worker could still report it, else counted by type), requests, streams or upgraded connections (WebSockets) still open when `drain_timeout` passed or their worker was given up on or killed (each logged as `connection cut` with its kind, path and how long it had been open; see \"Long-lived connections\"), processes a worker left running that had to be ended (see \"Processes a worker leaves behind\"); or the primary failed, or every worker exited and none is restarted (`max_restarts` reached, or `autorestart: false` after a failing exit).",
  usage: 'Bad command line or configuration: nothing was started.',
  bootFailed: "No app could boot: the first workers of every app failed (their own errors are printed above). In a file with several apps, an app whose first workers cannot boot is retried with backoff and then given up on its own (logged, in `status` with its error, `/readyz` 503, `smartworkers_apps_failed`) while the others keep serving; the primary exits 3 only when none could boot.",
};

export function renderConfigReference(): string {
  return [
    'Every setting is a YAML key, a command-line flag and an env var. Precedence, highest first:',
    'flag, `SMARTWORKERS_<KEY>` env var, config file (`--config`), default.',
    '',
    '- Durations: `250ms`, `30s`, `10m`, `1h`, or a number of seconds.',
    '- Sizes: `512KB`, `400MB`, `1.5GB` (powers of 1024; `K`/`M`/`G` and `KiB`/`MiB`/`GiB` work too), or a number of bytes.',
    '- In env vars and flags: booleans as `true`/`false`, `yes`/`no`, `1`/`0` (and `--no-<flag>` turns one off); lists as a',
    '  JSON array or space-separated words; `env` as a JSON object (`SMARTWORKERS_ENV`) or `--worker-env KEY=VALUE`, repeatable.',
    '  An empty env var counts as unset; `SMARTWORKERS_*` variables that are not settings are ignored.',
    "- Relative paths resolve against the config file's directory (values in the file) or the working directory (flags, env vars).",
    '- Dotted keys nest in YAML: `status.listen` is `status: { listen: 127.0.0.1:9100 }`.',
    '- Several apps in one manager: a top-level `apps:` list whose entries take the per-app keys and a unique `name`; per-app',
    '  keys at the top level are the defaults of every entry; flags and env vars apply to every app. Top-level keys that start',
    '  with `x-` are ignored: a place for YAML anchors (`<<: *defaults`).',
    '',
    'The SIGHUP column says what a reload (`SIGHUP`, `smartworkers reload`) does with a changed value: `yes`, the workers of',
    'the rolling restart run with it; `restart`, it is read once when the primary starts.',
    '',
    '`config/workers.yaml` lists every key with its default. `smartworkers config check workers.yaml [script]` validates a',
    'file and prints the effective configuration. Any unknown key, wrong type or out-of-range value stops smartworkers with',
    'one line naming the key, where the value came from, the value and what is accepted, and exit code 2.',
    '',
    '### Per app',
    '',
    settingsTable(APP_SETTINGS),
    '',
    '### The primary',
    '',
    settingsTable(GLOBAL_SETTINGS),
    '',
    '### Several apps',
    '',
    '```yaml',
    ...MULTI_APP_EXAMPLE,
    '```',
  ].join('\n');
}

const MULTI_APP_EXAMPLE = [
  'max_requests: 10000      # the default of every app',
  'apps:',
  '  - name: api',
  '    app: ./api.js',
  '    workers: 4',
  '  - name: jobs',
  '    app: ./jobs.js',
  '    workers: 1',
  '    max_requests: 0',
  '    ready_on: online     # a queue consumer: no server, ready once running',
];

function settingsTable(settings: readonly Setting[]): string {
  const rows = settings.map((setting) =>
    row([`\`${setting.key}\``, `\`${setting.flag}\``, `\`${setting.envVar}\``, defaultCell(setting), setting.appliedOnReload ? 'yes' : 'restart', setting.description]),
  );
  return [row(['key', 'flag', 'env', 'default', 'SIGHUP', 'description']), row(['---', '---', '---', '---', '---', '---']), ...rows].join('\n');
}

function defaultCell(setting: Setting): string {
  return setting.default === undefined ? (setting.defaultText ?? 'unset') : `\`${describeDefault(setting)}\``;
}

/** A commented YAML file with every key: its default, or (commented out) an example when it has none. */
export function renderExampleYaml(): string {
  const lines = [
    '# smartworkers configuration: every key, with its default.',
    '# Generated from src/config/settings.ts by `npm run docs`; the README has the same reference.',
    '# Precedence: command-line flag > SMARTWORKERS_<KEY> env var > this file > default.',
    '# Durations: 250ms, 30s, 10m, 1h or a number of seconds. Sizes: 512KB, 400MB, 1.5GB or a number of bytes.',
    '',
    "# ---- Per app (at the top level: the app; with `apps:`, the defaults of every entry) ----",
  ];
  for (const setting of APP_SETTINGS) lines.push('', ...exampleEntry(setting, ''));

  lines.push('', '# ---- The primary ----');
  const groupsDone = new Set<string>();
  for (const setting of GLOBAL_SETTINGS) {
    const dot = setting.key.indexOf('.');
    if (dot === -1) {
      lines.push('', ...exampleEntry(setting, ''));
      continue;
    }
    const group = setting.key.slice(0, dot);
    if (groupsDone.has(group)) continue;
    groupsDone.add(group);
    const members = GLOBAL_SETTINGS.filter((member) => member.key.startsWith(`${group}.`));
    // A group whose keys are all unset is commented out whole, so the file still loads to the defaults.
    const header = members.some((member) => member.default !== undefined) ? `${group}:` : `# ${group}:`;
    lines.push('', header);
    members.forEach((member, index) => {
      if (index > 0) lines.push('');
      lines.push(...exampleEntry(member, '  '));
    });
  }

  lines.push(
    '',
    '# ---- Several apps in one manager ----',
    '# Each entry takes the per-app keys above and a unique `name`.',
    ...MULTI_APP_EXAMPLE.map((line) => `# ${line}`),
  );
  return `${lines.join('\n')}\n`;
}

function exampleEntry(setting: Setting, indent: string): string[] {
  const name = setting.key.slice(setting.key.lastIndexOf('.') + 1);
  const comment = wrap(setting.description, 96 - indent.length).map((line) => `${indent}# ${line}`);
  if (setting.default === undefined) {
    comment.push(`${indent}# default: ${setting.defaultText ?? 'unset'}`);
    return [...comment, `${indent}# ${name}: ${setting.example ?? ''}`.trimEnd()];
  }
  const yaml = stringify({ [name]: setting.default }).trimEnd().split('\n');
  return [...comment, ...yaml.map((line) => `${indent}${line}`)];
}

export function renderErrorCodes(): string {
  const rows = Object.entries(ERRORS).map(([code, entry]) => row([`\`${code}\``, String(entry.exitCode), entry.summary, entry.fix]));
  return [
    'Errors are printed as one line, `smartworkers: <what was wrong and what is accepted> [CODE]`.',
    '',
    row(['code', 'exit code', 'meaning', 'how to fix']),
    row(['---', '---', '---', '---']),
    ...rows,
  ].join('\n');
}

export function renderExitCodes(): string {
  const rows = (Object.keys(EXIT) as (keyof typeof EXIT)[]).map((name) => row([String(EXIT[name]), EXIT_MEANINGS[name]]));
  return [row(['code', 'meaning']), row(['---', '---']), ...rows].join('\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
