/**
 * The control socket protocol: newline-delimited JSON, one request per line, one reply per
 * request, in order.
 *
 *     → {"v":1,"id":7,"cmd":"reload","args":{"app":"api","wait":true}}
 *     ← {"v":1,"id":7,"ok":true,"result":{"ok":true,"message":"reloaded 4 workers of api in 3.2s"}}
 *     ← {"v":1,"id":7,"ok":false,"error":{"code":"SW_CONTROL_BAD_REQUEST","message":"…"}}
 *
 * Plain validators rather than a schema library: every error names what was wrong and
 * what is accepted, in the catalogue's one-line form.
 */
import type { ActionResult, ActiveTask, RecycleTarget, ScaleSpec, TaskHistoryResult } from './types';
import type { StatusSnapshot } from '../status/snapshot';
import type { QueueStatus } from '../bullmq/board';
import type { QueueActionResult } from '../bullmq/types';
import type { LogsResult } from '../logs/query';

/** Bumped on an incompatible change; a server answers other versions with an error. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** Longest request line a server reads, in bytes (newline excluded). */
export const MAX_REQUEST_BYTES = 64 * 1024;

export const COMMANDS = ['status', 'tasks', 'reload', 'recycle', 'scale', 'stop', 'deploy', 'queues', 'logs', 'task-cancel', 'task-history', 'task-pause', 'task-resume'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** Arguments of each command. `wait: false` answers as soon as the action has begun. */
export interface CommandArgs {
  status: Record<string, never>;
  tasks: Record<string, never>;
  reload: { app?: string; wait?: boolean };
  recycle: { app?: string; slot: number | 'all'; force?: boolean; wait?: boolean };
  scale: { app?: string; absolute?: number; delta?: number; wait?: boolean };
  stop: { force?: boolean };
  /** `config`: absolute path of the config file to roll onto; `env`: its env_<name> block. */
  deploy: { config: string; env?: string; wait?: boolean };
  /** BullMQ queues (`smartworkers/bullmq`): list them, or pause / resume one or all in Redis. */
  queues: { action?: 'list' | 'pause' | 'resume'; queue?: string };
  logs: Record<string, never>;
  'task-cancel': { id: string };
  'task-history': { app?: string; type?: string; failed?: boolean };
  'task-pause': { app?: string; type?: string };
  'task-resume': { app?: string; type?: string };
}

export interface TasksResult {
  /** The primary's clock (epoch ms) when the list was taken, to compute "running for". */
  now: number;
  tasks: ActiveTask[];
}

/** What each command answers with. */
export interface CommandResults {
  status: StatusSnapshot;
  tasks: TasksResult;
  reload: ActionResult;
  recycle: ActionResult;
  scale: ActionResult;
  stop: ActionResult;
  deploy: ActionResult;
  queues: QueuesResult;
  logs: LogsResult;
  'task-cancel': ActionResult;
  'task-history': TaskHistoryResult;
  'task-pause': ActionResult;
  'task-resume': ActionResult;
}

/** `queues`: every known queue with its latest counts, and what a pause or resume did to each. */
export interface QueuesResult extends ActionResult {
  queues: QueueStatus[];
  results?: QueueActionResult[];
}

export type RequestId = string | number;

export type ControlRequest = {
  [C in CommandName]: { v: typeof CONTROL_PROTOCOL_VERSION; id: RequestId; cmd: C; args: CommandArgs[C] };
}[CommandName];

export interface ReplyError {
  code: string;
  message: string;
  fix?: string;
}

export type ControlReply =
  | { v: typeof CONTROL_PROTOCOL_VERSION; id: RequestId | null; ok: true; result: unknown }
  | { v: typeof CONTROL_PROTOCOL_VERSION; id: RequestId | null; ok: false; error: ReplyError };

/** The result of checking one request line: a request, or what to answer instead. */
export type ParsedRequest =
  | { ok: true; request: ControlRequest }
  | { ok: false; id: RequestId | null; code: 'SW_CONTROL_BAD_REQUEST'; message: string };

// ---------------------------------------------------------------- validation

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is RequestId =>
  (typeof v === 'string' && v.length > 0 && v.length <= 128) || (typeof v === 'number' && Number.isSafeInteger(v));
const isAppName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
const isSlot = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDelta = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v !== 0;

interface ArgSpec {
  /** For messages, e.g. "slot: a whole number ≥ 0 or \"all\"" */
  accepted: string;
  check: (v: unknown) => boolean;
  required?: boolean;
}

const WAIT: ArgSpec = { accepted: 'true or false', check: (v) => typeof v === 'boolean' };
const FORCE: ArgSpec = { accepted: 'true or false', check: (v) => typeof v === 'boolean' };
const APP: ArgSpec = { accepted: 'an app name', check: isAppName };
const TYPE: ArgSpec = { accepted: 'a task type', check: (v) => typeof v === 'string' && v.length > 0 && v.length <= 64 };

const ARG_SPECS: Record<CommandName, Record<string, ArgSpec>> = {
  status: {},
  tasks: {},
  reload: { app: APP, wait: WAIT },
  recycle: {
    app: APP,
    slot: { accepted: 'a whole number ≥ 0 or "all"', check: (v) => v === 'all' || isSlot(v), required: true },
    force: FORCE,
    wait: WAIT,
  },
  scale: {
    app: APP,
    absolute: { accepted: 'a whole number ≥ 0', check: isCount },
    delta: { accepted: 'a whole number other than 0', check: isDelta },
    wait: WAIT,
  },
  stop: { force: FORCE },
  deploy: {
    config: { accepted: 'an absolute path', check: (v) => typeof v === 'string' && v.startsWith('/') && v.length <= 4096, required: true },
    env: { accepted: 'an env block name', check: isAppName },
    wait: WAIT,
  },
  queues: {
    action: { accepted: '"list", "pause" or "resume"', check: (v) => v === 'list' || v === 'pause' || v === 'resume' },
    queue: { accepted: 'a queue name', check: isAppName },
  },
  logs: {},
  'task-cancel': { id: { accepted: 'a task id', check: (v) => typeof v === 'string' && v.length > 0 && v.length <= 200, required: true } },
  'task-history': { app: APP, type: TYPE, failed: { accepted: 'true or false', check: (v) => typeof v === 'boolean' } },
  'task-pause': { app: APP, type: TYPE },
  'task-resume': { app: APP, type: TYPE },
};

function describeArgs(cmd: CommandName): string {
  const names = Object.entries(ARG_SPECS[cmd]).map(([name, spec]) => `${name}${spec.required ? '' : '?'}`);
  return names.length === 0 ? 'no arguments' : `{${names.join(', ')}}`;
}

function checkArgs(cmd: CommandName, args: Record<string, unknown>): string | null {
  const specs = ARG_SPECS[cmd];
  for (const key of Object.keys(args)) {
    if (!Object.prototype.hasOwnProperty.call(specs, key)) {
      return `'${cmd}' takes ${describeArgs(cmd)}; got unknown argument '${key}'`;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const value = args[name];
    if (value === undefined) {
      if (spec.required) return `'${cmd}' needs argument '${name}' (${spec.accepted})`;
      continue;
    }
    if (!spec.check(value)) return `Expected '${cmd}' argument '${name}' to be ${spec.accepted}, got ${preview(value)}`;
  }
  if (cmd === 'scale' && (args.absolute === undefined) === (args.delta === undefined)) {
    return `'scale' takes exactly one of 'absolute' (a whole number ≥ 0) and 'delta' (a whole number other than 0)`;
  }
  return null;
}

const TOP_LEVEL_KEYS = new Set(['v', 'id', 'cmd', 'args']);

/** Checks one request line (without its newline). Never throws. */
export function parseRequestLine(line: string): ParsedRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return bad(null, `request is not valid JSON (${(error as Error).message}); send one JSON object per line, e.g. {"v":1,"id":1,"cmd":"status","args":{}}`);
  }
  return parseRequest(value);
}

/** Checks a decoded request. Never throws. */
export function parseRequest(value: unknown): ParsedRequest {
  if (!isObj(value)) {
    return bad(null, `Expected a request object {v, id, cmd, args}, got ${preview(value)}`);
  }
  const id = isId(value.id) ? value.id : null;
  if (id === null) {
    return bad(null, `Expected 'id' to be a non-empty string or a whole number, got ${preview(value.id)}`);
  }
  if (value.v !== CONTROL_PROTOCOL_VERSION) {
    return bad(id, `Expected protocol version 'v' to be ${CONTROL_PROTOCOL_VERSION}, got ${preview(value.v)}; this primary speaks version ${CONTROL_PROTOCOL_VERSION}`);
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) return bad(id, `unknown request field '${key}'; a request has v, id, cmd and args`);
  }
  const cmd = value.cmd;
  if (typeof cmd !== 'string' || !(COMMANDS as readonly string[]).includes(cmd)) {
    return bad(id, `unknown command ${preview(cmd)}; expected one of ${COMMANDS.join(', ')}`);
  }
  const command = cmd as CommandName;
  const args = value.args === undefined ? {} : value.args;
  if (!isObj(args)) return bad(id, `Expected 'args' to be an object, got ${preview(args)}`);
  const problem = checkArgs(command, args);
  if (problem) return bad(id, problem);
  return { ok: true, request: { v: CONTROL_PROTOCOL_VERSION, id, cmd: command, args } as ControlRequest };
}

function bad(id: RequestId | null, message: string): ParsedRequest {
  return { ok: false, id, code: 'SW_CONTROL_BAD_REQUEST', message };
}

// ---------------------------------------------------------------- encoding

export function encodeRequest<C extends CommandName>(id: RequestId, cmd: C, args: CommandArgs[C]): string {
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, cmd, args })}\n`;
}

export function encodeResult(id: RequestId, result: unknown): string {
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, ok: true, result })}\n`;
}

export function encodeError(id: RequestId | null, error: ReplyError): string {
  return `${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, id, ok: false, error })}\n`;
}

/** Checks a reply line (the client side). Returns an explanation instead of throwing. */
export function parseReplyLine(line: string): { ok: true; reply: ControlReply } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, message: `reply is not JSON: ${preview(line)}` };
  }
  if (!isObj(value) || value.v !== CONTROL_PROTOCOL_VERSION || typeof value.ok !== 'boolean') {
    return { ok: false, message: `reply is not a version ${CONTROL_PROTOCOL_VERSION} control reply: ${preview(value)}` };
  }
  if (value.ok === false) {
    const error = value.error;
    if (!isObj(error) || typeof error.code !== 'string' || typeof error.message !== 'string') {
      return { ok: false, message: `error reply without {code, message}: ${preview(value)}` };
    }
  }
  return { ok: true, reply: value as unknown as ControlReply };
}

/** Turns the protocol's recycle args into the supervisor's target. */
export function toRecycleTarget(args: CommandArgs['recycle']): RecycleTarget {
  return args.app === undefined ? { slot: args.slot } : { app: args.app, slot: args.slot };
}

/** Turns the protocol's scale args into the supervisor's spec. */
export function toScaleSpec(args: CommandArgs['scale']): ScaleSpec {
  const spec: ScaleSpec = args.absolute !== undefined ? { absolute: args.absolute } : { delta: args.delta };
  if (args.app !== undefined) spec.app = args.app;
  return spec;
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'nothing' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
