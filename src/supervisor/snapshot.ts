/** Builds the status document from the supervisor's state (pure). */
import { commandLine } from '../config/runner';
import type { StatusSnapshot, WorkerStatus } from '../status/snapshot';
import { draining, isReloading, liveWorkers, readyCount } from './queries';
import { connectionsCutTotal } from './policy/connections';
import type { ClusterState } from './state';

export interface PrimaryInfo {
  pid: number;
  configSource: string;
  node: string;
  rssBytes: number;
}

export function buildSnapshot(state: ClusterState, now: number, primary: PrimaryInfo): StatusSnapshot {
  const workers: WorkerStatus[] = [...liveWorkers(state)]
    .sort((a, b) => a.app.localeCompare(b.app) || a.slot - b.slot || a.id - b.id)
    .map((w) => ({
      app: w.app,
      id: w.id,
      slot: w.slot,
      pid: w.pid,
      generation: w.generation,
      state: w.state,
      uptimeMs: now - w.forkedAt,
      served: w.served,
      requestLimit: w.requestLimit,
      inflight: w.inflight,
      connections: w.connections,
      idleConnections: w.idle,
      upgradedConnections: w.upgraded,
      streamingResponses: w.streaming,
      drainLeftMs: w.drainDeadline === null || w.state === 'ready' ? null : Math.max(0, w.drainDeadline - now),
      activeTasks: w.activeTasks,
      activeTasksByType: { ...w.tasks.activeByType },
      rssBytes: w.rssBytes,
      cpuPercent: w.cpuPercent,
      loopDelayMs: w.loopDelayMs,
      heartbeatAgeMs: w.lastHeartbeatAt === null ? null : now - w.lastHeartbeatAt,
      restarts: w.generation,
      retireReason: w.exitReason !== null && w.exitReason !== 'stop' && w.exitReason !== 'disconnect' ? w.exitReason : null,
    }));

  const t = state.totals;
  const activeTasksByType: Record<string, number> = {};
  let started = t.exitedTasks.started;
  let completed = t.exitedTasks.completed;
  let failed = t.exitedTasks.failed;
  let cancelled = t.exitedTasks.cancelled;
  let served = t.exitedServed;
  for (const w of liveWorkers(state)) {
    started += w.tasks.started;
    completed += w.tasks.completed;
    failed += w.tasks.failed;
    cancelled += w.tasks.cancelled;
    served += w.served;
    for (const [type, n] of Object.entries(w.tasks.activeByType)) activeTasksByType[type] = (activeTasksByType[type] ?? 0) + n;
  }

  const reloading = isReloading(state);
  return {
    version: 1,
    primary: {
      pid: primary.pid,
      uptimeMs: now - state.startedAt,
      phase: state.phase === 'stopping' ? 'stopping' : reloading ? 'reloading' : 'running',
      configSource: primary.configSource,
      node: primary.node,
      rssBytes: primary.rssBytes,
    },
    apps: Object.values(state.apps).map((a) => ({
      name: a.settings.name,
      script: a.settings.script,
      desiredWorkers: a.desired,
      readyWorkers: readyCount(state, a.settings.name),
      stoppedSlots: a.slots.slice(0, a.desired).flatMap((record, slot) => (record.stopped ? [{ slot, reason: record.stopped }] : [])),
      maxRequests: a.settings.maxRequests,
      maxMemoryBytes: a.settings.maxMemory,
      maxMemoryHardBytes: a.settings.maxMemoryHard,
      kind: a.settings.kind,
      command: commandLine(a.settings),
      ...(a.failure === null ? {} : { failure: a.failure.error }),
    })),
    workers,
    totals: {
      tasksStarted: started,
      tasksCompleted: completed,
      tasksFailed: failed,
      tasksCancelled: cancelled,
      tasksLost: t.tasksLost,
      activeTasksByType,
      recyclesByReason: { ...t.recyclesByReason },
      recyclesDelayedByTasks: t.recyclesDelayedByTasks,
      // Waits still going on count up to now.
      taskWaitTotalMs: liveWorkers(state).reduce((ms, w) => ms + (w.waitingSince === null ? 0 : now - w.waitingSince), t.taskWaitTotalMs),
      requestsServed: served,
      processesKilled: t.processesKilled,
      connectionsCutTotal: connectionsCutTotal(t),
      connectionsCut: JSON.parse(JSON.stringify(t.connectionsCut)) as Record<string, Record<string, number>>,
      appsFailed: t.appsFailed,
    },
    draining: draining(state, now),
  };
}
