import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FlinkRegistry, filterChars, prometheusName, type FlinkSample } from './flink-registry.ts';

describe('Flink-named Prometheus registry', () => {
  it('builds names and label values with Flink\'s character filter', () => {
    assert.equal(prometheusName('taskmanager', 'Status.JVM.Memory.Heap.Used'), 'flink_taskmanager_Status_JVM_Memory_Heap_Used');
    assert.equal(filterChars('Source: Kafka Source -> Map'), 'Source:_Kafka_Source____Map');
    assert.equal(filterChars('172.18.0.4:37813-5a1c3e'), '172_18_0_4:37813_5a1c3e');
  });

  it('publishes live samples with their help text and drops label sets that went away', async () => {
    const reg = new FlinkRegistry();
    let tasks: FlinkSample[] = [
      { scope: 'taskmanager_job_task', name: 'busyTimeMsPerSecond', labels: { task_name: 'Source: a', subtask_index: '0' }, value: 250 },
      { scope: 'taskmanager_job_task', name: 'busyTimeMsPerSecond', labels: { task_name: 'Source: a', subtask_index: '1' }, value: 750 },
    ];
    reg.addCollector(() => tasks);
    const first = await reg.metrics();
    assert.match(first, /# HELP flink_taskmanager_job_task_busyTimeMsPerSecond busyTimeMsPerSecond \(scope: taskmanager_job_task\)/);
    assert.match(first, /# TYPE flink_taskmanager_job_task_busyTimeMsPerSecond gauge/);
    assert.match(first, /flink_taskmanager_job_task_busyTimeMsPerSecond\{task_name="Source:_a",subtask_index="1"\} 750/);
    tasks = tasks.slice(0, 1);
    const second = await reg.metrics();
    assert.doesNotMatch(second, /subtask_index="1"/);
    assert.match(second, /task_name="Source:_a",subtask_index="0"\} 250/);
  });

  it('skips a sample whose labels do not fit its family instead of failing the scrape', async () => {
    const reg = new FlinkRegistry();
    const samples: FlinkSample[] = [
      { scope: 'jobmanager', name: 'numRunningJobs', labels: { host: 'a' }, value: 1 },
      { scope: 'jobmanager', name: 'numRunningJobs', labels: { host: 'a', extra: 'x' }, value: 2 },
    ];
    reg.addCollector(() => samples);
    const text = await reg.metrics();
    assert.match(text, /flink_jobmanager_numRunningJobs\{host="a"\} 1/);
    assert.doesNotMatch(text, /extra/);
  });
});
