/**
 * A one-subtask harness for a single operator, like Flink's OneInputStreamOperatorTestHarness:
 * it runs the operator in a real OperatorChain whose output goes to an in-memory RecordWriter,
 * feeds records with timestamps and watermarks on chosen channels, drives processing time by
 * hand (ManualProcessingTime), and snapshots / restores the subtask.
 */
import type { OperatorSpec } from '../contracts/job-graph.ts';
import type { KeyGroupRange, OperatorSnapshot, ProcessingTimeService, RecordWriter, SubtaskRestore, SubtaskSnapshot, TaskContext } from '../contracts/task.ts';
import { OperatorChain } from '../operators/chain.ts';
import type { StreamOperator } from '../operators/operator.ts';
import { md5Hex } from '../program/graph-builder.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';

/** Processing time that moves only when the test says so. */
export class ManualProcessingTime implements ProcessingTimeService {
  private current: number;
  private timers: Array<{ at: number; fire: (t: number) => void; cancelled: boolean }> = [];
  constructor(start = 0) {
    this.current = start;
  }
  now(): number {
    return this.current;
  }
  schedule(timestamp: number, fire: (timestamp: number) => void): { cancel(): void } {
    const t = { at: timestamp, fire, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  /** Moves time forward, firing due callbacks in time order. */
  advanceTo(time: number): void {
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= time).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fire(this.current);
    }
    this.current = Math.max(this.current, time);
  }
}

export interface OutputElement {
  record?: unknown;
  timestamp?: number;
  watermark?: number;
}

export interface OperatorHarnessOptions {
  parallelism?: number;
  subtaskIndex?: number;
  maxParallelism?: number;
  numChannels?: number;
  time?: ManualProcessingTime;
  restored?: SubtaskRestore | null;
  config?: Record<string, string>;
}

export class OperatorHarness {
  readonly output: OutputElement[] = [];
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, () => number>();
  readonly time: ManualProcessingTime;
  readonly chain: OperatorChain;
  readonly keyGroupRange: KeyGroupRange;
  readonly operatorId = md5Hex('operator-under-test');

  constructor(create: () => StreamOperator, options: OperatorHarnessOptions = {}) {
    this.time = options.time ?? new ManualProcessingTime();
    const p = options.parallelism ?? 1;
    const i = options.subtaskIndex ?? 0;
    const maxP = options.maxParallelism ?? 128;
    this.keyGroupRange = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
    const out = this.output;
    const writer: RecordWriter = {
      numChannels: 1,
      emit: (r) => {
        const [timestamp, record] = r as [number, unknown];
        out.push({ record, timestamp });
      },
      emitWatermark: (watermark) => void out.push({ watermark }),
    };
    const spec: OperatorSpec = { id: this.operatorId, uid: 'operator-under-test', name: 'Operator', kind: 'test' };
    const ctx: TaskContext = {
      jobId: '0'.repeat(32),
      vertexId: md5Hex(this.operatorId),
      subtaskIndex: i,
      parallelism: p,
      maxParallelism: maxP,
      attemptNumber: 0,
      keyGroupRange: this.keyGroupRange,
      outputs: [writer],
      metrics: {
        gauge: (name, read) => void this.gauges.set(name, read),
        count: (name, d) => void this.counters.set(name, (this.counters.get(name) ?? 0) + d),
      },
      time: this.time,
      restored: options.restored ?? null,
      config: options.config ?? {},
      signal: new AbortController().signal,
      inputChannels: [options.numChannels ?? 1],
    };
    this.chain = new OperatorChain(
      { operators: [{ spec, create }], inputTimestamped: [true], inputChannels: [options.numChannels ?? 1], outputTimestamped: true },
      ctx,
    );
  }

  async processElements(elements: Array<[unknown, number]>, channel = 0): Promise<void> {
    await this.chain.processBatch(0, channel, elements.map(([r, ts]) => [ts, r]));
  }

  async processWatermark(ts: number, channel = 0): Promise<void> {
    await this.chain.processWatermark(0, channel, ts);
  }

  records(): unknown[] {
    return this.output.filter((e) => 'record' in e).map((e) => e.record);
  }

  watermarks(): number[] {
    return this.output.filter((e) => e.watermark !== undefined).map((e) => e.watermark!);
  }

  clearOutput(): void {
    this.output.length = 0;
  }

  snapshot(checkpointId = 1): Promise<SubtaskSnapshot> {
    return this.chain.snapshotState(checkpointId);
  }
}

/** Restores for a new subtask from snapshots of the operator under test (any old parallelism). */
export function restoreFor(snapshots: SubtaskSnapshot[], range: KeyGroupRange): SubtaskRestore {
  const operators = new Map<string, OperatorSnapshot>();
  for (const s of snapshots) {
    for (const op of s.operators) {
      const cur: OperatorSnapshot = operators.get(op.operatorId) ?? { operatorId: op.operatorId, keyGroups: new Map(), operatorState: [], unionState: [] };
      for (const [kg, b] of op.keyGroups) if (kg >= range.start && kg <= range.end) cur.keyGroups.set(kg, b);
      cur.operatorState.push(...op.operatorState);
      cur.unionState.push(...op.unionState);
      operators.set(op.operatorId, cur);
    }
  }
  return { checkpointId: snapshots[0]?.checkpointId ?? 0, operators };
}
