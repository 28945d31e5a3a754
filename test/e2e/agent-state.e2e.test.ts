/**
 * End to end: the real `flowpilot agent` (a child process) scales the order-enrichment job up in
 * place on a real engine cluster and learns the restart cost from that rescale; it is then
 * killed with SIGKILL and started again on the same journal directory. When the load drops, the
 * restarted agent must refuse the reversal inside the cool-down (10 min) and decide with the
 * restart cost the first one learned. An agent that forgot its state would scale the job down
 * within the scale-down delay (2 s here) of the drop: the test would see that rescale.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEngineCluster } from '../actuate/support/engine-cluster.ts';
import { uploadJobModule } from '../actuate/support/engine-cluster.ts';
import { ROOT, jobView, jobsOverview, runJar, startAgent, tempDir, waitUntil, writeTestPolicy, type AgentLine } from './support/e2e.ts';

const JOB = resolve(ROOT, 'engine/jobs/order-enrichment.ts');
const JOB_ARGS = ['--partitions', '8', '--latency', '50', '--capacity', '10', '--checkpoint-interval', '1000', '--window', '2000', '--out-of-orderness', '500'];
const SCRAPE = ['--scrape-interval', '1s', '--eval-interval', '1s'];

describe('the agent keeps its autoscaler state across a SIGKILL', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('the restarted agent still refuses a reversal inside the cool-down and still knows the restart cost', { timeout: 360_000 }, async () => {
    const cluster = await startEngineCluster({ taskManagers: 1, slots: 8, define: ['jobmanager.scheduler=adaptive', 'heartbeat.timeout=3000'] });
    cleanups.push(() => cluster.stop());
    const jarId = await uploadJobModule(cluster.restUrl, JOB);
    const out = join(cluster.dir, 'out');
    mkdirSync(out, { recursive: true });
    const stepAt = 8;
    const dropAt = 75;
    // A long low phase: on a loaded host the enrichment, capped at 4, falls behind the x4 step, and
    // after the drop the agent is in backlog mode (rightly no scale-down wish) until it has caught
    // up: at 157 rec/s per subtask that takes about a minute. The test ends at the refusal.
    const limit = 250 * stepAt + 1000 * (dropAt - stepAt) + 250 * 240;
    const name = 'e2e-state';
    const jobId = await runJar(cluster.restUrl, jarId, {
      programArgsList: [...JOB_ARGS, '--profile', `steps:250@0s,1000@${stepAt}s,250@${dropAt}s`, '--limit', String(limit), '--output', out, '--name', name],
      parallelism: 2,
    });
    await waitUntil('the job to run', 30_000, async () => (await jobView(cluster.restUrl, jobId))?.state === 'RUNNING');
    const startedAt = (await jobsOverview(cluster.restUrl)).find((j) => j.jid === jobId)!['start-time'];
    const vertices = (await jobView(cluster.restUrl, jobId))!.vertices;
    const enrich = vertices.find((v) => /Enrich/.test(v.name))!.id;
    const source = vertices.find((v) => /^Source/.test(v.name))!.id;
    const windows = vertices.find((v) => v.id !== enrich && v.id !== source)!.id;

    const tmp = tempDir('fp-e2e-state-');
    cleanups.push(() => tmp.remove());
    const policy = writeTestPolicy(join(tmp.dir, 'policy.yml'), {
      cooldown: '10m',
      scaleDown: { delay: '2s', minGain: 0 },
      // The x4 step needs 3-7 enrichment subtasks: capped at 4, the first scale-up is the last one, so
      // whatever the restarted agent refuses comes from the state it restored, not from a rescale of its own.
      // The source and the (idle) window vertex stay where they are, so the only rescale is that scale-up.
      limits: { slotSharing: true, maxParallelism: 8, vertices: { [enrich]: { min: 2, max: 4 }, [source]: { min: 2, max: 2 }, [windows]: { min: 2, max: 2 } } },
    });
    const args = ['--flink-url', cluster.restUrl, '--no-dry-run', '--actuation', 'in-place', '--policy', policy, '--journal', join(tmp.dir, 'journal'), ...SCRAPE];
    const first = await startAgent(args, { cwd: tmp.dir });
    cleanups.push(() => first.kill('SIGKILL'));
    const decisions = (a: typeof first): AgentLine[] => a.lines().filter((l) => l.event === 'scaling_decision');
    const say = (a: typeof first): string => a.lines().filter((l) => !String(l.msg).startsWith('no rescale')).slice(-12).map((l) => JSON.stringify(l).slice(0, 400)).join('\n');

    const action = await waitUntil('the scale-up to be carried out', 60_000, () => first.actions().find((a) => a.outcome === 'succeeded')).catch((err: Error) => {
      throw new Error(`${err.message}\n${say(first)}`);
    });
    const up = first.rescales()[0]!;
    const upTo = (up.parallelism as Record<string, number>)[enrich]!;
    assert.ok(upTo > 2, `the enrichment vertex grew: ${JSON.stringify(first.rescales().map((r) => [r.parallelism, r.reasons]))}`);
    // The restart cost is learned once records flow again at the new parallelism (prior: 5 s).
    const learned = await waitUntil('the restart cost to be learned', 40_000, () =>
      decisions(first).find((d) => d.time > action.time && d.restart_cost_sec !== 5)?.restart_cost_sec as number | undefined).catch((err: Error) => {
      throw new Error(`${err.message}\n${say(first)}`);
    });
    assert.ok(Date.now() < startedAt + dropAt * 1000 - 5000, 'still before the drop (the machine is too slow for this test otherwise)');
    await first.kill('SIGKILL');
    assert.equal(first.proc.signalCode, 'SIGKILL');
    const lastCost = decisions(first).at(-1)!.restart_cost_sec as number;

    const second = await startAgent(args, { cwd: tmp.dir });
    cleanups.push(() => second.kill());
    const restored = await waitUntil('the state to be restored', 30_000, () => second.lines().find((l) => l.msg === 'autoscaler state restored'));
    assert.equal(restored.restartCostSec, lastCost, 'the restart cost the killed agent knew last');
    // Whether it already wants fewer subtasks at the high rate depends on the machine; after the drop
    // (and once any backlog from the high phase is read) it does, while the job still runs.
    const outcome = await waitUntil('the restarted agent to refuse the scale-down after the drop', 240_000, async () => {
      const d = decisions(second).find((x) => x.blocked_by === 'cooldown' && x.time >= startedAt + dropAt * 1000);
      if (d) return d;
      const state = (await jobView(cluster.restUrl, jobId))?.state;
      return state !== undefined && state !== 'RUNNING' ? `the job ended (${state})` : null;
    }, 500).catch((err: Error) => {
      throw new Error(`${err.message}\n${say(second)}\n${JSON.stringify(decisions(second).slice(-3))}`);
    });
    if (typeof outcome === 'string') throw new Error(`${outcome} before the restarted agent refused a scale-down\n${say(second)}\n${JSON.stringify(decisions(second).slice(-3))}`);
    const blocked = outcome;
    assert.match((blocked.reasons as string[]).join('\n'), /cool-down: last rescale \(up\)/);
    assert.equal(second.rescales().length, 0, `no rescale: ${JSON.stringify(second.rescales().map((r) => r.parallelism))}`);
    assert.equal(decisions(second)[0]!.restart_cost_sec, lastCost, 'the first decision already uses it');
    console.log(`# e2e agent-state: ${JSON.stringify({
      stepToScaleUpS: (up.time - startedAt - stepAt * 1000) / 1000, enrich: upTo, learnedRestartCostSec: learned, restartCostAtKillSec: lastCost,
      dropToCooldownBlockS: (blocked.time - startedAt - dropAt * 1000) / 1000, restartedDecisions: decisions(second).length,
    })}`);
  });
});
