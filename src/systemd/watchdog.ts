/**
 * systemd's watchdog (`WatchdogSec=` in the unit): systemd sets `WATCHDOG_USEC` (and `WATCHDOG_PID`)
 * and kills the service when no `WATCHDOG=1` arrives within that interval. The primary sends one at
 * half the interval, from a timer on its own event loop — so a primary whose loop is blocked sends
 * nothing and is restarted, which is the point — and only while `isHealthy()` says the supervisor
 * loop is turning.
 */
import type { Notifier } from './notify';

/**
 * Half the watchdog interval in ms, or null when the watchdog is off or meant for another process
 * (`WATCHDOG_PID` set to a pid that is not `pid`), as `sd_watchdog_enabled()` decides.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | null {
  const usecText = env.WATCHDOG_USEC;
  if (!usecText || !/^\d+$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText !== '' && Number(pidText) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface WatchdogOptions {
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to process.pid (compared with WATCHDOG_PID). */
  pid?: number;
  /** The supervisor's own health check; a keep-alive is skipped while it returns false. */
  isHealthy?: () => boolean;
}

export interface WatchdogHandle {
  /** The keep-alive period in ms, or null when the watchdog is off (then this handle does nothing). */
  readonly intervalMs: number | null;
  stop(): void;
}

/**
 * Starts sending `WATCHDOG=1` every half interval. The timer is unref'd: it never keeps the primary
 * alive on its own. Call `stop()` when the primary stops.
 */
export function startWatchdog(notifier: Notifier, options: WatchdogOptions = {}): WatchdogHandle {
  const intervalMs = notifier.enabled ? watchdogIntervalMs(options.env ?? process.env, options.pid ?? process.pid) : null;
  if (intervalMs === null) return { intervalMs: null, stop: () => {} };
  const isHealthy = options.isHealthy ?? (() => true);
  const tick = (): void => {
    if (isHealthy()) void notifier.watchdog();
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    intervalMs,
    stop: () => clearInterval(timer),
  };
}
