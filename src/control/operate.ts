/**
 * One call for the primary to start everything that lets operators steer and watch it: the
 * control socket, the HTTP status server (when `status.listen` is set) and the periodic
 * log summary. `close()` stops them, the control socket last, so `smartworkers stop` sees its
 * connection close only when the primary is done.
 */
import path from 'node:path';
import type { ClusterControl } from './types';
import { startControlServer, type OperateLogger } from './server';
import { registerCluster } from './registry';
import { clusterId, clusterLabel, defaultSocketPath, projectDirectory } from './socket-path';
import { stateDirectory } from './state-dir';
import type { StatusServer } from '../status/server';
import { scheduleSummary, type SummaryFields } from '../status/summary';

export interface OperateLoggerWithInfo extends OperateLogger {
  info(obj: object, msg: string): void;
}

export interface OperateServicesOptions {
  control: ClusterControl;
  logger?: OperateLoggerWithInfo;
  /** `control.socket`; unset = {@link defaultSocketPath} for the config file (or cwd). */
  socketPath?: string;
  configFile?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `status.listen`; unset = no status server. */
  statusListen?: string;
  statusToken?: string;
  minReady: number;
  /** `summary_interval`, ms; 0 = off. */
  summaryIntervalMs: number;
  /** Where a daemon's output goes (`start --daemon`), for its registry record. */
  logs?: { out: string; err: string };
}

export interface OperateServices {
  readonly socketPath: string;
  /** e.g. `http://127.0.0.1:9100`, when the status server runs. */
  readonly statusUrl: string | undefined;
  close(): Promise<void>;
}

/**
 * Starts the control socket (throws `SW_ALREADY_RUNNING` when another cluster owns it — call
 * this before forking workers), then the status server and the summary.
 */
export async function startOperateServices(options: OperateServicesOptions): Promise<OperateServices> {
  const { control, logger } = options;
  const socketPath = options.socketPath ?? defaultSocketPath({ configFile: options.configFile, cwd: options.cwd }, options.env);
  const controlServer = await startControlServer({ socketPath, control, logger });
  // The registry record, so the CLI finds this cluster from any directory (see registry.ts).
  let unregister = (): void => {};
  try {
    const base = { configFile: options.configFile, cwd: options.cwd };
    unregister = registerCluster(stateDirectory(options.env), {
      id: clusterId(base),
      name: clusterLabel(projectDirectory(base)),
      pid: process.pid,
      socket: socketPath,
      config: options.configFile === undefined ? null : path.resolve(options.cwd, options.configFile),
      cwd: options.cwd,
      started: new Date().toISOString(),
      ...(options.logs ? { logs: options.logs } : {}),
    });
  } catch (error) {
    logger?.warn({ err: error }, 'cannot register the cluster in the state directory: commands find it only with --config or --socket');
  }
  let statusServer: StatusServer | undefined;
  try {
    if (options.statusListen) {
      // Loaded only when used: prom-client costs ~45 ms of start-up to every CLI command otherwise.
      const { startStatusServer } = await import('../status/server.js');
      statusServer = await startStatusServer({
        listen: options.statusListen,
        token: options.statusToken,
        control,
        minReady: options.minReady,
        logger,
      });
    }
  } catch (error) {
    unregister();
    await controlServer.close();
    throw error;
  }
  const summary = scheduleSummary({
    intervalMs: options.summaryIntervalMs,
    snapshot: () => control.snapshot(),
    log: (line: string, fields: SummaryFields) => logger?.info({ summary: fields }, line),
  });
  logger?.info({ socketPath, statusUrl: statusServer?.url }, 'control socket ready');

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    statusUrl: statusServer?.url,
    close() {
      closing ??= (async () => {
        summary.stop();
        unregister();
        await statusServer?.close();
        await controlServer.close();
      })();
      return closing;
    },
  };
}
