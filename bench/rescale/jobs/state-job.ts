/**
 * Rescale benchmark job: builds a chosen amount of keyed state quickly, then keeps a trickle of
 * records flowing so downtime shows in the sink's timestamps. generator (fast for the first
 * --build-seconds, then --tick-rate/s) → keyBy(key) → each key stores one --value-bytes blob in
 * ValueState (so state ≈ keys × value bytes) → a sink that appends the wall-clock time of each
 * batch it receives to `<ts-dir>/ts-<pid>-<subtask>-<random>.log` (at most one line per 10 ms).
 * Args: --keys N --value-bytes N --build-rate R --build-seconds S --tick-rate R --ts-dir DIR
 *       --partitions N --checkpoint-interval MS
 */
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { StreamExecutionEnvironment } from '../../../engine/api/environment.ts';
import type { Sink } from '../../../engine/api/functions.ts';
import { generatorSource } from '../../../engine/connectors/generator.ts';

interface Rec {
  k: number;
}

interface BlobState {
  value(): Uint8Array | undefined;
  update(v: Uint8Array): void;
}

function timestampSink(dir: string): Sink<number> {
  return {
    name: 'timestamps',
    createWriter: (ctx) => {
      const file = join(dir, `ts-${process.pid}-${ctx.subtaskIndex}-${randomBytes(3).toString('hex')}.log`);
      let last = 0;
      return {
        write(records: number[]) {
          const now = Date.now();
          if (records.length === 0 || now - last < 10) return;
          last = now;
          appendFileSync(file, `${now}\n`);
        },
      };
    },
  };
}

export default function stateJob(env: StreamExecutionEnvironment, argv: string[]): void {
  const arg = (n: string, d: number) => (argv.includes(`--${n}`) ? Number(argv[argv.indexOf(`--${n}`) + 1]) : d);
  const keys = arg('keys', 10_000);
  const valueBytes = arg('value-bytes', 1024);
  const buildRate = arg('build-rate', 200_000);
  const buildSeconds = arg('build-seconds', 5);
  const tickRate = arg('tick-rate', 1000);
  const partitions = arg('partitions', 2);
  const tsDir = argv[argv.indexOf('--ts-dir') + 1]!;
  env.setJobName('bench-rescale-state');
  env.enableCheckpointing(arg('checkpoint-interval', 3_600_000));
  const blob = new Uint8Array(valueBytes).fill(7);
  env
    .fromSource(generatorSource<Rec>({ partitions, profile: `steps:${buildRate}@0s,${tickRate}@${buildSeconds}s`, record: (p, o) => ({ k: (o * partitions + p) % keys }), name: 'keys', batchSize: 500 }))
    .keyBy((r) => r.k)
    .process<number>({
      open(ctx) {
        (this as { s?: unknown }).s = ctx.getState<Uint8Array>('blob');
      },
      processElement(r, _ctx, out) {
        const s = (this as unknown as { s: BlobState }).s;
        if (s.value() === undefined) s.update(blob);
        out.collect(r.k);
      },
    })
    .sinkTo(timestampSink(tsDir));
}
