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
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export async function startPrimary(input: StartInput): Promise<RunningPrimary> {
  const settings = input.load();
  const logger = createLogger({ format: settings.logFormat, level: settings.logLevel });

  let services: OperateServices | undefined;
  let stopWatching = (): void => {};
  // Cluster apps on node:cluster, process apps as plain child processes (each in its own group).
  const processes = createProcessHost({
    onSpawnError: ({ app, slot, command, error }) => logger.error({ app, slot, command }, `cannot start the process: ${error}`),
  });
  const host = createAppHost(createClusterHost({ runtimePath: path.join(__dirname, '..', 'worker', 'runtime.js') }), processes);
  const supervisor = new Supervisor({
    settings,
    host,
    clock: systemClock,
    logger,
    // A process app's memory is its whole process tree's (a shell's children, a worker pool).
    sampleMemory: withTrees(createSampler(), (pid) => processes.owns(pid)),
    // SIGHUP re-reads the file; the command line and env still win over it.
    reloadSettings: input.load,
    onExit: (code) => {
      const exit = async (): Promise<void> => {
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

  const control = createClusterControl(supervisor, { configSource: settings.configFile ?? 'command line' });
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
  });

  const notifier = createNotifier(input.env, { onError: (err) => logger.warn({ code: err.code }, err.message) });
  const systemd = bridgeToSystemd(supervisor, notifier);

  installSignalHandlers((signal) => supervisor.signal(signal), logger, {
    reopenLogs: () => {}, // the hook for reopening log files (the primary logs to stdout for now)
  });
  // The primary is the accept loop for every connection: an unexpected error is logged, not fatal.
  process.on('uncaughtException', (err) => logger.error({ err }, 'uncaught exception in the primary'));
  process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection in the primary'));

  supervisor.start();
  // `watch` / `smartworkers dev`: a rolling reload of an app when its files change.
  stopWatching = reloadOnChange(supervisor, logger);
  return { supervisor, settings, logger, services };
}
