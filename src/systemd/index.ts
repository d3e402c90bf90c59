/** systemd integration: sd_notify from the primary, the watchdog, and unit rendering. */
export { createNotifier, findProgram, formatNotifyMessage, NOTIFY_TRANSPORTS } from './notify';
export type { Notifier, NotifierOptions, NotifyFields, NotifyTransportName } from './notify';
export { startWatchdog, watchdogIntervalMs } from './watchdog';
export type { WatchdogHandle, WatchdogOptions } from './watchdog';
export { defaultBinPath, quoteExecArg, renderSystemdUnit, startTimeoutSeconds, stopTimeoutSeconds } from './unit';
export type { SystemdUnitOptions } from './unit';
