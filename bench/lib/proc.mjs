// Process facts from /proc (Linux): state, parent, group, RSS, CPU time. Used to find workers,
// to sample a primary's RSS, and to prove that nothing is left behind after a stop.
import fs from 'node:fs';

/** @returns {{pid:number, comm:string, state:string, ppid:number, pgid:number, cpuTicks:number} | null} */
export function stat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] = state (field 3), f[1] = ppid, f[2] = pgrp, f[11] = utime, f[12] = stime
  return { pid, comm, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]) };
}

export function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

export function allStats() {
  return allPids().map(stat).filter(Boolean);
}

/** Live (non-zombie) children of `pid`. */
export function children(pid) {
  return allStats().filter((s) => s.ppid === pid && s.state !== 'Z').map((s) => s.pid);
}

export function zombieChildren(pid) {
  return allStats().filter((s) => s.ppid === pid && s.state === 'Z').map((s) => s.pid);
}

/** Processes still in process group `pgid`. */
export function groupMembers(pgid) {
  return allStats().filter((s) => s.pgid === pgid);
}

export function alive(pid) {
  const s = stat(pid);
  return s !== null && s.state !== 'Z';
}

/** Resident set size in bytes, or null. */
export function rss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) used so far by `pid`. */
export function cpuSeconds(pid) {
  const s = stat(pid);
  return s ? s.cpuTicks / 100 : null;
}

export function cmdline(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * After a stop: which of `pids` (and which members of `pgid`, when given) are still there,
 * alive or as zombies. Each entry: {pid, state, comm, ppid}.
 */
export function leftovers(pids, pgid) {
  const found = new Map();
  for (const pid of pids) {
    const s = stat(pid);
    if (s) found.set(pid, s);
  }
  if (pgid) for (const s of groupMembers(pgid)) found.set(s.pid, s);
  return [...found.values()].map((s) => ({ pid: s.pid, state: s.state, comm: s.comm, ppid: s.ppid }));
}
