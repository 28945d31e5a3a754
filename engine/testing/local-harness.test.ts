import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import type { Sink } from '../api/functions.ts';
import { WatermarkStrategy } from '../api/watermarks.ts';
import { TumblingEventTimeWindows } from '../api/windows.ts';
import { generatorSource } from '../connectors/generator.ts';
import { buildFromModule } from '../program/build.ts';
import { LocalJobRun } from './local-harness.ts';

/** A sink that keeps what each subtask received, in memory (one instance per test). */
function memorySink<T>(): Sink<T> & { bySubtask: Map<number, T[]> } {
  const bySubtask = new Map<number, T[]>();
  return {
    name: 'memory',
    bySubtask,
    createWriter: (ctx) => {
      const list: T[] = [];
      bySubtask.set(ctx.subtaskIndex, list);
      return { write: (records: T[]) => void list.push(...records) };
    },
  };
}

async function runJob(job: (env: StreamExecutionEnvironment) => void, parallelism: number): Promise<LocalJobRun> {
  const program = await buildFromModule(job, { modulePath: 'inline', programArgs: [], parallelism });
  const run = new LocalJobRun(program);
  await run.run();
  await run.close();
  return run;
}

const numbers = (limit: number) => generatorSource<number>({ partitions: 3, profile: 'constant:1000000', limit, record: (p, o) => o * 3 + p });

describe('local job runs', () => {
  it('broadcasts every record to every downstream subtask and rebalances evenly', async () => {
    const b = memorySink<number>();
    const r = memorySink<number>();
    await runJob((env) => {
      const s = env.fromSource(numbers(90));
      s.broadcast().map((x) => x).setParallelism(3).sinkTo(b).setParallelism(3);
      s.rebalance().map((x) => x).setParallelism(3).sinkTo(r).setParallelism(3);
    }, 1);
    for (let i = 0; i < 3; i++) assert.deepEqual([...b.bySubtask.get(i)!].sort((x, y) => x - y), Array.from({ length: 90 }, (_, k) => k));
    assert.deepEqual([0, 1, 2].map((i) => r.bySubtask.get(i)!.length), [30, 30, 30]);
  });

  it('runs a keyed running reduce and a process window function across a HASH shuffle', async () => {
    const sums = memorySink<{ k: number; sum: number }>();
    const windows = memorySink<string>();
    await runJob((env) => {
      const s = env.fromSource(numbers(300), WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x));
      s.map((x) => ({ k: x % 4, sum: x })).keyBy((e) => e.k).reduce((a, c) => ({ k: a.k, sum: a.sum + c.sum })).sinkTo(sums);
      s.keyBy((x) => x % 2)
        .window(TumblingEventTimeWindows.of(100))
        .process<string>(() => ({ process: (key, w, els, out) => out.collect(`${key}@${w.start}:${els.length}`) }))
        .sinkTo(windows);
    }, 2);
    const finalSums = new Map<number, number>();
    for (const list of sums.bySubtask.values()) for (const e of list) finalSums.set(e.k, Math.max(finalSums.get(e.k) ?? 0, e.sum));
    for (let k = 0; k < 4; k++) {
      let expected = 0;
      for (let x = k; x < 300; x += 4) expected += x;
      assert.equal(finalSums.get(k), expected);
    }
    const fired = [...windows.bySubtask.values()].flat().sort();
    assert.deepEqual(fired, ['0@0:50', '0@100:50', '0@200:50', '1@0:50', '1@100:50', '1@200:50']);
  });

  it('fires processing-time timers on real time', async () => {
    const out = memorySink<string>();
    const program = await buildFromModule(
      (env) => {
        env
          .fromSource(generatorSource<number>({ partitions: 1, profile: 'constant:200', limit: 2, record: (_p, o) => o }))
          .keyBy((x) => x)
          .process<string>({
            processElement(_x, ctx) {
              ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 5);
            },
            onTimer(_ts, ctx, c) {
              c.collect(`timer ${String(ctx.getCurrentKey())}`);
            },
          })
          .sinkTo(out);
      },
      { modulePath: 'inline', programArgs: [], parallelism: 1 },
    );
    const run = new LocalJobRun(program);
    run.start();
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && (out.bySubtask.get(0)?.length ?? 0) < 2) await new Promise((r) => setTimeout(r, 5));
    await run.cancel();
    assert.deepEqual(out.bySubtask.get(0), ['timer 0', 'timer 1']);
  });

  it('assigns timestamps and watermarks mid-stream for event-time windows', async () => {
    const out = memorySink<string>();
    await runJob((env) => {
      env
        .fromSource(numbers(120))
        .map((x) => ({ x, time: x * 10 }))
        .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<{ x: number; time: number }>(50).withTimestampAssigner((e) => e.time))
        .keyBy(() => 'all')
        .window(TumblingEventTimeWindows.of(400))
        .aggregate({ createAccumulator: () => 0, add: (_e, n: number) => n + 1, getResult: (n) => n }, (_k, w, n) => `${w.start}:${n}`)
        .sinkTo(out);
    }, 2);
    assert.deepEqual([...out.bySubtask.values()].flat().sort(), ['0:40', '400:40', '800:40']);
  });

  it('unions streams into one operator with an input edge each and combines their watermarks', async () => {
    const out = memorySink<string>();
    const program = await buildFromModule(
      (env) => {
        const ts = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((x) => x);
        const a = env.fromSource(numbers(60), ts, 'a');
        const b = env.fromSource(generatorSource<number>({ partitions: 2, profile: 'constant:1000000', limit: 40, record: (p, o) => 1000 + o * 2 + p }), ts, 'b');
        a.union(b)
          .keyBy((x) => (x < 1000 ? 'a' : 'b'))
          .window(TumblingEventTimeWindows.of(2000))
          .aggregate({ createAccumulator: () => 0, add: (_x, n: number) => n + 1, getResult: (n) => n }, (k, w, n) => `${k}@${w.start}:${n}`)
          .sinkTo(out);
      },
      { modulePath: 'inline', programArgs: [], parallelism: 2 },
    );
    const win = program.graph.vertices.find((v) => v.name.startsWith('TumblingEventTimeWindows'))!;
    assert.deepEqual(win.inputs.map((e) => [e.ship, e.inputIndex]), [['HASH', 0], ['HASH', 1]]);
    const run = new LocalJobRun(program);
    await run.run();
    await run.close();
    assert.deepEqual([...out.bySubtask.values()].flat().sort(), ['a@0:60', 'b@0:40']);
  });
});
