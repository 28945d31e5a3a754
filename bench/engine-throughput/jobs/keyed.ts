/**
 * Benchmark job (b): generator -> keyBy(key) -> count per key in ValueState -> discard sink,
 * with a network shuffle between the two vertices. Args: --limit N, --partitions N,
 * --checkpoint-interval MS (0 = no checkpoints).
 */
import type { StreamExecutionEnvironment } from '../../../engine/api/environment.ts';
import { generatorSource } from '../../../engine/connectors/generator.ts';
import { discardSink } from '../../../engine/connectors/simple-sinks.ts';
import { makeRecord, type BenchRecord } from '../work.ts';

interface CountState {
  value(): number | undefined;
  update(v: number): void;
}

export default function keyed(env: StreamExecutionEnvironment, argv: string[]): void {
  const arg = (n: string, d: number) => (argv.includes(`--${n}`) ? Number(argv[argv.indexOf(`--${n}`) + 1]) : d);
  const limit = arg('limit', 1_000_000);
  const partitions = arg('partitions', 2);
  env.setJobName('bench-keyed');
  const interval = arg('checkpoint-interval', 0);
  if (interval > 0) env.enableCheckpointing(interval);
  env
    .fromSource(generatorSource<BenchRecord>({ partitions, profile: 'constant:1000000000', limit, record: (p, o) => makeRecord(p, o, partitions), name: 'bench', batchSize: 1000 }))
    .keyBy((r) => r.key)
    .process<number>({
      open(ctx) {
        (this as { count?: unknown }).count = ctx.getState<number>('count');
      },
      processElement(_r, _ctx, out) {
        const s = (this as unknown as { count: CountState }).count;
        const c = (s.value() ?? 0) + 1;
        s.update(c);
        if ((c & 1023) === 0) out.collect(c);
      },
    })
    .sinkTo(discardSink<number>());
}
