// Keep-alive HTTP load on loopback with autocannon (programmatic), with every request error
// kept by code and time so that a scenario can tell "refused after the stop began" from a
// reset or a timeout on a live cluster.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/**
 * Starts load; returns {stop(), done: Promise<summary>, startedAt, errorLog}.
 * summary: {total, sent, rps, p50, p99, errors, timeouts, non2xx, failed, errorCodes, durationS}
 */
export function startLoad({ url, connections = 50, durationS = 10, timeoutS = 10, rate, path = '/' }) {
  const errorLog = [];
  const startedAt = Date.now();
  // autocannon's histogram keeps whole milliseconds (p50 reads 0 on loopback): keep our own
  // latencies in microseconds from its per-response event.
  let lat = new Float64Array(1 << 16);
  let nLat = 0;
  let instance;
  const done = new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url: url + path,
        connections,
        duration: durationS,
        timeout: timeoutS,
        pipelining: 1,
        ...(rate ? { overallRate: rate } : {}),
      },
      (err, result) => {
        if (err) return reject(err);
        const errorCodes = {};
        for (const e of errorLog) errorCodes[e.code] = (errorCodes[e.code] || 0) + 1;
        const duration = result.duration || durationS;
        resolve({
          total: result.requests.total,
          sent: result.requests.sent,
          ok2xx: result['2xx'],
          rps: result.requests.total / duration,
          ...percentiles(lat.subarray(0, nLat)),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          failed: result.errors + result.non2xx,
          errorCodes,
          durationS: duration,
        });
      },
    );
    instance.on('response', (client, status, bytes, responseTime) => {
      if (nLat === lat.length) {
        const bigger = new Float64Array(lat.length * 2);
        bigger.set(lat);
        lat = bigger;
      }
      lat[nLat++] = responseTime;
    });
    instance.on('reqError', (e) => errorLog.push({ code: e.code || e.message, t: Date.now() }));
  });
  return { stop: () => instance.stop(), done, startedAt, errorLog };
}

/** p50 / p99 in ms (float) of response times. */
function percentiles(values) {
  if (values.length === 0) return { p50: null, p99: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

export async function runLoad(opts) {
  return startLoad(opts).done;
}
