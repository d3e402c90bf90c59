import type { Settings } from '../../src/config/types';
import { initialState, step } from '../../src/supervisor/policy';
import type { ClusterState, Effect, SupervisorEvent, WorkerRecord } from '../../src/supervisor/state';
import type { ReportMessage } from '../../src/protocol';
import { appSettings, settingsWith } from '../helpers/settings';

export { appSettings, settingsWith };

/** Drives the pure policy with a fake clock and records every effect. */
export class Sim {
  state: ClusterState;
  now = 1_000_000;
  effects: Effect[] = [];
  random: () => number = () => 0.5;
  private pid = 1000;

  constructor(settings: Settings) {
    this.state = initialState(settings, this.now);
  }

  send(event: SupervisorEvent): Effect[] {
    const { state, effects } = step(this.state, event, { now: this.now, random: () => this.random() });
    // step shares unchanged records with the previous state: frozen, any write to one throws.
    this.state = deepFreeze(state);
    this.effects.push(...effects);
    // The executor reports a pid for every fork.
    for (const e of effects) if (e.type === 'fork') this.send({ type: 'forked', id: e.id, pid: this.pid++ });
    return effects;
  }

  advance(ms: number, tickEvery = 100): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + tickEvery);
      this.send({ type: 'tick' });
    }
  }

  /** Start, and make every starting worker ready. */
  boot(): void {
    this.send({ type: 'start' });
    this.readyAll();
  }

  readyAll(): void {
    for (const w of this.workers('starting')) this.send({ type: 'listening', id: w.id });
  }

  workers(state?: WorkerRecord['state']): WorkerRecord[] {
    return Object.values(this.state.workers).filter((w) => state === undefined || w.state === state);
  }

  worker(id: number): WorkerRecord {
    const w = this.state.workers[id];
    if (!w) throw new Error(`no worker ${id}`);
    return w;
  }

  report(id: number, patch: Partial<Omit<ReportMessage, '$sw'>> & { active?: Record<string, number> } = {}): void {
    const w = this.worker(id);
    const activeByType = patch.active ?? w.tasks.activeByType;
    this.send({
      type: 'message',
      id,
      message: {
        $sw: 'report',
        served: patch.served ?? w.served,
        inflight: patch.inflight ?? 0,
        connections: patch.connections ?? 0,
        ...(patch.idle === undefined ? {} : { idle: patch.idle }),
        ...(patch.upgraded === undefined ? {} : { upgraded: patch.upgraded }),
        ...(patch.streaming === undefined ? {} : { streaming: patch.streaming }),
        loopDelayMs: patch.loopDelayMs ?? 1,
        tasks: { started: 0, completed: 0, failed: 0, cancelled: 0, activeByType },
      },
    });
  }

  exit(id: number, code: number | null = 0, signal: string | null = null): void {
    this.send({ type: 'exit', id, code, signal });
  }

  take(): Effect[] {
    const out = this.effects;
    this.effects = [];
    return out;
  }

  of<T extends Effect['type']>(type: T): Extract<Effect, { type: T }>[] {
    return this.take().filter((e): e is Extract<Effect, { type: T }> => e.type === type);
  }
}

/** The effects that act on the world; logs and refusals (`rejected`) are reports, left out. */
export function kinds(effects: Effect[]): string[] {
  return effects.filter((e) => e.type !== 'log' && e.type !== 'rejected').map((e) => (e.type === 'send' ? `send:${e.message.$sw}:${e.id}` : `${e.type}:${'id' in e ? e.id : ''}`));
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
