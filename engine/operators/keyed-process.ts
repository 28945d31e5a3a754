/**
 * KeyedProcessOperator: runs a KeyedProcessFunction per record with the record's key set, gives
 * it keyed state and a timer service, and calls onTimer for event-time timers (as the watermark
 * passes them) and processing-time timers. One context and one collector object serve every
 * record.
 */
import type { KeyedProcessFunction, KeySelector, OnTimerContext, TimerService } from '../api/functions.ts';
import type { Timer, TimeDomain } from '../state/timers.ts';
import { TimestampedCollector } from './basic.ts';
import { KeyedOperatorBase } from './keyed-base.ts';
import type { OperatorSetup } from './operator.ts';

export class KeyedProcessOperator extends KeyedOperatorBase implements OnTimerContext<unknown> {
  private readonly fn: KeyedProcessFunction<unknown, unknown, unknown>;
  private readonly collector = new TimestampedCollector();
  private currentTimestamp = Number.NaN;
  private domain: TimeDomain = 'EVENT_TIME';
  private processingTimersChanged = false;

  constructor(fn: KeyedProcessFunction<unknown, unknown, unknown>, keySelector: KeySelector<unknown, unknown>) {
    super(keySelector);
    this.fn = fn;
  }

  override async open(setup: OperatorSetup): Promise<void> {
    super.open(setup);
    this.collector.output = this.output;
    await this.fn.open?.(this.runtimeContext());
  }

  processBatch(records: unknown[], timestamps: number[]): void {
    this.processRecords(records, timestamps);
    if (this.processingTimersChanged) {
      this.processingTimersChanged = false;
      this.scheduleProcessingTimers();
    }
  }

  /**
   * The per-record loop, in a method that ends with it: V8 compiles a long loop on its first run
   * and keeps that code, so a property read after the loop would send every later batch back to
   * the interpreter there (one deoptimization per batch, seen in the TaskManagers).
   */
  private processRecords(records: unknown[], timestamps: number[]): void {
    const fn = this.fn;
    const key = this.keySelector;
    const b = this.backend;
    const c = this.collector;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      b.setCurrentKey(key(r));
      const ts = timestamps[i]!;
      this.currentTimestamp = ts;
      c.timestamp = ts;
      fn.processElement(r, this, c);
    }
  }

  protected onTimer(t: Timer): void {
    this.currentTimestamp = t.timestamp;
    this.collector.timestamp = t.timestamp;
    this.domain = t.domain;
    this.fn.onTimer?.(t.timestamp, this, this.collector);
    if (this.processingTimersChanged) {
      this.processingTimersChanged = false;
      this.scheduleProcessingTimers();
    }
  }

  override async close(): Promise<void> {
    await super.close();
    await this.fn.close?.();
  }

  // KeyedContext / OnTimerContext
  timestamp(): number {
    return this.currentTimestamp;
  }
  getCurrentKey(): unknown {
    return this.backend.currentUserKey;
  }
  timerService(): TimerService {
    return this.timerSvc;
  }
  timeDomain(): TimeDomain {
    return this.domain;
  }

  private readonly timerSvc: TimerService = {
    currentProcessingTime: () => this.setup.task.time.now(),
    currentWatermark: () => this.currentWatermark,
    registerEventTimeTimer: (timestamp) => {
      this.timers.register('EVENT_TIME', timestamp);
    },
    registerProcessingTimeTimer: (timestamp) => {
      if (this.timers.register('PROCESSING_TIME', timestamp)) this.processingTimersChanged = true;
    },
    deleteEventTimeTimer: (timestamp) => this.timers.delete('EVENT_TIME', timestamp),
    deleteProcessingTimeTimer: (timestamp) => this.timers.delete('PROCESSING_TIME', timestamp),
  };
}
