import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backpressureLevel, buildSnapshot, sourceMetricIds, vertexLabel, type RawStatus } from './status-model.ts';

const JOB = 'b'.repeat(32);
const SRC = '1'.repeat(32);
const MID = '2'.repeat(32);
const SINK = '3'.repeat(32);

/** Answers in the Flink REST and agent API shapes (docs/reference/engine-rest.md, agent/server). */
function raw(): RawStatus {
  return {
    time: 1_000_000,
    restUrl: 'http://127.0.0.1:8081',
    clusterOverview: { ok: true, value: { taskmanagers: 2, 'slots-total': 4, 'slots-available': 1 } },
    jobsOverview: {
      ok: true,
      value: {
        jobs: [
          { jid: 'c'.repeat(32), name: 'old', state: 'CANCELED', 'start-time': 5, duration: 10 },
          { jid: JOB, name: 'word-count', state: 'RUNNING', 'start-time': 10, duration: 60_000 },
        ],
      },
    },
    jobs: {
      [JOB]: {
        detail: {
          jid: JOB,
          name: 'word-count',
          state: 'RUNNING',
          duration: 61_000,
          vertices: [
            { id: SRC, name: 'Source: sentences -> Flat Map', parallelism: 2, maxParallelism: 128, status: 'RUNNING' },
            { id: MID, name: 'Count', parallelism: 3, maxParallelism: 128, status: 'RUNNING' },
            { id: SINK, name: 'Sink: discard', parallelism: 1, maxParallelism: 128, status: 'RUNNING' },
          ],
          plan: { nodes: [{ id: SRC }, { id: MID, inputs: [{ num: 0, id: SRC }] }, { id: SINK, inputs: [{ num: 0, id: MID }] }] },
        },
        taskMetrics: {
          [SRC]: [
            { id: 'numRecordsInPerSecond', sum: 0, max: 0 },
            { id: 'numRecordsOutPerSecond', sum: 900, max: 500 },
            { id: 'backPressuredTimeMsPerSecond', sum: 400, max: 300 },
            { id: 'busyTimeMsPerSecond', sum: 100, max: 60 },
          ],
          [MID]: [
            { id: 'numRecordsInPerSecond', sum: 880, max: 300 },
            { id: 'numRecordsOutPerSecond', sum: 870, max: 300 },
            { id: 'backPressuredTimeMsPerSecond', sum: 30, max: 20 },
            { id: 'busyTimeMsPerSecond', sum: 2700, max: 950 },
          ],
          [SINK]: [{ id: 'numRecordsInPerSecond', sum: 860, max: 860 }],
        },
        sourceMetrics: { [SRC]: [{ id: 'Source__sentences.pendingRecords', sum: 1234 }, { id: 'Source__sentences.numRecordsOutPerSecond', sum: 200 }] },
      },
    },
    agentUrl: 'http://127.0.0.1:9269',
    alerts: {
      ok: true,
      value: {
        status: 'success',
        data: {
          alerts: [
            { labels: { alertname: 'FlinkHighBackpressure', severity: 'warning', job_name: 'word-count' }, annotations: { summary: 'backpressured' }, state: 'firing', activeAt: '2026-11-21T07:00:00Z', value: '7e-01' },
            { labels: { alertname: 'FlinkJobRestarting' }, annotations: {}, state: 'pending', activeAt: '2026-11-21T07:00:00Z', value: '1e+00' },
          ],
        },
      },
    },
    decisions: {
      ok: true,
      value: {
        decisions: [
          { time: 1, jobId: JOB, action: 'rescale', direction: 'up', reasons: ['Count is busy 95%'], parallelism: { [SRC]: 2, [MID]: 3 }, perVertex: { [SRC]: { parallelism: 2 }, [MID]: { parallelism: 2 } } },
          { time: 2, jobId: JOB, action: 'none', blockedBy: 'cooldown', reasons: ['rescaled 10 s ago'], parallelism: { [SRC]: 2, [MID]: 3 }, perVertex: { [SRC]: { parallelism: 2 }, [MID]: { parallelism: 3 } } },
        ],
      },
    },
  };
}

describe('status snapshot', () => {
  it('builds a job with per-vertex parallelism, source read rate, sink arrival rate, lag and the worst backpressure', () => {
    const s = buildSnapshot(raw());
    assert.ok(s.engine.reachable);
    assert.deepEqual(s.engine.jobs.map((j) => [j.name, j.state]), [['word-count', 'RUNNING'], ['old', 'CANCELED']]);
    const job = s.engine.jobs[0]!;
    assert.deepEqual(job.vertices.map((v) => [v.parallelism, v.isSource, v.isSink]), [[2, true, false], [3, false, false], [1, false, true]]);
    assert.equal(job.inRate, 200, 'the source operator reads 200/s; its flat map emits 900/s');
    assert.equal(job.outRate, 860);
    assert.equal(job.lag, 1234);
    assert.equal(job.backpressure, 'low');
    assert.equal(job.vertices[1]!.busyRatio, 0.95);
    assert.equal(job.durationMs, 61_000);
    assert.equal(s.engine.slotsTotal, 4);
    assert.equal(s.engine.jobs[1]!.vertices.length, 0);
  });

  it('keeps only firing alerts and finds the last decision and the last rescale', () => {
    const s = buildSnapshot(raw());
    assert.ok(s.agent?.reachable);
    assert.deepEqual(s.agent.alerts.map((a) => [a.name, a.severity, a.summary]), [['FlinkHighBackpressure', 'warning', 'backpressured']]);
    assert.ok(s.agent.scaling.available);
    assert.equal(s.agent.scaling.last?.blockedBy, 'cooldown');
    assert.deepEqual(s.agent.scaling.lastRescale?.changes, [{ vertexId: MID, name: 'Count', from: 2, to: 3 }]);
  });

  it('names the vertices of decisions from the job details, in changes and in reasons', () => {
    const r = raw();
    const d = (r.decisions as { ok: true; value: { decisions: Array<{ reasons: string[] }> } }).value.decisions[1]!;
    d.reasons = [`vertex ${MID}: scale-down to 2 pending for 10 s of 60s`, `vertex ${'9'.repeat(32)}: unknown to the engine`];
    const s = buildSnapshot(r);
    assert.ok(s.agent?.reachable && s.agent.scaling.available);
    assert.deepEqual(s.agent.scaling.last?.reasons, [`Count (222222): scale-down to 2 pending for 10 s of 60s`, `vertex ${'9'.repeat(32)}: unknown to the engine`]);
    assert.equal(vertexLabel(MID, 'Count'), 'Count (222222)');
    assert.equal(vertexLabel(MID, null), '222222');
  });

  it('tolerates an agent without the scaling API (404)', () => {
    const r = raw();
    r.decisions = { ok: false, status: 404, error: 'HTTP 404' };
    const s = buildSnapshot(r);
    assert.ok(s.agent?.reachable);
    assert.deepEqual(s.agent.scaling, { available: false, reason: 'the agent has no scaling API' });
  });

  it('reports the engine unreachable and odd answers as unknown, without throwing', () => {
    const r = raw();
    r.jobsOverview = { ok: false, error: 'connection refused' };
    assert.deepEqual(buildSnapshot(r).engine, { reachable: false, error: 'connection refused' });
    const odd = raw();
    odd.jobsOverview = { ok: true, value: { jobs: [{ jid: JOB, state: 'RUNNING' }, 'junk'] } };
    odd.jobs[JOB]!.detail = { vertices: [{ id: SRC }], plan: 'nope' };
    odd.jobs[JOB]!.taskMetrics = { [SRC]: { not: 'an array' } };
    odd.jobs[JOB]!.sourceMetrics = { [SRC]: [{ id: 'Source__x.pendingRecords', sum: 'many' }] };
    const s = buildSnapshot(odd);
    assert.ok(s.engine.reachable);
    assert.equal(s.engine.jobs[0]!.inRate, null);
    assert.equal(s.engine.jobs[0]!.vertices[0]!.parallelism, 0);
  });

  it('finds the source operator metric ids in a metric listing', () => {
    const listing = [{ id: 'numRecordsIn' }, { id: 'Source__orders.numRecordsOutPerSecond' }, { id: 'Source__orders.pendingRecords' }];
    assert.deepEqual(sourceMetricIds(listing), { pending: 'Source__orders.pendingRecords', readRate: 'Source__orders.numRecordsOutPerSecond' });
    assert.deepEqual(sourceMetricIds([{ id: 'numRecordsIn' }]), { pending: null, readRate: null });
  });

  it('maps backpressure ratios to Flink levels', () => {
    assert.deepEqual([0, 0.1, 0.11, 0.5, 0.51, null].map(backpressureLevel), ['ok', 'ok', 'low', 'low', 'high', null]);
  });
});
