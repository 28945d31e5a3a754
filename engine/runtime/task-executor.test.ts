import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../common/log.ts';
import type { JobProgram, SourceControl, SubtaskSnapshot, TaskContext, TaskInvokable } from '../contracts/task.ts';
import type { ExecutionState } from '../contracts/status.ts';
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

/** Like `program`, but both sides snapshot what they have seen: the source its count, the sink its sum. */
function checkpointingProgram(n: number, delayMs: number, result: { sum: number; batches: number; committed: number[] }): JobProgram {
  const inner = program(n, delayMs, result);
  const enc = (v: number) => new TextEncoder().encode(String(v));
  return {
    graph: inner.graph,
    createTask(vertexId: string, ctx: TaskContext): TaskInvokable {
      if (vertexId === 'src') {
        let emitted = 0;
        return {
          ...base,
          processBatch() {},
          async snapshotState(id: number) {
            return { checkpointId: id, operators: [{ operatorId: 'op1', keyGroups: new Map(), operatorState: [enc(emitted)], unionState: [] }] };
          },
          async runSource(ctl: SourceControl) {
            while (emitted < n) {
              await ctl.waitForCapacity();
              for (let k = 0; k < 16 && emitted < n; k++) ctx.outputs[0]!.emit(++emitted);
            }
          },
        };
      }
      const t = inner.createTask(vertexId, ctx);
      return {
        ...t,
        async snapshotState(id: number) {
          return { checkpointId: id, operators: [{ operatorId: 'op2', keyGroups: new Map(), operatorState: [enc(result.sum)], unionState: [] }] };
        },
        async notifyCheckpointComplete(id: number) {
          result.committed.push(id);
        },
      };
    },
  };
}

async function run(n: number, delayMs: number, onRunning?: (tasks: TaskExecutor[]) => Promise<void>, prog0?: JobProgram, result0?: { sum: number; batches: number; committed: number[] }, onCheckpoint?: (vertex: string, id: number, snap: SubtaskSnapshot | null) => void) {
  const shuffle = new ShuffleService({ host: '127.0.0.1', port: 0, capacity: 2, log: silentLogger() });
  const updater = new ViewUpdater(100);
  const result = result0 ?? { sum: 0, batches: 0, committed: [] };
  const states: Record<string, ExecutionState[]> = { src: [], sink: [] };
  const prog = prog0 ?? program(n, delayMs, result);
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
        onCheckpoint: (id, snap) => onCheckpoint?.(task.vertexId, id, snap),
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
    // The rate views average over a 1 s window that starts when the tasks are created, so under load
    // the window first holds start-up time (idle, not yet backpressured). Wait for the steady state to
    // fill the window instead of reading at a fixed moment: poll until the figures show it (or a
    // generous deadline passes, and the assertions below fail), then cancel the rest of the input.
    const n = 1_000_000;
    await run(n, 20, async (tasks) => {
      const deadline = Date.now() + 15_000;
      let src = tasks[0]!.metrics.taskValues();
      let sink = tasks[1]!.metrics.taskValues();
      while (Date.now() < deadline && !(src.backPressuredTimeMsPerSecond! > 700 && sink.busyTimeMsPerSecond! > 700)) {
        await new Promise((r) => setTimeout(r, 100));
        src = tasks[0]!.metrics.taskValues();
        sink = tasks[1]!.metrics.taskValues();
      }
      try {
        assert.ok(src.backPressuredTimeMsPerSecond! > 700, `source backpressured ${src.backPressuredTimeMsPerSecond}`);
        assert.ok(sink.busyTimeMsPerSecond! > 700, `sink busy ${sink.busyTimeMsPerSecond}`);
        for (const v of [src, sink]) {
          const sum = v.busyTimeMsPerSecond! + v.idleTimeMsPerSecond! + v.backPressuredTimeMsPerSecond!;
          assert.ok(Math.abs(sum - 1000) < 1, `sum ${sum}`);
        }
        assert.equal(src.isBackPressured, 1);
        assert.ok(sink.numRecordsIn! > 0 && sink.numRecordsIn! < n);
        // The slow sink holds the source back: the source cannot be far ahead of what the sink took.
        assert.ok(src.numRecordsOut! - sink.numRecordsIn! < 1000, `source ${src.numRecordsOut} vs sink ${sink.numRecordsIn}`);
      } finally {
        await Promise.all(tasks.map((t) => t.cancel()));
      }
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

  it('takes a checkpoint whose sink state holds exactly the records the source had emitted at its snapshot', async () => {
    const result = { sum: 0, batches: 0, committed: [] as number[] };
    const snaps = new Map<string, number>();
    const dec = (s: SubtaskSnapshot | null) => Number(new TextDecoder().decode(s!.operators[0]!.operatorState[0]!));
    const prog = checkpointingProgram(20_000, 2, result);
    await run(20_000, 2, async (tasks) => {
      await new Promise((r) => setTimeout(r, 60));
      tasks[0]!.triggerCheckpoint(1);
      const deadline = Date.now() + 5000;
      while (snaps.size < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      for (const t of tasks) t.notifyCheckpointComplete(1);
    }, prog, result, (vertex, id, snap) => {
      assert.equal(id, 1);
      snaps.set(vertex, dec(snap));
    });
    const k = snaps.get('src')!;
    assert.ok(k > 0 && k < 20_000, `source snapshot at ${k}`);
    assert.equal(snaps.get('sink'), (k * (k + 1)) / 2);
    assert.deepEqual(result.committed, [1]);
    assert.equal(result.sum, (20_000 * 20_001) / 2);
  });
});
