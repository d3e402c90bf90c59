/**
 * `watch`: a rolling reload of an app when one of its watched files changes, through the same
 * command as `smartworkers reload <app>` — surge-then-retire, so editing never drops a request,
 * and a replacement that cannot boot (a syntax error) leaves the running worker serving while
 * its error goes to stderr. Watchers follow the settings: a SIGHUP that changes `watch` or
 * `ignore_watch` re-creates them.
 */
import path from 'node:path';
import type { AppSettings, Settings } from '../config/types';
import type { Supervisor, SupervisorLogger } from '../supervisor/supervisor';
import { DEFAULT_DEBOUNCE_MS, watchTree, type TreeWatcher } from './watcher';

export interface ReloadOnChangeOptions {
  debounceMs?: number;
}

/** Starts a watcher for every app with `watch`; returns a function that stops them all. */
export function reloadOnChange(supervisor: Supervisor, logger: SupervisorLogger, options: ReloadOnChangeOptions = {}): () => void {
  const watchers = new Map<string, { key: string; watcher: TreeWatcher }>();

  function sync(settings: Settings): void {
    const wanted = new Map(settings.apps.filter((app) => app.watch.length > 0).map((app) => [app.name, app]));
    for (const [name, entry] of watchers) {
      const app = wanted.get(name);
      if (app === undefined || watchKey(app) !== entry.key) {
        entry.watcher.close();
        watchers.delete(name);
      }
    }
    for (const [name, app] of wanted) {
      if (watchers.has(name)) continue;
      const watcher = watchTree({
        roots: app.watch,
        ignore: app.ignoreWatch,
        debounceMs: options.debounceMs ?? DEFAULT_DEBOUNCE_MS,
        onChange: (changed) => {
          if (supervisor.state.phase !== 'running') return;
          const files = changed.map((file) => path.relative(app.cwd, file) || file);
          logger.info({ app: name, files: files.slice(0, 10), count: changed.length }, `changed: ${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''} — reloading ${name}`);
          supervisor.dispatch({ type: 'command', command: { kind: 'reload', app: name } });
        },
        onError: (err) => logger.warn({ app: name }, `watch: ${err.message}`),
      });
      watchers.set(name, { key: watchKey(app), watcher });
      logger.info({ app: name, paths: app.watch, directories: watcher.directories().length }, `watching ${app.watch.join(', ')} for changes`);
    }
  }

  sync(supervisor.activeSettings);
  const off = supervisor.onStep((_state, event) => {
    if (event.type === 'settings') sync(event.settings);
  });
  return () => {
    off();
    for (const { watcher } of watchers.values()) watcher.close();
    watchers.clear();
  };
}

function watchKey(app: AppSettings): string {
  return JSON.stringify([app.watch, app.ignoreWatch]);
}
