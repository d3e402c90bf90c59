/** Sending to the primary without ever throwing or emitting `error` on `process`. */
import { TAG, type WorkerMessage } from '../protocol';

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

/** How long a worker waits for `sync-ack` before exiting anyway (a primary stuck or gone). */
export const SYNC_TIMEOUT_MS = 2_000;

const syncWaiters = new Map<number, () => void>();
let nextSyncSeq = 1;

/**
 * The exit barrier (see `SyncMessage` in protocol.ts): `done` runs once the primary has answered
 * a `sync` — so every message it sent before, a round-robin `newconn` included, has been read —
 * or at once without a primary, or after `timeoutMs`.
 */
export function syncWithPrimary(done: () => void, timeoutMs = SYNC_TIMEOUT_MS): void {
  if (!connected()) {
    process.nextTick(done);
    return;
  }
  const seq = nextSyncSeq++;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    syncWaiters.delete(seq);
    process.off('disconnect', finish);
    done();
  };
  // Ref'd on purpose: the worker is leaving, and must not wait forever on a silent primary.
  const timer = setTimeout(finish, timeoutMs);
  process.once('disconnect', finish);
  syncWaiters.set(seq, finish);
  sendToPrimary({ [TAG]: 'sync', seq });
}

/** The primary's `sync-ack` arrived. */
export function onSyncAck(seq: number): void {
  syncWaiters.get(seq)?.();
}
