export { reloadOnChange } from './reload-on-change';
export { watchTree, DEFAULT_DEBOUNCE_MS, type TreeWatcher, type TreeWatcherOptions } from './watcher';
export { createIgnoreMatcher, ALWAYS_IGNORED } from './ignore';
