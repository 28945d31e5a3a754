import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isFlowpilotError } from '../../common/errors.ts';
import { assignKeyToParallelOperator } from '../keygroups/key-groups.ts';
import { buildJobProgram, buildFromModule } from './build.ts';
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import { generatorSource } from '../connectors/generator.ts';
import { discardSink } from '../connectors/simple-sinks.ts';

const wordCountPath = resolve(import.meta.dirname, '../jobs/word-count.ts');

describe('buildJobProgram', () => {
  it('imports a job module by absolute path and builds a Flink-style chained graph', async () => {
    const program = await buildJobProgram({ modulePath: wordCountPath, programArgs: ['--rate', '10'], parallelism: 2 });
    assert.equal(program.graph.jobName, 'word-count');
    const [src, count] = program.graph.vertices;
    assert.equal(src!.name, 'Source: sentences -> Flat Map');
    assert.ok(src!.isSource && !src!.isSink);
    assert.ok(count!.isSink && !count!.isSource);
    assert.match(src!.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(count!.inputs, [{ sourceVertexId: src!.id, ship: 'HASH', inputIndex: 0 }]);
    assert.equal(count!.maxParallelism, 128);
    assert.equal(count!.maxParallelismConfigured, false);
    assert.deepEqual(program.outputEdges!(src!.id), [{ targetVertexId: count!.id, inputIndex: 0, ship: 'HASH' }]);
  });

  it('keeps vertex and operator ids stable across parallelisms and applies per-vertex overrides', async () => {
    const a = await buildJobProgram({ modulePath: wordCountPath, programArgs: [], parallelism: 1 });
    const ids = a.graph.vertices.map((v) => v.id);
    const b = await buildJobProgram({ modulePath: wordCountPath, programArgs: [], parallelism: 4, parallelismOverrides: { [ids[1]!]: 7 } });
    assert.deepEqual(b.graph.vertices.map((v) => v.id), ids);
    assert.deepEqual(b.graph.vertices.map((v) => v.parallelism), [4, 7]);
    assert.deepEqual(
      b.graph.vertices.flatMap((v) => v.operators.map((o) => o.uid)),
      ['sentences', 'split', 'count', 'sink'],
    );
  });

  it('routes HASH edges to the subtask that owns the key group of the key', async () => {
    const program = await buildJobProgram({ modulePath: wordCountPath, programArgs: [], parallelism: 3 });
    const select = program.partitionerFor!(program.graph.vertices[0]!.id, 0)!;
    for (const w of ['stream', 'flink', 'hello', 'user-1']) {
      assert.equal(select(w, 3), assignKeyToParallelOperator(w, 128, 3));
      assert.equal(select(w, 5, 256), assignKeyToParallelOperator(w, 256, 5));
    }
  });

  it('rejects bad submissions with FlowpilotError codes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-build-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = join(dir, 'bad-job.ts');
    writeFileSync(bad, "export default function job() { throw new Error('boom in job'); }\n");
    await assert.rejects(buildJobProgram({ modulePath: bad, programArgs: [] }), (e: unknown) => {
      assert.ok(isFlowpilotError(e, 'FP_JOB_BUILD'));
      assert.equal((e.cause as Error).message, 'boom in job');
      return true;
    });
    await assert.rejects(buildJobProgram({ modulePath: 'relative.ts', programArgs: [] }), (e: unknown) => isFlowpilotError(e, 'FP_JOB_MODULE'));
    await assert.rejects(buildJobProgram({ modulePath: join(dir, 'missing.ts'), programArgs: [] }), (e: unknown) => isFlowpilotError(e, 'FP_JOB_BUILD'));
    await assert.rejects(
      buildJobProgram({ modulePath: wordCountPath, programArgs: [], parallelismOverrides: { ['0'.repeat(32)]: 2 } }),
      (e: unknown) => isFlowpilotError(e, 'FP_JOB_UNKNOWN_VERTEX'),
    );
    const capped = (env: StreamExecutionEnvironment) => {
      env.setMaxParallelism(64).fromSource(generatorSource({ partitions: 1, profile: 'constant:1' })).sinkTo(discardSink());
    };
    await assert.rejects(buildFromModule(capped, { modulePath: 'inline', programArgs: [], parallelism: 65 }), (e: unknown) => isFlowpilotError(e, 'FP_JOB_PARALLELISM'));
    await assert.rejects(buildJobProgram({ modulePath: wordCountPath, programArgs: [], parallelism: 0 }), (e: unknown) => isFlowpilotError(e, 'FP_JOB_PARALLELISM'));
    await assert.rejects(buildJobProgram({ modulePath: wordCountPath, programArgs: ['oops'] }), (e: unknown) => isFlowpilotError(e, 'FP_JOB_BUILD'));
  });

  it('breaks chains where parallelism differs or a stream has two consumers, and keeps config', async () => {
    const job = (env: StreamExecutionEnvironment) => {
      env.enableCheckpointing(5000).setConfig('restart-strategy.type', 'fixed-delay').setMaxParallelism(64);
      const s = env.fromSource(generatorSource({ partitions: 1, profile: 'constant:1' }), undefined, 'gen').map((x) => x);
      s.filter(() => true).setParallelism(2).sinkTo(discardSink()).setParallelism(2);
      s.sinkTo(discardSink('other'));
    };
    const program = await buildFromModule(job, { modulePath: 'inline', programArgs: [], parallelism: 1 });
    assert.deepEqual(
      program.graph.vertices.map((v) => [v.name, v.parallelism, v.maxParallelism, v.inputs.map((e) => e.ship)]),
      [
        ['Source: gen -> Map', 1, 64, []],
        ['Filter -> Sink: discard', 2, 64, ['REBALANCE']],
        ['Sink: other', 1, 64, ['FORWARD']],
      ],
    );
    assert.deepEqual(program.graph.config, { 'execution.checkpointing.interval': '5000', 'restart-strategy.type': 'fixed-delay' });
  });
});
