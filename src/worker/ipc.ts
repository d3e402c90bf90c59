/** Sending to the primary without ever throwing or emitting `error` on `process`. */
import type { WorkerMessage } from '../protocol';

/** True while the IPC channel to the primary is open. */
export function connected(): boolean {
  return typeof process.send === 'function' && process.connected;
}

/**
 * Sends one message. `done` runs once it has been handed to the OS, failed, or could
 * not be sent at all — so `process.exit` in it never drops the message. A callback is
 * always passed: without one, a failed send emits `error` on `process`, which would
 * crash a worker whose primary just died.
 */
export function sendToPrimary(message: WorkerMessage, done?: () => void): void {
  if (!connected()) {
    if (done) process.nextTick(done);
    return;
  }
  try {
    process.send!(message, undefined, {}, () => done?.());
  } catch {
    // The channel closed between the check and the send.
    if (done) process.nextTick(done);
  }
}
