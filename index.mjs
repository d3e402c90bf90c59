// ESM entry: re-exports the CommonJS build so `import { tasks } from 'smartworkers'`
// and `require('smartworkers')` share one task registry in a process.
import api from './dist/index.js';

export const tasks = api.tasks;
export const isWorker = api.isWorker;
export const workerInfo = api.workerInfo;
export const onDrain = api.onDrain;
export const drainDeadline = api.drainDeadline;
export default api;
