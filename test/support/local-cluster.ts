/**
 * A quiet local engine cluster for tests, through the same launcher `flowpilot up` uses: a
 * word-count job by default, no agent, no logs, every child's output discarded.
 */
import { Writable } from 'node:stream';
import { silentLogger } from '../../common/log.ts';
import { up, type LocalCluster, type UpOptions } from '../../engine/local/launcher.ts';

export function startQuietCluster(opts: Partial<UpOptions> & { stateDir: string }): Promise<LocalCluster> {
  return up({
    taskManagers: 1,
    slots: 1,
    restPort: 0,
    metricsPort: 0,
    job: 'word-count',
    jobArgs: ['--rate', '20'],
    parallelism: 1,
    agent: false,
    define: [],
    log: silentLogger(),
    childOutput: new Writable({ write: (_c, _e, cb) => cb() }),
    ...opts,
  });
}
