/**
 * What an ecosystem app's `script` (with `args` and `interpreter`) runs, reduced to a JavaScript or
 * TypeScript file smartworkers can fork as node:cluster workers — or one clear error.
 *
 * pm2 runs `script: 'npm', args: 'start'` as one forked npm process, which neither clusters nor
 * forwards signals reliably. Here the package.json script is read (the package manager is never
 * run) and, when it is `node [flags] file [args]`, `tsx file`, `ts-node file`, or a package binary
 * whose target is a JavaScript file (`next start`), that file becomes the app: node flags go to
 * node_args, the file's arguments to args, `A=b` prefixes and `cross-env` to env. Everything else
 * becomes a process app (plain child processes): a program that is not JavaScript (python3, a
 * binary, a shell script) runs as itself; a command line that needs a shell runs under `/bin/sh -c`;
 * a package script with pre/post scripts, a watcher that spawns its own children, or a body that
 * cannot be resolved runs through its package manager, with a warning saying why. Nothing is
 * guessed silently: `via` and `warning` say what was resolved, for `check` and the log.
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
  /** A process app: `script` runs as plain processes, with `interpreter` (`none`: it runs itself). */
  kind?: 'process';
  /** Process apps: `none`, or the interpreter as named (the loader finds it on the PATH). */
  interpreter?: string;
  /** Why it is a process app when the user may have expected cluster workers (a package script run through its manager). */
  warning?: string;
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
    `app ${quote(input.app)}: ${what}; accepted: a file, a program, \`node file\`, an npm / yarn / pnpm script, npx / tsx / ts-node, or a command line`,
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
  const throughManager = (why: string): ResolvedScript => runThroughManager(r, manager, words, pkg.dir, `\`${command}\``, why);
  for (const hook of [`pre${target.name}`, `post${target.name}`]) {
    if (pkg.scripts[hook] !== undefined) {
      return throughManager(`it also runs the package.json script ${quote(hook)} (${quote(pkg.scripts[hook])}), which cluster workers cannot run around the app`);
    }
  }
  const steps = r.steps.length;
  const vars = { ...r.vars };
  try {
    return resolveBody(r, pkg, target, body, command);
  } catch (error) {
    if (!(error instanceof SmartworkersError) || error.code !== 'SW_APP_UNSUPPORTED') throw error;
    r.steps.length = steps;
    r.vars = vars;
    return throughManager(error.message.replace(/^app "[^"]*": /, '').replace(/; accepted: .*$/, ''));
  }
}

/**
 * A package script smartworkers cannot run as cluster workers runs through its package manager as a
 * process app: what pm2 does with `script: npm`, with the reason in a warning.
 */
function runThroughManager(r: Resolution, manager: string, words: string[], dir: string, what: string, why: string): ResolvedScript {
  const program = findOnPath(manager, r.env) ?? (manager === 'npm' ? findNpmBesideNode() : undefined);
  if (program === undefined) {
    throw new SmartworkersError(
      'SW_INTERPRETER_NOT_FOUND',
      `app ${quote(r.input.app)}: ${what} must run through ${manager} (${why}), which is not on the PATH; accepted: install ${manager}, or point \`script\` at the file the script runs`,
    );
  }
  r.steps.push(`${what} through ${manager} (${program}) as a process app`);
  return {
    script: program,
    args: words,
    nodeArgs: [],
    env: {},
    kind: 'process',
    interpreter: 'none',
    ...(dir !== r.input.cwd ? { cwd: dir } : {}),
    via: r.steps.join(' → '),
    warning: `app ${r.input.app}: ${what} runs through ${manager} as one plain process per worker, not as cluster workers: ${why}. Signals reach ${manager}'s process group; point \`script\` at the file to get cluster workers.`,
  };
}

/** npm ships beside node; a PATH without it (systemd units) still has the node that runs smartworkers. */
function findNpmBesideNode(): string | undefined {
  const candidate = path.join(path.dirname(process.execPath), 'npm');
  return isFile(candidate) ? candidate : undefined;
}

/**
 * A process app running `program args` (a non-JavaScript program, a watcher, a shell line).
 * `interpreter` null: the loader picks it from the file (python3 for `.py`, …).
 */
function runProcess(r: Resolution, program: string, args: string[], dir: string, step: string, interpreter: string | null = 'none'): ResolvedScript {
  r.steps.push(step);
  return {
    script: program,
    args,
    nodeArgs: [],
    env: r.vars,
    kind: 'process',
    ...(interpreter === null ? {} : { interpreter }),
    ...(dir !== r.input.cwd ? { cwd: dir } : {}),
    via: r.steps.join(' → '),
  };
}

function resolveBody(r: Resolution, pkg: PackageJson, target: { name: string; extra: string[] }, body: string, command: string): ResolvedScript {
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
    if (NODE_NOT_AN_APP.test(word)) return runProcess(r, process.execPath, words, dir, `${what} runs \`node ${word}\` (not one file as a server): a process app`);
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
  if (kind.kind === 'other') return runProcess(r, file, args, dir, `${what} runs ${quote(file)}, ${kind.what}: a process app`, null);
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
  if (loader === 'tsx' && words[0] === 'watch') {
    const bin = findPackageBin('tsx', dir);
    if (bin === undefined) throw unsupported(r.input, `${what} runs \`tsx watch\`, and tsx is not installed for ${dir}`);
    return runProcess(r, bin, words, dir, `${what} runs \`tsx watch\`, which restarts its own child process: a process app (smartworkers' \`watch\` reloads cluster workers)`);
  }
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
      if (words[0] === 'cross-env-shell') return runProcess(r, '/bin/sh', ['-c', words.slice(1).join(' ')], dir, `${what} runs cross-env-shell: \`/bin/sh -c\` as a process app`);
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
  if (SPAWNERS.has(name)) {
    const spawner = findPackageBin(name, dir) ?? findOnPath(name, r.env);
    if (spawner === undefined) throw unsupported(r.input, `${what} runs ${name}, which is not installed for ${dir} nor on the PATH`);
    return runProcess(r, spawner, rest, dir, `${name} (${spawner}) starts the app as its own child process: a process app`);
  }
  if (program.includes('/')) return runFile(r, path.resolve(dir, program), rest, [], dir, what);
  const bin = findPackageBin(name, dir);
  if (bin !== undefined) {
    const target = realpathSync(bin);
    const kind = fileKind(target);
    if (kind.kind === 'other') return runProcess(r, bin, rest, dir, `package binary ${name} (${target}), ${kind.what}: a process app`);
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
  if (kind.kind === 'other') return runProcess(r, onPath, rest, dir, `${name} on the PATH (${onPath}): a process app`);
  r.steps.push(`${name} on the PATH: ${target}`);
  return runFile(r, target, rest, [], dir, what);
}

/** The interpreter: Node (undefined), a TypeScript loader, or another program (a process app). */
function interpreterLoader(input: ScriptInput): TypeScriptLoader | 'process' | undefined {
  if (input.interpreter === undefined) return undefined;
  const base = path.basename(input.interpreter.value.trim());
  if (base === 'node' || base === 'nodejs' || base === '') return undefined;
  if (base === 'tsx' || base === 'ts-node') return base;
  return 'process';
}

/** `interpreter: python3` / `bash` / `none` / a path: the script is a file (or, with `none`, a program on the PATH). */
function runWithInterpreter(r: Resolution, input: ScriptInput): ResolvedScript {
  const { field, value } = input.interpreter!;
  const file = path.resolve(input.cwd, input.script);
  const step = `\`${field}: ${value}\``;
  if (isFile(file)) return runProcess(r, file, [...input.args], input.cwd, step, value.trim());
  const onPath = value.trim() === 'none' && !input.script.includes('/') ? findOnPath(input.script.trim(), r.env) : undefined;
  if (onPath !== undefined) return runProcess(r, onPath, [...input.args], input.cwd, step, 'none');
  throw new SmartworkersError(
    'SW_SCRIPT_NOT_FOUND',
    `app ${quote(input.app)}: \`script\` ${quote(input.script)} (run by \`${field}: ${value}\`) names a file that does not exist (${file}); accepted: an existing file${value.trim() === 'none' ? ', or a program on the PATH' : ''}`,
  );
}

export function resolveScript(input: ScriptInput): ResolvedScript {
  const r: Resolution = { input, env: input.env ?? process.env, depth: 0, steps: [], vars: {}, cwd: input.cwd };
  const chosen = interpreterLoader(input);
  if (chosen === 'process') return runWithInterpreter(r, input);
  const loader = chosen;
  const file = path.resolve(input.cwd, input.script);
  const what = `\`script\` ${quote(input.script)}`;
  if (isFile(file)) {
    if (loader !== undefined) r.steps.push(`interpreter ${loader}`);
    return runFile(r, file, [...input.args], [], input.cwd, what, loader);
  }
  const line = splitShellWords(input.script);
  if (line.needsShell !== undefined) {
    return runProcess(r, '/bin/sh', ['-c', [input.script, ...input.args].join(' ')], input.cwd, `${what} needs a shell (${line.needsShell}): \`/bin/sh -c\` as a process app`);
  }
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
