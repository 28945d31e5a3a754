/**
 * End to end: the real `flowpilot agent` is killed in the middle of a savepoint redeploy and
 * restarted on the same journal. The test-only fault injection (`actuation.faultInjection.
 * crashAfter`) makes the agent exit with 137 right after it journals one step: after the
 * stop-with-savepoint was sent (`savepoint-triggered`), after the old job stopped (`stopped`),
 * and after the new job was submitted (`submitted`). The restarted agent must finish the action
 * (or roll it back): exactly one RUNNING copy of the job at the end, never two, no lasting
 * outage, and the counting job's exactly-once output with nothing lost or duplicated.
 * A schedule floor in the policy (parallelism 3 all day) makes the decision deterministic.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startEngineCluster, type EngineCluster } from '../actuate/support/engine-cluster.ts';
import {
  committedOutput, delay, jobView, journalRecord, liveJobs, startAgent, startCountingJob, tempDir, waitUntil, watchJob, writeAgentConfig, writeTestPolicy,
} from './support/e2e.ts';

const RATE = 200;
// 45 s of input, then the job idles, RUNNING, until the test is done with it: on a loaded
// machine the first decision can come 25 s after the job starts, and the restarted agent may
// finish the action long after the input ran out; the job must still be there to check.
const RECORDS = RATE * 45;

function agentConfig(restUrl: string, dir: string, savepoints: string, job: { jarId: string; programArgs: string[] }, crashAfter: string): Record<string, unknown> {
  return {
    flink: { urls: [restUrl] },
    scrape: { interval: '1s' },
    rules: { evaluationInterval: '1s' },
    dryRun: false,
    scaling: { policyFile: join(dir, 'policy.yml') },
    actuation: {
      mode: 'savepoint',
      flinkRestUrl: restUrl,
      journal: { dir: join(dir, 'journal') },
      timing: { pollInterval: '200ms', verifyTimeout: '30s', savepointTimeout: '30s' },
      defaults: { jarId: job.jarId, savepointDirectory: savepoints, programArgs: job.programArgs },
      faultInjection: { crashAfter },
    },
  };
}

describe('the agent survives a crash at each step of a savepoint redeploy', { concurrency: 3 }, () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  for (const step of ['savepoint-triggered', 'stopped', 'submitted'] as const) {
    it(`finishes or rolls back the redeploy after a crash right after "${step}", leaving one running copy and exactly-once output`, { timeout: 240_000 }, async () => {
      const cluster: EngineCluster = await startEngineCluster({ taskManagers: 1, slots: 8 });
      cleanups.push(() => cluster.stop());
      const tmp = tempDir('fp-e2e-crash-');
      cleanups.push(() => tmp.remove());
      const name = `crash-${step}`;
      const job = await startCountingJob(cluster.restUrl, tmp.dir, { name, rate: RATE, records: RECORDS, parallelism: 2, checkpointIntervalMs: 500 });
      const watch = watchJob(cluster.restUrl, name);
      cleanups.push(async () => void await watch.stop());
      writeTestPolicy(join(tmp.dir, 'policy.yml'), {
        limits: { slotSharing: true, maxParallelism: 8 },
        schedules: [{ name: 'floor-3', cron: '0 0 0 * * *', duration: '1d', floor: { '*': 3 } }],
      });
      const journal = join(tmp.dir, 'journal');
      const crashing = await startAgent(['--config', writeAgentConfig(join(tmp.dir, 'crash.yml'), agentConfig(cluster.restUrl, tmp.dir, join(cluster.dir, 'savepoints'), job, step))], { cwd: tmp.dir });
      cleanups.push(() => crashing.kill('SIGKILL'));
      // A bound only: the crash comes with the first rescale, which a loaded host can delay well past 25 s.
      const code = await Promise.race([crashing.exited, delay(90_000).then(() => 'timeout')]);
      assert.equal(code, 137, `${JSON.stringify(await journalRecord(journal, name))}\nthe agent should exit at the injected crash point:\n${crashing.lines().filter((l) => !l.msg.startsWith("no rescale")).map((l) => JSON.stringify(l).slice(0, 700)).join("\n")}`);
      const atCrash = await journalRecord(journal, name);
      assert.equal(atCrash?.step, step);
      assert.equal(atCrash?.finished, false);
      const crashedAt = Date.now();

      const resumed = await startAgent(['--config', writeAgentConfig(join(tmp.dir, 'resume.yml'), agentConfig(cluster.restUrl, tmp.dir, join(cluster.dir, 'savepoints'), job, 'off'))], { cwd: tmp.dir });
      cleanups.push(() => resumed.kill());
      const end = await waitUntil('the restarted agent to finish the action', 45_000, async () => {
        const r = await journalRecord(journal, name);
        return r?.finished ? r : null;
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${resumed.lines().filter((l) => !l.msg.startsWith('no rescale')).map((l) => JSON.stringify(l).slice(0, 700)).join('\n')}`);
      });
      const resumeS = (Date.now() - crashedAt) / 1000;
      assert.ok(end.outcome === 'succeeded' || end.outcome === 'rolled-back', `outcome ${end.outcome}: ${end.message}`);
      assert.ok(resumed.lines().some((l) => l.msg === 'resuming an action left in flight'), 'the restarted agent resumed the journaled action');
      const live = await liveJobs(cluster.restUrl, name);
      assert.equal(live.length, 1, `one live copy, got ${JSON.stringify(live)}`);
      const view = await jobView(cluster.restUrl, live[0]!);
      assert.equal(view?.state, 'RUNNING');
      const want = end.outcome === 'succeeded' ? 3 : 2;
      assert.ok(view!.vertices.every((v) => v.parallelism === want), JSON.stringify(view!.vertices));
      const seen = await watch.stop();
      await resumed.kill();

      // All of the input, committed by the running copy's checkpoints.
      const check = await committedOutput(job, 90_000);
      console.log(`# e2e crash-after-${step}: ${JSON.stringify({ outcome: end.outcome, steps: end.history.map((h) => h.step), crashToFinishedS: resumeS, longestOutageS: seen.longestGapMs / 1000, maxLiveCopies: seen.maxCopies, check: { ...check, problems: check.problems.slice(0, 3) } })}`);
      assert.equal(seen.maxCopies, 1, 'never two live copies');
      assert.ok(check.ok, JSON.stringify(check));
    });
  }
});
