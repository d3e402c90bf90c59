/**
 * The ways the notify tests send and receive. `npm test` uses STAND_IN on any machine: its PATH
 * holds only Node and the stand-in systemd-notify, so the real helpers cannot be picked by
 * mistake. The tool suite (test/tools/, run by .ci/run) runs the same tests through REAL_KITS.
 */
import path from 'node:path';
import type { NotifyTransportName } from '../../src/systemd/notify';
import { startNotifyListener, startStandInListener, type NotifyListener } from './listener';

export interface NotifyKit {
  name: string;
  /** The transport the notifier must pick on `PATH`. */
  transport: NotifyTransportName;
  PATH: string;
  listen(kind?: 'path' | 'abstract'): Promise<NotifyListener>;
  /** Whether each message is followed by a BARRIER=1 datagram carrying one fd (the real helpers). */
  barriers: boolean;
}

export const STAND_IN_DIR = path.join(__dirname, 'fixtures', 'stand-in');

export const STAND_IN: NotifyKit = {
  name: 'the stand-in systemd-notify',
  transport: 'systemd-notify',
  PATH: [STAND_IN_DIR, path.dirname(process.execPath)].join(path.delimiter),
  listen: startStandInListener,
  barriers: false,
};

export const REAL_KITS: NotifyKit[] = (['systemd-notify', 'python3'] as const).map((transport) => ({
  name: transport,
  transport,
  PATH: process.env.PATH ?? '',
  listen: startNotifyListener,
  barriers: true,
}));
