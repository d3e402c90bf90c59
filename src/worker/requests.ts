/**
 * Request accounting without patching the app: Node publishes every HTTP(S) request
 * start and every server listen on `diagnostics_channel`. Per request this costs two
 * counter increments, one Map lookup and one `close` listener; nothing is sent here.
 */
import { subscribe } from 'node:diagnostics_channel';
import { Server as NetServer } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';

/** One HTTP connection that has carried at least one request. */
interface Connection {
  readonly socket: Socket;
  inflight: number;
  /** The latest response on it, to turn keep-alive off when a drain starts mid-request. */
  latest: ServerResponse | null;
  idleTimer: NodeJS.Timeout | null;
}

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

  counts(): RequestCounts {
    return { served: this.served, inflight: this.inflight, connections: this.connections.size };
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
      } else {
        this.scheduleIdleClose(connection);
      }
    }
  }

  private addServer(server: NetServer): void {
    if (this.servers.has(server)) return;
    this.servers.add(server);
    server.once('close', () => {
      this.servers.delete(server);
      this.hooks.onServers();
    });
    // A server that starts listening after the drain began must not take traffic either.
    if (this.draining && server.listening) NetServer.prototype.close.call(server);
    else this.hooks.onServers();
  }

  /**
   * A connection accepted but whose first request has not arrived yet must hold a draining
   * worker too: round-robin may hand it over just before the listening handle closes, and
   * exiting under it would reset the request the client is sending. TLS servers are left
   * to request-based tracking (their requests arrive on the TLS socket, not this one).
   */
  private onAccept(socket: Socket): void {
    const server = (socket as Socket & { server?: unknown }).server;
    if (server instanceof TlsServer || this.connections.has(socket)) return;
    const connection: Connection = { socket, inflight: 0, latest: null, idleTimer: null };
    this.connections.set(socket, connection);
    socket.once('close', () => this.onSocketClose(socket));
    if (this.draining) this.scheduleIdleClose(connection);
  }

  private onRequestStart({ response, socket, server }: RequestStartMessage): void {
    this.served++;
    this.inflight++;
    let connection = this.connections.get(socket);
    if (connection === undefined) {
      connection = { socket, inflight: 0, latest: null, idleTimer: null };
      this.connections.set(socket, connection);
      socket.once('close', () => this.onSocketClose(socket));
      if (server !== undefined && !this.servers.has(server)) this.addServer(server);
    }
    connection.inflight++;
    connection.latest = response;
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
    connection.inflight--;
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
    this.hooks.onSettle();
  }

  private scheduleIdleClose(connection: Connection): void {
    if (connection.idleTimer !== null) clearTimeout(connection.idleTimer);
    // Only once idle past the grace: a client that just got a response may already be
    // sending its next request on this socket, and closing under it would reset it.
    connection.idleTimer = setTimeout(() => {
      connection.idleTimer = null;
      if (connection.inflight === 0) connection.socket.destroy();
    }, this.idleGraceMs);
  }
}
