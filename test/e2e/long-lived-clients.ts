/**
 * Real clients of long-lived connections for the end-to-end tests: a WebSocket client (`ws`)
 * that resends unacknowledged messages when it reconnects, an EventSource-style SSE client
 * (Last-Event-ID on reconnect), a slow download and a slow upload. Each records what a user of
 * the app would see: close codes, pids served by, bytes, reconnects.
 */
import http from 'node:http';
import WebSocket from 'ws';


/**
 * `until(check, ms, what)`: resolves once `check()` holds, re-checked each time a listener in
 * `listeners` is called (the client calls them on every event); rejects after `ms`.
 */
function untilOn(listeners: Set<() => void>, who: string): (check: () => boolean, ms: number, what: string) => Promise<void> {
  return (check, ms, what) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        listeners.delete(l);
        reject(new Error(`${who}: timed out waiting for ${what}`));
      }, ms);
      const l = (): void => {
        if (!check()) return;
        clearTimeout(t);
        listeners.delete(l);
        resolve();
      };
      listeners.add(l);
      l();
    });
}

export interface WsResult {
  sent: number;
  acked: number;
  /** Sent and never acknowledged. */
  lost: number;
  closeCodes: number[];
  /** Pids that acknowledged messages, in order of first ack. */
  pids: number[];
  reconnects: number;
}

export interface WsClient {
  /** Resolves once `n` messages have been acked since now. */
  acks(n: number): Promise<void>;
  /** Resolves once the client is open on a worker other than these pids. */
  openOnOtherThan(pids: number[]): Promise<number>;
  /** Pid of the worker it talks to now (from the last ack). */
  pid(): number | null;
  /** Stops sending; waits up to `ms` for pending acks; closes. No reconnect after. */
  stop(ms?: number): Promise<WsResult>;
  /** Stops reconnecting (the cluster is going away) and resolves once closed. */
  closed(): Promise<WsResult>;
}

export function wsClient(port: number, pathname = '/ws'): WsClient {
  let seq = 0;
  const pending = new Map<number, string>();
  const acked = new Set<number>();
  const closeCodes: number[] = [];
  const pids: number[] = [];
  let reconnects = -1;
  let current: WebSocket | null = null;
  let currentPid: number | null = null;
  let running = true;
  let reconnecting = true;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  let closedResolve: (() => void) | null = null;

  const connect = (): void => {
    reconnects += 1;
    const ws = new WebSocket(`ws://127.0.0.1:${port}${pathname}`);
    current = ws;
    ws.on('open', () => {
      // Resend what was sent and not acknowledged before the previous connection closed.
      for (const data of pending.values()) ws.send(data);
      notify();
    });
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw)) as { ack: number; pid: number };
      if (pending.delete(m.ack)) acked.add(m.ack);
      currentPid = m.pid;
      if (!pids.includes(m.pid)) pids.push(m.pid);
      notify();
    });
    ws.on('error', () => {});
    ws.on('close', (code) => {
      closeCodes.push(code);
      current = null;
      currentPid = null;
      notify();
      if (reconnecting) setTimeout(connect, 50);
      else closedResolve?.();
    });
  };
  connect();
  const timer = setInterval(() => {
    if (!running) return;
    const data = JSON.stringify({ seq: ++seq });
    pending.set(seq, data);
    if (current?.readyState === WebSocket.OPEN) current.send(data);
  }, 50);

  const until = untilOn(listeners, 'ws client');
  const result = (): WsResult => ({ sent: seq, acked: acked.size, lost: seq - acked.size, closeCodes: [...closeCodes], pids: [...pids], reconnects });

  return {
    acks(n) {
      const target = acked.size + n;
      return until(() => acked.size >= target, 30_000, `${n} acks`);
    },
    async openOnOtherThan(old) {
      await until(() => currentPid !== null && !old.includes(currentPid), 60_000, 'a new worker');
      return currentPid!;
    },
    pid: () => currentPid,
    async stop(ms = 10_000) {
      running = false;
      clearInterval(timer);
      await until(() => pending.size === 0, ms, 'pending acks').catch(() => {});
      reconnecting = false;
      const done = new Promise<void>((resolve) => (closedResolve = resolve));
      if (current) {
        current.close(1000);
        await done;
      }
      return result();
    },
    async closed() {
      running = false;
      clearInterval(timer);
      reconnecting = false;
      if (current) await new Promise<void>((resolve) => (closedResolve = resolve));
      return result();
    },
  };
}

export interface SseResult {
  events: number;
  lastId: number;
  /** Ids that arrived out of order or twice (a resumed stream repeats or skips none). */
  gaps: number;
  /** Streams the server ended cleanly (the app's drain) / that failed (cut or refused). */
  ended: number;
  errors: number;
  pids: number[];
  reconnects: number;
}

export interface SseClient {
  events(n: number): Promise<void>;
  pid(): number | null;
  openOnOtherThan(pids: number[]): Promise<number>;
  stop(): SseResult;
  /** Stops reconnecting; resolves once the current stream ended or failed. */
  closed(): Promise<SseResult>;
}

export function sseClient(port: number): SseClient {
  let events = 0;
  let lastId = 0;
  let gaps = 0;
  let ended = 0;
  let errors = 0;
  let reconnects = -1;
  let currentPid: number | null = null;
  const pids: number[] = [];
  let reconnecting = true;
  let req: http.ClientRequest | null = null;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  let onGone: (() => void) | null = null;

  const connect = (): void => {
    reconnects += 1;
    let done = false;
    const finish = (clean: boolean): void => {
      if (done) return;
      done = true;
      if (clean) ended += 1;
      else errors += 1;
      currentPid = null;
      req = null;
      notify();
      if (reconnecting) setTimeout(connect, 50);
      else onGone?.();
    };
    req = http.get({ host: '127.0.0.1', port, path: '/sse', agent: false, headers: { 'last-event-id': String(lastId) } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const id = Number(/^id: (\d+)$/m.exec(block)?.[1]);
          const pid = Number(/^data: (\d+)$/m.exec(block)?.[1]);
          if (id !== lastId + 1) gaps += 1;
          lastId = id;
          events += 1;
          currentPid = pid;
          if (!pids.includes(pid)) pids.push(pid);
        }
        notify();
      });
      res.on('end', () => finish(true));
      res.on('error', () => finish(false));
      res.on('close', () => finish(!res.errored && res.complete));
    });
    req.on('error', () => finish(false));
  };
  connect();

  const until = untilOn(listeners, 'sse client');
  const result = (): SseResult => ({ events, lastId, gaps, ended, errors, pids: [...pids], reconnects });
  return {
    events(n) {
      const target = events + n;
      return until(() => events >= target, 30_000, `${n} events`);
    },
    pid: () => currentPid,
    async openOnOtherThan(old) {
      await until(() => currentPid !== null && !old.includes(currentPid), 60_000, 'a new worker');
      return currentPid!;
    },
    stop() {
      reconnecting = false;
      req?.destroy();
      return result();
    },
    async closed() {
      reconnecting = false;
      if (req) await new Promise<void>((resolve) => (onGone = resolve));
      return result();
    },
  };
}

export interface TransferResult {
  bytes: number;
  expected: number;
  complete: boolean;
  error: string | null;
  pid: number | null;
  ms: number;
}

/** Downloads `/download?bytes&ms`; `started` resolves once the headers arrived. */
export function download(port: number, bytes: number, ms: number): { started: Promise<number>; done: Promise<TransferResult> } {
  const t0 = Date.now();
  let resolveStarted!: (pid: number) => void;
  const started = new Promise<number>((resolve) => (resolveStarted = resolve));
  const done = new Promise<TransferResult>((resolve) => {
    let got = 0;
    let pid: number | null = null;
    const finish = (error: string | null, complete: boolean): void => resolve({ bytes: got, expected: bytes, complete, error, pid, ms: Date.now() - t0 });
    const req = http.get({ host: '127.0.0.1', port, path: `/download?bytes=${bytes}&ms=${ms}`, agent: false }, (res) => {
      pid = Number(res.headers['x-pid']);
      resolveStarted(pid);
      res.on('data', (chunk: Buffer) => (got += chunk.length));
      res.on('end', () => finish(null, got === bytes));
      res.on('aborted', () => finish('aborted', false));
      res.on('error', (err) => finish(err.message, false));
    });
    req.on('error', (err) => finish(err.message, false));
  });
  return { started, done };
}

/** POSTs `bytes` to /upload spread over `ms`; `started` resolves once the first bytes went out. */
export function upload(port: number, bytes: number, ms: number): { started: Promise<void>; done: Promise<TransferResult> } {
  const t0 = Date.now();
  let resolveStarted!: () => void;
  const started = new Promise<void>((resolve) => (resolveStarted = resolve));
  const done = new Promise<TransferResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<TransferResult, 'ms' | 'expected'>): void => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      resolve({ ...r, expected: bytes, ms: Date.now() - t0 });
    };
    const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', agent: false, headers: { 'content-length': bytes } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const parsed = JSON.parse(body) as { received: number; pid: number };
        finish({ bytes: parsed.received, complete: parsed.received === bytes, error: null, pid: parsed.pid });
      });
      res.on('error', (err) => finish({ bytes: 0, complete: false, error: err.message, pid: null }));
    });
    req.on('error', (err) => finish({ bytes: sent, complete: false, error: err.message, pid: null }));
    const chunks = Math.max(1, Math.floor(ms / 100));
    const size = Math.ceil(bytes / chunks);
    let sent = 0;
    const timer = setInterval(() => {
      const n = Math.min(size, bytes - sent);
      req.write(Buffer.alloc(n, 121));
      sent += n;
      if (sent === n) resolveStarted();
      if (sent >= bytes) {
        clearInterval(timer);
        req.end();
      }
    }, ms / chunks);
  });
  return { started, done };
}
