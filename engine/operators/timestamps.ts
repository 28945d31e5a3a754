/**
 * TimestampsAndWatermarksOperator: DataStream.assignTimestampsAndWatermarks. It re-stamps each
 * record with the strategy's timestamp assigner (or keeps its timestamp) and generates
 * bounded-out-of-orderness watermarks after each batch. As in Flink, watermarks from upstream
 * are dropped, except the final one (+Infinity) that ends the input.
 */
import type { TimestampAssigner, WatermarkStrategy } from '../api/watermarks.ts';
import { StreamOperator, WATERMARK_MAX } from './operator.ts';

export class TimestampsAndWatermarksOperator extends StreamOperator {
  private readonly assigner: TimestampAssigner<unknown> | undefined;
  private readonly bound: number;
  private readonly watermarks: boolean;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private lastWatermark = Number.NEGATIVE_INFINITY;

  constructor(strategy: WatermarkStrategy<unknown>) {
    super();
    this.assigner = strategy.timestampAssigner;
    this.bound = strategy.outOfOrdernessMs;
    this.watermarks = strategy.generatesWatermarks;
  }

  processBatch(records: unknown[], timestamps: number[]): void | Promise<void> {
    const a = this.assigner;
    const out = this.output;
    let max = this.maxTimestamp;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const ts = a === undefined ? timestamps[i]! : a(r, timestamps[i]!);
      if (ts > max) max = ts;
      out.collect(r, ts);
    }
    this.maxTimestamp = max;
    if (!this.watermarks) return;
    const wm = max - this.bound - 1;
    if (wm > this.lastWatermark) {
      this.lastWatermark = wm;
      this.currentWatermark = wm;
      return out.emitWatermark(wm);
    }
  }

  override processWatermark(timestamp: number): void | Promise<void> {
    if (timestamp !== WATERMARK_MAX) return;
    this.currentWatermark = timestamp;
    return this.output.emitWatermark(timestamp);
  }
}
