/**
 * RSS and CPU of the workers, read from /proc/<pid>/stat: one read per worker per sample, on a
 * descriptor kept open for the worker's life, no child process and no promise per pid (pidusage
 * spent most of an idle primary's CPU here). Elsewhere (no /proc), pidusage.
 */
import fs from 'node:fs';

export type Usage = Map<number, { rss: number; cpu: number }>;

/** Linux's USER_HZ: 100 on every architecture Node supports. */
const CLOCK_TICKS = 100;

interface Tracked {
  fd: number;
  ticks: number;
  at: number;
}

export function createSampler(): (pids: number[]) => Promise<Usage> {
  if (!fs.existsSync('/proc/self/stat')) return sampleWithPidusage;
  const pageSize = detectPageSize();
  const tracked = new Map<number, Tracked>();
  const buf = Buffer.alloc(1024);
  return async (pids) => {
    const out: Usage = new Map();
    const wanted = new Set(pids);
    for (const [pid, t] of tracked) {
      if (!wanted.has(pid)) {
        closeQuietly(t.fd);
        tracked.delete(pid);
      }
    }
    const now = performance.now();
    for (const pid of pids) {
      let t = tracked.get(pid);
      try {
        if (!t) {
          t = { fd: fs.openSync(`/proc/${pid}/stat`, 'r'), ticks: -1, at: now };
          tracked.set(pid, t);
        }
        const n = fs.readSync(t.fd, buf, 0, buf.length, 0);
        const text = buf.toString('latin1', 0, n);
        // Fields after the command name (which may hold spaces): state is field 3.
        const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(f[11]) + Number(f[12]);
        const rss = Number(f[21]) * pageSize;
        const seconds = (now - t.at) / 1000;
        const cpu = t.ticks >= 0 && seconds > 0 ? ((ticks - t.ticks) / CLOCK_TICKS / seconds) * 100 : 0;
        t.ticks = ticks;
        t.at = now;
        out.set(pid, { rss, cpu });
      } catch {
        // The worker exited meanwhile: its exit event follows.
        if (t) closeQuietly(t.fd);
        tracked.delete(pid);
      }
    }
    return out;
  };
}

/** The page size, from this process's own resident pages and its RSS in bytes. */
function detectPageSize(): number {
  try {
    const pages = Number(fs.readFileSync('/proc/self/statm', 'latin1').split(' ')[1]);
    const ratio = process.memoryUsage.rss() / pages;
    return 2 ** Math.round(Math.log2(ratio));
  } catch {
    return 4096;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

/** One pidusage call per pid, so a pid that exited meanwhile does not spoil the others. */
async function sampleWithPidusage(pids: number[]): Promise<Usage> {
  const pidusage = require('pidusage') as typeof import('pidusage');
  const out: Usage = new Map();
  const results = await Promise.allSettled(pids.map((pid) => pidusage(pid)));
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') out.set(pids[i]!, { rss: r.value.memory, cpu: r.value.cpu });
  });
  return out;
}
