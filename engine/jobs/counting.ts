/**
 * The exactly-once counting job: a deterministic generator of (key, seq) records -> keyBy key ->
 * running count per key in ValueState -> exactly-once file sink (two-phase commit). Its output
 * can be checked with counting-checker.ts: every generated record appears exactly once and the
 * counts of each key run 1..n. Args: --rate N or --profile SPEC, --partitions N (default 4),
 * --keys N (default 100), --limit N, --output DIR (required), --checkpoint-interval MS
 * (default 1000), --parallelism N.
 */
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import { generatorSource } from '../connectors/generator.ts';
import { fileSink } from '../connectors/file-sink.ts';
import { JobArgs } from './args.ts';

export interface CountingRecord {
  key: string;
  /** Global sequence number: offset * partitions + partition. */
  seq: number;
}

export interface CountingOutput extends CountingRecord {
  count: number;
}

export function countingRecord(partition: number, offset: number, partitions: number, keys: number): CountingRecord {
  const seq = offset * partitions + partition;
  return { key: `k${(seq * 7919) % keys}`, seq };
}

export default function counting(env: StreamExecutionEnvironment, argv: string[]): void {
  const args = new JobArgs(argv);
  const partitions = args.int('partitions', 4);
  const keys = args.int('keys', 100);
  const profile = args.optional('profile') ?? `constant:${args.number('rate', 1000)}`;
  const limit = args.optional('limit');
  const output = args.string('output');
  env.setJobName(args.string('name', 'counting'));
  const p = args.optional('parallelism');
  if (p !== undefined) env.setParallelism(Number(p));
  env.enableCheckpointing(args.int('checkpoint-interval', 1000));

  env
    .fromSource(
      generatorSource<CountingRecord>({
        partitions,
        profile,
        limit: limit === undefined ? undefined : Number(limit),
        record: (part, off) => countingRecord(part, off, partitions, keys),
        name: 'counting-generator',
      }),
    )
    .uid('counting-source')
    .keyBy((r) => r.key)
    .process<CountingOutput>({
      open(ctx) {
        (this as { count?: unknown }).count = ctx.getState<number>('count');
      },
      processElement(r, _ctx, out) {
        const state = (this as unknown as { count: { value(): number | undefined; update(v: number): void } }).count;
        const c = (state.value() ?? 0) + 1;
        state.update(c);
        out.collect({ key: r.key, seq: r.seq, count: c });
      },
    })
    .uid('counting-count')
    .name('Count')
    .sinkTo(fileSink<CountingOutput>({ path: output, name: 'exactly-once-file' }))
    .uid('counting-sink');
}
