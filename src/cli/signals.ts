/**
 * Every signal a person or a tool may send the primary has an answer. The supervisor's own
 * (stop, reload, scale) go to its policy; the others are handled here, so that none of them
 * ends the service by its default action (SIGUSR2, SIGALRM, SIGPIPE … terminate a process
 * that does not handle them) or opens Node's inspector (SIGUSR1, on 127.0.0.1:9229, which any
 * local user can reach). SIGKILL and SIGSTOP cannot be handled; SIGTSTP (Ctrl-Z) and SIGABRT
 * keep their meaning on purpose: job control, and a core dump asked for.
 */
import type { PrimarySignal } from '../supervisor/state';

/** Handed to the supervisor's policy (see the README's Signals section). */
export const SUPERVISOR_SIGNALS: readonly PrimarySignal[] = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGTTIN', 'SIGTTOU'];

export interface OtherSignal {
  signal: NodeJS.Signals;
  /** `reopen-logs`: the hook below; `ignore`: logged, nothing else. */
  action: 'reopen-logs' | 'ignore';
  /** debug for signals that arrive in numbers for no fault of anyone (a terminal resize). */
  level: 'info' | 'debug';
  /** What the line in the log and the README say. */
  why: string;
}

export const OTHER_SIGNALS: readonly OtherSignal[] = [
  { signal: 'SIGUSR1', action: 'reopen-logs', level: 'info', why: "every worker reopens its log files (after an external logrotate moved them, as gunicorn and nginx); never opens Node's inspector" },
  { signal: 'SIGUSR2', action: 'ignore', level: 'info', why: 'no meaning here (SIGHUP reloads); ignored instead of ending the primary' },
  { signal: 'SIGPIPE', action: 'ignore', level: 'debug', why: 'a closed pipe (e.g. a log reader that went away); writes report EPIPE instead' },
  { signal: 'SIGWINCH', action: 'ignore', level: 'debug', why: 'the terminal was resized' },
  { signal: 'SIGURG', action: 'ignore', level: 'debug', why: 'urgent socket data; nothing to do' },
  { signal: 'SIGALRM', action: 'ignore', level: 'info', why: 'no timer of ours; ignored instead of ending the primary' },
  { signal: 'SIGVTALRM', action: 'ignore', level: 'info', why: 'no timer of ours; ignored instead of ending the primary' },
  { signal: 'SIGPROF', action: 'ignore', level: 'info', why: 'no profiler of ours; ignored instead of ending the primary (left to V8 when the primary runs with --cpu-prof or --prof)' },
  { signal: 'SIGIO', action: 'ignore', level: 'info', why: 'no async I/O of ours; ignored instead of ending the primary' },
  { signal: 'SIGPWR', action: 'ignore', level: 'info', why: 'power failure notice; the init system stops services with SIGTERM' },
  { signal: 'SIGXCPU', action: 'ignore', level: 'info', why: 'CPU time limit (RLIMIT_CPU) passed; the hard limit still ends the primary' },
  { signal: 'SIGXFSZ', action: 'ignore', level: 'info', why: 'file size limit passed; the write reports EFBIG instead' },
];

export interface SignalHooks {
  /** SIGUSR1: every worker reopens its log files (src/logs/rotate.ts). */
  reopenLogs(): void;
}

interface SignalLogger {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * V8's sampling profiler (`--cpu-prof`, `--prof`) ticks on SIGPROF: a handler of ours would take
 * the signal from it and leave an empty profile.
 */
export function profilerOwnsSigprof(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--(cpu-prof|prof)(=|$)/.test(a));
}

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(
  toSupervisor: (signal: PrimarySignal) => void,
  logger: SignalLogger,
  hooks: SignalHooks,
): () => void {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  for (const signal of SUPERVISOR_SIGNALS) installed.push([signal, () => toSupervisor(signal)]);
  for (const other of OTHER_SIGNALS) {
    if (other.signal === 'SIGPROF' && profilerOwnsSigprof()) continue;
    installed.push([
      other.signal,
      () => {
        logger[other.level]({ signal: other.signal }, `${other.signal}: ${other.why}`);
        if (other.action === 'reopen-logs') hooks.reopenLogs();
      },
    ]);
  }
  for (const [signal, handler] of installed) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of installed) process.off(signal, handler);
  };
}
