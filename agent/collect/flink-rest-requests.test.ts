/**
 * What a Flink REST collection asks for, collection after collection (issue 15: the fleet's CPU
 * per job is mostly request work). What does not change between collections is not read again:
 * the vertex's subtasks until its parallelism or the job's run changes, /checkpoints until the
 * job's checkpoint gauges move, the cluster overview when /taskmanagers has it; the aggregates of
 * a vertex come from the same read as its per-subtask series. And nothing the autoscaler reads is
 * lost on the way: the observations are the same as with Flink's own agg= answers.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startFlinkFixtureServer, type FlinkFixtureServer } from '../../test/agent/flink-fixture-server.ts';
import { FlinkRestClient } from '../flink/rest-client.ts';
import { FlinkRestCollector, aggregateLocally, type FlinkCollectResult } from './flink-rest.ts';
import { parseObservation, type JobObservation } from './observation.ts';

const JID = '5e20cb6b0f357591171dfcca2eea09de';
const V2 = '20ba6b65f97481d5570070de90e4e791';

async function fixture(t: TestContext): Promise<FlinkFixtureServer> {
  const s = await startFlinkFixtureServer();
  t.after(() => s.close());
  return s;
}

function collector(t: TestContext, url: string, opts: { perSubtaskMetrics?: boolean; taskManagerSamples?: boolean } = {}): FlinkRestCollector {
  const client = new FlinkRestClient({ baseUrl: url, timeoutMs: 2000 });
  t.after(() => client.close());
  return new FlinkRestCollector({ client, now: () => 1712003600000, ...opts });
}

/** One collection; the requests it made (path and query). */
async function collect(s: FlinkFixtureServer, c: FlinkRestCollector): Promise<{ result: FlinkCollectResult; urls: string[] }> {
  const from = s.urls.length;
  const result = await c.collect(AbortSignal.timeout(5000));
  assert.deepEqual(result.errors, []);
  return { result, urls: s.urls.slice(from) };
}

function observation(r: FlinkCollectResult): JobObservation {
  assert.equal(r.observations.length, 1);
  return parseObservation(JSON.parse(JSON.stringify(r.observations[0])), 'test');
}

describe('Flink REST collection requests', () => {
  it('a steady job costs one request per vertex plus the job, TaskManager and JobManager reads', async (t) => {
    const s = await fixture(t);
    const c = collector(t, s.url);
    await collect(s, c);
    const { urls } = await collect(s, c);
    const paths = urls.map((u) => u.replace(/\?.*/, ''));
    // 3 vertices (one read of the vertex store each), /jobs/overview, /jobs/:id, the job's metrics,
    // /taskmanagers and each of its 2 TaskManagers' metrics, the JobManager's metrics.
    assert.deepEqual(paths.sort(), [
      '/jobmanager/metrics',
      '/jobs/overview',
      `/jobs/${JID}`,
      `/jobs/${JID}/metrics`,
      `/jobs/${JID}/vertices/0a448493b4782967b150582570326227/metrics`,
      `/jobs/${JID}/vertices/20ba6b65f97481d5570070de90e4e791/metrics`,
      `/jobs/${JID}/vertices/bc764cd8ddf7a0cff126f51c16239658/metrics`,
      '/taskmanagers',
      '/taskmanagers/172.18.0.4%3A37813-5a1c3e/metrics',
      '/taskmanagers/172.18.0.5%3A41234-9b8c7d/metrics',
    ].sort());
    assert.equal(urls.filter((u) => u.includes('agg=')).length, 0, 'no agg= request: the aggregates come from the per-subtask read');
  });

  it('computes the same observation from per-subtask reads as from Flink\'s agg= answers', async (t) => {
    const s = await fixture(t);
    const local = observation((await collect(s, collector(t, s.url))).result);
    const { result, urls } = await collect(s, collector(t, s.url, { perSubtaskMetrics: false, taskManagerSamples: false }));
    assert.ok(urls.some((u) => u.startsWith(`/jobs/${JID}/vertices/${V2}/subtasks/metrics?get=`) && u.includes('agg=')));
    assert.ok(urls.some((u) => u.startsWith('/taskmanagers/metrics?get=') && u.includes('agg=')), 'one aggregated TaskManager request');
    assert.ok(!urls.some((u) => /^\/taskmanagers\/[^/?]+\/metrics/.test(u)), 'no per-TaskManager request without TaskManager samples');
    const flink = observation(result);
    assert.deepEqual(local, flink);
    // Subtask 2 of V2 lacks idleTimeMsPerSecond: no aggregate of it, as Flink answers none.
    assert.equal(aggregateLocally([[{ id: 'a', value: '1' }], [{ id: 'b', value: '2' }]], ['a']).size, 0);
    assert.deepEqual(aggregateLocally([[{ id: 'a', value: '1' }], [{ id: 'a', value: '3' }], []], ['a']).get('a'), { id: 'a', min: 1, max: 3, avg: 2, sum: 4 });
  });

  it('reads /checkpoints again when the job\'s checkpoint gauges move, not otherwise', async (t) => {
    const s = await fixture(t);
    const c = collector(t, s.url);
    const cp = `/jobs/${JID}/checkpoints`;
    assert.ok((await collect(s, c)).urls.includes(cp));
    assert.ok(!(await collect(s, c)).urls.includes(cp));
    const stats = s.rest[cp] as { counts: { completed: number; total: number }; latest: { completed: { id: number; end_to_end_duration: number } } };
    stats.counts.completed += 1;
    stats.counts.total += 1;
    stats.latest.completed.end_to_end_duration = 1234;
    const jm = s.store.jobs[JID]!;
    jm.numberOfCompletedCheckpoints = String(stats.counts.completed);
    jm.totalNumberOfCheckpoints = String(stats.counts.total);
    const { result, urls } = await collect(s, c);
    assert.ok(urls.includes(cp));
    assert.equal(observation(result).checkpoints!.completed, stats.counts.completed);
  });

  it('reads /checkpoints every time for a job that lists no checkpoint gauges', async (t) => {
    const s = await fixture(t);
    s.store.jobs[JID] = { numRestarts: '0' };
    const c = collector(t, s.url);
    await collect(s, c);
    assert.ok((await collect(s, c)).urls.includes(`/jobs/${JID}/checkpoints`));
  });

  it('reads a vertex\'s subtasks again after a restart: the series carry the new attempt and TaskManager', async (t) => {
    const s = await fixture(t);
    const c = collector(t, s.url);
    await collect(s, c);
    const vpath = `/jobs/${JID}/vertices/${V2}`;
    assert.ok(!(await collect(s, c)).urls.includes(vpath));
    const vd = s.rest[vpath] as { subtasks: Array<{ attempt: number; 'taskmanager-id': string }> };
    for (const st of vd.subtasks) {
      st.attempt = 1;
      st['taskmanager-id'] = '172.18.0.9:5000-abcdef';
    }
    s.store.jobs[JID]!.numRestarts = '3';
    const { result, urls } = await collect(s, c);
    assert.ok(urls.includes(vpath));
    const busy = result.samples.filter((x) => x.name === 'flink_taskmanager_job_task_busyTimeMsPerSecond' && x.labels.task_id === V2);
    assert.ok(busy.length > 0);
    for (const x of busy) assert.deepEqual([x.labels.task_attempt_num, x.labels.tm_id], ['1', '172_18_0_9:5000_abcdef']);
  });

  it('takes the cluster gauges from /taskmanagers, and from /overview only when /taskmanagers lacks slots', async (t) => {
    const s = await fixture(t);
    s.store.jobmanager = {};
    const c = collector(t, s.url);
    const first = await collect(s, c);
    assert.ok(!first.urls.includes('/overview'));
    const gauge = (r: FlinkCollectResult, name: string): number | undefined => r.samples.find((x) => x.name === `flink_jobmanager_${name}`)?.value;
    assert.deepEqual(['numRegisteredTaskManagers', 'taskSlotsTotal', 'taskSlotsAvailable', 'numRunningJobs'].map((n) => gauge(first.result, n)), [2, 8, 1, 1]);
    for (const tm of (s.rest['/taskmanagers'] as { taskmanagers: Array<Record<string, unknown>> }).taskmanagers) delete tm.freeSlots;
    const second = await collect(s, c);
    assert.ok(second.urls.includes('/overview'));
    assert.equal(gauge(second.result, 'taskSlotsAvailable'), 1);
  });

  it('asks a source lacking pendingRecords for it by name in its per-subtask read, and lists it again once it appears', async (t) => {
    const s = await fixture(t);
    const V1 = 'bc764cd8ddf7a0cff126f51c16239658';
    const key = 'Source__Kafka_Source.pendingRecords';
    const subs = s.store.subtasks[JID]![V1]!;
    const saved = subs.map((m) => m[key]);
    for (const m of subs) delete m[key];
    const c = collector(t, s.url);
    assert.equal(observation((await collect(s, c)).result).vertices.find((v) => v.id === V1)!.pendingRecords, undefined);
    const list = `/jobs/${JID}/vertices/${V1}/subtasks/metrics`;
    assert.ok(!(await collect(s, c)).urls.includes(list), 'not listed again every collection');
    subs.forEach((m, i) => { m[key] = saved[i]!; });
    const { result } = await collect(s, c);
    assert.equal(observation(result).vertices.find((v) => v.id === V1)!.pendingRecords, 15000);
    assert.ok((await collect(s, c)).urls.includes(list), 'listed again after it appeared (its partition gauges come with it)');
  });
});
