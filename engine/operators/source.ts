/**
 * The source operator at the head of a source chain. It runs the user's SourceReader, assigns
 * event timestamps, generates watermarks per batch (bounded out-of-orderness) and idleness,
 * and snapshots the reader's position as operator state.
 */
import type { SourceControl } from '../contracts/task.ts';
import type { Source, SourceOutput, SourceReader } from '../api/functions.ts';
import type { WatermarkStrategy, TimestampAssigner } from '../api/watermarks.ts';
import { connectorContext } from './connector-context.ts';
import { isPromise, StreamOperator, WATERMARK_IDLE, type OperatorSetup, type OperatorStateParts } from './operator.ts';

export class SourceOperator extends StreamOperator implements SourceOutput<unknown> {
  private readonly source: Source<unknown>;
  private readonly assigner: TimestampAssigner<unknown> | undefined;
  private readonly watermarks: boolean;
  private readonly bound: number;
  private readonly idlenessMs: number | undefined;
  private reader!: SourceReader<unknown>;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private lastWatermark = Number.NEGATIVE_INFINITY;
  private idle = false;
  private emittedSinceFlush = 0;
  private lastActive = 0;

  constructor(source: Source<unknown>, strategy: WatermarkStrategy<unknown> | undefined) {
    super();
    this.source = source;
    this.assigner = strategy?.timestampAssigner;
    this.watermarks = strategy !== undefined && strategy.generatesWatermarks;
    this.bound = strategy?.outOfOrdernessMs ?? 0;
    this.idlenessMs = strategy?.idlenessMs;
  }

  override open(setup: OperatorSetup): void {
    super.open(setup);
    this.reader = this.source.createReader(connectorContext(setup));
    this.lastActive = setup.task.time.now();
  }

  run(ctl: SourceControl): Promise<void> {
    return this.reader.run(this, ctl);
  }

  processBatch(): void {
    throw new Error('a source operator has no input');
  }

  collect(record: unknown): void {
    const a = this.assigner;
    let ts = Number.NaN;
    if (a !== undefined) {
      ts = a(record, Number.NaN);
      if (ts > this.maxTimestamp) this.maxTimestamp = ts;
    }
    this.emittedSinceFlush++;
    this.output.collect(record, ts);
  }

  flush(): void | Promise<void> {
    const r = this.output.flush();
    if (isPromise(r)) return r.then(() => this.afterFlush());
    return this.afterFlush();
  }

  private afterFlush(): void | Promise<void> {
    if (!this.watermarks) return;
    if (this.emittedSinceFlush > 0) {
      this.emittedSinceFlush = 0;
      this.lastActive = this.setup.task.time.now();
      const wm = this.maxTimestamp - this.bound - 1;
      if (wm > this.lastWatermark || this.idle) {
        this.idle = false;
        if (wm > this.lastWatermark) this.lastWatermark = wm;
        this.currentWatermark = this.lastWatermark;
        return this.output.emitWatermark(this.lastWatermark);
      }
      return;
    }
    if (this.idlenessMs !== undefined && !this.idle && this.setup.task.time.now() - this.lastActive >= this.idlenessMs) {
      this.markIdle();
    }
  }

  markIdle(): void {
    if (this.idle || !this.watermarks) return;
    this.idle = true;
    void this.output.emitWatermark(WATERMARK_IDLE);
  }

  override snapshotState(checkpointId: number): OperatorStateParts {
    return this.reader.snapshotState(checkpointId);
  }

  override close(): void | Promise<void> {
    return this.reader?.close?.();
  }
}
