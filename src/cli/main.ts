/**
 * The `smartworkers` command line. Each command lives in its own module; this file only
 * assembles them and turns errors into one line on stderr and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { addSettingFlags, flagsFromOptions } from '../config/cli';
import { loadSettings } from '../config/load';
import { formatEffectiveConfig } from '../config/print';
import { EXIT, SmartworkersError } from '../errors';
import { registerOperateCommands } from './commands';
import { startPrimary } from './start';

const VERSION: string = (require('../../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('smartworkers')
    .description('Prefork process manager for Node.js HTTP apps: recycling that never drops a request or a background task.')
    .version(VERSION)
    .showSuggestionAfterError(true)
    .exitOverride();

  const start = program
    .command('start')
    .description('Run the app as N workers in the foreground.')
    .argument('[script]', 'the app entry file (CommonJS or ESM); or `app` in the config file')
    .option('-c, --config <file>', 'YAML config file');
  addSettingFlags(start);
  start.action(async (script: string | undefined, opts: Record<string, unknown>) => {
    await startPrimary({
      script,
      configFile: opts.config as string | undefined,
      flags: flagsFromOptions(opts),
      env: process.env,
      cwd: process.cwd(),
      isTTY: Boolean(process.stdout.isTTY),
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
      process.stdout.write(formatEffectiveConfig(settings));
    });

  registerOperateCommands(program);
  return program;
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
