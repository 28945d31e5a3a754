import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, newMatcher } from '../tsdb/index.ts';
import { startFlinkFixtureServer, type FlinkFixtureServer } from '../../test/agent/flink-fixture-server.ts';
import { FlinkRestClient } from '../flink/rest-client.ts';
import { FlinkRestCollector, FlinkRestSource, type FlinkCollectResult } from './flink-rest.ts';
import { parseObservation } from './observation.ts';
import { ScrapeLoop, createScrapeMetrics } from './scraper.ts';
import type { ParsedSample } from './prometheus-text.ts';
import type { SourceResult, TargetSource } from './target.ts';
import { flinkTarget } from '../process/targets.ts';
import { parseAgentConfig } from '../process/config.ts';
import { setTimeout as delay } from 'node:timers/promises';

const JID = '5e20cb6b0f357591171dfcca2eea09de';
const V1 = 'bc764cd8ddf7a0cff126f51c16239658';
const V2 = '20ba6b65f97481d5570070de90e4e791';
const V3 = '0a448493b4782967b150582570326227';

async function fixture(t: TestContext): Promise<FlinkFixtureServer> {
  const s = await startFlinkFixtureServer();
  t.after(() => s.close());
  return s;
}

function collector(url: string): FlinkRestCollector {
  return new FlinkRestCollector({ client: new FlinkRestClient({ baseUrl: url, timeoutMs: 2000 }), now: () => 1712003600000 });
}

function find(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): ParsedSample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function one(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): ParsedSample {
  const found = find(samples, name, labels);
  assert.equal(found.length, 1, `expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!;
}

describe('Flink REST collector', () => {
  let result: FlinkCollectResult;

  it('names task metrics per subtask exactly as the Prometheus reporter does', async (t) => {
    const s = await fixture(t);
    result = await collector(s.url).collect(AbortSignal.timeout(5000));
    assert.deepEqual(result.errors, []);
    const busy = one(result.samples, 'flink_taskmanager_job_task_busyTimeMsPerSecond', { task_id: V2, subtask_index: '3' });
    assert.equal(busy.value, 950);
    assert.deepEqual(busy.labels, {
      __name__: 'flink_taskmanager_job_task_busyTimeMsPerSecond',
      job_id: JID,
      job_name: 'orders_enrichment',
      task_id: V2,
      task_name: 'KeyedProcess',
      subtask_index: '3',
      task_attempt_num: '0',
      tm_id: '172_18_0_5:41234_9b8c7d',
      host: '172_18_0_5',
    });
    const src = one(result.samples, 'flink_taskmanager_job_task_backPressuredTimeMsPerSecond', { task_id: V1, subtask_index: '0' });
    assert.equal(src.labels.task_name, 'Source:_Kafka_Source____Map');
    assert.equal(src.value, 500);
    assert.equal(one(result.samples, 'flink_taskmanager_job_task_isBackPressured', { task_id: V1, subtask_index: '1' }).value, 1);
    assert.equal(one(result.samples, 'flink_taskmanager_job_task_currentInputWatermark', { task_id: V1, subtask_index: '1' }).value, -9223372036854775808);
    assert.equal(one(result.samples, 'flink_taskmanager_job_task_Shuffle_Netty_Input_Buffers_inPoolUsage', { task_id: V2, subtask_index: '0' }).value, 1);
    assert.equal(find(result.samples, 'flink_taskmanager_job_task_busyTimeMsPerSecond').length, 10);
  });

  it('names operator metrics with the operator_name label', () => {
    const pending = one(result.samples, 'flink_taskmanager_job_task_operator_pendingRecords', { subtask_index: '1' });
    assert.equal(pending.value, 10000);
    assert.equal(pending.labels.operator_name, 'Source__Kafka_Source');
    assert.equal(pending.labels.task_id, V1);
    // Ids outside the curated lists (Kafka partition offsets) are not turned into series.
    assert.equal(result.samples.filter((x) => x.name.includes('KafkaSourceReader')).length, 0);
  });

  it('exports job, TaskManager and JobManager metrics under their reporter names', () => {
    const jobLabels = { job_id: JID, job_name: 'orders_enrichment', host: '127_0_0_1' };
    assert.equal(one(result.samples, 'flink_jobmanager_job_lastCheckpointDuration', jobLabels).value, 950);
    assert.equal(one(result.samples, 'flink_jobmanager_job_numRestarts', jobLabels).value, 2);
    assert.equal(one(result.samples, 'flink_jobmanager_job_lastCheckpointExternalPath', jobLabels).value, 0);
    assert.equal(one(result.samples, 'flink_jobmanager_job_checkpointStartDelay', { quantile: '0.99' }).value, 9);
    assert.equal(find(result.samples, 'flink_jobmanager_job_checkpointStartDelay').length, 6);
    assert.equal(find(result.samples, 'flink_jobmanager_job_checkpointStartDelay_min').length, 0);
    const heap = one(result.samples, 'flink_taskmanager_Status_JVM_Memory_Heap_Used', { tm_id: '172_18_0_4:37813_5a1c3e' });
    assert.equal(heap.value, 215482368);
    assert.equal(heap.labels.host, '172_18_0_4');
    assert.equal(find(result.samples, 'flink_taskmanager_Status_JVM_GarbageCollector_G1_Young_Generation_Count').length, 2);
    assert.equal(one(result.samples, 'flink_jobmanager_numRegisteredTaskManagers').value, 2);
    assert.equal(one(result.samples, 'flink_jobmanager_taskSlotsAvailable').labels.host, '127_0_0_1');
  });

  it('builds a valid JobObservation with topology, rates, skew, lag, checkpoints and heap', () => {
    assert.equal(result.observations.length, 1);
    assert.deepEqual(result.jobs.map((j) => j.state).sort(), ['FINISHED', 'RUNNING']);
    const obs = parseObservation(JSON.parse(JSON.stringify(result.observations[0])), 'collector');
    assert.equal(obs.jobId, JID);
    assert.equal(obs.jobName, 'orders-enrichment');
    assert.equal(obs.time, 1712003600000);
    assert.equal(obs.runningSince, 1712000000400);
    assert.equal(obs.restarts, 2);
    const v = new Map(obs.vertices.map((x) => [x.id, x]));
    assert.deepEqual(v.get(V1)!.inputs, []);
    assert.deepEqual(v.get(V2)!.inputs, [{ id: V1, shipStrategy: 'HASH' }]);
    assert.deepEqual(v.get(V3)!.inputs, [{ id: V2, shipStrategy: 'FORWARD' }]);
    assert.equal(v.get(V1)!.parallelism, 2);
    assert.equal(v.get(V2)!.maxParallelism, 128);
    assert.equal(v.get(V1)!.recordsIn, 3000, 'a source counts the records its source operator read');
    assert.equal(v.get(V1)!.recordsOut, 3000);
    assert.equal(v.get(V2)!.recordsIn, 7500);
    // Subtask 2 of V2 lacks idleTimeMsPerSecond, so Flink answers [] to the joint agg request; busy still arrives.
    assert.deepEqual(v.get(V2)!.busyMsPerSecond, { avg: 875, max: 950 });
    assert.deepEqual(v.get(V1)!.backPressuredMsPerSecond, { avg: 475, max: 500 });
    assert.equal(v.get(V1)!.pendingRecords, 15000);
    assert.equal(v.get(V1)!.partitions, 4);
    assert.equal(v.get(V2)!.pendingRecords, undefined);
    assert.deepEqual(obs.checkpoints, { failed: 0, completed: 12, lastDurationMs: 950, lastSizeBytes: 2048, lastRestoreTime: 1712000000300 });
    assert.equal(obs.taskManagers!.count, 2);
    assert.equal(obs.taskManagers!.slotsPerTaskManager, 4);
    assert.equal(obs.taskManagers!.heapUsedBytes, 315482368);
    assert.equal(obs.taskManagers!.gcTimeMsPerSecond, 30);
    assert.ok(Math.abs(obs.taskManagers!.cpuLoad!.avg - 0.7) < 1e-9);
  });

  it('reads subtasks one by one when the REST server has no vertex metric store', async (t) => {
    const s = await fixture(t);
    s.vertexStore = false;
    const r = await collector(s.url).collect(AbortSignal.timeout(5000));
    assert.equal(one(r.samples, 'flink_taskmanager_job_task_busyTimeMsPerSecond', { task_id: V2, subtask_index: '3' }).value, 950);
    assert.ok(s.requests.includes(`/jobs/${JID}/vertices/${V2}/subtasks/3/metrics`));
  });

  it('falls back to /checkpoints and /overview for gauges a REST server does not list', async (t) => {
    const s = await fixture(t);
    s.store.jobs[JID] = {};
    s.store.jobmanager = {};
    const r = await collector(s.url).collect(AbortSignal.timeout(5000));
    assert.equal(one(r.samples, 'flink_jobmanager_job_lastCheckpointDuration').value, 950);
    assert.equal(one(r.samples, 'flink_jobmanager_job_numberOfCompletedCheckpoints').value, 12);
    assert.equal(one(r.samples, 'flink_jobmanager_job_lastCheckpointRestoreTimestamp').value, 1712000000300);
    assert.equal(one(r.samples, 'flink_jobmanager_taskSlotsTotal').value, 8);
  });

  it('runs as a scrape target: job and instance labels, up, and stale subtasks after a scale-in', async (t) => {
    const s = await fixture(t);
    const db = new MemoryStorage();
    let clock = 1_800_000_000_000;
    let observed: FlinkCollectResult | null = null;
    const source = new FlinkRestSource(collector(s.url), (r) => { observed = r; });
    const instance = new URL(s.url).host;
    const loop = new ScrapeLoop(
      { labels: { job: 'flink', instance }, source, intervalMs: 1000, timeoutMs: 5000, honorLabels: false, maxBackoffMs: 4000 },
      { pool: 'flink-rest', appender: db, metrics: createScrapeMetrics(), now: () => clock },
    );
    await loop.scrapeOnce();
    assert.ok(observed);
    const busy = (idx: string) =>
      db.select([newMatcher('=', '__name__', 'flink_taskmanager_job_task_busyTimeMsPerSecond'), newMatcher('=', 'task_id', V2), newMatcher('=', 'subtask_index', idx)], -Infinity, Infinity)[0]!;
    assert.equal(busy('3').labels.job, 'flink');
    assert.equal(busy('3').labels.instance, instance);
    const up = () => db.select([newMatcher('=', '__name__', 'up')], -Infinity, Infinity)[0]!;
    assert.equal(up().v.at(-1), 1);

    // Scale KeyedProcess in from 4 to 2: subtasks 2 and 3 disappear.
    const job = s.rest[`/jobs/${JID}`] as { vertices: Array<{ id: string; parallelism: number }> };
    job.vertices.find((x) => x.id === V2)!.parallelism = 2;
    const vd = s.rest[`/jobs/${JID}/vertices/${V2}`] as { parallelism: number; subtasks: unknown[] };
    vd.parallelism = 2;
    vd.subtasks = vd.subtasks.slice(0, 2);
    s.store.subtasks[JID]![V2] = s.store.subtasks[JID]![V2]!.slice(0, 2);
    clock += 1000;
    await loop.scrapeOnce();
    assert.equal(busy('3').stale?.at(-1), 1, 'subtask 3 should be marked stale');
    assert.equal(busy('1').stale, null);

    s.failWith = 500;
    clock += 1000;
    await loop.scrapeOnce();
    assert.equal(up().v.at(-1), 0);
    assert.equal(busy('1').stale?.at(-1), 1);
    assert.match(loop.health().lastError, /HTTP 500/);
  });
});

describe('Flink REST source without samples', () => {
  it('still hands over observations but stores no series when samples are turned off', async (t) => {
    const s = await fixture(t);
    let seen: FlinkCollectResult | null = null;
    const source = new FlinkRestSource(collector(s.url), (r) => { seen = r; }, false);
    const r = await source.fetch(AbortSignal.timeout(5000));
    assert.deepEqual(r.samples, []);
    assert.equal(seen!.observations.length, 1);
  });
});

describe('the Flink collection as a target on a slow or failing cluster', () => {
  const INTERVAL_MS = 200;
  const cfg = parseAgentConfig({ flink: { interval: `${INTERVAL_MS}ms` } });

  it('retries a failed collection at every tick, never backing off, and counts the failures', async (t) => {
    const s = await fixture(t);
    let clock = 1_800_000_000_000;
    let observations = 0;
    const source = new FlinkRestSource(collector(s.url), (r) => { observations += r.observations.length; });
    const target = flinkTarget(s.url, source, cfg);
    const metrics = createScrapeMetrics();
    const db = new MemoryStorage();
    const loop = new ScrapeLoop(target, { pool: 'flink-rest', appender: db, metrics, now: () => clock });
    s.failWith = 503;
    for (let i = 1; i <= 5; i++) {
      const before = s.requests.length;
      await loop.scrapeOnce();
      assert.ok(s.requests.length > before, `tick ${i} after ${i - 1} failure(s) made no request (backed off)`);
      assert.equal(loop.health().consecutiveFailures, i);
      assert.equal(loop.health().health, 'down');
      clock += INTERVAL_MS;
    }
    assert.equal((await metrics.failures.get()).values[0]?.value, 5);
    s.failWith = null;
    await loop.scrapeOnce();
    assert.equal(loop.health().health, 'up');
    assert.equal(observations, 1);
    const up = db.select([newMatcher('=', '__name__', 'up')], -Infinity, Infinity)[0]!;
    assert.deepEqual(up.v, [0, 0, 0, 0, 0, 1]);
  });

  it('lets a collection that overruns its interval complete instead of timing it out', async (t) => {
    const s = await fixture(t);
    const inner = new FlinkRestSource(collector(s.url));
    let observations = 0;
    // A host so loaded that one collection takes three intervals.
    const slow: TargetSource = {
      url: inner.url,
      async fetch(signal: AbortSignal): Promise<SourceResult> {
        await delay(3 * INTERVAL_MS, undefined, { signal });
        const r = await inner.collector.collect(signal);
        observations += r.observations.length;
        return { samples: r.samples, parseErrors: 0 };
      },
    };
    const target = flinkTarget(s.url, slow, cfg);
    assert.ok(target.timeoutMs >= cfg.flink.timeout, `collection timeout ${target.timeoutMs} ms`);
    const loop = new ScrapeLoop(target, { pool: 'flink-rest', appender: new MemoryStorage(), metrics: createScrapeMetrics() });
    await loop.scrapeOnce();
    assert.equal(loop.health().health, 'up', loop.health().lastError);
    assert.equal(observations, 1);
  });
});
