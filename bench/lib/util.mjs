import net from 'node:net';
import http from 'node:http';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1, from the OS. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** One GET on a fresh connection; resolves {status, body} or rejects; bounded by timeoutMs. */
export function get(url, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Sends a GET and forgets it (for /block: the worker never answers). */
export function fire(url) {
  const req = http.get(url, { agent: false });
  req.on('error', () => {});
  req.on('response', (res) => res.resume());
  setTimeout(() => req.destroy(), 30000).unref();
  return req;
}

export const fmt = {
  n: (x, digits = 0) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : Number(x).toFixed(digits)),
  ratio: (x) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(2)}×`),
  mb: (bytes) => (bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(1)} MB`),
  ms: (x) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x >= 10000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`),
};

export function markdownTable(headers, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map((r) => line(r.map((c) => (c === null || c === undefined ? 'n/a' : String(c)))))].join('\n');
}
