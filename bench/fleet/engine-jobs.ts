/**
 * Real engine jobs for the fleet bench (issue 15: "plus a few real engine jobs"): each one an
 * engine cluster (a JobManager and one TaskManager as child processes, adaptive scheduler,
 * test/actuate/support/engine-cluster.ts) running engine/jobs/counting.ts, behind a
 * FlinkDeployment whose `flowpilot.io/rest-url` annotation names the engine's REST endpoint. The
 * fake operator model maps the resource to that endpoint and job, so a rescale patch reaches the
 * engine as it does in test/actuate/kube-operator-engine.test.ts.
 *
 * A cluster that does not start (or does not serve Flink's REST API) is reported and left out:
 * the bench goes on with the replays (a finding in the log, not an abort).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEngineCluster, uploadJobModule, servesFlinkRest, type EngineCluster } from '../../test/actuate/support/engine-cluster.ts';
import { waitFor } from '../../test/support/processes.ts';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';

const JOB_MODULE = resolve(import.meta.dirname, '../../engine/jobs/counting.ts');

export interface EngineJob {
  name: string;
  restUrl: string;
  jobId: string;
  cluster: EngineCluster;
}

/** Starts `n` engine clusters one after another, each running one counting job; those that fail are skipped with `warn`. */
export async function startEngineJobs(n: number, warn: (msg: string) => void): Promise<EngineJob[]> {
  const out: EngineJob[] = [];
  for (let i = 0; i < n; i++) {
    const name = `engine-${i}`;
    let cluster: EngineCluster | undefined;
    try {
      cluster = await startEngineCluster({ taskManagers: 1, slots: 8, define: ['jobmanager.scheduler=adaptive', 'heartbeat.timeout=5000'] });
      if (!(await servesFlinkRest(cluster.restUrl))) throw new Error('the engine JobManager does not serve Flink\'s REST API');
      const flink = new FlinkRestClient({ baseUrl: cluster.restUrl });
      try {
        const jarId = await uploadJobModule(cluster.restUrl, JOB_MODULE);
        const dir = join(cluster.dir, 'out');
        mkdirSync(dir, { recursive: true });
        const jobId = await flink.runJar(jarId, { programArgsList: ['--output', dir, '--rate', '200', '--name', name, '--checkpoint-interval', '2000'], parallelism: 2 });
        await waitFor(`${name} to run`, async () => (await flink.job(jobId))?.state === 'RUNNING', 60_000, 500);
        out.push({ name, restUrl: cluster.restUrl, jobId, cluster });
      } finally {
        await flink.close();
      }
    } catch (err) {
      warn(`engine job ${name} left out: ${err instanceof Error ? err.message : String(err)}`);
      await cluster?.stop();
    }
  }
  return out;
}

export async function stopEngineJobs(jobs: EngineJob[]): Promise<void> {
  await Promise.all(jobs.map((j) => j.cluster.stop()));
}
