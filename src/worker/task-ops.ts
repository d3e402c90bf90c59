/** The worker's side of the `tasks` CLI commands: one `task-op` in, one `task-reply` out. */
import type { TaskOpMessage } from '../protocol';
import type { TaskRegistry } from './tasks';

export function answerTaskOp(tasks: TaskRegistry, message: TaskOpMessage): unknown {
  switch (message.op) {
    case 'list':
      return { tasks: tasks.active() };
    case 'history':
      return { entries: tasks.history() };
    case 'cancel':
      return message.id === undefined ? { outcome: 'unknown' } : tasks.cancel(message.id);
    case 'knows':
      return { known: message.type !== undefined && tasks.knowsType(message.type) };
    case 'pause':
      tasks.pause(message.type);
      return { paused: true };
    case 'resume':
      tasks.resume(message.type);
      return { resumed: true };
  }
}
