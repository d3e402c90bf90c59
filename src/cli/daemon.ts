/** `start --daemon` (and `deploy` when nothing runs): the CLI side, see src/daemon/launch.ts. */
import type { Settings } from '../config/types';
import { clusterId, clusterLabel, projectDirectory } from '../control/socket-path';
import { stateDirectory } from '../control/state-dir';
import { launchDaemon } from '../daemon/launch';
import { daemonLogPaths } from '../daemon/paths';

export async function startDaemonFromCli(settings: Settings, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  const base = { configFile: settings.configFile, cwd };
  const stateDir = stateDirectory(env);
  const { code } = await launchDaemon({
    args,
    cwd,
    env,
    stateDir,
    logs: daemonLogPaths(stateDir, clusterId(base)),
    apps: settings.apps,
    name: clusterLabel(projectDirectory(base)),
    stdout: process.stdout,
    stderr: process.stderr,
  });
  return code;
}
