/**
 * OperatorChain: one subtask of a vertex, the TaskInvokable the runtime drives. It opens the
 * chained operators (head first), links them with chaining outputs (fused.ts: runs of map and
 * filter are called inline, other elementwise operators directly, the rest batched) and the runtime's
 * RecordWriters, unwraps `[timestamp, record]` pairs on inputs that carry event time, combines
 * per-channel watermarks in a WatermarkValve, and fans snapshots and checkpoint notifications
 * out to every operator.
 */
import type { OperatorSnapshot, SourceControl, SubtaskSnapshot, TaskContext, TaskInvokable } from '../contracts/task.ts';
import type { OperatorSpec } from '../contracts/job-graph.ts';
import { WriterOutput } from './outputs.ts';
import { chainOutputs } from './fused.ts';
import { isPromise, LONG_MIN_VALUE, noTimestamps, StreamOperator, WATERMARK_IDLE, WATERMARK_MAX } from './operator.ts';
import { SourceOperator } from './source.ts';
import { WatermarkValve } from './watermark-valve.ts';
import { AsyncWaitOperator } from './async.ts';

/** What the program layer knows about a vertex's chain, enough to instantiate it per subtask. */
export interface ChainPlan {
  operators: Array<{ spec: OperatorSpec; create(): StreamOperator }>;
  /** Per input index: whether records arrive as `[timestamp, record]` pairs. */
  inputTimestamped: boolean[];
  /** Per input index: number of channels (used when the runtime does not say). */
  inputChannels: number[];
  /** Whether this chain's output records carry event time across the network. */
  outputTimestamped: boolean;
}

export class OperatorChain implements TaskInvokable {
  private readonly ctx: TaskContext;
  private readonly plan: ChainPlan;
  private readonly ops: StreamOperator[];
  private readonly head: StreamOperator;
  private readonly valves: WatermarkValve[];
  private readonly opening: Promise<void>;
  private opened = false;
  private ended = false;
  private outputIdle = false;
  private closed = false;
  /** Only chains with async I/O have one: the fullest async operator's occupancy. */
  readonly occupancy?: () => number;

  constructor(plan: ChainPlan, ctx: TaskContext) {
    this.plan = plan;
    this.ctx = ctx;
    this.ops = plan.operators.map((o) => o.create());
    this.head = this.ops[0]!;
    const asyncOps = this.ops.filter((op): op is AsyncWaitOperator => op instanceof AsyncWaitOperator);
    if (asyncOps.length > 0) this.occupancy = () => Math.max(...asyncOps.map((op) => op.occupancy()));
    const channels = ctx.inputChannels ?? plan.inputChannels;
    this.valves = plan.inputTimestamped.map((_, i) => new WatermarkValve(channels[i] ?? 1));
    ctx.metrics.gauge('currentInputWatermark', () => this.inputWatermark());
    this.opening = this.open();
    this.opening.catch(() => {});
  }

  private async open(): Promise<void> {
    const n = this.ops.length;
    const outputs = chainOutputs(this.ops, new WriterOutput(this.ctx.outputs, this.plan.outputTimestamped));
    for (let i = n - 1; i >= 0; i--) {
      const spec = this.plan.operators[i]!.spec;
      await this.ops[i]!.open({
        task: this.ctx,
        operatorId: spec.id,
        operatorUid: spec.uid,
        operatorName: spec.name,
        output: outputs[i]!,
        restored: this.ctx.restored?.operators.get(spec.id) ?? null,
      });
    }
    this.opened = true;
  }

  private inputWatermark(): number {
    if (this.valves.length === 0) return LONG_MIN_VALUE;
    let min = Number.POSITIVE_INFINITY;
    for (const v of this.valves) if (v.current < min) min = v.current;
    return min === Number.NEGATIVE_INFINITY ? LONG_MIN_VALUE : min;
  }

  async runSource(ctl: SourceControl): Promise<void> {
    await this.opening;
    const head = this.head;
    if (!(head instanceof SourceOperator)) throw new Error('runSource called on a chain without a source');
    await head.run(ctl);
    if (!ctl.signal.aborted) await this.endInput();
  }

  processBatch(inputIndex: number, _channel: number, records: unknown[]): void | Promise<void> {
    if (!this.opened) return this.opening.then(() => this.processBatch(inputIndex, _channel, records));
    let recs = records;
    let tss: number[];
    const n = records.length;
    if (this.plan.inputTimestamped[inputIndex]) {
      recs = new Array<unknown>(n);
      tss = new Array<number>(n);
      for (let i = 0; i < n; i++) {
        const pair = records[i] as [number, unknown];
        tss[i] = pair[0];
        recs[i] = pair[1];
      }
    } else {
      tss = noTimestamps(n);
    }
    const head = this.head;
    const r = head.processBatch(recs, tss);
    if (isPromise(r)) return r.then(() => head.output.flush());
    return head.output.flush();
  }

  processWatermark(inputIndex: number, channel: number, timestamp: number): void | Promise<void> {
    if (!this.opened) return this.opening.then(() => this.processWatermark(inputIndex, channel, timestamp));
    const valve = this.valves[inputIndex];
    if (valve === undefined) return;
    const wm = valve.input(channel, timestamp);
    if (wm === undefined) return;
    if (this.valves.length === 1) return this.pushWatermark(wm);
    // Several inputs (union): the minimum over inputs that are not idle.
    let min = Number.POSITIVE_INFINITY;
    let anyActive = false;
    for (const v of this.valves) {
      if (v.isIdle) continue;
      anyActive = true;
      if (v.current < min) min = v.current;
    }
    if (!anyActive) {
      if (this.outputIdle) return;
      this.outputIdle = true;
      return this.pushWatermark(WATERMARK_IDLE);
    }
    const wasIdle = this.outputIdle;
    this.outputIdle = false;
    if (min > this.head.currentWatermark || (wasIdle && min !== Number.NEGATIVE_INFINITY)) return this.pushWatermark(min);
  }

  private pushWatermark(wm: number): void | Promise<void> {
    const head = this.head;
    const r = head.processWatermark(wm);
    if (isPromise(r)) return r.then(() => head.output.flush());
    return head.output.flush();
  }

  async endInput(): Promise<void> {
    await this.opening;
    if (this.ended) return;
    this.ended = true;
    // Like Flink's MAX_WATERMARK at the end of bounded input: fires every pending event-time timer.
    if (this.head.currentWatermark < WATERMARK_MAX) await this.pushWatermark(WATERMARK_MAX);
    for (const op of this.ops) {
      await op.endInput();
      await op.output.flush();
    }
  }

  async snapshotState(checkpointId: number): Promise<SubtaskSnapshot> {
    await this.opening;
    const operators: OperatorSnapshot[] = [];
    for (let i = 0; i < this.ops.length; i++) {
      const parts = await this.ops[i]!.snapshotState(checkpointId);
      operators.push({
        operatorId: this.plan.operators[i]!.spec.id,
        keyGroups: parts.keyGroups ?? new Map(),
        operatorState: parts.operatorState ?? [],
        unionState: parts.unionState ?? [],
      });
    }
    return { checkpointId, operators };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.opening;
    for (const op of this.ops) {
      await op.notifyCheckpointComplete(checkpointId);
      await op.output.flush();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.opening;
    } catch {
      // Opening failed; still close whatever opened.
    }
    let first: unknown;
    for (const op of this.ops) {
      try {
        await op.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
