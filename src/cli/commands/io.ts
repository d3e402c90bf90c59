/** Where the operate commands write, and how they turn errors into one line and an exit code. */
import { EXIT, SmartworkersError } from '../../errors';
import type { ConfiguredSocketReader, SocketChoice } from './socket';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CommandIO {
  stdout: OutputStream;
  stderr: OutputStream;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** How `--config` finds `control.socket` (defaults to reading the YAML file). */
  readConfiguredSocket?: ConfiguredSocketReader;
}

export function processIO(): CommandIO {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

/** Options every operate command takes. */
export interface ConnectionOptions extends SocketChoice {
  /** Reply timeout in seconds (0 = none); each command has its own default. */
  timeout?: number;
}

/** Runs a command body; a SmartworkersError becomes its one line on stderr and its exit code. */
export async function runReportingErrors(io: CommandIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof SmartworkersError) {
      io.stderr.write(`${error.toLine()}\n`);
      return error.exitCode;
    }
    io.stderr.write(`smartworkers: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failure;
  }
}

/** `--timeout` in seconds → ms, or the command's default. */
export function timeoutMs(options: ConnectionOptions, defaultMs: number): number {
  return options.timeout === undefined ? defaultMs : Math.round(options.timeout * 1000);
}
