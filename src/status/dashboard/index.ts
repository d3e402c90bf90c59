/**
 * The live dashboard at `/` of the status server: a static page (public/, no build step, no
 * CDN) that reads one server-sent-event stream, `GET /api/events`, and posts actions to
 * `POST /api/actions/<kind>`.
 *
 * Cost: nothing while no page is open — no timer, no snapshot; only the recycle timeline's
 * observer glances at each step's effects. With pages open, one snapshot a second is built,
 * serialised once and written to every page (at most MAX_CLIENTS), and a few numbers of it are
 * kept for the charts (history.ts, served by `GET /api/history` to a page that opens); the task
 * list is asked of the workers every 2 s, and only while some task runs. Tabs of one browser
 * share one stream (the page elects one tab to read it): a browser opens at most 6 connections
 * to a host, and one stream per tab would leave the 7th tab waiting.
 *
 * Security (README, Security):
 * - the page and its scripts are open (they hold no data); the stream and the actions need
 *   `Authorization: Bearer <status.token>` when a token is set — a header, never a URL;
 * - without a token the server answers only requests addressed to a loopback name (a `Host`
 *   of localhost, 127.x or [::1]): a page of another site that rebinds its name to 127.0.0.1
 *   gets nothing (DNS rebinding);
 * - actions exist only when a token is set; each must carry the token and an `Origin` whose host
 *   is the request's `Host`, with a JSON body — a form or a page of another site cannot post one;
 * - what is shown is the status document and the task list: never the workers' environment;
 * - every response carries a Content-Security-Policy that allows only this server's own scripts,
 *   styles and connections.
 */
import fs from 'node:fs';
import path from 'node:path';
import type http from 'node:http';
import type { ActionResult, ActiveTask, ClusterControl } from '../../control/types';
import type { StatusSnapshot } from '../snapshot';
import { createTimeline, type Timeline, type TimelineEntry } from './timeline';
import { createHistory, type History } from './history';

/** The strict policy of every dashboard response (the status server sends it on every answer). */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** Pages streaming at once; past it a new one is answered 503. */
export const MAX_CLIENTS = 16;
/** Updates a page gets: one a second at most. */
export const PUSH_INTERVAL_MS = 1000;
/** A page whose socket has this much unsent is dropped (it reconnects). */
const MAX_BUFFERED = 1 << 20;
const MAX_BODY = 4096;
const KEPT_ACTIONS = 20;

interface Asset {
  file: string;
  type: string;
}

/** The only files served: a fixed list, so no path from a request ever reaches the file system. */
const ASSETS: Record<string, Asset> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/dashboard/vendor/uPlot.iife.min.js': { file: 'vendor/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/vendor/uPlot.min.css': { file: 'vendor/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

export interface DashboardAction {
  id: number;
  kind: 'reload' | 'recycle' | 'scale' | 'stop';
  /** e.g. "reload api", "recycle api slot 1" */
  label: string;
  startedAt: number;
  finishedAt: number | null;
  ok: boolean | null;
  message: string;
  /** Workers the action replaces: the page shows how many are gone. */
  targets: number[];
}

export interface DashboardPayload {
  time: number;
  /** Actions are offered: a token is set and this page sent it. */
  canAct: boolean;
  snapshot: StatusSnapshot;
  timeline: TimelineEntry[];
  tasks: { at: number; list: ActiveTask[] } | null;
  actions: DashboardAction[];
}

export interface DashboardOptions {
  control: ClusterControl;
  token: string | undefined;
  /** The request carries the token (constant-time check, the status server's). */
  authorized(req: http.IncomingMessage): boolean;
  logger?: { warn(obj: object, msg: string): void; info?(obj: object, msg: string): void };
  now?: () => number;
}

export interface Dashboard {
  /** True for the paths the dashboard answers. */
  owns(path: string): boolean;
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): void;
  readonly clients: number;
  /** The once-a-second timer runs (only while a page streams). */
  readonly streaming: boolean;
  readonly timeline: Timeline;
  readonly history: History;
  close(): void;
}

export function createDashboard(options: DashboardOptions): Dashboard {
  const { control } = options;
  const now = options.now ?? Date.now;
  const timeline = createTimeline();
  const history = createHistory();
  const stopObserving = control.observe?.(timeline.observer);
  const clients = new Set<http.ServerResponse>();
  const actions: DashboardAction[] = [];
  let nextActionId = 1;
  let timer: NodeJS.Timeout | undefined;
  let tasks: DashboardPayload['tasks'] = null;
  let askingTasks = false;
  let ticks = 0;
  const files = new Map<string, Buffer>();

  const payloadFor = (canAct: boolean, snapshot: StatusSnapshot): string =>
    `data: ${JSON.stringify({ time: now(), canAct, snapshot, timeline: timeline.entries(), tasks, actions } satisfies DashboardPayload)}\n\n`;

  const push = (): void => {
    ticks += 1;
    const snapshot = control.snapshot();
    history.add(now(), snapshot);
    if (ticks % 2 === 0) refreshTasks(snapshot);
    const canAct = options.token !== undefined;
    // Serialised once for every page: with a token set every page streaming has sent it.
    const text = payloadFor(canAct, snapshot);
    for (const res of clients) write(res, text);
  };

  const write = (res: http.ServerResponse, text: string): void => {
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return;
    }
    res.write(text);
  };

  function refreshTasks(snapshot: StatusSnapshot): void {
    if (askingTasks) return;
    if (!snapshot.workers.some((w) => w.activeTasks > 0)) {
      tasks = { at: now(), list: [] };
      return;
    }
    askingTasks = true;
    control.listTasks().then(
      (list) => {
        tasks = { at: now(), list };
      },
      (error: unknown) => options.logger?.warn({ err: error }, 'dashboard: listing tasks failed'),
    ).finally(() => {
      askingTasks = false;
    });
  }

  const startTimer = (): void => {
    if (timer) return;
    timer = setInterval(push, PUSH_INTERVAL_MS);
    timer.unref();
  };
  const stopTimer = (): void => {
    if (clients.size > 0 || !timer) return;
    clearInterval(timer);
    timer = undefined;
    tasks = null;
  };

  function asset(name: string): Buffer | undefined {
    const cached = files.get(name);
    if (cached) return cached;
    const body = readAsset(name);
    if (body) files.set(name, body);
    return body;
  }

  function reply(res: http.ServerResponse, status: number, body: string | Buffer, type = 'application/json; charset=utf-8', headers: Record<string, string> = {}, head = false): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(head ? undefined : body);
  }
  const refuse = (res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void =>
    reply(res, status, `${JSON.stringify({ ok: false, message })}\n`, undefined, headers);

  /** Without a token, only requests addressed to this machine by a loopback name (DNS rebinding). */
  function hostAllowed(req: http.IncomingMessage): boolean {
    if (options.token !== undefined) return true;
    return isLoopbackName(hostName(req.headers.host));
  }

  function stream(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (options.token !== undefined && !options.authorized(req)) {
      return refuse(res, 401, 'unauthorized: send Authorization: Bearer <status.token>', { 'WWW-Authenticate': 'Bearer realm="smartworkers"' });
    }
    if (clients.size >= MAX_CLIENTS) return refuse(res, 503, `too many dashboard pages open (${MAX_CLIENTS}); close one`, { 'Retry-After': '5' });
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    clients.add(res);
    res.on('close', () => {
      clients.delete(res);
      stopTimer();
    });
    // The page draws at once, then once a second with every other page.
    const snapshot = control.snapshot();
    history.add(now(), snapshot);
    res.write(`retry: 2000\n${payloadFor(options.token !== undefined, snapshot)}`);
    startTimer();
  }

  function act(req: http.IncomingMessage, res: http.ServerResponse, kind: string): void {
    if (options.token === undefined) return refuse(res, 403, 'actions are off: set status.token to turn them on');
    if (!options.authorized(req)) {
      return refuse(res, 401, 'unauthorized: send Authorization: Bearer <status.token>', { 'WWW-Authenticate': 'Bearer realm="smartworkers"' });
    }
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !sameOrigin(origin, req.headers.host)) {
      return refuse(res, 403, "refused: the request's Origin is not this server");
    }
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return refuse(res, 415, 'send a JSON body (Content-Type: application/json)');
    if (!['reload', 'recycle', 'scale', 'stop'].includes(kind)) return refuse(res, 404, `no action '${kind}'; actions: reload, recycle, scale, stop`);
    readBody(req, MAX_BODY).then(
      (text) => {
        let body: Record<string, unknown>;
        try {
          const parsed: unknown = JSON.parse(text || '{}');
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          body = parsed as Record<string, unknown>;
        } catch {
          return refuse(res, 400, 'the body must be a JSON object');
        }
        const started = start(kind as DashboardAction['kind'], body);
        if (typeof started === 'string') return refuse(res, 400, started);
        reply(res, 202, `${JSON.stringify({ ok: true, action: started })}\n`);
      },
      () => refuse(res, 413, `body over ${MAX_BODY} bytes`, { Connection: 'close' }),
    );
  }

  /** Starts an action; its progress and outcome reach every page in the stream. */
  function start(kind: DashboardAction['kind'], body: Record<string, unknown>): DashboardAction | string {
    const app = body.app === undefined ? undefined : String(body.app);
    const snapshot = control.snapshot();
    const serving = (slot?: number) =>
      snapshot.workers.filter((w) => (app === undefined || w.app === app) && (slot === undefined || w.slot === slot) && (w.state === 'ready' || w.state === 'starting')).map((w) => w.id);
    let label: string;
    let targets: number[] = [];
    let run: () => Promise<ActionResult>;
    switch (kind) {
      case 'reload':
        label = `reload ${app ?? 'all apps'}`;
        targets = serving();
        run = () => control.reload(app, true);
        break;
      case 'recycle': {
        const slot = Number(body.slot);
        if (!Number.isInteger(slot) || slot < 0) return 'recycle needs a slot (a whole number)';
        const force = body.force === true;
        label = `recycle ${app ?? ''} slot ${slot}${force ? ' (force)' : ''}`.replace(/\s+/g, ' ');
        targets = serving(slot);
        run = () => control.recycle({ app, slot }, force, true);
        break;
      }
      case 'scale': {
        const workers = Number(body.workers);
        if (!Number.isInteger(workers) || workers < 1 || workers > 1024) return 'scale needs workers: a whole number from 1 to 1024';
        label = `scale ${app ?? ''} to ${workers}`.replace(/\s+/g, ' ');
        run = () => control.scale({ app, absolute: workers }, true);
        break;
      }
      case 'stop':
        label = 'stop the cluster';
        run = () => control.stop(false);
        break;
    }
    const action: DashboardAction = { id: nextActionId++, kind, label, startedAt: now(), finishedAt: null, ok: null, message: 'started', targets };
    actions.unshift(action);
    if (actions.length > KEPT_ACTIONS) actions.length = KEPT_ACTIONS;
    if (options.logger?.info) options.logger.info({ action: label }, 'dashboard action');
    else options.logger?.warn({ action: label }, 'dashboard action');
    run().then(
      (result) => {
        action.ok = result.ok;
        action.message = result.message;
      },
      (error: unknown) => {
        action.ok = false;
        action.message = (error as Error)?.message ?? String(error);
      },
    ).finally(() => {
      action.finishedAt = now();
      // Pages see the outcome now, not at the next tick.
      if (clients.size > 0) push();
    });
    return { ...action };
  }

  return {
    owns(p) {
      return p in ASSETS || p === '/api/events' || p === '/api/session' || p === '/api/history' || p.startsWith('/api/actions/');
    },
    handle(req, res, p) {
      if (!hostAllowed(req)) {
        return refuse(res, 421, 'refused: without status.token the dashboard answers only to a loopback host name (localhost, 127.0.0.1, [::1])');
      }
      const method = req.method ?? 'GET';
      if (p.startsWith('/api/actions/')) {
        if (method !== 'POST') return refuse(res, 405, 'use POST', { Allow: 'POST' });
        return act(req, res, p.slice('/api/actions/'.length));
      }
      if (method !== 'GET' && method !== 'HEAD') return refuse(res, 405, 'use GET', { Allow: 'GET, HEAD' });
      if (p === '/api/events') return stream(req, res);
      if (p === '/api/history') {
        if (options.token !== undefined && !options.authorized(req)) {
          return refuse(res, 401, 'unauthorized: send Authorization: Bearer <status.token>', { 'WWW-Authenticate': 'Bearer realm="smartworkers"' });
        }
        return reply(res, 200, `${JSON.stringify({ samples: history.samples() })}\n`, undefined, {}, method === 'HEAD');
      }
      if (p === '/api/session') {
        // Always 200 (a refused fetch is a console error in the page): whether a token is needed, and whether this one is it.
        const authorized = options.token === undefined || options.authorized(req);
        return reply(res, 200, `${JSON.stringify({ tokenRequired: options.token !== undefined, authorized, actions: options.token !== undefined && authorized })}\n`);
      }
      const entry = ASSETS[p]!;
      const body = asset(entry.file);
      if (!body) return refuse(res, 500, `dashboard file ${entry.file} is missing from this install (npm run build copies it)`);
      reply(res, 200, body, entry.type, { 'Cache-Control': 'no-cache' }, method === 'HEAD');
    },
    get clients() {
      return clients.size;
    },
    get streaming() {
      return timer !== undefined;
    },
    timeline,
    history,
    close() {
      stopObserving?.();
      for (const res of clients) res.destroy();
      clients.clear();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The page's files: beside this module in dist/ (the build copies them), or in src/ with uPlot from node_modules. */
function readAsset(name: string): Buffer | undefined {
  const dirs = [path.join(__dirname, 'public'), path.join(__dirname, '..', 'status', 'dashboard', 'public')];
  for (const dir of dirs) {
    try {
      return fs.readFileSync(path.join(dir, name));
    } catch {
      // next place
    }
  }
  if (name.startsWith('vendor/')) {
    try {
      return fs.readFileSync(require.resolve(`uplot/dist/${name.slice('vendor/'.length)}`));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new Error('too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `localhost:9100` → `localhost`, `[::1]:9100` → `::1`. */
export function hostName(host: string | undefined): string {
  if (!host) return '';
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1].toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(name) || name === '::1';
}

/** The Origin names the host the request was sent to (scheme aside: a TLS proxy may sit in front). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
