/**
 * Contract tests on real Flink responses, recorded in the Flink Kubernetes Operator's tests and
 * rebuilt as fixtures in test/fixtures/flink-recorded/ (each file names its source): job details
 * from 1.15, 1.16 and 1.18 without slotSharingGroupId and one with it (a 1.20 field), quoted "NaN"
 * accumulated times, checkpoint statistics from 1.14 and 1.15, /config from 1.13 and 1.14, the Kafka,
 * dynamic-Kafka and Pulsar metric ids. The collector must read them as the operator's
 * ScalingMetricCollector does; `flowpilot collect --once` must print that observation.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import type { JobDetails } from '../../agent/flink/rest-types.ts';
import { FlinkRestCollector } from '../../agent/collect/flink-rest.ts';
import { sourcePartitionKey } from '../../agent/collect/flink-names.ts';
import { parseObservation, type JobObservation } from '../../agent/collect/observation.ts';
import { decide } from '../../agent/scaling/decide.ts';
import { emptyHistory, updateHistory } from '../../agent/scaling/history.ts';
import { policySchema } from '../../agent/scaling/policy-schema.ts';
import { loadRecordedScenario, recordedScenarioNames, startFlinkFixtureServer, type FlinkFixtureServer } from './flink-fixture-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RECORDED = join(ROOT, 'test', 'fixtures', 'flink-recorded');
const SOURCE = 'bc764cd8ddf7a0cff126f51c16239658';
const SINK = '20ba6b65f97481d5570070de90e4e791';

async function replay(t: TestContext, name: string, edit?: (s: ReturnType<typeof loadRecordedScenario>) => void): Promise<FlinkFixtureServer> {
  const fixtures = loadRecordedScenario(name);
  edit?.(fixtures);
  const server = await startFlinkFixtureServer(fixtures);
  t.after(() => server.close());
  return server;
}

function collectorFor(t: TestContext, url: string): FlinkRestCollector {
  const client = new FlinkRestClient({ baseUrl: url, timeoutMs: 5000 });
  t.after(() => client.close());
  return new FlinkRestCollector({ client, perSubtaskMetrics: false, now: () => 1_800_000_000_000 });
}

async function observe(c: FlinkRestCollector): Promise<JobObservation> {
  const r = await c.collect(AbortSignal.timeout(10_000));
  assert.equal(r.observations.length, 1, `one observation expected; errors: ${r.errors.join('; ')}`);
  return parseObservation(JSON.parse(JSON.stringify(r.observations[0])), 'collector');
}

function vertex(o: JobObservation, id: string): JobObservation['vertices'][number] {
  return o.vertices.find((v) => v.id === id)!;
}

function recorded(file: string): { source: string; response?: unknown; ids?: string[]; operatorExpects?: number } {
  return JSON.parse(readFileSync(join(RECORDED, file), 'utf8')) as { source: string; response?: unknown; ids?: string[]; operatorExpects?: number };
}

describe('recorded Flink payloads', () => {
  it('every fixture names where in the operator it was recorded', () => {
    for (const file of ['job-details-1.15.json', 'job-details-1.16.json', 'job-details-slot-sharing-group.json', 'job-details-1.18-finished-source.json',
      'checkpoints-1.14.json', 'checkpoints-1.15.json', 'config-1.13.json', 'config-1.14.json',
      'metric-ids-kafka.json', 'metric-ids-dynamic-kafka.json', 'metric-ids-pulsar.json']) {
      assert.match(recorded(file).source, /^apache\/flink-kubernetes-operator \S+\.java \(/, file);
    }
  });

  it('counts source partitions from the recorded ids as the operator expects (5 Kafka, 6 dynamic Kafka, 5 Pulsar)', () => {
    for (const file of ['metric-ids-kafka.json', 'metric-ids-dynamic-kafka.json', 'metric-ids-pulsar.json']) {
      const f = recorded(file);
      const keys = new Set(f.ids!.map((id) => sourcePartitionKey(id.replace(/^\d+\./, ''))).filter((k) => k !== null));
      assert.equal(keys.size, f.operatorExpects, file);
    }
    // The operator's PartitionMetricNameParserTest near misses.
    assert.equal(sourcePartitionKey('x.KafkaSourceReader.topic.testTopic.partition.abc.currentOffset'), null);
    assert.equal(sourcePartitionKey('x.KafkaSourceReader.topic.testTopic.partition..currentOffset'), null);
    assert.equal(sourcePartitionKey('0.PulsarConsumer.testTopic-partition-abc.numMsgsReceived'), null);
    assert.equal(sourcePartitionKey('0.PulsarConsumer.testTopic.numMsgsReceived'), null);
  });

  it('a legacy SourceFunction (busy time NaN, 1.16) is not sized and counts its records from Source__*.numRecordsOut', async (t) => {
    const s = await replay(t, 'legacy-source-1.16');
    const o = await observe(collectorFor(t, s.url));
    const src = vertex(o, SOURCE);
    assert.equal(src.excluded, 'no-busy-time');
    assert.deepEqual(src.busyMsPerSecond, { avg: 0, max: 0 }, 'nothing invented from idle and backpressured time');
    assert.equal(src.recordsIn, 33254, 'task and Source__ numRecordsIn are 0: Source__Custom_Source.numRecordsOut counts');
    assert.equal(src.accumulatedBusyMs, undefined, 'the recorded "NaN" accumulated-busy-time is no figure');
    const sink = vertex(o, SINK);
    assert.equal(sink.excluded, undefined);
    assert.equal(sink.recordsIn, 33233);
    assert.equal(sink.accumulatedBusyMs, 171);
    // Checkpoint statistics as 1.14 writes them: no checkpointed_size, state_size instead.
    assert.deepEqual(o.checkpoints, { failed: 0, completed: 2, lastDurationMs: 420, lastSizeBytes: 8646 });
  });

  it('decide() keeps the unsized source at its parallelism however busy it would look', async (t) => {
    const s = await replay(t, 'legacy-source-1.16');
    const c = collectorFor(t, s.url);
    const policy = policySchema.parse({ metricsWindow: '1m' });
    let h = emptyHistory('2667c218edfecda90ba9b4b23e8e14e1', policy);
    const sub = s.store.subtasks['2667c218edfecda90ba9b4b23e8e14e1']!;
    const details = s.rest['/jobs/2667c218edfecda90ba9b4b23e8e14e1'] as JobDetails;
    let last;
    for (let i = 0; i < 6; i++) {
      const o = { ...(await observe(c)), time: 1_800_000_000_000 + i * 15_000, runningSince: 1_800_000_000_000 - 600_000 };
      last = decide({ observation: o }, h, policy, { now: () => o.time });
      h = updateHistory(h, o, last, policy);
      if (last.action === 'rescale') break;
      // The source reads 4000 records/s, the sink is saturated by them.
      for (const m of sub[SOURCE]!) for (const k of ['numRecordsOut', 'Source__Custom_Source.numRecordsOut']) m[k] = String(Number(m[k]) + 30_000);
      for (const m of sub[SINK]!) { m.numRecordsIn = String(Number(m.numRecordsIn) + 30_000); m.busyTimeMsPerSecond = '1000'; m.idleTimeMsPerSecond = '0'; }
      const sinkDetails = details.vertices.find((v) => v.id === SINK)!;
      sinkDetails.metrics!['accumulated-busy-time'] = Number(sinkDetails.metrics!['accumulated-busy-time']) + 2 * 15_000;
    }
    assert.ok(last);
    assert.equal(last.action, 'rescale', `the saturated sink triggers a rescale (${last.blockedBy}: ${last.reasons.join('; ')})`);
    assert.equal(last.parallelism[SOURCE], 2, 'the excluded source keeps parallelism 2');
    assert.equal(last.recommended[SOURCE], 2);
    assert.ok(last.perVertex[SOURCE]!.notes.some((n) => /no busy time .*not sized/.test(n)), last.perVertex[SOURCE]!.notes.join('; '));
    assert.ok((last.parallelism[SINK] ?? 0) > 2, `the saturated sink is sized up (got ${last.parallelism[SINK]})`);
  });

  it('a FINISHED source (1.18, no slotSharingGroupId) is excluded and never queried for metrics', async (t) => {
    const s = await replay(t, 'finished-source-1.18');
    const o = await observe(collectorFor(t, s.url));
    const src = vertex(o, SOURCE);
    assert.equal(src.excluded, 'finished');
    assert.equal(src.recordsOut, 291629, 'the counters come from the job details');
    assert.deepEqual(src.busyMsPerSecond, { avg: 0, max: 0 });
    assert.equal(vertex(o, SINK).recordsIn, 291532);
    assert.equal(vertex(o, SINK).excluded, undefined);
    assert.deepEqual(s.requests.filter((p) => p.includes(`/vertices/${SOURCE}`)), []);
    assert.equal(o.checkpoints, undefined, 'checkpointing off: /checkpoints answers 404');
  });

  it('Kafka ids on the 1.15 job: 5 partitions, checkpoint statistics as 1.15 writes them', async (t) => {
    const s = await replay(t, 'kafka-1.15');
    const o = await observe(collectorFor(t, s.url));
    assert.equal(vertex(o, SOURCE).partitions, 5);
    assert.equal(vertex(o, SOURCE).pendingRecords, 1200);
    assert.equal(vertex(o, SOURCE).accumulatedBusyMs, undefined, '1.15 sends no accumulated times');
    assert.deepEqual(o.checkpoints, { failed: 9, completed: 3, lastDurationMs: 31, lastSizeBytes: 15207 });
  });

  it('dynamic Kafka ids on the recorded job with slotSharingGroupId: 6 partitions (clusters kept apart)', async (t) => {
    const s = await replay(t, 'dynamic-kafka');
    const o = await observe(collectorFor(t, s.url));
    assert.equal(vertex(o, SOURCE).partitions, 6);
    assert.equal(vertex(o, SOURCE).accumulatedBusyMs, 13347);
    assert.equal(vertex(o, SOURCE).excluded, undefined);
  });

  it('Pulsar ids: 5 partitions (one partition under two consumers counts once)', async (t) => {
    const s = await replay(t, 'pulsar');
    const o = await observe(collectorFor(t, s.url));
    assert.equal(vertex(o, SOURCE).partitions, 5);
    assert.equal(vertex(o, SOURCE).recordsIn, 92037);
  });

  it('a lazily registered pendingRecords shows up on the next collection', async (t) => {
    const key = 'Source__Kafka_Source_(testTopic).pendingRecords';
    const s = await replay(t, 'kafka-1.15', (f) => {
      for (const m of f.store.subtasks['068d4a00e4592099e94bb7a45f5bbd95']![SOURCE]!) delete m[key];
    });
    const c = collectorFor(t, s.url);
    assert.equal(vertex(await observe(c), SOURCE).pendingRecords, undefined);
    // The Kafka source registers the gauge on its first record.
    s.store.subtasks['068d4a00e4592099e94bb7a45f5bbd95']![SOURCE]!.forEach((m, i) => { m[key] = String(100 * (i + 1)); });
    assert.equal(vertex(await observe(c), SOURCE).pendingRecords, 300);
  });

  it('reads the recorded /config of 1.13 and 1.14', async (t) => {
    for (const [file, version] of [['config-1.13.json', '1.13.6'], ['config-1.14.json', '1.14.4']] as const) {
      const s = await startFlinkFixtureServer({ rest: { '/config': recorded(file).response }, store: { jobmanager: {}, taskmanagers: {}, jobs: {}, subtasks: {} } });
      t.after(() => s.close());
      const client = new FlinkRestClient({ baseUrl: s.url });
      t.after(() => client.close());
      assert.equal((await client.config())['flink-version'], version);
    }
  });
});

describe('flowpilot collect --once against the replayed payloads', () => {
  const run = promisify(execFile);
  const expectations: Record<string, (o: JobObservation) => void> = {
    'legacy-source-1.16': (o) => { assert.equal(vertex(o, SOURCE).excluded, 'no-busy-time'); assert.equal(vertex(o, SOURCE).recordsIn, 33254); },
    'finished-source-1.18': (o) => assert.equal(vertex(o, SOURCE).excluded, 'finished'),
    'kafka-1.15': (o) => assert.equal(vertex(o, SOURCE).partitions, 5),
    'dynamic-kafka': (o) => assert.equal(vertex(o, SOURCE).partitions, 6),
    'pulsar': (o) => assert.equal(vertex(o, SOURCE).partitions, 5),
  };

  it('prints the right observation for each recorded cluster', async (t) => {
    assert.deepEqual(recordedScenarioNames().sort(), Object.keys(expectations).sort());
    for (const name of recordedScenarioNames()) {
      const s = await replay(t, name);
      const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'cli', 'main.ts'), 'collect', '--flink-url', s.url, '--once'], { timeout: 30_000 });
      const lines = stdout.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one running job, one line; stderr: ${stderr}`);
      const o = parseObservation(JSON.parse(lines[0]!), name);
      expectations[name]!(o);
    }
  });

  it('exits 1 with the error code when Flink cannot be reached', async () => {
    const r = await run(process.execPath, [join(ROOT, 'cli', 'main.ts'), 'collect', '--flink-url', 'http://127.0.0.1:1', '--once', '--timeout', '2s'], { timeout: 30_000 })
      .then(() => null, (err: { code: number; stderr: string; stdout: string }) => err);
    assert.ok(r, 'the command should fail');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /\[FP_FLINK_UNREACHABLE\]/);
  });
});
