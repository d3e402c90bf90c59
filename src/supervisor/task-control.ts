/**
 * The `tasks cancel | history | pause | resume` commands as the control socket sees them: each
 * is one `task-op` to every live worker (a task id is not tied to a worker the primary knows),
 * answered in one line that says what happened or why nothing did.
 */
import type { CancelOutcome } from '../worker/tasks';
import type { ActionResult, ClusterControl, HistoryRow, TaskHistoryResult } from '../control/types';
import type { TaskHistoryEntry } from '../protocol';
import type { Supervisor } from './supervisor';

type TaskControl = Required<Pick<ClusterControl, 'cancelTask' | 'taskHistory' | 'pauseTasks'>>;

export function createTaskControl(supervisor: Supervisor): TaskControl {
  const broker = supervisor.taskBroker;

  function appNames(app: string | undefined): string[] | ActionResult {
    const names = Object.keys(supervisor.state.apps);
    if (app === undefined) return names;
    if (names.includes(app)) return [app];
    return { ok: false, message: `no app named '${app}'; apps: ${names.join(', ')}` };
  }

  return {
    async cancelTask(id) {
      const answers = await broker.ask('cancel', { id });
      let ended: { type: string; status: string } | null = null;
      let notCancellable: string | null = null;
      for (const { workerId, result } of answers) {
        const outcome = result as CancelOutcome;
        const w = supervisor.state.workers[workerId];
        const where = { workerId, app: w?.app, slot: w?.slot, pid: w?.pid };
        if (outcome.outcome === 'dequeued') {
          return { ok: true, message: `task ${id} (${outcome.type}) cancelled while queued in worker ${workerId}: it will not start`, details: { id, outcome: 'dequeued', ...where } };
        }
        if (outcome.outcome === 'signalled') {
          return { ok: true, message: `task ${id} (${outcome.type}) cancelled in worker ${workerId}: its signal is aborted ('cancelled')`, details: { id, outcome: 'signalled', ...where } };
        }
        if (outcome.outcome === 'not-cancellable') notCancellable = outcome.type;
        if (outcome.outcome === 'ended') ended = { type: outcome.type, status: outcome.status };
      }
      if (notCancellable !== null) {
        return { ok: false, message: `task ${id} (${notCancellable}) cannot be cancelled: it has no signal (started with tasks.register or tasks.track, or its function takes no \`signal\` parameter); use tasks.run((signal) => …)` };
      }
      if (ended !== null) return { ok: false, message: `task ${id} (${ended.type}) has already ended (${ended.status}); nothing to cancel` };
      const exited = broker.exited().reverse().find((e) => e.id === id);
      if (exited) return { ok: false, message: `task ${id} (${exited.type}) has already ended (${exited.status}); nothing to cancel` };
      return { ok: false, message: `no task with id ${JSON.stringify(id)} is running or queued; see \`smartworkers tasks\`` };
    },

    async taskHistory(filter): Promise<TaskHistoryResult> {
      const names = appNames(filter.app);
      if (!Array.isArray(names)) throw new Error(names.message);
      const rows: HistoryRow[] = [];
      for (const e of broker.exited(filter.app)) rows.push({ ...strip(e), app: e.app, workerId: e.workerId, slot: e.slot, exited: true });
      const answers = await broker.ask('history', {}, filter.app);
      for (const { workerId, result } of answers) {
        const w = supervisor.state.workers[workerId];
        for (const e of (result as { entries: TaskHistoryEntry[] }).entries ?? []) {
          rows.push({ ...e, app: w?.app ?? '?', workerId, slot: w?.slot ?? -1, exited: false });
        }
      }
      const entries = rows
        .filter((r) => (filter.type === undefined || r.type === filter.type) && (!filter.failed || r.status === 'failed'))
        .sort((a, b) => a.startedAt + a.durationMs - (b.startedAt + b.durationMs));
      return { entries };
    },

    async pauseTasks(app, type, paused) {
      const names = appNames(app);
      if (!Array.isArray(names)) return names;
      const verb = paused ? 'paused' : 'resumed';
      if (type !== undefined) {
        const configured = names.some((name) => supervisor.state.apps[name]?.settings.taskTypes?.[type] !== undefined);
        const known = configured || (await broker.ask('knows', { type }, app)).some((a) => (a.result as { known?: boolean }).known === true);
        if (!known) {
          return { ok: false, message: `unknown task type '${type}': it is not in task_types and no worker has run one; nothing ${verb}` };
        }
      }
      for (const name of names) broker.setPaused(name, type, paused);
      const answers = await broker.ask(paused ? 'pause' : 'resume', type === undefined ? {} : { type }, app);
      const what = type === undefined ? 'every task type' : `task type '${type}'`;
      const detail = paused ? 'new tasks.run calls wait, running tasks finish, HTTP keeps serving' : 'waiting tasks start';
      return { ok: true, message: `${what} ${verb} in ${answers.length} worker(s)${app ? ` of ${app}` : ''}: ${detail}`, details: { type: type ?? null, workers: answers.map((a) => a.workerId) } };
    },
  };
}

function strip<T extends TaskHistoryEntry>(e: T): TaskHistoryEntry {
  const { id, type, status, startedAt, durationMs, description, error } = e;
  const out: TaskHistoryEntry = { id, type, status, startedAt, durationMs };
  if (description !== undefined) out.description = description;
  if (error !== undefined) out.error = error;
  return out;
}
