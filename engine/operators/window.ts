/**
 * WindowOperator for event-time tumbling and sliding windows, with Flink's EventTimeTrigger
 * and allowed lateness: a record is added to each window it belongs to unless the window's
 * cleanup time (maxTimestamp + allowedLateness) is already at or behind the watermark; a record
 * whose windows were all late is dropped and counted in `numLateRecordsDropped`. A window fires
 * when the watermark passes its max timestamp (end - 1), fires again for each late record that
 * arrives within the allowed lateness, and its state is purged at its cleanup time. Window
 * contents live in keyed map state (window start -> accumulator), timers per key group.
 */
import type {
  AggregateFunction,
  Collector,
  KeySelector,
  ProcessWindowFunction,
  ReduceFunction,
  TimeWindow,
  WindowResultFunction,
} from '../api/functions.ts';
import type { WindowAssigner } from '../api/windows.ts';
import type { MapState } from '../state/state-types.ts';
import type { Timer } from '../state/timers.ts';
import { TimestampedCollector } from './basic.ts';
import { KeyedOperatorBase } from './keyed-base.ts';
import type { OperatorSetup } from './operator.ts';

export type WindowFunctionSpec =
  | { kind: 'reduce'; reduce: ReduceFunction<unknown>; result?: WindowResultFunction<unknown, unknown, unknown> }
  | { kind: 'aggregate'; agg: AggregateFunction<unknown, unknown, unknown>; result?: WindowResultFunction<unknown, unknown, unknown> }
  | { kind: 'process'; process: ProcessWindowFunction<unknown, unknown, unknown> };

export class WindowOperator extends KeyedOperatorBase {
  private readonly assigner: WindowAssigner;
  private readonly allowedLateness: number;
  private readonly fn: WindowFunctionSpec;
  private readonly collector = new TimestampedCollector();
  private readonly starts: number[] = [];
  private contents!: MapState<number, unknown>;
  private lateDropped = 0;

  constructor(assigner: WindowAssigner, allowedLatenessMs: number, keySelector: KeySelector<unknown, unknown>, fn: WindowFunctionSpec) {
    super(keySelector);
    this.assigner = assigner;
    this.allowedLateness = allowedLatenessMs;
    this.fn = fn;
  }

  override open(setup: OperatorSetup): void {
    super.open(setup);
    this.collector.output = this.output;
    this.contents = this.backend.getMapState<number, unknown>('window-contents');
  }

  processBatch(records: unknown[], timestamps: number[]): void {
    const key = this.keySelector;
    const size = this.assigner.sizeMs;
    const lateness = this.allowedLateness;
    const starts = this.starts;
    let dropped = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      const ts = timestamps[i]!;
      if (Number.isNaN(ts)) {
        throw new Error('event-time window got a record without a timestamp: give fromSource a WatermarkStrategy with a timestamp assigner');
      }
      this.backend.setCurrentKey(key(r));
      starts.length = 0;
      this.assigner.assignWindowStarts(ts, starts);
      const wm = this.currentWatermark;
      let skipped = true;
      for (let j = 0; j < starts.length; j++) {
        const start = starts[j]!;
        const maxTs = start + size - 1;
        if (maxTs + lateness <= wm) continue; // window is late: its state may already be gone
        skipped = false;
        const created = this.add(start, r);
        if (maxTs <= wm) {
          this.fire(start, maxTs); // a late record within allowed lateness fires the window again
        } else if (created) {
          this.timers.register('EVENT_TIME', maxTs, start);
        }
        if (created && lateness > 0) this.timers.register('EVENT_TIME', maxTs + lateness, start);
      }
      if (skipped && ts + lateness <= wm) dropped++;
    }
    if (dropped > 0) {
      this.lateDropped += dropped;
      this.setup.task.metrics.count('numLateRecordsDropped', dropped);
    }
  }

  /** Adds a record to a window's accumulator; true when the window's state was just created. */
  private add(start: number, r: unknown): boolean {
    const cur = this.contents.get(start);
    const f = this.fn;
    if (f.kind === 'reduce') {
      this.contents.put(start, cur === undefined ? r : f.reduce(cur, r));
    } else if (f.kind === 'aggregate') {
      this.contents.put(start, f.agg.add(r, cur === undefined ? f.agg.createAccumulator() : cur));
    } else {
      const list = (cur as unknown[] | undefined) ?? [];
      list.push(r);
      this.contents.put(start, list);
    }
    return cur === undefined;
  }

  private fire(start: number, maxTs: number): void {
    const acc = this.contents.get(start);
    if (acc === undefined) return;
    const window: TimeWindow = { start, end: start + this.assigner.sizeMs };
    const key = this.backend.currentUserKey;
    const c = this.collector;
    c.timestamp = maxTs;
    const f = this.fn;
    if (f.kind === 'process') {
      f.process.process(key, window, (acc as unknown[]).slice(), c as Collector<unknown>);
      return;
    }
    const value = f.kind === 'reduce' ? acc : f.agg.getResult(acc);
    c.collect(f.result === undefined ? value : f.result(key, window, value));
  }

  protected onTimer(t: Timer): void {
    const start = t.namespace as number;
    const maxTs = start + this.assigner.sizeMs - 1;
    if (t.timestamp === maxTs) this.fire(start, maxTs);
    if (t.timestamp === maxTs + this.allowedLateness) this.contents.remove(start);
  }
}
