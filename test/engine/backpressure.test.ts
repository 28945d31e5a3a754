import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TestCluster, sampleValues } from './support/cluster.ts';

const JOB = resolve(import.meta.dirname, 'support/test-jobs.ts');

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

describe('backpressure', () => {
  it('makes a fast source wait on a slow sink across TaskManagers, with bounded memory and debloated buffers', async (t) => {
    const cluster = await new TestCluster({
      taskManagers: 2,
      slots: 1,
      define: ['metrics.view.update-interval=250', 'metrics.view.window=2000'],
    }).start();
    t.after(() => cluster.stop());
    const jobId = await cluster.submit(JOB, ['--job', 'slow', '--sink-delay-ms', '1', '--sink-record-ms', '0.5', '--ship', 'REBALANCE', '--parallelism', '2'], 2);
    await cluster.waitFor(async () => (await cluster.jobStatus(jobId)) === 'RUNNING', 10_000, 'the job to run');
    let sourceBp: number[] = [];
    let sourceBusy: number[] = [];
    let sourceIdle: number[] = [];
    let sinkBusy: number[] = [];
    await cluster.waitFor(async () => {
      sourceBp = [];
      sourceBusy = [];
      sourceIdle = [];
      sinkBusy = [];
      for (const tm of cluster.tms) {
        const text = await cluster.metrics(tm.ready.metricsPort);
        sourceBp.push(...sampleValues(text, 'flink_taskmanager_job_task_backPressuredTimeMsPerSecond', { task_name: 'Source:_numbers' }));
        sourceBusy.push(...sampleValues(text, 'flink_taskmanager_job_task_busyTimeMsPerSecond', { task_name: 'Source:_numbers' }));
        sourceIdle.push(...sampleValues(text, 'flink_taskmanager_job_task_idleTimeMsPerSecond', { task_name: 'Source:_numbers' }));
        sinkBusy.push(...sampleValues(text, 'flink_taskmanager_job_task_busyTimeMsPerSecond', { task_name: 'Sink:_slow' }));
      }
      return sourceBp.length === 2 && sourceBp.every((v) => v > 700) && sinkBusy.every((v) => v > 700);
    }, 15_000, 'the sources to be backpressured');
    for (let i = 0; i < 2; i++) {
      const sum = sourceBp[i]! + sourceBusy[i]! + sourceIdle[i]!;
      assert.ok(Math.abs(sum - 1000) < 1, `busy+idle+backpressured = ${sum}`);
    }
    const sourceVertex = (await cluster.rest<{ vertices: Array<{ id: string }> }>(`/jobs/${jobId}`)).vertices[0]!.id;
    await cluster.waitFor(async () => {
      const rest = await cluster.rest<Array<{ id: string; max: number }>>(`/jobs/${jobId}/vertices/${sourceVertex}/subtasks/metrics?get=backPressuredTimeMsPerSecond&agg=max`);
      return rest[0]?.id === 'backPressuredTimeMsPerSecond' && rest[0].max > 500;
    }, 5000, 'the REST API to report the backpressure');
    // Buffer debloating: the slow sink announced smaller batches, so what waits in front of it
    // takes about the 1 s target to process, not 2 channels x 4 buffers of up to 4096 records (32 kb).
    let debloated: number[] = [];
    let estimated: number[] = [];
    await cluster.waitFor(async () => {
      debloated = [];
      estimated = [];
      for (const tm of cluster.tms) {
        const text = await cluster.metrics(tm.ready.metricsPort);
        debloated.push(...sampleValues(text, 'flink_taskmanager_job_task_debloatedBufferSize', { task_name: 'Sink:_slow' }));
        estimated.push(...sampleValues(text, 'flink_taskmanager_job_task_estimatedTimeToConsumeBuffersMs', { task_name: 'Sink:_slow' }));
      }
      return debloated.length === 2 && debloated.every((v) => v < 4096) && estimated.every((v) => v > 0 && v < 2000);
    }, 10_000, 'the sinks to debloat their input').catch((err: Error) => {
      throw new Error(`${err.message}: batch sizes ${debloated}, ${estimated} ms buffered`);
    });
    for (const tm of cluster.tms) {
      const rss = rssBytes(tm.child.pid!);
      assert.ok(rss < 300 * 1024 * 1024, `TaskManager RSS ${Math.round(rss / 1048576)} MB`);
    }
  });
});
