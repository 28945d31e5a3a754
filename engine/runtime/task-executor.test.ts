import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/log.ts';
import type { JobProgram, SourceControl, TaskContext, TaskInvokable } from '../contracts/task.ts';
import type { ExecutionState } from '../rest/backend.ts';
import { ShuffleService } from '../network/shuffle-service.ts';
import type { TaskDeployment } from './deployment.ts';
import { TaskExecutor } from './task-executor.ts';
import { ViewUpdater } from './time-accounting.ts';

const base = {
  processWatermark() {},
  async endInput() {},
  async snapshotState(id: number) {
    return { checkpointId: id, operators: [] };
  },
  async notifyCheckpointComplete() {},
  async close() {},
};

/** A bounded source of `n` numbers into a sink that sums them, sleeping `delayMs` per batch. */
function program(n: number, delayMs: number, result: { sum: number; batches: number }): JobProgram {
  return {
    graph: { jobName: 't', vertices: [], config: {} },
    createTask(vertexId: string, ctx: TaskContext): TaskInvokable {
      if (vertexId === 'src') {
        return {
          ...base,
          processBatch() {},
          async runSource(ctl: SourceControl) {
            for (let i = 1; i <= n; i++) {
              if ((i & 63) === 0) await ctl.waitForCapacity();
              ctx.outputs[0]!.emit(i);
            }
          },
        };
      }
      return {
        ...base,
        processBatch(_i: number, _c: number, records: unknown[]) {
          for (const r of records) result.sum += r as number;
          result.batches++;
          return delayMs > 0 ? new Promise<void>((res) => setTimeout(res, delayMs)) : undefined;
        },
      };
    },
  };
}

function deployments(tmId: string): TaskDeployment[] {
  const common = { parallelism: 1, maxParallelism: 128, attemptNumber: 0 };
  return [
    {
      ...common,
      vertexId: 'src',
      taskName: 'Source: numbers',
      subtaskIndex: 0,
      attemptId: 'e_src_0_0',
      isSource: true,
      headOperator: { id: 'op1', name: 'Source: numbers' },
      inputs: [],
      outputs: [{ targetVertexId: 'sink', inputIndex: 0, ship: 'FORWARD', consumerParallelism: 1, consumerMaxParallelism: 128, consumers: [{ taskManagerId: tmId, dataAddress: '' }] }],
    },
    {
      ...common,
      vertexId: 'sink',
      taskName: 'Sink: sum',
      subtaskIndex: 0,
      attemptId: 'e_sink_0_0',
      isSource: false,
      headOperator: { id: 'op2', name: 'Sink: sum' },
      inputs: [{ inputIndex: 0, sourceVertexId: 'src', ship: 'FORWARD', producerParallelism: 1 }],
      outputs: [],
    },
  ];
}

async function run(n: number, delayMs: number, onRunning?: (tasks: TaskExecutor[]) => Promise<void>) {
  const shuffle = new ShuffleService({ host: '127.0.0.1', port: 0, capacity: 2, log: silentLogger() });
  const updater = new ViewUpdater(100);
  const result = { sum: 0, batches: 0 };
  const states: Record<string, ExecutionState[]> = { src: [], sink: [] };
  const prog = program(n, delayMs, result);
  const tasks = deployments('tm').map(
    (task) =>
      new TaskExecutor({
        taskManagerId: 'tm',
        shuffle,
        program: prog,
        job: { jobId: 'j', jobName: 't', executionId: 'e', config: {} },
        task,
        options: { batchSize: 64, bufferTimeoutMs: 10, viewSlots: 10, creditPerChannel: 2 },
        updater,
        log: silentLogger(),
        onState: (s) => states[task.vertexId]!.push(s),
      }),
  );
  const done = Promise.all(tasks.map((t) => t.start()));
  if (onRunning) await onRunning(tasks);
  await done;
  updater.stop();
  return { result, states, tasks };
}

describe('task executor', () => {
  it('runs a source and a sink to FINISHED over an in-memory channel and delivers every record once', async () => {
    const { result, states } = await run(10_000, 0);
    assert.equal(result.sum, (10_000 * 10_001) / 2);
    assert.deepEqual(states.src, ['INITIALIZING', 'RUNNING', 'FINISHED']);
    assert.deepEqual(states.sink, ['INITIALIZING', 'RUNNING', 'FINISHED']);
  });

  it('accounts a source blocked by a slow sink as backpressured and the sink as busy, each adding up to 1000 ms/s', async () => {
    await run(3000, 20, async (tasks) => {
      await new Promise((r) => setTimeout(r, 600));
      const src = tasks[0]!.metrics.taskValues();
      const sink = tasks[1]!.metrics.taskValues();
      assert.ok(src.backPressuredTimeMsPerSecond! > 700, `source backpressured ${src.backPressuredTimeMsPerSecond}`);
      assert.ok(sink.busyTimeMsPerSecond! > 700, `sink busy ${sink.busyTimeMsPerSecond}`);
      for (const v of [src, sink]) {
        const sum = v.busyTimeMsPerSecond! + v.idleTimeMsPerSecond! + v.backPressuredTimeMsPerSecond!;
        assert.ok(Math.abs(sum - 1000) < 1, `sum ${sum}`);
      }
      assert.equal(src.isBackPressured, 1);
      assert.ok(sink.numRecordsIn! > 0 && sink.numRecordsIn! < 3000);
    });
  });

  it('cancels running subtasks promptly', async () => {
    const t0 = Date.now();
    const { states } = await run(1_000_000, 50, async (tasks) => {
      await new Promise((r) => setTimeout(r, 100));
      await Promise.all(tasks.map((t) => t.cancel()));
    });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(states.src.at(-1), 'CANCELED');
    assert.equal(states.sink.at(-1), 'CANCELED');
  });
});
