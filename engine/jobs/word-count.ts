/**
 * Word count: a generator of deterministic sentences -> flatMap into words -> keyBy word ->
 * running count in keyed state -> sink. Args: --rate N (records/s, default 1000) or --profile
 * SPEC, --partitions N (default 4), --limit N (stop after N sentences), --output DIR (file sink;
 * otherwise discard), --checkpoint-interval MS, --parallelism N.
 */
import type { StreamExecutionEnvironment } from '../api/environment.ts';
import { generatorSource } from '../connectors/generator.ts';
import { fileSink } from '../connectors/file-sink.ts';
import { discardSink } from '../connectors/simple-sinks.ts';
import { JobArgs } from './args.ts';

export const WORDS = ['stream', 'flink', 'state', 'window', 'key', 'group', 'barrier', 'sink', 'source', 'time', 'watermark', 'scale'];

/** Sentence number g: 3 to 6 words, chosen deterministically from g. */
export function sentence(partition: number, offset: number, partitions: number): string {
  const g = offset * partitions + partition;
  const n = 3 + (g % 4);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[(g * 7 + i * 5 + ((g >> 3) % 11)) % WORDS.length]!);
  return words.join(' ');
}

export interface WordCount {
  word: string;
  count: number;
}

export default function wordCount(env: StreamExecutionEnvironment, argv: string[]): void {
  const args = new JobArgs(argv);
  const partitions = args.int('partitions', 4);
  const profile = args.optional('profile') ?? `constant:${args.number('rate', 1000)}`;
  const limit = args.optional('limit');
  const output = args.optional('output');
  env.setJobName(args.string('name', 'word-count'));
  const p = args.optional('parallelism');
  if (p !== undefined) env.setParallelism(Number(p));
  const interval = args.optional('checkpoint-interval');
  if (interval !== undefined) env.enableCheckpointing(Number(interval));

  const sentences = env
    .fromSource(
      generatorSource({
        partitions,
        profile,
        limit: limit === undefined ? undefined : Number(limit),
        record: (part, off) => sentence(part, off, partitions),
        name: 'sentences',
      }),
    )
    .uid('sentences');
  const counts = sentences
    .flatMap<string>((line, out) => {
      let start = 0;
      for (let i = 0; i <= line.length; i++) {
        if (i === line.length || line.charCodeAt(i) === 32) {
          if (i > start) out.collect(line.slice(start, i));
          start = i + 1;
        }
      }
    })
    .uid('split')
    .keyBy((w) => w)
    .process<WordCount>({
      open(ctx) {
        (this as { count?: unknown }).count = ctx.getState<number>('count');
      },
      processElement(word, _ctx, out) {
        const state = (this as unknown as { count: { value(): number | undefined; update(v: number): void } }).count;
        const c = (state.value() ?? 0) + 1;
        state.update(c);
        out.collect({ word, count: c });
      },
    })
    .uid('count')
    .name('Count');
  if (output !== undefined) counts.sinkTo(fileSink<WordCount>({ path: output, name: 'counts' })).uid('sink');
  else counts.sinkTo(discardSink<WordCount>()).uid('sink');
}
