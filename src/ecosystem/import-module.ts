/**
 * The one `import()` of the CLI, for ES-module ecosystem files. It lives in its own file because
 * the bundled CLI runs from a V8 code cache (src/cli/code-cache.ts), where `import()` is not
 * available without an experimental flag: scripts/bundle-cli.mjs keeps this module out of the
 * bundle, so it is loaded by Node's own loader from dist/ecosystem/.
 */
export function importModule(href: string): Promise<unknown> {
  // Kept as a real dynamic import in the CommonJS build (module: Node16 preserves `import()`).
  return import(href);
}
