import { it } from 'node:test';
import assert from 'node:assert/strict';
import { actedTwice, byJob, costPerJob, decisionGaps, firstDecisionDelays, percentiles, processSample, takeoverDelays, type DecisionSeen } from './measure.ts';

const d = (job: string, replica: string, time: number): DecisionSeen => ({ job, replica, time });

it('takes nearest-rank percentiles', () => {
  assert.deepEqual(percentiles([5, 1, 3, 2, 4]), { n: 5, p50: 3, p99: 5, max: 5 });
  assert.equal(percentiles(Array.from({ length: 200 }, (_, i) => i + 1)).p99, 198);
  assert.ok(Number.isNaN(percentiles([]).p99));
});

it('measures first decisions, same-replica gaps and takeovers from the decisions seen', () => {
  const ds = byJob([d('a', 'r0', 1500), d('a', 'r0', 2500), d('a', 'r0', 2500), d('a', 'r1', 9000), d('a', 'r1', 10_000), d('b', 'r1', 1200), d('b', 'r1', 2400)]);
  assert.equal(ds.get('a')!.length, 4, 'a decision seen twice counts once');
  assert.deepEqual(firstDecisionDelays(new Map([['a', 1000], ['b', 1000], ['c', 1000]]), ds), { delays: [500, 200], never: ['c'] });
  assert.deepEqual(decisionGaps(ds).sort((x, y) => x - y), [1000, 1000, 1200], 'the r0 -> r1 handover is not a gap');
  assert.deepEqual(takeoverDelays('r0', 3000, ['a'], ds), { delays: [6000], never: [] });
  assert.deepEqual(takeoverDelays('r1', 3000, ['b'], ds), { delays: [], never: ['b'] });
});

it('counts a job acted on twice when its deciding replica returns, or two replicas were sampled acting', () => {
  const moved = byJob([d('a', 'r0', 1), d('a', 'r0', 2), d('a', 'r1', 3), d('a', 'r1', 4)]);
  assert.deepEqual(actedTwice(moved), []);
  const interleaved = byJob([d('a', 'r0', 1), d('a', 'r1', 2), d('a', 'r0', 3)]);
  assert.deepEqual(actedTwice(interleaved), ['a']);
  assert.deepEqual(actedTwice(moved, ['b']), ['b']);
});

it('reads the agent\'s process series and divides CPU and RSS by jobs and intervals', () => {
  const text = (cpu: number, rss: number): string => `# HELP x\nflowpilot_agent_process_cpu_seconds_total ${cpu}\nflowpilot_agent_process_resident_memory_bytes ${rss}\n`;
  const s0 = [processSample('r0', 0, text(10, 100 * 2 ** 20)), processSample('r1', 0, text(5, 100 * 2 ** 20))];
  const s1 = [processSample('r0', 10_000, text(11, 150 * 2 ** 20)), processSample('r1', 10_000, text(6, 150 * 2 ** 20))];
  const idle = [processSample('r0', -1, text(1, 80 * 2 ** 20)), processSample('r1', -1, text(1, 80 * 2 ** 20))];
  const c = costPerJob(s0, s1, idle, 100, 5000);
  assert.equal(c.intervals, 2);
  assert.equal(c.cpuMsPerJobPerInterval, 10, '2 s of CPU over 100 jobs and 2 intervals');
  assert.equal(c.rssMbPerJob, 3);
  assert.equal(c.rssMbPerJobAboveIdle, 1.4);
  assert.equal(c.cpuCoresUsed, 0.2);
  assert.throws(() => processSample('r2', 0, 'nothing'), /no flowpilot_agent_process_cpu_seconds_total/);
});
