/**
 * Request accounting without patching the app: Node publishes every HTTP(S) request
 * start and every server listen on `diagnostics_channel`. Per request this costs two
 * counter increments, one Map lookup, one clock read and one `close` listener; nothing
 * is sent here.
 *
 * Upgrades (WebSocket) publish nothing: an `upgrade` listener is put first on an HTTP server
 * only once the app has one of its own (so Node's choice to upgrade is unchanged), and marks
 * the connection upgraded.
 */
import { subscribe } from 'node:diagnostics_channel';
import { Server as HttpServer, type IncomingMessage } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { MAX_CUT_DETAILS, type CutConnection, type CutKind } from '../protocol';

/**
 * A tls.Server (https.Server included). `tls` and `https` are loaded only once the app has such a
 * server, so only by then already loaded by the app: every worker loads this runtime before the
 * app, and loading both cost an HTTP-only worker ~5 ms of CPU at each boot (a kill storm's
 * replacements boot one after another on busy cores).
 */
function isTlsServer(server: unknown): boolean {
  if (typeof (server as { setSecureContext?: unknown } | null)?.setSecureContext !== 'function') return false;
  return server instanceof (require('node:tls') as typeof import('node:tls')).Server;
}

function isHttpsServer(server: unknown): boolean {
  return isTlsServer(server) && server instanceof (require('node:https') as typeof import('node:https')).Server;
}

/** One HTTP connection that has carried at least one request. */
interface Connection {
  readonly socket: Socket;
  inflight: number;
  /** The latest response on it, to turn keep-alive off when a drain starts mid-request. */
  latest: ServerResponse | null;
  idleTimer: NodeJS.Timeout | null;
  /** Handed to the app's `upgrade` listener: it no longer speaks HTTP. */
  upgraded: boolean;
  /** When the latest request (or the upgrade) started, epoch ms. */
  since: number;
  /** The upgrade's path (a request's is read from its response when needed). */
  path: string | null;
}

/** What a cut ended, for the log and the counters. */
export interface CutResult {
  counts: Record<CutKind, number>;
  /** At most MAX_CUT_DETAILS, longest open first. */
  connections: CutConnection[];
}

const MAX_PATH = 256;

interface RequestStartMessage {
  response: ServerResponse;
  socket: Socket;
  server?: NetServer;
}

export interface RequestCounts {
  /** Requests started since the worker started. */
  served: number;
  /** Requests whose response has not closed yet. */
  inflight: number;
  /** Open connections that have carried a request. */
  connections: number;
  /** Open connections with nothing in flight (keep-alive, or accepted and not yet used). */
  idle: number;
  /** Connections handed to an `upgrade` listener (WebSocket) and still open. */
  upgraded: number;
  /** Responses whose headers went out and which have not ended (SSE, downloads); also in `inflight`. */
  streaming: number;
}

export interface RequestTrackerHooks {
  /** After every request start; `served` is the new total. */
  onRequest(served: number): void;
  /** After a response or a connection closes. */
  onSettle(): void;
  /** After a server starts or stops listening. */
  onServers(): void;
}

/**
 * How a listening server is named to the primary: `host:port`, `[v6]:port`, or the pipe's path.
 * A server that asked for port 0 is named with port 0: once the last worker holding it is gone,
 * node:cluster hands the next generation a new ephemeral port, and it is still the same server.
 * The requested port is read from `_connectionKey` (`<type>:<address>:<port>`, set by
 * net.Server#listen since Node 0.x); without it the port it got is used.
 */
export function addressOf(server: NetServer): string | null {
  const address = server.address();
  if (address === null) return null;
  if (typeof address === 'string') return address;
  const key = (server as { _connectionKey?: unknown })._connectionKey;
  const port = typeof key === 'string' && key.endsWith(':0') ? 0 : address.port;
  return address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]:${port}` : `${address.address}:${port}`;
}

/**
 * Counts requests and connections, knows the listening servers, and performs the
 * request side of a drain (stop accepting, `Connection: close`, close idle connections).
 *
 * Connections are learned from the `net.server.socket` channel when accepted (plain TCP
 * servers) and from their first request (TLS, whose request socket is the TLS socket):
 * no listener is added to the app's servers. A draining worker closes a connection only
 * once it has been idle past the grace, whether or not it has carried a request yet.
 */
export class RequestTracker {
  private served = 0;
  private inflight = 0;
  private readonly connections = new Map<Socket, Connection>();
  private readonly servers = new Set<NetServer>();
  private readonly upgradeHooked = new WeakSet<NetServer>();
  private busy = 0;
  private upgraded = 0;
  private draining = false;
  private idleGraceMs = 0;

  constructor(private readonly hooks: RequestTrackerHooks) {}

  /** Subscribes to the channels. Call once, before the app creates its servers. */
  start(): void {
    subscribe('http.server.request.start', (message) => this.onRequestStart(message as RequestStartMessage));
    subscribe('net.server.socket', (message) => this.onAccept((message as { socket: Socket }).socket));
    subscribe('tracing:net.server.listen:asyncEnd', (message) => {
      const server = (message as { server?: unknown }).server;
      if (server instanceof NetServer) this.addServer(server);
    });
  }

  /** Addresses of the servers listening now, as {@link addressOf} names them, sorted. */
  listening(): string[] {
    const out: string[] = [];
    for (const server of this.servers) {
      const address = server.listening ? addressOf(server) : null;
      if (address !== null) out.push(address);
    }
    return out.sort();
  }

  /**
   * The counts of the next report. Streaming responses are found by a walk over the busy
   * connections: at most one report every report interval pays it, never a request.
   */
  counts(): RequestCounts {
    let streaming = 0;
    if (this.busy > 0) {
      for (const connection of this.connections.values()) {
        const response = connection.latest;
        if (connection.inflight > 0 && response !== null && response.headersSent && !response.writableEnded) streaming++;
      }
    }
    return {
      served: this.served,
      inflight: this.inflight,
      connections: this.connections.size,
      idle: Math.max(0, this.connections.size - this.busy - this.upgraded),
      upgraded: this.upgraded,
      streaming,
    };
  }

  /**
   * Ends every connection that still carries something — a request, a streaming response, an
   * upgraded connection — and returns what was ended: the app did not end it in time. Idle
   * connections are closed too, but lose nothing and are not counted. Sockets are destroyed,
   * never ended politely: a response cut short must look cut to its client, not complete.
   */
  cut(): CutResult {
    const now = Date.now();
    const counts: Record<CutKind, number> = { request: 0, stream: 0, upgraded: 0 };
    const details: CutConnection[] = [];
    for (const connection of [...this.connections.values()]) {
      const kind = kindOf(connection);
      if (kind !== null) {
        counts[kind]++;
        const path = connection.path ?? connection.latest?.req?.url ?? null;
        const detail: CutConnection = { kind, openMs: Math.max(0, now - connection.since) };
        if (path !== null) detail.path = path.slice(0, MAX_PATH);
        details.push(detail);
      }
      connection.socket.destroy();
    }
    details.sort((a, b) => b.openMs - a.openMs);
    return { counts, connections: details.slice(0, MAX_CUT_DETAILS) };
  }

  /** True once nothing is in flight and no connection is open. */
  isIdle(): boolean {
    return this.inflight === 0 && this.connections.size === 0;
  }

  /**
   * Starts the request side of a drain: closes every listening handle at once and lets
   * open connections wind down. Idempotent; a later call only shortens the idle grace.
   */
  drain(idleGraceMs: number): void {
    if (this.draining) {
      this.idleGraceMs = Math.min(this.idleGraceMs, idleGraceMs);
      return;
    }
    this.draining = true;
    this.idleGraceMs = idleGraceMs;
    for (const server of this.servers) {
      // net's close, not http's: http.Server#close (Node >= 19) also destroys idle
      // keep-alive sockets at once, racing the client's next request into a reset.
      // Closing the handle of a cluster worker tells the primary to drop it from the
      // round-robin; connections it already accepted stay open.
      if (server.listening) NetServer.prototype.close.call(server);
    }
    for (const connection of this.connections.values()) {
      if (connection.inflight > 0) {
        const response = connection.latest;
        if (response !== null && !response.headersSent) response.shouldKeepAlive = false;
      } else if (!connection.upgraded) {
        // An upgraded connection is the app's to close (see onDrain): never idle.
        this.scheduleIdleClose(connection);
      }
    }
  }

  private addServer(server: NetServer): void {
    if (this.servers.has(server)) return;
    this.servers.add(server);
    if (server instanceof HttpServer || isHttpsServer(server)) this.watchUpgrades(server as HttpServer);
    server.once('close', () => {
      this.servers.delete(server);
      this.hooks.onServers();
    });
    // A server that starts listening after the drain began must not take traffic either.
    if (this.draining && server.listening) NetServer.prototype.close.call(server);
    else this.hooks.onServers();
  }

  /**
   * Puts the tracker's `upgrade` listener first, once the app has one: with no listener of the
   * app's, Node answers an upgrade request as a plain request, and one of ours alone would
   * change that. (An https.Server is a tls.Server, not an http.Server: both are watched.)
   */
  private watchUpgrades(server: HttpServer): void {
    const hook = (): void => {
      if (this.upgradeHooked.has(server)) return;
      this.upgradeHooked.add(server);
      server.prependListener('upgrade', (request: IncomingMessage, socket: Socket) => {
        // The app's own listener was removed since: nobody would ever answer this socket.
        if (server.listenerCount('upgrade') === 1) socket.destroy();
        else this.onUpgrade(request, socket, server);
      });
    };
    if (server.listenerCount('upgrade') > 0) hook();
    else {
      const onNew = (event: string | symbol): void => {
        if (event !== 'upgrade' || this.upgradeHooked.has(server)) return;
        server.removeListener('newListener', onNew);
        // After the app's listener is in place (newListener runs before the add).
        process.nextTick(hook);
      };
      server.on('newListener', onNew);
    }
  }

  /** An upgrade is served traffic: it counts in `served` (and max_requests) like a request. */
  private onUpgrade(request: IncomingMessage, socket: Socket, server: NetServer): void {
    this.served++;
    let connection = this.connections.get(socket);
    if (connection === undefined) {
      connection = newConnection(socket);
      this.connections.set(socket, connection);
      socket.once('close', () => this.onSocketClose(socket));
      if (!this.servers.has(server)) this.addServer(server);
    }
    if (connection.idleTimer !== null) {
      clearTimeout(connection.idleTimer);
      connection.idleTimer = null;
    }
    connection.upgraded = true;
    connection.since = Date.now();
    connection.path = request.url ?? null;
    this.upgraded++;
    this.hooks.onRequest(this.served);
  }

  /**
   * A connection accepted but whose first request has not arrived yet must hold a draining
   * worker too: round-robin may hand it over just before the listening handle closes, and
   * exiting under it would reset the request the client is sending. TLS servers are left
   * to request-based tracking (their requests arrive on the TLS socket, not this one).
   */
  private onAccept(socket: Socket): void {
    const server = (socket as Socket & { server?: unknown }).server;
    if (isTlsServer(server) || this.connections.has(socket)) return;
    const connection = newConnection(socket);
    this.connections.set(socket, connection);
    socket.once('close', () => this.onSocketClose(socket));
    if (this.draining) this.scheduleIdleClose(connection);
  }

  private onRequestStart({ response, socket, server }: RequestStartMessage): void {
    this.served++;
    this.inflight++;
    let connection = this.connections.get(socket);
    if (connection === undefined) {
      connection = newConnection(socket);
      this.connections.set(socket, connection);
      socket.once('close', () => this.onSocketClose(socket));
      if (server !== undefined && !this.servers.has(server)) this.addServer(server);
    }
    if (connection.inflight++ === 0) this.busy++;
    connection.latest = response;
    connection.since = Date.now();
    if (this.draining) {
      // Node writes `Connection: close` and ends the socket after this response.
      response.shouldKeepAlive = false;
      if (connection.idleTimer !== null) {
        clearTimeout(connection.idleTimer);
        connection.idleTimer = null;
      }
    }
    const settled = connection;
    // `close`, not `finish`: an aborted request never finishes, but its response closes.
    response.once('close', () => this.onResponseClose(settled, response));
    this.hooks.onRequest(this.served);
  }

  private onResponseClose(connection: Connection, response: ServerResponse): void {
    this.inflight--;
    if (--connection.inflight === 0 && this.connections.has(connection.socket)) this.busy--;
    if (connection.latest === response) connection.latest = null;
    // Normally the socket ends by itself after a `Connection: close` response; this
    // covers an app that forced keep-alive back on.
    if (this.draining && connection.inflight === 0 && this.connections.has(connection.socket)) {
      this.scheduleIdleClose(connection);
    }
    this.hooks.onSettle();
  }

  private onSocketClose(socket: Socket): void {
    const connection = this.connections.get(socket);
    if (connection === undefined) return;
    if (connection.idleTimer !== null) clearTimeout(connection.idleTimer);
    this.connections.delete(socket);
    if (connection.inflight > 0) this.busy--;
    if (connection.upgraded) this.upgraded--;
    this.hooks.onSettle();
  }

  private scheduleIdleClose(connection: Connection): void {
    if (connection.idleTimer !== null) clearTimeout(connection.idleTimer);
    // Only once idle past the grace: a client that just got a response may already be
    // sending its next request on this socket, and closing under it would reset it.
    connection.idleTimer = setTimeout(() => {
      connection.idleTimer = null;
      if (connection.inflight === 0 && !connection.upgraded) connection.socket.destroy();
    }, this.idleGraceMs);
  }
}

function newConnection(socket: Socket): Connection {
  return { socket, inflight: 0, latest: null, idleTimer: null, upgraded: false, since: Date.now(), path: null };
}

/** What an open connection carries: null when nothing (idle). */
function kindOf(connection: Connection): CutKind | null {
  if (connection.upgraded) return 'upgraded';
  if (connection.inflight === 0) return null;
  return connection.latest !== null && connection.latest.headersSent ? 'stream' : 'request';
}
