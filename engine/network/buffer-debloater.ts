/**
 * Buffer debloating, as Flink's `taskmanager.network.memory.buffer-debloat.*`: a consumer sizes
 * the batches its producers send so that the data buffered in front of it (every receiving
 * channel full) takes about `targetMs` to process at its measured throughput. Under
 * backpressure this keeps the queues short, so a checkpoint barrier waits behind about one
 * target's worth of records instead of every buffer's full batch; at high throughput the size
 * grows to the configured batch size and costs nothing. One instance per input gate, sampled
 * every `period` by the task: throughput is a moving average over `samples` periods, and a new
 * size is announced only when it differs from the last one by more than `thresholdPercent`.
 */

export interface DebloatOptions {
  /** Time the buffered input should take to process (ms). */
  targetMs: number;
  /** Periods in the throughput's moving average. */
  samples: number;
  /** Smallest change (percent of the current size) worth announcing. */
  thresholdPercent: number;
  /** Bounds of the announced batch size, in records. */
  minBatch: number;
  maxBatch: number;
}

/** What a task is configured with: the options above (the maximum is the batch size) and the sampling period. */
export type DebloatSettings = Omit<DebloatOptions, 'maxBatch'> & { periodMs: number };

export class BufferDebloater {
  private readonly opts: DebloatOptions;
  private throughput = -1;
  private current: number;

  constructor(opts: DebloatOptions) {
    this.opts = opts;
    this.current = opts.maxBatch;
  }

  /** The batch size last announced (the configured maximum until the first announcement). */
  get batchSize(): number {
    return this.current;
  }

  /** Records per second, averaged (−1 before the first sample). */
  get averageThroughput(): number {
    return this.throughput;
  }

  /**
   * One period: `records` were taken from the gate in `elapsedMs`, and the gate has `buffers`
   * receiving buffers in total. Periods without records are skipped. Returns the batch size to announce, or null to keep the current one.
   */
  sample(records: number, elapsedMs: number, buffers: number): number | null {
    // A period without input says nothing about how fast the consumer can go (and nothing is
    // buffered then), so it does not shrink the batches.
    if (records <= 0 || elapsedMs <= 0 || buffers <= 0) return null;
    const rate = (records * 1000) / elapsedMs;
    const alpha = 2 / (this.opts.samples + 1);
    this.throughput = this.throughput < 0 ? rate : this.throughput + alpha * (rate - this.throughput);
    const wanted = (this.throughput * this.opts.targetMs) / 1000 / buffers;
    const size = Math.max(this.opts.minBatch, Math.min(this.opts.maxBatch, Math.round(wanted)));
    if (size === this.current) return null;
    if (Math.abs(size - this.current) * 100 <= this.opts.thresholdPercent * this.current) return null;
    this.current = size;
    return size;
  }
}
