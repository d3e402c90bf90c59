import { describe, expect, it } from 'vitest';
import {
  COMMANDS,
  encodeError,
  encodeRequest,
  encodeResult,
  parseReplyLine,
  parseRequest,
  parseRequestLine,
  toRecycleTarget,
  toScaleSpec,
} from '../../src/control/protocol';

function rejected(line: string): { id: unknown; message: string } {
  const parsed = parseRequestLine(line);
  if (parsed.ok) throw new Error(`expected ${line} to be rejected`);
  expect(parsed.code).toBe('SW_CONTROL_BAD_REQUEST');
  return parsed;
}

describe('control protocol requests', () => {
  it('accepts every command with well-formed arguments', () => {
    const good: Array<[string, unknown]> = [
      ['status', {}],
      ['tasks', {}],
      ['reload', {}],
      ['reload', { app: 'api', wait: false }],
      ['recycle', { slot: 0 }],
      ['recycle', { app: 'api', slot: 'all', force: true, wait: true }],
      ['scale', { absolute: 4 }],
      ['scale', { delta: -1, app: 'api', wait: false }],
      ['stop', { force: true }],
      ['deploy', { config: '/srv/shop/workers.yaml', env: 'production', wait: true }],
      ['queues', {}],
      ['queues', { action: 'pause', queue: 'email' }],
      ['queues', { action: 'resume' }],
    ];
    for (const [cmd, args] of good) {
      const parsed = parseRequest({ v: 1, id: 'r1', cmd, args });
      expect(parsed, `${cmd} ${JSON.stringify(args)}`).toEqual({ ok: true, request: { v: 1, id: 'r1', cmd, args } });
    }
    expect(COMMANDS).toEqual(['status', 'tasks', 'reload', 'recycle', 'scale', 'stop', 'deploy', 'queues', 'logs', 'task-cancel', 'task-history', 'task-pause', 'task-resume']);
  });

  it('treats missing args as none', () => {
    expect(parseRequestLine('{"v":1,"id":3,"cmd":"status"}')).toEqual({ ok: true, request: { v: 1, id: 3, cmd: 'status', args: {} } });
  });

  it('round-trips what encodeRequest writes', () => {
    const line = encodeRequest(9, 'scale', { delta: 2 });
    expect(line.endsWith('\n')).toBe(true);
    expect(parseRequestLine(line.trim())).toEqual({ ok: true, request: { v: 1, id: 9, cmd: 'scale', args: { delta: 2 } } });
  });

  it('names the problem and what is accepted', () => {
    expect(rejected('{nope').message).toMatch(/not valid JSON.*one JSON object per line/);
    expect(rejected('[1,2]').message).toMatch(/request object \{v, id, cmd, args\}/);
    expect(rejected('{"v":1,"cmd":"status"}').message).toMatch(/'id'.*non-empty string or a whole number/);
    const wrongVersion = rejected('{"v":2,"id":1,"cmd":"status"}');
    expect(wrongVersion.id).toBe(1);
    expect(wrongVersion.message).toMatch(/version 'v' to be 1, got 2/);
    expect(rejected('{"v":1,"id":1,"cmd":"restart"}').message).toBe(
      'unknown command "restart"; expected one of status, tasks, reload, recycle, scale, stop, deploy, queues, logs, task-cancel, task-history, task-pause, task-resume',
    );
    expect(rejected('{"v":1,"id":1,"cmd":"status","extra":1}').message).toMatch(/unknown request field 'extra'/);
    expect(rejected('{"v":1,"id":1,"cmd":"status","args":[]}').message).toMatch(/'args' to be an object/);
    expect(rejected('{"v":1,"id":1,"cmd":"status","args":{"x":1}}').message).toBe("'status' takes no arguments; got unknown argument 'x'");
    expect(rejected('{"v":1,"id":1,"cmd":"reload","args":{"wait":"yes"}}').message).toBe(
      `Expected 'reload' argument 'wait' to be true or false, got "yes"`,
    );
    expect(rejected('{"v":1,"id":1,"cmd":"recycle","args":{}}').message).toMatch(/needs argument 'slot' \(a whole number ≥ 0 or "all"\)/);
    expect(rejected('{"v":1,"id":1,"cmd":"recycle","args":{"slot":-1}}').message).toMatch(/'slot' to be a whole number ≥ 0 or "all", got -1/);
    expect(rejected('{"v":1,"id":1,"cmd":"recycle","args":{"slot":1.5}}').message).toMatch(/got 1.5/);
    expect(rejected('{"v":1,"id":1,"cmd":"deploy","args":{}}').message).toBe("'deploy' needs argument 'config' (an absolute path)");
    expect(rejected('{"v":1,"id":1,"cmd":"deploy","args":{"config":"rel.yaml"}}').message).toBe(`Expected 'deploy' argument 'config' to be an absolute path, got "rel.yaml"`);
    expect(rejected('{"v":1,"id":1,"cmd":"scale","args":{}}').message).toMatch(/exactly one of 'absolute'.*'delta'/);
    expect(rejected('{"v":1,"id":1,"cmd":"scale","args":{"absolute":2,"delta":1}}').message).toMatch(/exactly one/);
    expect(rejected('{"v":1,"id":1,"cmd":"scale","args":{"delta":0}}').message).toMatch(/'delta' to be a whole number other than 0/);
    expect(rejected('{"v":1,"id":1,"cmd":"scale","args":{"app":"","absolute":1}}').message).toMatch(/'app' to be an app name/);
    expect(rejected('{"v":1,"id":1,"cmd":"stop","args":{"force":1}}').message).toMatch(/'force' to be true or false/);
  });

  it('never throws, whatever the input', () => {
    for (const line of ['', 'null', '1', '"x"', '{"v":1,"id":{},"cmd":"status"}', '{"__proto__":{"x":1}}', '{"v":1,"id":1,"cmd":"toString"}']) {
      expect(parseRequestLine(line).ok).toBe(false);
    }
    expect(parseRequest(undefined).ok).toBe(false);
  });
});

describe('control protocol replies', () => {
  it('encodes results and errors, and the client parses them', () => {
    expect(parseReplyLine(encodeResult(1, { a: 1 }).trim())).toEqual({ ok: true, reply: { v: 1, id: 1, ok: true, result: { a: 1 } } });
    expect(parseReplyLine(encodeError(null, { code: 'SW_X', message: 'm' }).trim())).toEqual({
      ok: true,
      reply: { v: 1, id: null, ok: false, error: { code: 'SW_X', message: 'm' } },
    });
    expect(parseReplyLine('garbage').ok).toBe(false);
    expect(parseReplyLine('{"v":2,"id":1,"ok":true}').ok).toBe(false);
    expect(parseReplyLine('{"v":1,"id":1,"ok":false}').ok).toBe(false);
  });

  it('maps protocol args to the supervisor contract', () => {
    expect(toRecycleTarget({ slot: 2, force: true })).toEqual({ slot: 2 });
    expect(toRecycleTarget({ app: 'api', slot: 'all' })).toEqual({ app: 'api', slot: 'all' });
    expect(toScaleSpec({ absolute: 3, wait: true })).toEqual({ absolute: 3 });
    expect(toScaleSpec({ app: 'api', delta: -2 })).toEqual({ app: 'api', delta: -2 });
  });
});
