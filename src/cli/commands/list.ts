/**
 * `smartworkers ls [--json]`: every cluster of this user that runs, from the registry in the state
 * directory (as `pm2 ls`); `status` prints the same list when several run and none was named.
 */
import { listClusters, type ClusterRecord } from '../../control/registry';
import { stateDirectory } from '../../control/state-dir';
import { EXIT } from '../../errors';
import { formatDuration, renderTable } from './format';
import { runReportingErrors, type CommandIO } from './io';

export function renderClusterList(clusters: ClusterRecord[], now: number = Date.now()): string {
  if (clusters.length === 0) return 'no cluster is running';
  const rows = clusters.map((c) => [c.name, c.id, String(c.pid), formatDuration(now - Date.parse(c.started)), c.config ?? `${c.cwd} (no config file)`]);
  const table = renderTable(['NAME', 'ID', 'PID', 'UPTIME', 'CONFIG'], rows, new Set([2, 3]));
  const footer = clusters.length === 1 ? '1 cluster running' : `${clusters.length} clusters running; pick one by name: smartworkers status <name>`;
  return `${table}\n\n${footer}`;
}

export function runList(options: { json?: boolean }, io: CommandIO): Promise<number> {
  return runReportingErrors(io, async () => {
    const clusters = listClusters(stateDirectory(io.env));
    io.stdout.write(options.json ? `${JSON.stringify(clusters, null, 2)}\n` : `${renderClusterList(clusters)}\n`);
    return EXIT.ok;
  });
}
