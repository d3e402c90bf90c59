import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
