/**
 * Which control socket a CLI command talks to: `--socket`, else `SMARTWORKERS_CONTROL_SOCKET`,
 * else the config file's `control.socket`, else the default location for the config file's
 * directory (or the working directory) — the same place `smartworkers start` listens on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultSocketPath } from '../../control/socket-path';
import { SmartworkersError } from '../../errors';

export const SOCKET_ENV = 'SMARTWORKERS_CONTROL_SOCKET';

export interface SocketChoice {
  socket?: string;
  config?: string;
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
    return defaultSocketPath({ configFile, cwd }, env);
  }
  return defaultSocketPath({ cwd }, env);
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
