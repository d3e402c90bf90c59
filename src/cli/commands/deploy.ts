/**
 * `smartworkers deploy <config> [--env NAME]` (pm2's `startOrReload`), idempotent, for deploy
 * scripts: when no cluster runs for that config it starts one in the background (as
 * `start --daemon`); otherwise it sends the config to the running primary, which starts added apps,
 * stops removed ones and rolls the others surge-then-retire. It returns when the new generation
 * serves (exit 0), or fails with the old workers still serving: exit 3 when a new worker could not
 * boot (its error printed), 2 for a bad config (nothing changed), 1 otherwise.
 */
import path from 'node:path';
import { sendCommand } from '../../control/client';
import { listClusters } from '../../control/registry';
import { clusterId, clusterLabel, defaultSocketPath, projectDirectory } from '../../control/socket-path';
import { stateDirectory } from '../../control/state-dir';
import type { Settings } from '../../config/types';
import { EXIT, SmartworkersError } from '../../errors';
import { launchDaemon } from '../../daemon/launch';
import { markErrors, readErrorsSince } from '../../daemon/app-logs';
import { daemonLogPaths } from '../../daemon/paths';
import { runReportingErrors, timeoutMs, type CommandIO } from './io';
import { SOCKET_ENV } from './socket';

export interface DeployOptions {
  env?: string;
  socket?: string;
  timeout?: number;
  json?: boolean;
  wait?: boolean;
}

export interface DeployInput {
  config: string;
  options: DeployOptions;
  io: CommandIO;
  /** Loads and validates the config as `start` would (throws a SmartworkersError when invalid). */
  load: (configFile: string, envName: string | undefined) => Settings;
  /** `[node options…, bin]`: how to run this CLI again, detached. */
  self: string[];
}

export function runDeploy(input: DeployInput): Promise<number> {
  const { io, options } = input;
  return runReportingErrors(io, async () => {
    const configFile = path.resolve(io.cwd, input.config);
    const settings = input.load(configFile, options.env); // a bad config: exit 2, nothing sent or started
    const base = { configFile, cwd: io.cwd };
    const stateDir = stateDirectory(io.env);
    const registered = listClusters(stateDir).find((c) => c.id === clusterId(base));
    const fromEnv = io.env[SOCKET_ENV];
    const socketPath = options.socket
      ? path.resolve(io.cwd, options.socket)
      : fromEnv
        ? path.resolve(io.cwd, fromEnv)
        : (settings.controlSocket ?? registered?.socket ?? defaultSocketPath(base, io.env));

    // A daemon's apps write their errors to their log files (src/daemon/app-logs.ts): marked now.
    const errors = registered?.logs === undefined ? undefined : markErrors(settings.apps, registered.logs);
    const args = { config: configFile, wait: options.wait !== false, ...(options.env ? { env: options.env } : {}) };
    let result;
    try {
      result = await sendCommand(socketPath, 'deploy', args, timeoutMs(options, 0));
    } catch (error) {
      if (!(error instanceof SmartworkersError) || error.code !== 'SW_NOT_RUNNING') throw error;
      io.stderr.write(`smartworkers: no cluster runs for ${configFile}: starting it in the background\n`);
      const launched = await launchDaemon({
        args: [...input.self, 'start', '--config', configFile, ...(options.env ? ['--env', options.env] : [])],
        cwd: io.cwd,
        env: io.env,
        stateDir,
        logs: daemonLogPaths(stateDir, clusterId(base)),
        apps: settings.apps,
        name: clusterLabel(projectDirectory(base)),
        stdout: io.stdout,
        stderr: io.stderr,
      });
      if (options.json) io.stdout.write(`${JSON.stringify({ ok: launched.code === 0, started: true, ready: launched.ready ?? null }, null, 2)}\n`);
      return launched.code;
    }

    if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (result.ok) {
      if (!options.json) io.stdout.write(`smartworkers: ${result.message}\n`);
      return EXIT.ok;
    }
    if (result.details?.bootFailed && errors !== undefined) {
      // The new worker's own error, from its error file.
      const text = readErrorsSince(errors);
      if (text) io.stderr.write(`${text}\n`);
    }
    if (!options.json) io.stderr.write(`smartworkers: ${result.message}\n`);
    return result.details?.bootFailed ? EXIT.bootFailed : EXIT.failure;
  });
}
