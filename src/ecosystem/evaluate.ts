/**
 * Evaluating a JavaScript ecosystem file with bounds on time and size. pm2 require()s the file in
 * its CLI; so does smartworkers for CommonJS, in-process (a worker thread or a child process costs
 * 100–300 ms on a busy 2-core machine, more than the whole start of the bundled CLI), but under a
 * vm timeout: V8 stops the evaluation, getters and all, after {@link EVALUATE_TIMEOUT_MS}. The
 * export is copied as JSON inside that bound — what pm2 sends its daemon is JSON too — so a getter
 * that throws or loops is the file's error, not the CLI's.
 *
 * An ES module cannot be imported synchronously under a timeout in-process (import() runs after
 * the caller returns, and a SIGHUP re-read must be synchronous and fresh): it is evaluated in a
 * worker thread with a heap limit, which the caller waits for with Atomics.wait and terminates
 * when it does not answer in time.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { checkRegularFile, FileReadError, readRegularFile } from '../config/read-file';
import { ESM_EVALUATOR_SOURCE } from './import-module';

/** How long evaluating an ecosystem file may take: generous for a loaded machine, finite for a hang. */
export const EVALUATE_TIMEOUT_MS = 10_000;
/** The largest export accepted, as JSON. */
export const MAX_EXPORT_BYTES = 4 * 1024 * 1024;
/** The heap an ES-module ecosystem file may use in its worker thread. */
const ESM_HEAP_MB = 256;

/** Why evaluating failed, as a phrase for the one-line SW_ECOSYSTEM_FILE message. */
export class EvaluateError extends Error {}

type ModuleFormat = 'commonjs' | 'module';

/** The nearest package.json above `file` (as Node looks it up for "type"), or undefined. */
function nearestPackageJson(file: string): string | undefined {
  let dir = path.dirname(file);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      checkRegularFile(candidate);
      return candidate;
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }
}

function packageType(packageJson: string | undefined): ModuleFormat {
  if (packageJson === undefined) return 'commonjs';
  try {
    const data = JSON.parse(readRegularFile(packageJson)) as { type?: unknown };
    return data.type === 'module' ? 'module' : 'commonjs';
  } catch {
    return 'commonjs';
  }
}

function formatOf(file: string): { format: ModuleFormat; packageJson?: string } {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.mjs') return { format: 'module' };
  if (ext === '.cjs') return { format: 'commonjs' };
  const packageJson = nearestPackageJson(file);
  return { format: packageType(packageJson), packageJson };
}

function renamed(file: string, ext: string): string {
  return path.basename(file, path.extname(file)) + ext;
}

/** The one line for a file whose module syntax does not match how Node loads it, or undefined. */
function mismatch(file: string, message: string, format: ModuleFormat, packageJson: string | undefined): string | undefined {
  const base = path.basename(file);
  if (format === 'module' && /\b(module|exports|require|__dirname|__filename) is not defined in ES module scope/.test(message)) {
    const why = packageJson === undefined ? 'a .mjs file is an ES module' : `${packageJson} has "type": "module"`;
    return `it uses CommonJS (\`module.exports\` / \`require\`) but is loaded as an ES module (${why}): rename it to ${renamed(file, '.cjs')}, or write \`export default { apps: [...] }\``;
  }
  if (format === 'commonjs' && /Cannot use import statement outside a module|Unexpected token 'export'/.test(message)) {
    const why = path.extname(file) === '.cjs' ? 'a .cjs file is CommonJS' : `${packageJson ?? 'no package.json'} has no "type": "module"`;
    return `it uses ES module syntax (\`export\` / \`import\`) but is loaded as CommonJS (${why}): rename ${base} to ${renamed(file, '.mjs')}, or write \`module.exports = { apps: [...] }\``;
  }
  return undefined;
}

function firstLine(message: string): string {
  return (message.split('\n').find((line) => line.trim() !== '') ?? message).trim();
}

const GUARDED = '__smartworkersGuardedEvaluation';

/** Runs `fn` under a vm timeout: V8 terminates it, wherever it loops, once `timeoutMs` has passed. */
function withTimeout<T>(fn: () => T, timeoutMs: number): T {
  (globalThis as Record<string, unknown>)[GUARDED] = fn;
  try {
    return new vm.Script(`globalThis.${GUARDED}()`).runInThisContext({ timeout: timeoutMs }) as T;
  } finally {
    delete (globalThis as Record<string, unknown>)[GUARDED];
  }
}

function isModuleNamespace(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Module]';
}

/** A module's configuration object: its default export when it has one (transpiled CJS). */
function moduleValue(mod: unknown): unknown {
  if (typeof mod === 'object' && mod !== null && 'default' in mod && !('apps' in mod)) return (mod as { default: unknown }).default;
  return mod;
}

function fromJson(json: string | undefined): unknown {
  if (json === undefined) throw new EvaluateError('it exports nothing usable (undefined or a function); export `{ apps: [...] }`');
  if (json.length > MAX_EXPORT_BYTES) throw new EvaluateError(`its export is larger than ${MAX_EXPORT_BYTES / 1048576} MiB as JSON, the limit`);
  return JSON.parse(json) as unknown;
}

const NAMESPACE = Symbol('an ES module namespace');

function evaluateCommonJs(file: string, timeoutMs: number): unknown {
  const resolved = require.resolve(file);
  delete require.cache[resolved];
  try {
    return withTimeout(() => {
      const mod = require(resolved) as unknown;
      // An ES module Node required by its syntax (Node >= 20.19): evaluated again in a worker,
      // since Node keeps it cached and a re-read must be fresh.
      if (isModuleNamespace(mod)) return NAMESPACE;
      return JSON.stringify(moduleValue(mod)) ?? null;
    }, timeoutMs);
  } finally {
    delete require.cache[resolved];
  }
}

function evaluateEsm(file: string, timeoutMs: number): string | undefined {
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const url = pathToFileURL(file);
  // A fresh module each time (SIGHUP re-reads it); the worker's module map dies with it anyway.
  url.searchParams.set('smartworkers-read', String(Date.now()));
  const worker = new Worker(ESM_EVALUATOR_SOURCE, {
    eval: true,
    workerData: { href: url.href, flag, port: port2, maxBytes: MAX_EXPORT_BYTES },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: ESM_HEAP_MB },
    // The file's own console output is dropped, as when the CLI is not a terminal.
    stdout: true,
    stderr: true,
  });
  try {
    const woke = Atomics.wait(new Int32Array(flag), 0, 0, timeoutMs);
    const reply = receiveMessageOnPort(port1)?.message as { ok: boolean; json?: string; message?: string } | undefined;
    if (woke === 'timed-out' || reply === undefined) {
      throw new EvaluateError(`evaluating it did not finish within ${timeoutMs / 1000}s or used more than ${ESM_HEAP_MB} MB (an endless loop, a promise that never settles?)`);
    }
    if (!reply.ok) throw new Error(reply.message);
    return reply.json;
  } finally {
    port1.close();
    void worker.terminate();
  }
}

export interface EvaluateOptions {
  /** Default {@link EVALUATE_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * The value a .js / .cjs / .mjs ecosystem file exports, as plain data (JSON), evaluated afresh.
 * Throws an {@link EvaluateError} whose message is one line saying why.
 */
export function evaluateEcosystemModule(file: string, options: EvaluateOptions = {}): unknown {
  const timeoutMs = options.timeoutMs ?? EVALUATE_TIMEOUT_MS;
  try {
    checkRegularFile(file);
  } catch (error) {
    throw new EvaluateError((error as FileReadError).message);
  }
  const { format, packageJson } = formatOf(file);
  try {
    if (format === 'module') return fromJson(evaluateEsm(file, timeoutMs));
    const result = evaluateCommonJs(file, timeoutMs);
    return result === NAMESPACE ? fromJson(evaluateEsm(file, timeoutMs)) : fromJson(result === null ? undefined : (result as string));
  } catch (error) {
    if (error instanceof EvaluateError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new EvaluateError(`evaluating it did not finish within ${timeoutMs / 1000}s (an endless loop?)`);
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new EvaluateError(mismatch(file, message, format, packageJson) ?? firstLine(message));
  }
}
