/**
 * What an ecosystem app's `script` (with `args` and `interpreter`) runs, reduced to a JavaScript or
 * TypeScript file smartworkers can fork as node:cluster workers — or one clear error.
 *
 * pm2 runs `script: 'npm', args: 'start'` as one forked npm process, which neither clusters nor
 * forwards signals reliably. Here the package.json script is read (the package manager is never
 * run) and, when it is `node [flags] file [args]`, `tsx file`, `ts-node file`, or a package binary
 * whose target is a JavaScript file (`next start`), that file becomes the app: node flags go to
 * node_args, the file's arguments to args, `A=b` prefixes and `cross-env` to env. Anything that
 * needs a shell, pre/post scripts, watchers that spawn their own children, or a program that is not
 * JavaScript is refused with SW_APP_UNSUPPORTED: process apps (non-Node programs) are not
 * supported yet, and nothing is guessed. `via` says what was resolved, for `check` and the log.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { FileReadError, readRegularFile } from '../config/read-file';
import { fileKind, loaderArgs, type TypeScriptLoader } from '../config/entry-file';
import { SmartworkersError } from '../errors';
import { envAssignment, splitShellWords } from './shell-words';

export interface ScriptInput {
  /** The app's name, for messages. */
  app: string;
  /** `script` as written. */
  script: string;
  /** `args`, already split. */
  args: readonly string[];
  /** `interpreter` / `exec_interpreter` as written, with the spelling used. */
  interpreter?: { field: string; value: string };
  /** The app's cwd (absolute). */
  cwd: string;
  /** Where programs are looked up (PATH); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedScript {
  /** The absolute file the workers run. */
  script: string;
  args: string[];
  /** Node flags the command line gave (or a TypeScript loader), before the app's own node_args. */
  nodeArgs: string[];
  /** Variables the command line set (`NODE_ENV=production node …`, npm's own), below the app's env. */
  env: Record<string, string>;
  /** The working directory npm would run the script in (the package's), when it differs. */
  cwd?: string;
  /** How `script` was resolved, when it was not simply a file. */
  via?: string;
}

const PACKAGE_MANAGERS = new Set(['npm', 'yarn', 'pnpm']);
/** Package binaries that run other processes (watchers, runners): the file they start is not theirs to share a port. */
const SPAWNERS = new Set([
  'nodemon', 'node-dev', 'ts-node-dev', 'tsnd', 'tsc-watch', 'concurrently', 'npm-run-all', 'run-s', 'run-p',
  'pm2', 'pm2-runtime', 'forever', 'nest', 'cross-spawn', 'dotenv',
]);
/** Node flags that take their value as the next word. */
const NODE_VALUE_FLAGS = new Set([
  '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--env-file', '--title',
  '--input-type', '--inspect-port', '--debug-port', '--icu-data-dir', '--openssl-config', '--redirect-warnings',
  '--diagnostic-dir', '--report-dir', '--report-directory', '--report-filename', '--report-signal', '--secure-heap',
  '--secure-heap-min', '--unhandled-rejections', '--heapsnapshot-signal', '--cpu-prof-dir', '--cpu-prof-name',
  '--heap-prof-dir', '--heap-prof-name', '--dns-result-order', '--disable-warning', '--stack-trace-limit',
]);
/** Node flags that make node do something other than run the file once. */
const NODE_NOT_AN_APP = /^(?:-e|--eval|-p|--print|-c|--check|-i|--interactive|--test|--run|-v|--version|-h|--help|--watch|--watch-path)(?:=|$)/;
/** How deep `npm run a` → `npm run b` → … is followed. */
const MAX_DEPTH = 5;

function quote(value: string): string {
  return JSON.stringify(value);
}

function unsupported(input: ScriptInput, what: string): SmartworkersError {
  return new SmartworkersError(
    'SW_APP_UNSUPPORTED',
    `app ${quote(input.app)}: ${what}; process apps (non-Node programs) are not supported yet — smartworkers runs a JavaScript or TypeScript file as node:cluster workers: point \`script\` at the file the command runs`,
  );
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `dir/node_modules/.bin/<name>` in `dir` or a parent, as npm puts package binaries on the PATH. */
function findPackageBin(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', name);
    if (isFile(candidate)) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

interface PackageJson {
  file: string;
  dir: string;
  scripts: Record<string, string>;
  name?: string;
  version?: string;
}

function readPackageJson(input: ScriptInput, command: string, fromDir: string): PackageJson {
  let dir = fromDir;
  for (;;) {
    const file = path.join(dir, 'package.json');
    let text: string | undefined;
    try {
      text = readRegularFile(file);
    } catch (error) {
      const reason = (error as FileReadError).message;
      if (reason !== 'no such file') {
        throw new SmartworkersError('SW_PACKAGE_SCRIPT', `app ${quote(input.app)}: \`${command}\` needs ${file}, which cannot be read: ${reason}`);
      }
    }
    if (text !== undefined) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        throw new SmartworkersError(
          'SW_PACKAGE_SCRIPT',
          `app ${quote(input.app)}: \`${command}\` reads its script from ${file}, which is not valid JSON (${(error as Error).message}); accepted: a package.json with a "scripts" object`,
        );
      }
      const pkg = (typeof data === 'object' && data !== null ? data : {}) as { scripts?: unknown; name?: unknown; version?: unknown };
      const scripts: Record<string, string> = {};
      if (typeof pkg.scripts === 'object' && pkg.scripts !== null) {
        for (const [key, value] of Object.entries(pkg.scripts)) if (typeof value === 'string') scripts[key] = value;
      }
      return {
        file,
        dir,
        scripts,
        name: typeof pkg.name === 'string' ? pkg.name : undefined,
        version: typeof pkg.version === 'string' ? pkg.version : undefined,
      };
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new SmartworkersError(
        'SW_PACKAGE_SCRIPT',
        `app ${quote(input.app)}: \`${command}\` runs a package.json script, but there is no package.json in ${fromDir} or above; accepted: \`script\` as a file, or a package manager run where its package.json is (set \`cwd\`)`,
      );
    }
    dir = parent;
  }
}

interface Resolution {
  input: ScriptInput;
  env: NodeJS.ProcessEnv;
  depth: number;
  /** Steps taken, for `via`. */
  steps: string[];
  vars: Record<string, string>;
  cwd: string;
}

/** The package-manager subcommand → the script it runs (`npm start`, `npm run x`, `yarn x`, `pnpm run x`). */
function packageScriptName(manager: string, words: readonly string[]): { name: string; extra: string[]; runsBin: boolean } | undefined {
  const [first, ...rest] = words;
  if (first === undefined) return undefined;
  const extra = (list: string[]): string[] => (list[0] === '--' ? list.slice(1) : list);
  if (['run', 'run-script'].includes(first) && rest[0] !== undefined) return { name: rest[0], extra: extra(rest.slice(1)), runsBin: false };
  if (['start', 'test', 'stop', 'restart'].includes(first)) return { name: first, extra: extra(rest), runsBin: false };
  // `yarn x` / `pnpm x` run the script x, or the package binary x when there is no such script.
  if (manager !== 'npm' && !first.startsWith('-')) return { name: first, extra: extra(rest), runsBin: true };
  return undefined;
}

function runPackageScript(r: Resolution, manager: string, words: string[]): ResolvedScript {
  const command = [manager, ...words].join(' ');
  if (words[0] === 'exec' || words[0] === 'dlx') return runCommand(r, words.slice(1), r.cwd, `\`${command}\``);
  const target = packageScriptName(manager, words);
  if (target === undefined) {
    throw unsupported(r.input, `\`${command}\` is not a package script (accepted: \`${manager} start\`, \`${manager} run <script>\`${manager === 'npm' ? '' : `, \`${manager} <script>\``})`);
  }
  const pkg = readPackageJson(r.input, command, r.cwd);
  let body = pkg.scripts[target.name];
  if (body === undefined && target.name === 'start' && isFile(path.join(pkg.dir, 'server.js'))) body = 'node server.js'; // npm's default start
  if (body === undefined) {
    if (target.runsBin && findPackageBin(target.name, pkg.dir)) return runCommand(r, [target.name, ...target.extra], pkg.dir, `\`${command}\``);
    const names = Object.keys(pkg.scripts);
    throw new SmartworkersError(
      'SW_PACKAGE_SCRIPT',
      `app ${quote(r.input.app)}: \`${command}\` runs the script ${quote(target.name)}, which ${pkg.file} does not have; accepted: ${names.length === 0 ? 'none (it has no "scripts")' : names.map((n) => quote(n)).join(', ')}`,
    );
  }
  for (const hook of [`pre${target.name}`, `post${target.name}`]) {
    if (pkg.scripts[hook] !== undefined) {
      throw unsupported(r.input, `\`${command}\` also runs the package.json script ${quote(hook)} (${quote(pkg.scripts[hook])}), which cluster workers cannot run around the app`);
    }
  }
  r.steps.push(`\`${command}\` → package.json script ${quote(target.name)}: ${quote(body)}`);
  // What npm gives a script's process, which apps read (npm_package_version for a version endpoint).
  Object.assign(r.vars, { npm_lifecycle_event: target.name, npm_lifecycle_script: body });
  if (pkg.name !== undefined) r.vars.npm_package_name = pkg.name;
  if (pkg.version !== undefined) r.vars.npm_package_version = pkg.version;
  const line = splitShellWords(body);
  if (line.needsShell !== undefined) {
    throw unsupported(r.input, `the package.json script ${quote(target.name)} is ${quote(body)}, which needs a shell (${line.needsShell})`);
  }
  return runCommand(r, [...line.words, ...target.extra], pkg.dir, `package.json script ${quote(target.name)}`);
}

/** `node [flags] file [args]` → the file, its node flags and args. */
function runNode(r: Resolution, words: string[], dir: string, what: string): ResolvedScript {
  const nodeArgs: string[] = [];
  let i = 0;
  for (; i < words.length; i += 1) {
    const word = words[i];
    if (word === '--') {
      i += 1;
      break;
    }
    if (!word.startsWith('-') || word === '-') break;
    if (NODE_NOT_AN_APP.test(word)) throw unsupported(r.input, `${what} runs \`node ${word}\`, which does not run one file as a server`);
    nodeArgs.push(word);
    if (NODE_VALUE_FLAGS.has(word) && words[i + 1] !== undefined) nodeArgs.push(words[(i += 1)]);
  }
  const file = words[i];
  if (file === undefined) throw unsupported(r.input, `${what} runs \`node\` without a file`);
  return runFile(r, path.resolve(dir, file), words.slice(i + 1), nodeArgs, dir, what);
}

function runFile(r: Resolution, file: string, args: string[], nodeArgs: string[], dir: string, what: string, loader?: TypeScriptLoader): ResolvedScript {
  if (!isFile(file)) {
    throw new SmartworkersError('SW_SCRIPT_NOT_FOUND', `app ${quote(r.input.app)}: ${what} runs ${quote(file)}, which does not exist; accepted: an existing JavaScript or TypeScript file`);
  }
  const kind = fileKind(file);
  if (kind.kind === 'other') throw unsupported(r.input, `${what} runs ${quote(file)}, ${kind.what}`);
  const chosen = loader ?? (kind.kind === 'ts' ? kind.loader : undefined);
  const loaderFlags = chosen === undefined ? [] : typescriptLoader(r, chosen, dir, what);
  return {
    script: file,
    args,
    nodeArgs: [...loaderFlags, ...nodeArgs],
    env: r.vars,
    ...(dir !== r.input.cwd ? { cwd: dir } : {}),
    ...(r.steps.length > 0 ? { via: r.steps.join(' → ') } : {}),
  };
}

function typescriptLoader(r: Resolution, loader: TypeScriptLoader, dir: string, what: string): string[] {
  const args = loaderArgs(loader, dir);
  if (args === undefined) {
    throw new SmartworkersError('SW_TYPESCRIPT', `app ${quote(r.input.app)}: ${what} runs ${loader}, which is not installed for ${dir}; install it (\`npm install --save-dev ${loader}\`)`);
  }
  return args;
}

/** `tsx [flags] file [args]` / `ts-node [flags] file [args]`. */
function runTypeScriptCli(r: Resolution, loader: TypeScriptLoader, words: string[], dir: string, what: string): ResolvedScript {
  if (loader === 'tsx' && words[0] === 'watch') throw unsupported(r.input, `${what} runs \`tsx watch\`, which restarts its own child process (use smartworkers' \`watch\`)`);
  const nodeArgs: string[] = [];
  let i = 0;
  for (; i < words.length && words[i].startsWith('-'); i += 1) {
    // ts-node's own flags (--transpile-only, -T, --swc) have no node equivalent: its register reads tsconfig.
    if (loader === 'tsx' || /^--(?:require|import|inspect|max-old-space-size|enable-source-maps)/.test(words[i])) nodeArgs.push(words[i]);
  }
  if (words[i] === undefined) throw unsupported(r.input, `${what} runs \`${loader}\` without a file`);
  return runFile(r, path.resolve(dir, words[i]), words.slice(i + 1), nodeArgs, dir, what, loader);
}

/** A command line's words (from `script`, or a package.json script) → what it runs. */
function runCommand(r: Resolution, allWords: string[], dir: string, what: string): ResolvedScript {
  r.depth += 1;
  if (r.depth > MAX_DEPTH) throw unsupported(r.input, `${what} runs scripts nested more than ${MAX_DEPTH} deep`);
  let words = allWords;
  // `A=b cmd`, `cross-env A=b cmd`: variables for the app.
  for (;;) {
    if (words[0] === 'cross-env' || words[0] === 'cross-env-shell') {
      if (words[0] === 'cross-env-shell') throw unsupported(r.input, `${what} runs cross-env-shell, which needs a shell`);
      words = words.slice(1);
      continue;
    }
    const assignment = words[0] === undefined ? undefined : envAssignment(words[0]);
    if (assignment === undefined) break;
    r.vars[assignment[0]] = assignment[1];
    words = words.slice(1);
  }
  const [program, ...rest] = words;
  if (program === undefined) throw unsupported(r.input, `${what} runs no command`);
  const name = program.includes('/') ? path.basename(program) : program;
  if (name === 'node' || name === 'nodejs') return runNode(r, rest, dir, what);
  if (PACKAGE_MANAGERS.has(name)) return runPackageScript({ ...r, cwd: dir }, name, rest);
  if (name === 'npx' || name === 'pnpx') {
    const args = rest.filter((w, i) => !(w.startsWith('-') && i === 0)); // `npx --yes ts-node …`
    return runCommand(r, args, dir, what);
  }
  if (name === 'tsx' || name === 'ts-node' || name === 'ts-node-esm') return runTypeScriptCli(r, name === 'tsx' ? 'tsx' : 'ts-node', rest, dir, what);
  if (SPAWNERS.has(name)) throw unsupported(r.input, `${what} runs ${name}, which starts the app as its own child process`);
  if (program.includes('/')) return runFile(r, path.resolve(dir, program), rest, [], dir, what);
  const bin = findPackageBin(name, dir);
  if (bin !== undefined) {
    const target = realpathSync(bin);
    const kind = fileKind(target);
    if (kind.kind === 'other') throw unsupported(r.input, `${what} runs the package binary ${name} (${target}), ${kind.what}`);
    r.steps.push(`package binary ${name}: ${target}`);
    return runFile(r, target, rest, [], dir, what);
  }
  const onPath = findOnPath(name, r.env);
  if (onPath === undefined) {
    throw new SmartworkersError(
      'SW_SCRIPT_NOT_FOUND',
      `app ${quote(r.input.app)}: ${what} runs ${quote(name)}, which is neither a file in ${dir} nor a program in node_modules/.bin or on the PATH; accepted: a JavaScript or TypeScript file, \`node file\`, an npm / yarn / pnpm script, npx / tsx / ts-node, or a package binary`,
    );
  }
  const target = realpathSync(onPath);
  const kind = fileKind(target);
  if (kind.kind === 'other') throw unsupported(r.input, `${what} runs ${quote(name)} (${target}), ${kind.what}`);
  r.steps.push(`${name} on the PATH: ${target}`);
  return runFile(r, target, rest, [], dir, what);
}

/** The interpreter, when it is not Node: refused (process apps), or a TypeScript loader. */
function interpreterLoader(input: ScriptInput): TypeScriptLoader | undefined {
  if (input.interpreter === undefined) return undefined;
  const base = path.basename(input.interpreter.value.trim());
  if (base === 'node' || base === 'nodejs' || base === '') return undefined;
  if (base === 'tsx' || base === 'ts-node') return base;
  const what = base === 'none' ? 'runs the script as a program of its own' : `runs the script with ${quote(input.interpreter.value)}`;
  throw unsupported(input, `\`${input.interpreter.field}: ${quote(input.interpreter.value)}\` ${what}`);
}

export function resolveScript(input: ScriptInput): ResolvedScript {
  const r: Resolution = { input, env: input.env ?? process.env, depth: 0, steps: [], vars: {}, cwd: input.cwd };
  const loader = interpreterLoader(input);
  const file = path.resolve(input.cwd, input.script);
  const what = `\`script\` ${quote(input.script)}`;
  if (isFile(file)) {
    if (loader !== undefined) r.steps.push(`interpreter ${loader}`);
    return runFile(r, file, [...input.args], [], input.cwd, what, loader);
  }
  const line = splitShellWords(input.script);
  if (line.needsShell !== undefined) throw unsupported(input, `${what} needs a shell (${line.needsShell})`);
  if (line.words.length === 0) throw unsupported(input, `${what} is empty`);
  if (line.words.length === 1 && (input.script.includes('/') || /\.[cm]?[jt]sx?$/.test(input.script))) {
    throw new SmartworkersError(
      'SW_SCRIPT_NOT_FOUND',
      `app ${quote(input.app)}: ${what} names a file that does not exist (${file}); accepted: an existing JavaScript or TypeScript file, or a command (\`npm\` with \`args: "start"\`, \`node server.js\`)`,
    );
  }
  if (line.words.length > 1) r.steps.push(`\`${input.script}\``);
  const resolved = runCommand(r, [...line.words, ...input.args], input.cwd, what);
  return { ...resolved, via: r.steps.join(' → ') };
}
