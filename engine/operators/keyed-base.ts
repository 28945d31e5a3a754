/**
 * Shared plumbing of keyed operators: the heap keyed-state backend over this subtask's key
 * groups, the timer service, restore of keyed state, and scheduling of processing-time timers
 * on the runtime's ProcessingTimeService (one pending callback for the earliest timer).
 */
import type { KeySelector, RuntimeContext } from '../api/functions.ts';
import { HeapKeyedStateBackend } from '../state/keyed-backend.ts';
import { InternalTimerService, type Timer } from '../state/timers.ts';
import { StreamOperator, type OperatorSetup, type OperatorStateParts } from './operator.ts';

export abstract class KeyedOperatorBase extends StreamOperator {
  protected readonly keySelector: KeySelector<unknown, unknown>;
  protected backend!: HeapKeyedStateBackend;
  protected timers!: InternalTimerService;
  private scheduledAt = Number.POSITIVE_INFINITY;
  private scheduled: { cancel(): void } | undefined;

  constructor(keySelector: KeySelector<unknown, unknown>) {
    super();
    this.keySelector = keySelector;
  }

  override open(setup: OperatorSetup): void | Promise<void> {
    super.open(setup);
    const t = setup.task;
    this.backend = new HeapKeyedStateBackend(t.keyGroupRange, t.maxParallelism, () => t.time.now());
    this.timers = new InternalTimerService(this.backend);
    if (setup.restored !== null) this.backend.restore(setup.restored.keyGroups);
    this.scheduleProcessingTimers();
  }

  protected runtimeContext(): RuntimeContext {
    const t = this.setup.task;
    const b = this.backend;
    return {
      subtaskIndex: t.subtaskIndex,
      parallelism: t.parallelism,
      maxParallelism: t.maxParallelism,
      metrics: t.metrics,
      getState: (name, options) => b.getValueState(name, options),
      getMapState: (name, options) => b.getMapState(name, options),
      getListState: (name, options) => b.getListState(name, options),
    };
  }

  /** Called for each due timer, with the backend's current key set to the timer's key. */
  protected abstract onTimer(timer: Timer): void;

  override processWatermark(timestamp: number): void | Promise<void> {
    if (timestamp > this.currentWatermark) {
      this.currentWatermark = timestamp;
      this.timers.advance('EVENT_TIME', timestamp, (t) => this.onTimer(t));
    }
    return this.output.emitWatermark(timestamp);
  }

  /** Makes sure the earliest processing-time timer has a callback scheduled. */
  protected scheduleProcessingTimers(): void {
    const next = this.timers.nextProcessingTime();
    if (next === undefined || next >= this.scheduledAt) return;
    this.scheduled?.cancel();
    this.scheduledAt = next;
    this.scheduled = this.setup.task.time.schedule(next, (now) => {
      this.scheduled = undefined;
      this.scheduledAt = Number.POSITIVE_INFINITY;
      this.timers.advance('PROCESSING_TIME', Math.max(now, next), (t) => this.onTimer(t));
      void this.output.flush();
      this.scheduleProcessingTimers();
    });
  }

  override snapshotState(): OperatorStateParts {
    return { keyGroups: this.backend.snapshot() };
  }

  override close(): void | Promise<void> {
    this.scheduled?.cancel();
    this.scheduled = undefined;
  }
}
