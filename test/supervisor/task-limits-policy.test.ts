import { describe, expect, it } from 'vitest';
import { kinds, settingsWith, Sim } from './helpers';

describe('task-driven recycles', () => {
  it('max_tasks: a worker that has started that many tasks is recycled surge-then-retire', () => {
    const sim = new Sim(settingsWith({ workers: 2, maxTasks: 5 }));
    sim.boot();
    sim.take();
    const w = sim.worker(1);
    expect(w.taskLimit).toBe(5);
    sim.send({ type: 'message', id: 1, message: { $sw: 'report', served: 0, inflight: 0, connections: 0, loopDelayMs: 1, tasks: { started: 4, completed: 4, failed: 0, cancelled: 0, activeByType: {} } } });
    expect(sim.of('fork')).toHaveLength(0);
    sim.send({ type: 'message', id: 1, message: { $sw: 'report', served: 0, inflight: 0, connections: 0, loopDelayMs: 1, tasks: { started: 5, completed: 4, failed: 0, cancelled: 0, activeByType: { job: 1 } } } });
    sim.advance(100);
    const forks = sim.of('fork');
    expect(forks).toHaveLength(1);
    expect(sim.worker(1).state).toBe('ready'); // still serving until its replacement is
    sim.send({ type: 'listening', id: forks[0]!.id });
    expect(kinds(sim.take())).toContain('send:retire:1');
    expect(sim.state.totals.recyclesByReason.max_tasks).toBe(1);
  });

  it('a hard time limit recycles the worker with reason hard_time_limit and logs the task', () => {
    const sim = new Sim(settingsWith({ workers: 2 }));
    sim.boot();
    sim.take();
    const effects = sim.send({ type: 'message', id: 2, message: { $sw: 'task-alert', kind: 'hard_time_limit', task: { id: 't-1', type: 'crm', startedAt: sim.now - 5000 } } });
    expect(effects.find((e) => e.type === 'log')).toMatchObject({ level: 'error', fields: { task: { id: 't-1', type: 'crm', runningMs: 5000 } } });
    sim.advance(100);
    const forks = sim.of('fork');
    expect(forks).toHaveLength(1);
    sim.send({ type: 'listening', id: forks[0]!.id });
    expect(kinds(sim.take())).toContain('send:retire:2');
    expect(sim.state.totals.recyclesByReason.hard_time_limit).toBe(1);
  });

  it('an overdue task is logged, not recycled', () => {
    const sim = new Sim(settingsWith({ workers: 1 }));
    sim.boot();
    sim.take();
    const effects = sim.send({ type: 'message', id: 1, message: { $sw: 'task-alert', kind: 'overdue', task: { id: 't-2', type: 'report', startedAt: sim.now - 1000, estimatedMs: 300 } } });
    expect(effects).toEqual([expect.objectContaining({ type: 'log', level: 'warn', msg: expect.stringMatching(/^task overdue/) })]);
    sim.advance(200);
    expect(sim.of('fork')).toHaveLength(0);
  });
});
