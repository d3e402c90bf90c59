/** The wrk report parser of the bench (bench/lib/wrk.mjs): pure text in, figures out. */
import { describe, expect, it } from 'vitest';
// Plain ESM bench code, no types.
// @ts-ignore
import { parseWrk } from '../../bench/lib/wrk.mjs';

const REPORT = `Running 3s test @ http://127.0.0.1:40123/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms  512.00us  18.35ms   91.20%
    Req/Sec    23.81k     1.02k   25.33k    80.00%
  Latency Distribution
     50%    1.98ms
     75%    2.21ms
     90%    2.60ms
     99%  850.00us
  71127 requests in 3.00s, 10.24MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  23702.61
Transfer/sec:      3.41MB
`;

describe('parseWrk', () => {
  it('reads rate, count, percentiles in ms whatever the unit, and every kind of failure', () => {
    expect(parseWrk(REPORT)).toEqual({
      client: 'wrk',
      rps: 23702.61,
      total: 71127,
      p50: 1.98,
      p99: 0.85,
      errors: 4,
      timeouts: 2,
      non2xx: 4,
      failed: 10,
    });
  });

  it('a clean run has no failures; a report without a rate is NaN, which runWrk refuses', () => {
    const clean = REPORT.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, '');
    expect(parseWrk(clean)).toMatchObject({ failed: 0, errors: 0, timeouts: 0, non2xx: 0 });
    expect(parseWrk('unable to connect to 127.0.0.1:1 Connection refused').rps).toBeNaN();
  });
});
