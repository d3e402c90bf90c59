/**
 * What runs an app's script: node:cluster workers (JavaScript / TypeScript on this Node) or plain
 * processes (any other program), from `kind`, `interpreter` and the file itself, as pm2 picks an
 * interpreter: `node` for JavaScript, by extension for Python, shell, Ruby, Perl and PHP, else the
 * file runs itself (a binary, a script with a shebang). The interpreter is looked up on the PATH
 * once, here: one that is not installed stops the start with one line, nothing started.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { SmartworkersError } from '../errors';
import { fileKind, loaderArgs } from './entry-file';
import { readFileHead } from './read-file';
import type { AppKind, AppSettings } from './types';

/** pm2's interpreter by extension (python3 rather than python: Debian has no `python`). */
const INTERPRETER_BY_EXTENSION: Readonly<Record<string, string>> = {
  '.py': 'python3',
  '.sh': 'bash',
  '.bash': 'bash',
  '.rb': 'ruby',
  '.pl': 'perl',
  '.php': 'php',
};

const NODE_NAMES = new Set(['node', 'nodejs']);

export interface RunnerInput {
  /** For messages: `config: app "api"`. */
  label: string;
  /** Absolute path of the script (it exists and is a file). */
  script: string;
  /** `kind` when given. */
  kind?: AppKind;
  /** `interpreter` when given, as written. */
  interpreter?: string;
  cwd: string;
  /** Where programs are looked up (PATH). */
  env: NodeJS.ProcessEnv;
}

export interface Runner {
  kind: AppKind;
  /** Process apps: the absolute program that runs the script; undefined = the script runs itself. */
  interpreter?: string;
  /** Node flags a cluster app needs for `interpreter: tsx / ts-node`. */
  loaderNodeArgs?: string[];
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `python3` → /usr/bin/python3 (on the PATH); a name with a slash → that file (relative to cwd). */
export function findProgram(name: string, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (name.includes('/')) {
    const file = path.resolve(cwd, name);
    return isExecutable(file) ? file : undefined;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function interpreterNotFound(input: RunnerInput, name: string): SmartworkersError {
  return new SmartworkersError(
    'SW_INTERPRETER_NOT_FOUND',
    `${input.label}: the interpreter ${JSON.stringify(name)} for ${JSON.stringify(input.script)} is not installed (not an executable ${name.includes('/') ? 'file' : 'on the PATH'}); accepted: an installed program (\`python3\`, \`bash\`, a path), \`node\`, or \`none\` when the script runs itself`,
  );
}

function program(input: RunnerInput, name: string): string {
  const found = findProgram(name, input.cwd, input.env);
  if (found === undefined) throw interpreterNotFound(input, name);
  return found;
}

/** How the app runs; throws SW_INTERPRETER_NOT_FOUND / SW_APP_UNSUPPORTED with one line. */
export function resolveRunner(input: RunnerInput): Runner {
  const given = input.interpreter?.trim();
  const base = given === undefined ? undefined : path.basename(given);
  const file = fileKind(input.script);

  if (base !== undefined && (NODE_NAMES.has(base) || base === 'tsx' || base === 'ts-node')) {
    const loaderNodeArgs = base === 'tsx' || base === 'ts-node' ? loaderArgs(base, input.cwd) : [];
    if (loaderNodeArgs === undefined) {
      throw new SmartworkersError('SW_TYPESCRIPT', `${input.label}: \`interpreter: ${given}\` is not installed for ${input.cwd}; install it (\`npm install --save-dev ${base}\`)`);
    }
    if (input.kind === 'process') return { kind: 'process', interpreter: process.execPath, loaderNodeArgs };
    return { kind: 'cluster', loaderNodeArgs };
  }

  if (given !== undefined) {
    if (input.kind === 'cluster') {
      throw new SmartworkersError('SW_APP_UNSUPPORTED', `${input.label}: \`kind: cluster\` runs Node code, but \`interpreter\` is ${JSON.stringify(given)}; accepted: \`kind: process\` (or unset) with that interpreter, or \`interpreter: node\``);
    }
    if (given === 'none') return { kind: 'process', interpreter: undefined, ...checkRunsItself(input) };
    return { kind: 'process', interpreter: program(input, given) };
  }

  if (file.kind !== 'other') {
    if (input.kind === 'process') return { kind: 'process', interpreter: process.execPath };
    return { kind: 'cluster' };
  }
  if (input.kind === 'cluster') {
    throw new SmartworkersError('SW_APP_UNSUPPORTED', `${input.label}: \`kind: cluster\` runs a JavaScript or TypeScript file, but ${JSON.stringify(input.script)} is ${file.what}; accepted: \`kind: process\` (or unset)`);
  }
  const byExtension = INTERPRETER_BY_EXTENSION[path.extname(input.script).toLowerCase()];
  // A script with a shebang that may be executed runs itself, as the shebang says; otherwise its
  // extension names the interpreter.
  if (isExecutable(input.script)) return { kind: 'process', interpreter: undefined };
  if (byExtension !== undefined) return { kind: 'process', interpreter: program(input, byExtension) };
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(readHead(input.script));
  if (shebang) {
    const name = path.basename(shebang[1]) === 'env' ? (shebang[2] ?? '') : shebang[1];
    return { kind: 'process', interpreter: program(input, name) };
  }
  throw new SmartworkersError(
    'SW_APP_UNSUPPORTED',
    `${input.label}: ${JSON.stringify(input.script)} is ${file.what}, not executable and without a known extension or shebang; accepted: \`chmod +x\` it, or set \`interpreter\` (\`python3\`, \`bash\`, a path)`,
  );
}

function checkRunsItself(input: RunnerInput): Record<string, never> {
  if (!isExecutable(input.script)) {
    throw new SmartworkersError(
      'SW_APP_UNSUPPORTED',
      `${input.label}: \`interpreter: none\` runs ${JSON.stringify(input.script)} as a program, but it is not executable; accepted: \`chmod +x\` it, or set \`interpreter\``,
    );
  }
  return {};
}

function readHead(file: string): string {
  try {
    return readFileHead(file, 256);
  } catch {
    return '';
  }
}

/** What each worker of the app runs, as a command line: `node --import … /srv/app/server.js --port 3000`. */
export function commandLine(app: Pick<AppSettings, 'kind' | 'script' | 'args' | 'nodeArgs' | 'interpreter' | 'interpreterArgs'>): string {
  const word = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w));
  const words =
    app.kind === 'process'
      ? app.interpreter === undefined
        ? [app.script, ...app.args]
        : [app.interpreter, ...app.interpreterArgs, app.script, ...app.args]
      : ['node', ...app.nodeArgs, app.script, ...app.args];
  return words.map(word).join(' ');
}
