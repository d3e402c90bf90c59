/** One HTTP GET on 127.0.0.1, for every test that talks to a worker or a cluster. */
import http from 'node:http';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

/**
 * `agent` false (the default) = a new connection (`Connection: close`), not a keep-alive pool: a
 * pooled connection to a worker that has just exited can be reused before its close is seen, and
 * the request then fails in the client — a race of the test, not of the cluster.
 */
export function get(port: number, pathname = '/', agent: http.Agent | false = false, timeoutMs = 15_000): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: pathname, agent, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, reusedSocket: request.reusedSocket }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${pathname}: no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
