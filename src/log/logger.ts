/**
 * The primary's logger: pino JSON lines by default, a compact readable line with
 * `log_format: pretty`. Workers' own stdout/stderr never pass through here.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { LogFormat, LogLevel } from '../config/types';

export type Logger = pino.Logger;

export interface LoggerOptions {
  format: LogFormat;
  level: LogLevel;
  /** Where lines go; defaults to stdout. Injectable for tests. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const out = options.destination ?? process.stdout;
  const base = { pid: process.pid, name: 'smartworkers' };
  if (options.format === 'pretty') {
    return pino({ level: options.level, base }, prettyStream(out));
  }
  return pino({ level: options.level, base }, options.destination ? (out as pino.DestinationStream) : pino.destination({ fd: 1, sync: true }));
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** `12:00:01 INFO  worker ready app=api worker=3 slot=1` — one line per record. */
export function formatPretty(record: Record<string, unknown>): string {
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toISOString().slice(11, 19);
  const level = LEVEL_NAMES[record.level as number] ?? String(record.level);
  const fields = Object.entries(record)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${time} ${level} ${String(record.msg ?? '')}${fields ? ` ${fields}` : ''}\n`;
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          out.write(formatPretty(JSON.parse(line) as Record<string, unknown>));
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
