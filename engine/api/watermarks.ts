/**
 * Watermark strategies, as Flink's WatermarkStrategy: bounded out-of-orderness (watermark =
 * highest timestamp seen - bound - 1) with a timestamp assigner, monotonous timestamps (bound 0),
 * and idleness (a source subtask that has emitted nothing for the idle timeout is marked idle
 * so it does not hold back the watermark downstream).
 */

export type TimestampAssigner<T> = (record: T, previousTimestamp: number) => number;

export class WatermarkStrategy<T> {
  readonly outOfOrdernessMs: number;
  readonly timestampAssigner: TimestampAssigner<T> | undefined;
  readonly idlenessMs: number | undefined;
  /** False for noWatermarks(): no watermarks are generated (timestamps may still be assigned). */
  readonly generatesWatermarks: boolean;

  private constructor(
    outOfOrdernessMs: number,
    assigner: TimestampAssigner<T> | undefined,
    idlenessMs: number | undefined,
    generates: boolean,
  ) {
    this.outOfOrdernessMs = outOfOrdernessMs;
    this.timestampAssigner = assigner;
    this.idlenessMs = idlenessMs;
    this.generatesWatermarks = generates;
  }

  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!(maxOutOfOrdernessMs >= 0)) throw new RangeError('maxOutOfOrdernessMs must be >= 0');
    return new WatermarkStrategy<T>(maxOutOfOrdernessMs, undefined, undefined, true);
  }

  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(0, undefined, undefined, true);
  }

  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(0, undefined, undefined, false);
  }

  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, assigner, this.idlenessMs, this.generatesWatermarks);
  }

  withIdleness(idleTimeoutMs: number): WatermarkStrategy<T> {
    if (!(idleTimeoutMs > 0)) throw new RangeError('idleTimeoutMs must be > 0');
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, this.timestampAssigner, idleTimeoutMs, this.generatesWatermarks);
  }
}
