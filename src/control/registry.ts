/**
 * The registry of running clusters: one small JSON record per primary in the state directory
 * (`<state dir>/<id>.json`, next to its default socket), so the CLI finds every cluster of the
 * user from any directory (`smartworkers ls`, `status` with no flags). A record whose primary is
 * gone (dead pid, or its socket removed) is stale: readers delete it.
 *
 * The records are trusted only as far as the state directory is (owned by the user, 0700, see
 * socket-safety.ts); the socket a record names is still checked before the CLI connects to it.
 */
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SmartworkersError } from '../errors';
import { currentUid } from './socket-safety';
import { prepareStateDirectory } from './socket-path';

export interface ClusterRecord {
  /** `<label>-<hash>` of the project directory: unique per project. */
  id: string;
  /** The project directory's base name: what a person types. */
  name: string;
  pid: number;
  socket: string;
  /** Absolute path of the config file; null without one. */
  config: string | null;
  cwd: string;
  /** ISO time the primary started. */
  started: string;
  /** Where a daemon's stdout and stderr go (`start --daemon`); absent in the foreground. */
  logs?: { out: string; err: string };
}

const RECORD = /^[A-Za-z0-9._-]+\.json$/;

export function recordPath(stateDir: string, id: string): string {
  return path.join(stateDir, `${id}.json`);
}

/** Writes the record (atomically, mode 0600); returns the function that removes it again. */
export function registerCluster(stateDir: string, record: ClusterRecord): () => void {
  prepareStateDirectory(stateDir);
  const target = recordPath(stateDir, record.id);
  const temp = `${target}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(record)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, target);
  return () => {
    // Only our own record: a primary that started after us under the same id owns it now.
    if (readRecord(target)?.pid === record.pid) removeQuietly(target);
  };
}

function readRecord(file: string, uid: number = currentUid()): ClusterRecord | undefined {
  try {
    const stat = lstatSync(file);
    if (!stat.isFile() || (stat.uid !== uid && stat.uid !== 0)) return undefined;
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<ClusterRecord>;
    if (
      typeof value.id !== 'string' ||
      typeof value.name !== 'string' ||
      typeof value.pid !== 'number' ||
      typeof value.socket !== 'string' ||
      !path.isAbsolute(value.socket) ||
      typeof value.started !== 'string'
    ) {
      return undefined;
    }
    return { config: null, cwd: '/', ...value } as ClusterRecord;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function socketPresent(socket: string): boolean {
  try {
    return lstatSync(socket).isSocket();
  } catch {
    return false;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** The running clusters, oldest first; stale records (and their sockets in the state dir) are removed. */
export function listClusters(stateDir: string): ClusterRecord[] {
  let names: string[];
  try {
    names = readdirSync(stateDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new SmartworkersError('SW_CONTROL_SOCKET', `cannot read the state directory ${stateDir}: ${(error as Error).message}`);
  }
  const live: ClusterRecord[] = [];
  for (const name of names) {
    if (!RECORD.test(name)) continue;
    const file = path.join(stateDir, name);
    const record = readRecord(file);
    if (!record) continue;
    if (pidAlive(record.pid) && socketPresent(record.socket)) {
      live.push(record);
      continue;
    }
    removeQuietly(file);
    // The socket is removed only where smartworkers put it, and only once the pid is gone.
    if (!pidAlive(record.pid) && path.dirname(record.socket) === stateDir && socketPresent(record.socket)) removeQuietly(record.socket);
  }
  return live.sort((a, b) => a.started.localeCompare(b.started));
}

/** The record whose name or id is `name`: exactly one, or an error listing what runs. */
export function findByName(clusters: ClusterRecord[], name: string): ClusterRecord {
  const byId = clusters.find((c) => c.id === name);
  if (byId) return byId;
  const byName = clusters.filter((c) => c.name === name);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) {
    throw new SmartworkersError('SW_SEVERAL_CLUSTERS', `several clusters are named '${name}'; pick one by id: ${byName.map((c) => c.id).join(', ')}`);
  }
  throw new SmartworkersError('SW_NOT_RUNNING', `no cluster named '${name}' is running; ${describeRunning(clusters)}`);
}

/** "running: shop (pid 12, /srv/shop/workers.yaml), …" or "none is running". */
export function describeRunning(clusters: ClusterRecord[]): string {
  if (clusters.length === 0) return 'none is running';
  return `running: ${clusters.map((c) => `${c.name} (pid ${c.pid}, ${c.config ?? c.cwd})`).join(', ')}`;
}
