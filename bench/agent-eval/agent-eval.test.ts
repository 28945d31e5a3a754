/**
 * Smoke test of the agent-evaluation benchmark at a tiny size (4 vertices x 8 subtasks, 1 s
 * interval): the real Prometheus 2.42 and the agent child both scrape every synthetic series,
 * evaluate every group of the default pack, and the report carries figures from both sides.
 * Needs the prometheus binary: fails under CI=true without it, skips otherwise.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { missingBinaries } from '../../test/support/processes.ts';
import { loadRuleFiles } from '../../agent/rules/index.ts';
import { AGENT_GLIBC_TUNABLES, AGENT_NODE_FLAGS, RULE_FILES, runBenchmark } from './bench.ts';
import { renderReport, summarize } from './report.ts';
import { replaceSection } from './write-section.ts';
import { syntheticJob, javaDouble } from './synthetic-job.ts';

const skip = missingBinaries(['prometheus']);

describe('agent-eval benchmark', () => {
  it('runs its agent child with the Node flags and malloc settings the deployed agent gets', () => {
    const root = join(import.meta.dirname, '../..');
    const launcher = readFileSync(join(root, 'bin/flowpilot'), 'utf8');
    const agentBranch = launcher.slice(launcher.indexOf('if [ "$1" = agent ]'));
    for (const flag of AGENT_NODE_FLAGS) assert.match(agentBranch, new RegExp(`exec "\\$node" [^\\n]*${flag}`), `bin/flowpilot agent lacks ${flag}`);
    assert.ok(agentBranch.includes(AGENT_GLIBC_TUNABLES), 'bin/flowpilot agent sets other GLIBC_TUNABLES');
    const entrypoint = readFileSync(join(root, 'Dockerfile'), 'utf8').split('\n').find((l) => l.startsWith('ENTRYPOINT'))!;
    for (const flag of AGENT_NODE_FLAGS) assert.ok(entrypoint.includes(`"${flag}"`), `the Dockerfile ENTRYPOINT lacks ${flag}`);
  });

  it('renders Flink reporter lines whose values change on every scrape and whose counters never go back', () => {
    const job = syntheticJob({ vertices: 4, subtasks: 8, intervalMs: 1000, seed: 7 });
    const tm = job.targets.find((t) => t.name === 'taskmanager-0')!;
    const a = tm.render(1);
    const b = tm.render(2);
    assert.ok(a !== b, 'two scrapes returned the same body');
    // Same seed, same tick, same body (watermarks follow the wall clock, so they are left out).
    const noWatermarks = (body: string): string => body.split('\n').filter((l) => !l.includes('currentOutputWatermark')).join('\n');
    const again = syntheticJob({ vertices: 4, subtasks: 8, intervalMs: 1000, seed: 7 }).targets[0]!.render(1);
    assert.ok(noWatermarks(a) === noWatermarks(again), 'the same seed rendered a different body');
    assert.ok(noWatermarks(a) !== noWatermarks(syntheticJob({ vertices: 4, subtasks: 8, intervalMs: 1000, seed: 8 }).targets[0]!.render(1)), 'another seed rendered the same body');
    const line = a.split('\n').find((l) => l.startsWith('flink_taskmanager_job_task_numRecordsIn{'))!;
    assert.match(line, /^flink_taskmanager_job_task_numRecordsIn\{host="[^"]+",tm_id="[^"]+",job_id="[0-9a-f]{32}",job_name="[^"]+",task_id="[0-9a-f]{32}",task_name="[^"]+",task_attempt_id="[^"]+",task_attempt_num="0",subtask_index="\d+",\} \d+\.0$/);
    const counter = (body: string): number => Number(body.split('\n').find((l) => l.startsWith(line.slice(0, line.lastIndexOf(' '))))!.split(' ').pop());
    let prev = -1;
    for (let t = 1; t < 50; t++) {
      const v = counter(tm.render(t));
      assert.ok(v > prev, `counter went back at tick ${t}`);
      prev = v;
    }
    assert.deepEqual([javaDouble(7), javaDouble(215482368), javaDouble(0.0001), javaDouble(NaN), javaDouble(0.5)], ['7.0', '2.15482368E8', '1.0E-4', 'NaN', '0.5']);
  });

  it('replaces only its own section of BENCHMARKS.md', () => {
    const doc = '# Benchmarks\n\n## Scaling\n\nA\n\n## Agent evaluation\n\nold\n\n## Engine\n\nB\n';
    assert.equal(replaceSection(doc, 'Agent evaluation', 'new'), '# Benchmarks\n\n## Scaling\n\nA\n\n## Agent evaluation\n\nnew\n\n## Engine\n\nB\n');
    assert.equal(replaceSection('# Benchmarks\n', 'Agent evaluation', 'x'), '# Benchmarks\n\n## Agent evaluation\n\nx\n');
  });

  it('runs end to end at 4 x 8 against the real Prometheus with every rule of the pack selecting data', { skip: skip ?? false, timeout: 300_000 }, async () => {
    // Bounded so a hang fails the test, not timed: about 20 s idle, minutes at load 16 on 2 cores.
    const result = await runBenchmark({ vertices: 4, subtasks: 8, intervalMs: 1000, warm: 2, measured: 2, seed: 1, deadline: Date.now() + 280_000 });
    const { agent, prometheus } = result;
    assert.equal(agent.samplesScraped, result.expectedSeries);
    assert.equal(prometheus.samplesScraped, result.expectedSeries);
    assert.deepEqual(agent.targetsDown, []);
    assert.deepEqual(prometheus.targetsDown, []);
    assert.deepEqual(agent.ruleErrors, []);
    assert.deepEqual(agent.selectorsWithoutData, []);
    assert.equal(agent.cycles.length, 4);
    assert.ok(agent.cycles.every((c) => c.evalCpuMs > 0 && c.scrapeCpuMs > 0));
    assert.ok(agent.maxRssBytes > 10 * 1024 * 1024);
    // The loops as deployed: every target scraped at its own offset in each of the 3 intervals.
    const perTarget = new Map<string, number[]>();
    for (const d of agent.deployed) perTarget.set(d.target, [...(perTarget.get(d.target) ?? []), d.interval]);
    assert.equal(perTarget.size, result.targets);
    for (const [t, intervals] of perTarget) assert.deepEqual(intervals.sort(), [0, 1, 2], t);
    assert.ok(agent.deployed.every((d) => d.startLateMs >= -5 && d.endLateMs >= d.startLateMs && d.durationMs > 0));

    const { files } = await loadRuleFiles(RULE_FILES);
    const groups = files.flatMap((f) => f.groups.map((g) => g.name)).sort();
    assert.deepEqual(Object.keys(agent.cycles.at(-1)!.groups).sort(), groups);
    assert.equal(prometheus.rounds.length, 2);
    for (const round of prometheus.rounds) {
      assert.deepEqual(Object.keys(round.groups).sort(), groups);
      assert.ok(round.sumMs > 0);
    }
    assert.ok(prometheus.rssBytes > 0);

    const summary = summarize(result);
    assert.deepEqual(summary.problems, []);
    const report = renderReport(result, summary);
    assert.match(report, /\| rule evaluation, all groups .*\| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ x \|/);
    assert.match(report, /agent RSS peak \d+ MB/);
  });
});
