/**
 * Memory of a process app's worker is the RSS of its whole process tree: a shell's children,
 * Celery's or gunicorn's pool, a package manager's app. Descendants are found through
 * /proc/<pid>/task/<tid>/children (Linux), at each sample, and sampled with the worker; elsewhere
 * the worker's own process only.
 */
import fs from 'node:fs';
import type { Usage } from '../supervisor/procstat';

/** Bounds a runaway fork bomb's cost to the primary. */
const MAX_DESCENDANTS = 512;

/** Every descendant of `pid` (children, grandchildren, …), read from /proc. */
export function descendants(pid: number, procDir = '/proc'): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < MAX_DESCENDANTS) {
    const parent = queue.shift()!;
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`${procDir}/${parent}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      let text: string;
      try {
        text = fs.readFileSync(`${procDir}/${parent}/task/${tid}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const word of text.split(' ')) {
        const child = Number(word);
        if (Number.isInteger(child) && child > 0) {
          out.push(child);
          queue.push(child);
        }
      }
    }
  }
  return out;
}

/**
 * Wraps a sampler: for the pids `isTree` picks, the result is the sum over the process and its
 * descendants; other pids are sampled alone.
 */
export function withTrees(sample: (pids: number[]) => Promise<Usage>, isTree: (pid: number) => boolean): (pids: number[]) => Promise<Usage> {
  return async (pids) => {
    const members = new Map<number, number[]>();
    const all = new Set<number>(pids);
    for (const pid of pids) {
      if (!isTree(pid)) continue;
      const tree = descendants(pid);
      members.set(pid, tree);
      for (const p of tree) all.add(p);
    }
    const usage = await sample([...all]);
    if (members.size === 0) return usage;
    const out: Usage = new Map();
    for (const pid of pids) {
      const own = usage.get(pid);
      if (!own) continue;
      let { rss, cpu } = own;
      for (const p of members.get(pid) ?? []) {
        const u = usage.get(p);
        if (u) {
          rss += u.rss;
          cpu += u.cpu;
        }
      }
      out.set(pid, { rss, cpu });
    }
    return out;
  };
}
