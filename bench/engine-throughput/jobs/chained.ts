/**
 * Benchmark job (a): generator -> map -> filter -> discard sink, one chained vertex.
 * Args: --limit N, --checkpoint-interval MS (0 = no checkpoints).
 */
import type { StreamExecutionEnvironment } from '../../../engine/api/environment.ts';
import { generatorSource } from '../../../engine/connectors/generator.ts';
import { discardSink } from '../../../engine/connectors/simple-sinks.ts';
import { keepRecord, makeRecord, mapRecord, type BenchRecord } from '../work.ts';

export default function chained(env: StreamExecutionEnvironment, argv: string[]): void {
  const limit = Number(argv[argv.indexOf('--limit') + 1] ?? 1_000_000);
  env.setJobName('bench-chained');
  const interval = argv.includes('--checkpoint-interval') ? Number(argv[argv.indexOf('--checkpoint-interval') + 1]) : 0;
  if (interval > 0) env.enableCheckpointing(interval);
  env
    .fromSource(generatorSource<BenchRecord>({ partitions: 1, profile: 'constant:1000000000', limit, record: (p, o) => makeRecord(p, o, 1), name: 'bench', batchSize: 1000 }))
    .map(mapRecord)
    .filter(keepRecord)
    .sinkTo(discardSink<BenchRecord>());
}
