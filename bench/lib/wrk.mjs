// wrk (Debian's package) as the load client where the client's own CPU would hide the server's
// cost: on 2 cores a Node client (autocannon) takes most of one, wrk a fraction of that. Installed
// through apt-get when missing and we are root; callers fall back to autocannon when it is absent.
import { spawn, spawnSync } from 'node:child_process';

let checked = null;

/** True when `wrk` runs here (installing it once through apt-get when missing and allowed). */
export function wrkAvailable() {
  if (checked !== null) return checked;
  const has = () => spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
  if (!has() && process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).error === undefined) {
    process.stderr.write('installing wrk (Debian package) for the load client …\n');
    const lock = ['-o', 'DPkg::Lock::Timeout=900'];
    spawnSync('apt-get', [...lock, 'update', '-qq'], { stdio: 'ignore', timeout: 900_000 });
    spawnSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', 'wrk'], { stdio: 'ignore', timeout: 900_000 });
  }
  checked = has();
  return checked;
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** wrk's "1.23ms" → 1.23 (ms). */
function ms(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null;
}

/** Parses wrk's report (run with --latency). Exported for its unit test. */
export function parseWrk(out) {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const total = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const [connect, read, write, timeout] = errors ? errors.slice(1).map(Number) : [0, 0, 0, 0];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const pct = (q) => ms(new RegExp(`^\\s+${q}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  return { client: 'wrk', rps, total, p50: pct(50), p99: pct(99), errors: connect + read + write, timeouts: timeout, non2xx, failed: connect + read + write + timeout + non2xx };
}

/** One wrk run: keep-alive GETs on `url` for `durationS`, one client thread. */
export async function runWrk({ url, connections = 50, durationS, threads = 1, timeoutS = 10 }) {
  const child = spawn('wrk', [`-t${threads}`, `-c${connections}`, `-d${durationS}s`, '--timeout', `${timeoutS}s`, '--latency', url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  const result = parseWrk(out);
  if (code !== 0 || !Number.isFinite(result.rps)) throw new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`);
  return { ...result, durationS };
}
