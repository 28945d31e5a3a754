/**
 * The engine's generator reports one offset gauge per partition, named as Flink's Kafka source
 * reader names them, and the agent's REST collector counts the partitions from those metric ids
 * (so `alignment.capAtPartitions` applies on the engine as on real Flink). The Prometheus side
 * carries the partition as a label, as Flink's key-value metric groups do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestCluster, sampleValues } from '../engine/support/cluster.ts';
import { FlinkRestClient } from '../../agent/flink/rest-client.ts';
import { FlinkRestCollector } from '../../agent/collect/flink-rest.ts';

const JOB = resolve(import.meta.dirname, '../../engine/jobs/order-enrichment.ts');

describe('source partitions on the engine', () => {
  it('are reported per partition and counted by the agent from the metric ids', async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'fp-partitions-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const cluster = await new TestCluster({ taskManagers: 1, slots: 4 }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(JOB, ['--partitions', '6', '--profile', 'constant:200', '--output', out], 2);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'RUNNING', 15_000, 'the job to run');
    const collector = new FlinkRestCollector({ client: new FlinkRestClient({ baseUrl: cluster.restUrl, timeoutMs: 5000 }) });
    let partitions: Array<number | undefined> = [];
    await cluster.waitFor(async () => {
      const r = await collector.collect(AbortSignal.timeout(5000));
      const obs = r.observations.find((o) => o.jobId === jobId);
      partitions = obs?.vertices.filter((v) => (v.inputs ?? []).length === 0).map((v) => v.partitions) ?? [];
      return partitions.length === 1 && partitions[0] === 6;
    }, 15_000, 'the collector to see the source partitions').catch((err: Error) => {
      throw new Error(`${err.message}: saw ${JSON.stringify(partitions)}`);
    });
    const text = await cluster.metrics(cluster.tms[0]!.ready.metricsPort);
    const name = 'flink_taskmanager_job_task_operator_GeneratorSourceReader_topic_partition_currentOffset';
    const seen = [0, 1, 2, 3, 4, 5].map((p) => sampleValues(text, name, { partition: String(p) }).length);
    assert.deepEqual(seen, [1, 1, 1, 1, 1, 1], 'one offset series per partition, the partition as a label');
    // The other non-source vertices report none.
    const obs = (await collector.collect(AbortSignal.timeout(5000))).observations.find((o) => o.jobId === jobId)!;
    assert.ok(obs.vertices.filter((v) => (v.inputs ?? []).length > 0).every((v) => v.partitions === undefined));
  });
});
