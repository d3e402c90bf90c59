// A real primary's sd_notify messages through the stand-in systemd-notify (no system tool needed);
// the real systemd-notify runs the same scenario in test/tools/systemd.tools.test.ts.
import { STAND_IN } from '../systemd/notify-kits';
import { notifyFromRealPrimary } from './systemd-notify-scenario';

notifyFromRealPrimary(STAND_IN);
