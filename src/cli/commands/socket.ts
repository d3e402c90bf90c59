/**
 * Which control socket a CLI command talks to: `--socket`, else `SMARTWORKERS_CONTROL_SOCKET`,
 * else the config file's `control.socket` (or the registered cluster of that config, or the
 * default location for it), else the cluster named (name or id, from the registry), else the one
 * running cluster of the user, from any directory. Several running and none named:
 * `SW_SEVERAL_CLUSTERS`, listing them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describeRunning, findByName, listClusters } from '../../control/registry';
import { clusterId, defaultSocketPath } from '../../control/socket-path';
import { stateDirectory } from '../../control/state-dir';
import { SmartworkersError } from '../../errors';

export const SOCKET_ENV = 'SMARTWORKERS_CONTROL_SOCKET';

export interface SocketChoice {
  socket?: string;
  config?: string;
  /** A cluster's name or id, as `smartworkers ls` shows them. */
  name?: string;
}

/** Reads `control.socket` from a config file; undefined when the file does not set it. */
export type ConfiguredSocketReader = (configFile: string) => string | undefined;

export function resolveSocketPath(
  choice: SocketChoice,
  cwd: string,
  env: NodeJS.ProcessEnv,
  readConfiguredSocket: ConfiguredSocketReader = readSocketFromConfigFile,
): string {
  if (choice.socket) return path.resolve(cwd, choice.socket);
  const fromEnv = env[SOCKET_ENV];
  if (fromEnv) return path.resolve(cwd, fromEnv);
  if (choice.config) {
    const configFile = path.resolve(cwd, choice.config);
    const configured = readConfiguredSocket(configFile);
    if (configured) return path.resolve(path.dirname(configFile), configured);
    const id = clusterId({ configFile, cwd });
    const registered = listClusters(stateDirectory(env)).find((c) => c.id === id);
    return registered?.socket ?? defaultSocketPath({ configFile, cwd }, env);
  }
  const stateDir = stateDirectory(env);
  const clusters = listClusters(stateDir);
  if (choice.name) return findByName(clusters, choice.name).socket;
  if (clusters.length === 1) return clusters[0]!.socket;
  if (clusters.length > 1) {
    throw new SmartworkersError('SW_SEVERAL_CLUSTERS', `${clusters.length} clusters are running, name one (--name; see smartworkers ls); ${describeRunning(clusters)}`);
  }
  throw new SmartworkersError('SW_NOT_RUNNING', `no cluster is running (none registered in ${stateDir})`);
}

/** `control: { socket: <path> }` in a YAML config file (relative to the file's directory). */
export function readSocketFromConfigFile(configFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(configFile, 'utf8');
  } catch (error) {
    throw new SmartworkersError('SW_CONFIG_FILE', `cannot read config file ${configFile}: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    // Loaded only with --config: the other commands start faster without it.
    const { parse } = require('yaml') as typeof import('yaml');
    document = parse(text);
  } catch (error) {
    throw new SmartworkersError('SW_CONFIG_FILE', `config file ${configFile} is not valid YAML: ${(error as Error).message}`);
  }
  const control = isObject(document) ? document.control : undefined;
  const socket = isObject(control) ? control.socket : undefined;
  return typeof socket === 'string' && socket !== '' ? socket : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
