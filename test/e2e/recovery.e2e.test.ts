/**
 * End to end: disaster recovery by the real `flowpilot agent`. A counting job with checkpoints
 * and a fixed-delay restart strategy of 1 attempt loses every TaskManager (SIGKILL) until it is
 * FAILED, past its restart strategy; fresh TaskManagers join; the agent (recovery enabled for
 * the job, with its jar id and program args) resubmits it from the failed job's latest
 * completed checkpoint. Once all of its input is committed, the exactly-once checker finds
 * nothing lost or duplicated. The job's input is a fixed number of records, after which it idles,
 * RUNNING: however long the recovery takes on a loaded machine, the recovered copy is there to see.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEngineCluster } from '../actuate/support/engine-cluster.ts';
import { committedOutput, jobView, liveJobs, startAgent, startCountingJob, tempDir, waitUntil, writeAgentConfig, writeTestPolicy } from './support/e2e.ts';

const RATE = 200;
const RECORDS = RATE * 25;
const NAME = 'recovery-counting';

describe('disaster recovery of a job killed past its restart strategy', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('brings the FAILED job back from its latest checkpoint, and the output has nothing lost or duplicated', { timeout: 240_000 }, async () => {
    const cluster = await startEngineCluster({
      taskManagers: 2, slots: 2,
      define: ['restart-strategy.type=fixed-delay', 'restart-strategy.fixed-delay.attempts=1', 'restart-strategy.fixed-delay.delay=500', 'heartbeat.interval=500', 'heartbeat.timeout=2000', 'slot.request.timeout=3000'],
    });
    cleanups.push(() => cluster.stop());
    const tmp = tempDir('fp-e2e-recovery-');
    cleanups.push(() => tmp.remove());
    const job = await startCountingJob(cluster.restUrl, cluster.dir, { name: NAME, rate: RATE, records: RECORDS, parallelism: 2, checkpointIntervalMs: 500 });
    // Execute off: this test is about recovery only, never a rescale.
    writeTestPolicy(join(tmp.dir, 'policy.yml'), { execute: false });
    const config = writeAgentConfig(join(tmp.dir, 'agent.yml'), {
      flink: { urls: [cluster.restUrl] },
      scrape: { interval: '1s' },
      rules: { evaluationInterval: '1s' },
      dryRun: false,
      scaling: { policyFile: join(tmp.dir, 'policy.yml') },
      actuation: {
        mode: 'savepoint',
        flinkRestUrl: cluster.restUrl,
        journal: { dir: join(tmp.dir, 'journal') },
        timing: { pollInterval: '200ms', verifyTimeout: '30s' },
        defaults: { jarId: job.jarId, savepointDirectory: join(cluster.dir, 'savepoints'), programArgs: job.programArgs },
        recovery: { enabled: true, jobs: [NAME], maxAttempts: 3, backoff: '1s' },
      },
    });
    const agent = await startAgent(['--config', config], { cwd: tmp.dir });
    cleanups.push(() => agent.kill());
    // Let a few checkpoints complete and the agent see the job running.
    await waitUntil('three completed checkpoints', 60_000, async () => {
      const res = await fetch(`${cluster.restUrl}/jobs/${job.jobId}/checkpoints`);
      const body = await res.json() as { counts?: { completed?: number } };
      return (body.counts?.completed ?? 0) >= 3;
    });

    const killedAt = Date.now();
    let kills = 0;
    await waitUntil('the job to be FAILED past its restart strategy', 40_000, async () => {
      for (const tm of cluster.taskManagers) {
        if (tm.exitCode === null && tm.signalCode === null) {
          tm.kill('SIGKILL');
          kills++;
        }
      }
      return (await jobView(cluster.restUrl, job.jobId))?.state === 'FAILED';
    }, 300);
    const failedAt = Date.now();
    for (let i = 0; i < 2; i++) await cluster.addTaskManager(2);

    const recovered = await waitUntil('the agent to resubmit the job', 40_000, async () => {
      const live = await liveJobs(cluster.restUrl, NAME);
      const id = live.find((x) => x !== job.jobId);
      return id && (await jobView(cluster.restUrl, id))?.state === 'RUNNING' ? id : null;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.lines().filter((l) => !String(l.msg).startsWith('no rescale')).slice(-20).map((l) => JSON.stringify(l).slice(0, 600)).join('\n')}`);
    });
    const runningAt = Date.now();
    const restored = await (await fetch(`${cluster.restUrl}/jobs/${recovered}/checkpoints`)).json() as { latest?: { restored?: { external_path?: string } } };
    assert.match(restored.latest?.restored?.external_path ?? '', /chk-\d+/, 'restored from a checkpoint');
    assert.equal((await liveJobs(cluster.restUrl, NAME)).length, 1, 'one live copy');

    const check = await committedOutput(job, 60_000);
    console.log(`# e2e recovery: ${JSON.stringify({ taskManagerKills: kills, killToFailedS: (failedAt - killedAt) / 1000, failedToRunningS: (runningAt - failedAt) / 1000, restoredFrom: restored.latest?.restored?.external_path, check: { ...check, problems: check.problems.slice(0, 3) } })}`);
    assert.ok(check.ok, JSON.stringify(check));
  });
});
