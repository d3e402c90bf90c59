/**
 * The process host: the only code that forks, signals and talks to worker processes.
 * The supervisor sees it through this interface, so it can be driven by a fake in tests.
 */
import type { AppSettings } from '../config/types';
import type { KilledProcess } from '../host/processTree';
import type { PrimaryMessage, WorkerMessage } from '../protocol';

export interface ForkSpec {
  id: number;
  app: AppSettings;
  slot: number;
  generation: number;
  requestLimit: number;
  /** pm2's `pm_id`: the slot's index across every app (apps in config order). */
  pmId: number;
  /** pm2's `instances`: the app's worker count when the worker is forked. */
  instances: number;
}

export type HostEvent =
  | { type: 'listening'; id: number }
  /**
   * The worker asked node:cluster for a listening handle (`queryServer`): from now on the
   * round-robin may hand it connections, before its `listening` reaches the primary.
   */
  | { type: 'listen-requested'; id: number }
  | { type: 'app-ready'; id: number }
  /** node:cluster's `online`: the worker process has started. */
  | { type: 'online'; id: number }
  | { type: 'message'; id: number; message: WorkerMessage }
  | { type: 'bad-message'; id: number; error: string }
  /**
   * `reaping`: processes it left running are being looked for; a `reaped` event follows. `more`:
   * another exit of the same burst follows at once (see `SupervisorEvent`).
   */
  | { type: 'exit'; id: number; code: number | null; signal: string | null; reaping?: boolean; more?: boolean }
  /** After the exit: every process the worker left running has been ended (`leftovers`, often none). */
  | { type: 'reaped'; id: number; app: string; slot: number; pid: number | null; leftovers: KilledProcess[] }
  /** The worker closed its IPC channel while its process still runs. */
  | { type: 'disconnect'; id: number };

export interface ProcessHost {
  /** Starts a worker; returns its pid. Events for it arrive through `onEvent`. */
  fork(spec: ForkSpec): number;
  /** Best effort: a worker that has gone away is skipped. */
  send(id: number, message: PrimaryMessage): void;
  /** A plain message for the app (pm2's `'shutdown'`); best effort, like `send`. */
  sendToApp(id: number, message: string): void;
  kill(id: number, signal: NodeJS.Signals): void;
  onEvent(listener: (event: HostEvent) => void): void;
}

/** The clock and timers the supervisor uses; a fake in tests. */
export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): { unref?: () => void };
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};
