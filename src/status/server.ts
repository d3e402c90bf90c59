/**
 * The HTTP status server (off by default; `status.listen: 127.0.0.1:9100`):
 *
 * - `GET /status`  — the status document, as `smartworkers status --json`;
 * - `GET /healthz` — liveness: 200 while the primary's event loop turns on time, else 503;
 * - `GET /readyz`  — readiness: 200 while at least `minReady` workers are ready and the
 *   cluster is not stopping, else 503;
 * - `GET /metrics` — Prometheus text exposition;
 * - `GET /` — the live dashboard (dashboard/index.ts: its stream, actions and rules).
 *
 * A non-loopback address needs a token, checked as `Authorization: Bearer <token>` on `/status`
 * and `/metrics`. The probes stay open: they answer one bit, and Kubernetes probes and load
 * balancer health checks cannot send a secret header (a probe's `httpHeaders` cannot read a
 * Secret).
 *
 * The server runs in the primary, the accept loop of every app connection, so every outside
 * client is bounded (see guard.ts): connections per address and in all (the oldest closed to
 * make room), short header and idle timeouts, a request budget per second for the probes and
 * another for everything else (over budget, a request waits), and `/status` and `/metrics`
 * rendered at most once per `scrapeCacheMs` — a scrape flood costs the app almost nothing.
 */
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import { SmartworkersError } from '../errors';
import type { ClusterControl } from '../control/types';
import type { OperateLogger } from '../control/server';
import { createStatusMetrics, type StatusMetrics } from './metrics';
import { startLoopMonitor, type LoopMonitor } from './loop-monitor';
import { createConnectionGuard, createRequestBudget, type RequestBudget } from './guard';
import { createDashboard, SECURITY_HEADERS, type Dashboard } from './dashboard';

export interface StatusServerOptions {
  /** `host:port`, e.g. `127.0.0.1:9100`, `[::1]:9100`, `0.0.0.0:9100` (port 0 = any free port). */
  listen: string;
  /** Required on a non-loopback address; when set, required on `/status` and `/metrics`. */
  token?: string;
  control: ClusterControl;
  /** `/readyz` is 200 while at least this many workers are ready. */
  minReady: number;
  /** Defaults to metrics built from `control` with the server's loop monitor. */
  metrics?: StatusMetrics;
  logger?: OperateLogger;
  /** `/healthz` turns 503 when the primary's loop lags more than this, ms. Default 2000. */
  maxLoopLagMs?: number;
  /** How often the loop monitor's timer runs, ms. Default 500. */
  loopCheckIntervalMs?: number;
  /** `/status` and `/metrics` are rendered at most once per this many ms. Default 1000 (0 = every request). */
  scrapeCacheMs?: number;
  /** Requests a second answered at once for `/healthz` and `/readyz`; more wait. Default 100. */
  probesPerSecond?: number;
  /** Requests a second answered at once for every other path; more wait. Default 20. */
  scrapesPerSecond?: number;
  /** Connections from one address (the oldest is closed past it). Default 128: above what a flood client keeps open, so a flood waits for its budget instead of reconnecting (each new connection costs the accept loop). */
  maxConnectionsPerAddress?: number;
  /** A client must send a request's headers within this many ms. Default 2000. */
  headersTimeoutMs?: number;
}

/** Requests waiting for their budget, per class; past it a request is answered 429. */
const MAX_QUEUED = 1024;
/** Connections in all, whatever their address (the oldest is closed past it). */
const MAX_CONNECTIONS = 512;

export interface StatusServer {
  readonly host: string;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** e.g. `http://127.0.0.1:9100` */
  readonly url: string;
  close(): Promise<void>;
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses `host:port` (IPv6 in brackets). Throws `SW_STATUS_LISTEN` naming the accepted forms. */
export function parseListenAddress(listen: string): ListenAddress {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(listen.trim());
  const port = match ? Number(match[3]) : NaN;
  const host = match ? (match[1] ?? match[2]) : '';
  if (!match || port > 65535 || (match[1] !== undefined && isIP(host) !== 6)) {
    throw new SmartworkersError(
      'SW_STATUS_LISTEN',
      `Expected \`status.listen\` to be host:port (e.g. 127.0.0.1:9100, [::1]:9100, 0.0.0.0:9100), got ${JSON.stringify(listen)}`,
    );
  }
  return { host, port };
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const address = parseListenAddress(options.listen);
  const token = options.token === undefined || options.token === '' ? undefined : options.token;
  if (!token && !isLoopbackHost(address.host)) {
    throw new SmartworkersError(
      'SW_STATUS_TOKEN_REQUIRED',
      `status.listen ${options.listen} is reachable from other machines; set status.token to serve it, or listen on 127.0.0.1`,
    );
  }
  const loop = startLoopMonitor(options.loopCheckIntervalMs);
  const metrics = options.metrics ?? createStatusMetrics(options.control, { primaryLoopLagMs: () => loop.lagMs() });
  const budgets = {
    probes: createRequestBudget(options.probesPerSecond ?? 100, MAX_QUEUED),
    others: createRequestBudget(options.scrapesPerSecond ?? 20, MAX_QUEUED),
  };
  const expectedDigest = token === undefined ? undefined : digest(token);
  const dashboard = createDashboard({
    control: options.control,
    token,
    authorized: (req) => expectedDigest !== undefined && hasToken(req.headers.authorization, expectedDigest),
    logger: options.logger,
  });
  const handler = createHandler({
    ...options,
    token,
    metrics,
    loop,
    dashboard,
    maxLoopLagMs: options.maxLoopLagMs ?? 2000,
    cache: createScrapeCache(options.scrapeCacheMs ?? 1000),
    budgets,
  });

  const headersTimeout = options.headersTimeoutMs ?? 2_000;
  const server = http.createServer({
    headersTimeout,
    requestTimeout: headersTimeout + 3_000,
    // How often Node checks those two timeouts (default 30 s: half-open connections lived that long).
    connectionsCheckingInterval: Math.min(500, headersTimeout),
    keepAliveTimeout: 5_000,
  }, handler);
  server.timeout = 10_000; // no byte either way for this long: closed
  const guard = createConnectionGuard(
    { perAddress: options.maxConnectionsPerAddress ?? 128, total: MAX_CONNECTIONS },
    (evicted) => {
      // One line for the first, then one per thousand: a flood must not flood the log.
      if (evicted === 1 || evicted % 1000 === 0) options.logger?.warn({ evicted }, 'status server: connection limit reached; closed the oldest connections');
    },
  );
  server.on('connection', (socket: Socket) => guard.admit(socket));
  server.on('clientError', (_error, socket) => socket.destroy());

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    loop.stop();
    budgets.probes.stop();
    budgets.others.stop();
    dashboard.close();
    throw new SmartworkersError('SW_STATUS_LISTEN', `cannot listen on ${options.listen} for the status server: ${(error as Error).message}`);
  }
  server.on('error', (error) => options.logger?.warn({ err: error }, 'status server error'));
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const urlHost = isIP(address.host) === 6 ? `[${address.host}]` : address.host;
  options.logger?.debug({ listen: `${urlHost}:${port}` }, 'status server listening');

  let closing: Promise<void> | undefined;
  return {
    host: address.host,
    port,
    url: `http://${urlHost}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        loop.stop();
        budgets.probes.stop();
        budgets.others.stop();
        dashboard.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

interface HandlerContext {
  token: string | undefined;
  control: ClusterControl;
  minReady: number;
  metrics: StatusMetrics;
  loop: LoopMonitor;
  maxLoopLagMs: number;
  logger?: OperateLogger;
  cache: ScrapeCache;
  budgets: { probes: RequestBudget; others: RequestBudget };
  dashboard: Dashboard;
}

const ROUTES = ['/status', '/healthz', '/readyz', '/metrics'] as const;
type Route = (typeof ROUTES)[number];
/** Answered without the token: probes carry no secret. */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

function createHandler(ctx: HandlerContext): http.RequestListener {
  const expectedDigest = ctx.token === undefined ? undefined : digest(ctx.token);
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const budget = OPEN_ROUTES.has(path) ? ctx.budgets.probes : ctx.budgets.others;
    budget.run(
      () => respond(req, res, path),
      () => send(req, res, 429, 'text/plain; charset=utf-8', 'too many requests; retry later\n', { 'Retry-After': '1', Connection: 'close' }),
      () => !res.destroyed && !req.socket.destroyed,
    );
  };

  function respond(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    if (res.destroyed) return; // the client left while it waited for its budget
    // The dashboard's page is open (it holds no data); its stream and actions check the token themselves.
    if (ctx.dashboard.owns(path)) return ctx.dashboard.handle(req, res, path);
    if (expectedDigest && !OPEN_ROUTES.has(path) && !hasToken(req.headers.authorization, expectedDigest)) {
      return send(req, res, 401, 'text/plain; charset=utf-8', 'unauthorized: send Authorization: Bearer <status.token>\n', {
        'WWW-Authenticate': 'Bearer realm="smartworkers"',
      });
    }
    if (!(ROUTES as readonly string[]).includes(path)) {
      return send(req, res, 404, 'text/plain; charset=utf-8', `not found; endpoints: /, ${ROUTES.join(', ')}\n`);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed; use GET\n', { Allow: 'GET, HEAD' });
    }
    route(path as Route, ctx).then(
      (answer) => send(req, res, answer.status, answer.type, answer.body),
      (error: unknown) => {
        ctx.logger?.warn({ err: error, path }, 'status endpoint failed');
        send(req, res, 500, 'text/plain; charset=utf-8', `internal error: ${(error as Error)?.message ?? String(error)}\n`);
      },
    );
  }
}

interface Answer {
  status: number;
  type: string;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

async function route(path: Route, ctx: HandlerContext): Promise<Answer> {
  switch (path) {
    case '/status':
      return { status: 200, type: JSON_TYPE, body: await ctx.cache.get('/status', async () => `${JSON.stringify(ctx.control.snapshot())}\n`) };
    case '/healthz': {
      const lagMs = Math.round(ctx.loop.lagMs());
      const healthy = lagMs <= ctx.maxLoopLagMs;
      return {
        status: healthy ? 200 : 503,
        type: JSON_TYPE,
        body: `${JSON.stringify({ status: healthy ? 'ok' : 'lagging', loopLagMs: lagMs, maxLoopLagMs: ctx.maxLoopLagMs })}\n`,
      };
    }
    case '/readyz': {
      const ready = ctx.control.isReady(ctx.minReady);
      return {
        status: ready ? 200 : 503,
        type: JSON_TYPE,
        body: `${JSON.stringify({ status: ready ? 'ready' : 'not ready', minReady: ctx.minReady })}\n`,
      };
    }
    case '/metrics':
      return { status: 200, type: ctx.metrics.contentType, body: await ctx.cache.get('/metrics', () => ctx.metrics.render()) };
  }
}

interface ScrapeCache {
  /** The text rendered at most `ttlMs` ago, or a new rendering; one rendering at a time per key. */
  get(key: string, render: () => Promise<string>): Promise<string>;
}

function createScrapeCache(ttlMs: number): ScrapeCache {
  const entries = new Map<string, { at: number; text: Promise<string> }>();
  return {
    get(key, render) {
      const now = Date.now();
      const entry = entries.get(key);
      if (entry && now - entry.at < ttlMs) return entry.text;
      const text = render();
      const fresh = { at: now, text };
      entries.set(key, fresh);
      // A failed rendering is not kept: the next request tries again.
      text.catch(() => entries.get(key) === fresh && entries.delete(key));
      return text;
    },
  };
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time: both sides are hashed to the same length before comparing. */
function hasToken(header: string | undefined, expectedDigest: Buffer): boolean {
  const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  const presented = digest(match ? match[1] : '');
  return timingSafeEqual(presented, expectedDigest) && match !== null;
}
