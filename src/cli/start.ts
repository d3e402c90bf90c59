/**
 * `smartworkers start`: load the settings, then run the supervisor in the foreground
 * until it stops. Everything with side effects is wired here and nowhere else.
 */
import path from 'node:path';
import type { Settings } from '../config/types';
import { startOperateServices, type OperateServices } from '../control/operate';
import { createLogger, type Logger } from '../log/logger';
import { withTrees } from '../host/treeUsage';
import { createClusterHost } from '../supervisor/clusterHost';
import { createSampler } from '../supervisor/procstat';
import { createAppHost, createProcessHost } from '../supervisor/processHost';
import { createClusterControl } from '../supervisor/control';
import { systemClock } from '../supervisor/host';
import { Supervisor } from '../supervisor/supervisor';
import { bridgeToSystemd } from '../systemd/bridge';
import { createNotifier } from '../systemd/notify';
import { reloadOnChange } from '../dev/reload-on-change';
import { installSignalHandlers } from './signals';
import { createDeploy } from '../deploy/primary';
import { DAEMON_LOGS_ENV, reportReadyToLauncher, takeDaemonFd } from '../daemon/report';
import { daemonLoader } from '../daemon/app-logs';

function takeDaemonLogs(env: NodeJS.ProcessEnv): { out: string; err: string } | undefined {
  const text = env[DAEMON_LOGS_ENV];
  delete env[DAEMON_LOGS_ENV];
  try {
    const logs = text === undefined ? undefined : (JSON.parse(text) as { out?: unknown; err?: unknown });
    return typeof logs?.out === 'string' && typeof logs.err === 'string' ? { out: logs.out, err: logs.err } : undefined;
  } catch {
    return undefined;
  }
}
import { checkLogFiles, startLogFiles, type LogFiles } from '../logs/rotate';

/** At exit, how long messages still queued for systemd may take to go out. */
const NOTIFY_FLUSH_MS = 3_000;

export interface RunningPrimary {
  supervisor: Supervisor;
  settings: Settings;
  logger: Logger;
  services: OperateServices;
}

/**
 * Starts the primary: the control socket first (a second `start` on a live socket is refused
 * before any worker is forked), then the workers. The process exits when the supervisor stops.
 */
export interface StartInput {
  /** Loads (and on SIGHUP re-loads) the settings; throws a SmartworkersError when invalid. */
  load: () => Settings;
  /** The loader of another config file (or env block), with the same flags: what `deploy` switches to. */
  loaderFor?: (configFile: string, envName: string | undefined) => () => Settings;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export async function startPrimary(input: StartInput): Promise<RunningPrimary> {
  // `start --daemon`: the launcher's pipe and the log paths; taken out of the env workers inherit.
  const daemonFd = takeDaemonFd(input.env);
  const daemonLogs = takeDaemonLogs(input.env);
  // What SIGHUP (and `reload`) re-reads: the start's config until a `deploy` names another.
  // A daemon's apps get default log files (src/daemon/app-logs.ts): it has no terminal.
  const forDaemon = (loader: () => Settings): (() => Settings) => (daemonLogs ? daemonLoader(loader, daemonLogs) : loader);
  let load = forDaemon(input.load);
  const settings = load();
  const logger = createLogger({ format: settings.logFormat, level: settings.logLevel });

  let services: OperateServices | undefined;
  let stopWatching = (): void => {};
  // Cluster apps on node:cluster, process apps as plain child processes (each in its own group).
  const processes = createProcessHost({
    onSpawnError: ({ app, slot, command, error }) => logger.error({ app, slot, command }, `cannot start the process: ${error}`),
  });
  // Workers write their own log files; the primary checks, rotates and reopens them (src/logs/).
  let logFiles: LogFiles | undefined;
  checkLogFiles(settings.apps, logger);
  const host = createAppHost(
    createClusterHost({
      runtimePath: path.join(__dirname, '..', 'worker', 'runtime.js'),
      onLogsReopened: (id, seq) => logFiles?.reopened(id, seq),
    }),
    processes,
  );
  const supervisor = new Supervisor({
    settings,
    host,
    clock: systemClock,
    logger,
    // A process app's memory is its whole process tree's (a shell's children, a worker pool).
    sampleMemory: withTrees(createSampler(), (pid) => processes.owns(pid)),
    // SIGHUP re-reads the file; the command line and env still win over it.
    reloadSettings: () => load(),
    onExit: (code) => {
      const exit = async (): Promise<void> => {
        // A rotation under way finishes its gzip first (bounded: a huge file is left whole, not cut).
        await Promise.race([logFiles?.stop(), new Promise((resolve) => setTimeout(resolve, NOTIFY_FLUSH_MS))]);
        systemd.stop();
        stopWatching();
        // STOPPING=1 may still be on its way (one helper process per message, slow on a busy
        // host): let the queue drain, briefly, so systemd hears it before the main pid is gone.
        await Promise.race([notifier.flush(), new Promise((resolve) => setTimeout(resolve, NOTIFY_FLUSH_MS))]);
        logger.flush();
        process.exit(code);
      };
      const closing = services ? services.close() : Promise.resolve();
      closing.then(exit, exit);
    },
  });

  const base = createClusterControl(supervisor, { configSource: settings.configFile ?? 'command line' });
  // After a `deploy`, status names the config file the cluster now runs.
  let deployedConfig: string | undefined;
  const control = {
    ...base,
    snapshot: () => {
      const snapshot = base.snapshot();
      return deployedConfig === undefined ? snapshot : { ...snapshot, primary: { ...snapshot.primary, configSource: deployedConfig } };
    },
    ...(input.loaderFor
      ? {
          deploy: createDeploy(supervisor, (configFile, envName) => forDaemon(input.loaderFor!(configFile, envName)), (next, configFile) => {
            load = next;
            deployedConfig = configFile;
          }),
        }
      : {}),
  };
  services = await startOperateServices({
    control,
    logger,
    socketPath: settings.controlSocket,
    configFile: settings.configFile,
    cwd: input.cwd,
    env: input.env,
    statusListen: settings.statusListen,
    statusToken: settings.statusToken,
    minReady: settings.minReady,
    summaryIntervalMs: settings.summaryInterval,
    logs: daemonLogs,
  });

  const notifier = createNotifier(input.env, { onError: (err) => logger.warn({ code: err.code }, err.message) });
  const systemd = bridgeToSystemd(supervisor, notifier);

  logFiles = startLogFiles({
    apps: () => supervisor.activeSettings.apps,
    liveWorkers: (app) =>
      Object.values(supervisor.state.workers)
        .filter((w) => w.app === app && w.pid !== null)
        .map((w) => w.id),
    slots: (app) => supervisor.state.apps[app]?.desired ?? 0,
    send: (id, message) => host.send(id, message),
    logger,
  });
  installSignalHandlers((signal) => supervisor.signal(signal), logger, {
    reopenLogs: () => logFiles?.reopenAll(),
  });
  // The primary is the accept loop for every connection: an unexpected error is logged, not fatal.
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception in the primary'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection in the primary'));

  if (daemonFd !== undefined) reportReadyToLauncher(supervisor, daemonFd, services.socketPath);
  supervisor.start();
  // `watch` / `smartworkers dev`: a rolling reload of an app when its files change.
  stopWatching = reloadOnChange(supervisor, logger);
  return { supervisor, settings, logger, services };
}
