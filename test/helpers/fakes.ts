/** Fakes of the supervisor's two outside interfaces, for executor tests without processes. */
import type { PrimaryMessage } from '../../src/protocol';
import type { Clock, ForkSpec, HostEvent, ProcessHost } from '../../src/supervisor/host';

/** Timers that run only when `advance` moves the time. */
export class FakeClock implements Clock {
  time = 0;
  private timers: Array<{ fn: () => void; every: number; next: number; live: boolean }> = [];
  now = () => this.time;
  setInterval(fn: () => void, ms: number) {
    const t = { fn, every: ms, next: this.time + ms, live: true };
    this.timers.push(t);
    return t;
  }
  clearInterval(handle: unknown) {
    (handle as { live: boolean }).live = false;
  }
  advance(ms: number) {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.live && t.next <= end).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.time = due.next;
      due.next += due.every;
      due.fn();
    }
    this.time = end;
  }
}

/** Records forks, messages and kills; `emit` feeds host events back. */
export class FakeHost implements ProcessHost {
  forks: ForkSpec[] = [];
  sent: Array<{ id: number; message: PrimaryMessage }> = [];
  kills: Array<{ id: number; signal: string }> = [];
  private listener: (e: HostEvent) => void = () => {};
  fork(spec: ForkSpec) {
    this.forks.push(spec);
    return 5000 + spec.id;
  }
  send(id: number, message: PrimaryMessage) {
    this.sent.push({ id, message });
  }
  appMessages: Array<{ id: number; message: string }> = [];
  sendToApp(id: number, message: string) {
    this.appMessages.push({ id, message });
  }
  kill(id: number, signal: string) {
    this.kills.push({ id, signal });
  }
  onEvent(listener: (e: HostEvent) => void) {
    this.listener = listener;
  }
  emit(e: HostEvent) {
    this.listener(e);
  }
}
