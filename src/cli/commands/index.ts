/**
 * The commands that operate a running cluster through its control socket:
 * `ls`, `status`, `tasks`, `logs`, `reload`, `recycle`, `scale`, `stop`, `queues`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { runRecycle, runReload, runScale, runStop } from './actions';
import { processIO, type CommandIO } from './io';
import { SOCKET_ENV } from './socket';
import { runStatus, watchStatus } from './status';
import { runList } from './list';
import { runQueues } from './queues';
import { runLogs } from './logs';
import { runTaskCancel, runTaskHistory, runTaskPause, runTasks } from './tasks';

export interface OperateCommandsOptions {
  /** Where output goes and what cwd/env are (tests pass their own). Default: the process's. */
  io?: CommandIO;
  /** Receives each command's exit code. Default: sets `process.exitCode`. */
  setExitCode?: (code: number) => void;
}

/**
 * Adds the operate commands to the CLI. Their actions are async and handle their own errors
 * (one line on stderr, a non-zero exit code), so `program.parse()` is enough.
 */
export function registerOperateCommands(program: Command, options: OperateCommandsOptions = {}): void {
  const io = (): CommandIO => options.io ?? processIO();
  const setExitCode =
    options.setExitCode ??
    ((code: number) => {
      process.exitCode = code;
    });
  const run = async (body: Promise<number>): Promise<void> => setExitCode(await body);

  const withConnection = (command: Command): Command =>
    command
      .option('--socket <path>', `control socket of the cluster (default: $${SOCKET_ENV}, the config's control.socket, or the default location)`)
      .option('-c, --config <file>', "the cluster's config file, to find its control socket")
      .option('-n, --name <cluster>', 'the cluster to talk to, by name or id (`smartworkers ls`), when several run')
      .option('--timeout <seconds>', 'give up waiting for the reply after this many seconds (0 = never)', parseSeconds)
      .option('--json', 'print JSON for scripts');

  program
    .command('ls')
    .alias('list')
    .description('List the running clusters of this user (found from any directory).')
    .option('--json', 'print JSON for scripts')
    .action((opts: Record<string, unknown>) => run(runList(opts, io())));

  withConnection(
    program
      .command('status')
      .description('Show the primary, every worker and the cluster totals (several clusters running: list them).')
      .argument('[name]', 'the cluster, by name or id (default: the one running)'),
  )
    .option('-w, --watch', 'redraw every second until Ctrl-C')
    .action((name: string | undefined, opts: Record<string, unknown>) => {
      if (name !== undefined) opts.name = name;
      if (!opts.watch) return run(runStatus(opts, io()));
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      return run(watchStatus(opts, io(), { signal: controller.signal }).finally(() => process.off('SIGINT', stop)));
    });

  // `--socket` and friends after a subcommand are the parent's by commander's rules: read both.
  const tasks = withConnection(program.command('tasks').description('List every running and queued background task in every worker; cancel, history, pause, resume.')).action(
    (opts: Record<string, unknown>) => run(runTasks(opts, io())),
  );
  withConnection(tasks.command('cancel').description('Cancel a running task (its signal is aborted) or a queued one (it never starts).').argument('<id>', 'the task id, as `smartworkers tasks` lists it')).action(
    (id: string, _opts: unknown, command: Command) => run(runTaskCancel(id, command.optsWithGlobals(), io())),
  );
  withConnection(tasks.command('history').description('The last ended tasks of every worker (task_history each), exited workers included.'))
    .option('--type <type>', 'only tasks of this type')
    .option('--failed', 'only failed tasks (timed out included)')
    .option('--app <name>', 'only this app')
    .action((_opts: unknown, command: Command) => run(runTaskHistory(command.optsWithGlobals(), io())));
  for (const [name, paused] of [['pause', true], ['resume', false]] as const) {
    withConnection(
      tasks
        .command(name)
        .description(paused ? 'New tasks.run calls of this type (default: every type) wait; running ones finish; HTTP keeps serving.' : 'Let paused task types start again.')
        .argument('[type]', 'the task type (default: every type)'),
    )
      .option('--app <name>', 'only this app')
      .action((type: string | undefined, _opts: unknown, command: Command) => run(runTaskPause(type, paused, command.optsWithGlobals(), io())));
  }

  withConnection(
    program
      .command('reload')
      .description('Rolling reload, as SIGHUP: start each replacement, then retire the old worker.')
      .argument('[app]', 'only this app (default: every app)'),
  )
    .option('--no-wait', 'return once the reload has begun')
    .action((app: string | undefined, opts: Record<string, unknown>) => run(runReload(app, opts, io())));

  withConnection(
    program
      .command('recycle')
      .description('Replace workers: a slot, all of them, or one app\'s (app:slot, app:all).')
      .argument('<target>', 'slot number, all, app:slot or app:all'),
  )
    .option('--force', 'do not wait for background tasks (they are reported lost), as the hard memory ceiling')
    .option('--no-wait', 'return once the recycle has begun')
    .action((target: string, opts: Record<string, unknown>) => run(runRecycle(target, opts, io())));

  withConnection(
    program
      .command('scale')
      .description('Set the number of workers: N, +K or -K (scale <N> [--app name], or scale <app> <N>).')
      .argument('<count-or-app>', 'N, +K or -K; or the app name, followed by the count')
      .argument('[count]', 'N, +K or -K when the first argument is the app'),
  )
    .option('--app <name>', 'the app to scale (needed when there are several)')
    .option('--no-wait', 'return once scaling has begun')
    .action((first: string, second: string | undefined, opts: Record<string, unknown>) => run(runScale(first, second, opts, io())));

  withConnection(
    program
      .command('logs')
      .description("The last lines of the cluster's log files, merged in time order, each labelled app:slot; --follow for a live tail.")
      .argument('[target]', 'app or app:slot (default: every app)'),
  )
    .option('--lines <count>', 'how many lines to show first', (value: string) => {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`Expected a whole number ≥ 0, got ${JSON.stringify(value)}.`);
      return n;
    })
    .option('-f, --follow', 'keep printing new lines (across rotations and recycles) until Ctrl-C')
    .action((target: string | undefined, opts: Record<string, unknown>) => {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return run(
        runLogs(target, opts, io(), controller.signal).finally(() => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }),
      );
    });

  withConnection(
    program
      .command('stop')
      .description('Stop the cluster gracefully: drain requests, wait for tasks, exit.')
      .argument('[name]', 'the cluster, by name or id (default: the one running)'),
  )
    .option('--force', 'as a second SIGTERM: stop now, reporting running tasks as lost')
    .option('--no-wait', 'return once the stop has begun instead of when the cluster has exited')
    .action((name: string | undefined, opts: Record<string, unknown>) => {
      if (name !== undefined) opts.name = name;
      return run(runStop(opts, io()));
    });

  withConnection(
    program
      .command('queues')
      .description('BullMQ queues of smartworkers/bullmq workers: list their counts, or pause / resume them in Redis, cluster-wide.')
      .argument('[action]', 'list (default), pause or resume')
      .argument('[queue]', 'only this queue (default: every queue the workers process)'),
  ).action((action: string | undefined, queue: string | undefined, opts: Record<string, unknown>) => run(runQueues(action, queue, opts, io())));
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidArgumentError(`Expected a number of seconds ≥ 0, got ${JSON.stringify(value)}.`);
  }
  return seconds;
}

export { runRecycle, runReload, runScale, runStop } from './actions';
export { runStatus, watchStatus, renderStatus } from './status';
export { runTasks, renderTasks } from './tasks';
