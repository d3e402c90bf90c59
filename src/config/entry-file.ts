/**
 * An app's entry file: whether cluster workers can run it (JavaScript, or TypeScript, by extension
 * or a node / tsx / ts-node shebang), and for TypeScript the Node flags that make the running Node
 * load it. In order: flags the app already gives (a loader in `node_args`); Node's own type
 * stripping where this Node has it (on by default from 22.18 and 23.6, behind
 * `--experimental-strip-types` from 22.6); else `tsx` or `ts-node` installed where the app is
 * (resolved from its cwd, passed as an absolute path so the workers load that copy). Otherwise
 * one line naming both ways. Workers run on the Node that runs the primary (process.execPath).
 */
import path, { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SmartworkersError } from '../errors';
import { readFileHead } from './read-file';

const JS_EXTENSIONS = new Set(['.js', '.cjs', '.mjs']);
const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

export function isTypeScriptFile(file: string): boolean {
  return TYPESCRIPT_EXTENSIONS.has(extname(file).toLowerCase());
}

export type TypeScriptLoader = 'tsx' | 'ts-node';

/** What kind of program a file is: JavaScript (by extension or a node shebang), TypeScript, or something else. */
export function fileKind(file: string): { kind: 'js' } | { kind: 'ts'; loader?: TypeScriptLoader } | { kind: 'other'; what: string } {
  const ext = path.extname(file).toLowerCase();
  if (JS_EXTENSIONS.has(ext)) return { kind: 'js' };
  if (isTypeScriptFile(file)) return { kind: 'ts' };
  const head = readFileHead(file, 256);
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(head);
  if (shebang) {
    const program = path.basename(shebang[1]) === 'env' ? (shebang[2] ?? '') : path.basename(shebang[1]);
    if (program === 'node' || program === 'nodejs') return { kind: 'js' };
    if (program === 'tsx' || program === 'ts-node') return { kind: 'ts', loader: program };
    return { kind: 'other', what: `a ${program} script` };
  }
  if (head.startsWith('\x7fELF')) return { kind: 'other', what: 'a native binary' };
  if (ext === '') return { kind: 'other', what: 'a file without a JavaScript extension or a node shebang' };
  return { kind: 'other', what: `a ${ext} file` };
}


/** Whether `nodeArgs` already make Node load TypeScript (a loader, or a type-stripping flag). */
export function hasTypeScriptLoader(nodeArgs: readonly string[]): boolean {
  return nodeArgs.some((arg, i) => {
    if (/^--experimental-(strip|transform)-types$/.test(arg)) return true;
    const preload = /^(?:--import|--require|-r|--loader|--experimental-loader)(?:=(.*))?$/.exec(arg);
    const value = preload ? (preload[1] ?? nodeArgs[i + 1] ?? '') : '';
    return /tsx|ts-node|@swc-node|esbuild-register|@babel\/register|ts-blank-space/.test(value);
  });
}

/** What this Node does with a .ts file by itself: strips types by default, with a flag, or nothing. */
export function nativeTypeStripping(version = process.versions.node): 'default' | 'flag' | 'none' {
  const [major, minor] = version.split('.').map(Number);
  if (major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18)) return 'default';
  if (major === 23 || (major === 22 && minor >= 6)) return 'flag';
  return 'none';
}

function resolveFrom(cwd: string, request: string): string | undefined {
  try {
    return require.resolve(request, { paths: [cwd] });
  } catch {
    return undefined;
  }
}

/** The Node flags that load `loader` as installed for the app in `cwd`, or undefined when it is not installed there. */
export function loaderArgs(loader: TypeScriptLoader, cwd: string): string[] | undefined {
  if (loader === 'tsx') {
    const entry = resolveFrom(cwd, 'tsx');
    return entry === undefined ? undefined : ['--import', pathToFileURL(entry).href];
  }
  const entry = resolveFrom(cwd, 'ts-node/register');
  return entry === undefined ? undefined : ['--require', entry];
}

export interface TypeScriptInput {
  /** For messages: `app "api"`. */
  label: string;
  script: string;
  nodeArgs: readonly string[];
  cwd: string;
  nodeVersion?: string;
}

/**
 * The node_args to run `script`: unchanged for JavaScript and when a loader is given; otherwise
 * with what this Node needs for TypeScript. Throws SW_TYPESCRIPT when nothing can run it.
 */
export function typescriptNodeArgs(input: TypeScriptInput): readonly string[] {
  if (!isTypeScriptFile(input.script) || hasTypeScriptLoader(input.nodeArgs)) return input.nodeArgs;
  const version = input.nodeVersion ?? process.versions.node;
  const native = extname(input.script).toLowerCase() === '.tsx' ? 'none' : nativeTypeStripping(version);
  if (native === 'default') return input.nodeArgs;
  if (native === 'flag') return ['--experimental-strip-types', ...input.nodeArgs];
  for (const loader of ['tsx', 'ts-node'] as const) {
    const args = loaderArgs(loader, input.cwd);
    if (args !== undefined) return [...args, ...input.nodeArgs];
  }
  throw new SmartworkersError(
    'SW_TYPESCRIPT',
    `${input.label}: ${JSON.stringify(input.script)} is TypeScript, which Node ${version} does not run by itself and neither tsx nor ts-node is installed for ${input.cwd}; install one (\`npm install --save-dev tsx\`), or run Node >= 22.18, which strips types`,
  );
}
