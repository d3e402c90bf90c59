/**
 * The `smartworkers` command line. Each command lives in its own module; this file only
 * assembles them and turns errors into one line on stderr and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { addSettingFlags, flagsFromOptions } from '../config/cli';
import { type CommandDefaults, loadSettings } from '../config/load';
import type { Settings } from '../config/types';
import { isEcosystemConfig, looksLikeEcosystemFile } from '../ecosystem/read';
import { existsSync } from 'node:fs';
import { registerSystemdUnitCommand } from './commands/systemd-unit';
import { EXIT, SmartworkersError } from '../errors';
import { registerOperateCommands } from './commands';

const VERSION: string = (require('../../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('smartworkers')
    .description('Prefork process manager for Node.js HTTP apps: recycling that never drops a request or a background task.')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride();

  /** `start` and `dev` take the same arguments and flags; `dev` only changes some defaults. */
  const runCommand = (name: string, description: string, defaults?: CommandDefaults): void => {
    const command = program
      .command(name)
      .description(description)
      .argument('[script]', 'the app entry file (CommonJS or ESM); or `app` in the config file')
      .option('-c, --config <file>', 'YAML config file')
      .option('--env <name>', 'with a pm2 ecosystem file: apply its env_<name> block (as pm2 --env)');
    if (name === 'start') {
      command.option('--daemon', 'run in the background (logs to files); return once every app is ready, or fail with the app\'s error');
    }
    addSettingFlags(command);
    command.action(async (script: string | undefined, opts: Record<string, unknown>) => {
      if (opts.daemon) {
        // Loaded and checked here first: a bad config exits 2 before anything is started.
        const settings = settingsLoader(script, opts, defaults)();
        const { startDaemonFromCli } = require('./daemon') as typeof import('./daemon');
        process.exitCode = await startDaemonFromCli(settings, daemonArgs(process.argv), process.cwd(), process.env);
        return;
      }
      // Required here: the operate commands start faster without the supervisor loaded.
      const { startPrimary } = require('./start') as typeof import('./start');
      await startPrimary({
        load: settingsLoader(script, opts, defaults),
        // `deploy`: the primary re-reads another config file (or env block), with the same flags.
        loaderFor: (configFile, envName) => settingsLoader(keptScript(script), { ...opts, config: configFile, env: envName }, defaults),
        cwd: process.cwd(),
        env: process.env,
      });
    });
  };
  runCommand('start', 'Run the app as N workers in the foreground.');
  runCommand(
    'dev',
    'Run the app for local development: 1 worker, readable logs, and a rolling reload when a file changes (start --watch).',
    DEV_DEFAULTS,
  );

  program
    .command('deploy')
    .description("Start the cluster of this config in the background, or roll the running one onto it (pm2's startOrReload); returns when the new generation serves.")
    .argument('<config>', 'workers.yaml or a pm2 ecosystem file')
    .option('--env <name>', 'with an ecosystem file: apply its env_<name> block (as pm2 --env)')
    .option('--socket <path>', 'control socket of the running cluster (default: found from the config)')
    .option('--timeout <seconds>', 'give up waiting after this many seconds (default: never)', Number)
    .option('--no-wait', 'return once the roll has begun')
    .option('--json', 'print JSON for scripts')
    .action(async (config: string, opts: Record<string, unknown>) => {
      const { runDeploy } = require('./commands/deploy') as typeof import('./commands/deploy');
      const { processIO } = require('./commands/io') as typeof import('./commands/io');
      process.exitCode = await runDeploy({
        config,
        options: opts,
        io: processIO(),
        load: (configFile, envName) => settingsLoader(undefined, { config: configFile, env: envName })(),
        self: [...process.execArgv, process.argv[1]!],
      });
    });

  const config = program.command('config').description('Inspect configuration.');
  config
    .command('check')
    .description('Validate a config file and print the effective configuration.')
    .argument('<file>', 'YAML config file')
    .argument('[script]', 'the app entry file, when the file has no `app`')
    .action((file: string, script: string | undefined) => {
      const settings = loadSettings({ script, configFile: file, flags: {}, env: process.env, cwd: process.cwd(), isTTY: false });
      const { formatEffectiveConfig } = require('../config/print') as typeof import('../config/print');
      process.stdout.write(formatEffectiveConfig(settings));
    });

  program
    .command('check')
    .description('Read, convert and validate a workers.yaml or pm2 ecosystem file without starting anything: every error and warning, and what each app runs.')
    .argument('<file>', 'workers.yaml, or an ecosystem file (.js, .cjs, .mjs, .json, .yaml)')
    .option('--env <name>', "with an ecosystem file: apply its env_<name> block (as pm2 --env)")
    .action((file: string, opts: { env?: string }) => {
      const { runCheck } = require('./commands/check') as typeof import('./commands/check');
      const { processIO } = require('./commands/io') as typeof import('./commands/io');
      process.exitCode = runCheck(file, opts, processIO());
    });

  registerOperateCommands(program);
  registerSystemdUnitCommand(program);
  return program;
}

/** The command line of `start --daemon` to run detached: the same, without `--daemon`. */
function daemonArgs(argv: string[]): string[] {
  return [...process.execArgv, ...argv.slice(1).filter((arg) => arg !== '--daemon')];
}

/** The script argument a `deploy` keeps: an app entry file, not an ecosystem file (the deploy names its own). */
function keptScript(script: string | undefined): string | undefined {
  return script !== undefined && !looksLikeEcosystemFile(script) ? script : undefined;
}

/**
 * What `smartworkers dev` changes from `start`, as defaults: a flag, an env var or the config
 * file still wins (`dev --workers 2`, `watch: [src]` in the file).
 */
const DEV_DEFAULTS = { workers: '1', watch: true, logFormat: 'pretty' } satisfies CommandDefaults;

/**
 * How `start` reads its settings: a workers.yaml (`--config`) or a pm2 ecosystem file (given
 * as the script or as `--config`), then env vars and flags on top. Called again on SIGHUP.
 */
function settingsLoader(script: string | undefined, opts: Record<string, unknown>, defaults?: CommandDefaults): () => Settings {
  const base = { flags: flagsFromOptions(opts), env: process.env, cwd: process.cwd(), isTTY: Boolean(process.stdout.isTTY), defaults };
  const configFile = opts.config as string | undefined;
  const ecosystemFile = [script, configFile].find((f) => f !== undefined && looksLikeEcosystemFile(f) && existsSync(f) && isEcosystemConfig(f));
  if (ecosystemFile === undefined) {
    if (opts.env !== undefined) {
      throw new SmartworkersError('SW_USAGE', '`--env <name>` selects a pm2 ecosystem file\'s env_<name> block; no ecosystem file was given');
    }
    return () => loadSettings({ ...base, script, configFile });
  }
  let warned = false;
  return () => {
    const { loadEcosystemSettingsSync } = require('../ecosystem/settings') as typeof import('../ecosystem/settings');
    const { settings, warnings, notes } = loadEcosystemSettingsSync({ ...base, file: ecosystemFile, envName: opts.env as string | undefined });
    if (!warned) {
      for (const warning of warnings) process.stderr.write(`smartworkers: warning: ${warning}\n`);
      // What a command in `script` resolved to (`npm start` → server.js): never a silent guess.
      for (const note of notes) process.stderr.write(`smartworkers: ${note}\n`);
    }
    warned = true;
    return settings;
  };
}

/**
 * Runs what `start` runs before it forks, short of starting anything: the build calls it before
 * writing the CLI's code cache (scripts/bundle-cli.mjs), so the cache covers that path.
 */
export function warmUp(script: string): void {
  buildProgram();
  settingsLoader(script, {})();
  const { createLogger } = require('../log/logger') as typeof import('../log/logger');
  const discard = { write: () => true } as unknown as NodeJS.WritableStream;
  createLogger({ format: 'json', level: 'info', destination: discard }).info({ warmUp: true }, 'warm-up');
  require('./start');
}

export function main(argv: string[]): void {
  const program = buildProgram();
  program.parseAsync(argv).catch(exitWithError);
}

function exitWithError(err: unknown): never {
  if (err instanceof SmartworkersError) {
    process.stderr.write(`${err.toLine()}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof CommanderError) {
    // commander has printed its own message (help, version, or the usage error).
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  process.stderr.write(`smartworkers: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(EXIT.failure);
}
