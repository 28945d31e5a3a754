/**
 * The metrics of one running subtask, in Flink's names: task I/O counters and their meters,
 * busy/idle/backpressured time, watermarks, and the operator-scope gauges and counters the
 * dataflow layer registers through TaskMetricHooks (attributed to the chain's head operator,
 * e.g. a source's pendingRecords). It serves two readers: `restValues()` for the heartbeat
 * snapshot behind the REST metric endpoints, and `samples()` for the Prometheus registry.
 */
import type { TaskMetricHooks } from '../contracts/task.ts';
import { BACKPRESSURED, BUSY, IDLE, RateView, type TaskTimer, type ViewUpdater } from './time-accounting.ts';

export const LONG_MIN_VALUE = -9223372036854775808;

/** Flink's MetricQueryService.replaceInvalidChars over a name truncated to 80 chars. */
export function restOperatorName(name: string): string {
  return name.slice(0, 80).replace(/[ .:,]/g, '_');
}

/** Live readings the executor provides. */
export interface TaskReadings {
  timer: TaskTimer;
  numRecordsIn(): number;
  numRecordsOut(): number;
  numBytesIn(): number;
  numBytesOut(): number;
  numBuffersOut(): number;
  isBackPressured(): boolean;
  currentInputWatermark(): number;
  currentOutputWatermark(): number;
  inputQueueLength(): number;
  outputQueueLength(): number;
  inPoolUsage(): number;
  outPoolUsage(): number;
  checkpointAlignmentTimeNs(): number;
  /** Buffer debloating: the batch size (records) announced to the producers. */
  debloatedBufferSize(): number;
  /** Buffer debloating: how long the queued input would take at the measured throughput (ms). */
  estimatedTimeToConsumeBuffersMs(): number;
}

export interface MetricSample {
  scope: 'task' | 'operator';
  name: string;
  value: number;
  /** Labels from key-value metric groups (operator gauges registered with keyValues). */
  labels?: Record<string, string>;
}

/** A gauge inside key-value groups: its Prometheus name (keys only) and labels (the values). */
interface GroupGauge {
  name: string;
  labels: Record<string, string>;
  read: () => number;
}

export class TaskMetrics implements TaskMetricHooks {
  readonly headOperatorName: string;
  readonly headOperatorId: string;
  readonly isSource: boolean;
  private readonly r: TaskReadings;
  private readonly updater: ViewUpdater;
  private readonly views: RateView[] = [];
  private readonly gauges = new Map<string, () => number>();
  /** Gauges in key-value groups, by REST metric id. */
  private readonly groupGauges = new Map<string, GroupGauge>();
  private readonly counters = new Map<string, number>();
  private readonly counterRates = new Map<string, RateView>();
  private readonly slots: number;
  private readonly idleRate: RateView;
  private readonly bpRate: RateView;
  private readonly inRate: RateView;
  private readonly outRate: RateView;
  private readonly bytesInRate: RateView;
  private readonly bytesOutRate: RateView;
  private readonly buffersOutRate: RateView;

  constructor(readings: TaskReadings, updater: ViewUpdater, slots: number, head: { id: string; name: string }, isSource: boolean) {
    this.r = readings;
    this.updater = updater;
    this.slots = slots;
    this.headOperatorId = head.id;
    this.headOperatorName = head.name;
    this.isSource = isSource;
    const t = readings.timer;
    this.idleRate = this.view(() => t.total(IDLE));
    this.bpRate = this.view(() => t.total(BACKPRESSURED));
    this.inRate = this.view(() => readings.numRecordsIn());
    this.outRate = this.view(() => readings.numRecordsOut());
    this.bytesInRate = this.view(() => readings.numBytesIn());
    this.bytesOutRate = this.view(() => readings.numBytesOut());
    this.buffersOutRate = this.view(() => readings.numBuffersOut());
  }

  private view(read: () => number): RateView {
    const v = this.updater.add(new RateView(read, this.slots));
    this.views.push(v);
    return v;
  }

  gauge(name: string, read: () => number, keyValues?: Array<[string, string]>): void {
    if (!keyValues || keyValues.length === 0) {
      this.gauges.set(name, read);
      return;
    }
    const cut = name.lastIndexOf('.');
    const group = cut < 0 ? '' : `${name.slice(0, cut)}.`;
    const leaf = name.slice(cut + 1);
    const restId = `${group}${keyValues.map(([k, v]) => `${k}.${v}`).join('.')}.${leaf}`;
    this.groupGauges.set(restId, { name: `${group}${keyValues.map(([k]) => k).join('.')}.${leaf}`, labels: Object.fromEntries(keyValues), read });
  }

  count(name: string, delta: number): void {
    const prev = this.counters.get(name);
    if (prev === undefined) {
      this.counters.set(name, delta);
      // Flink gives meters only to the I/O counters (numRecordsIn -> numRecordsInPerSecond, ...).
      if (name.startsWith('numRecords') || name.startsWith('numBytes')) this.counterRates.set(name, this.view(() => this.counters.get(name) ?? 0));
    } else {
      this.counters.set(name, prev + delta);
    }
  }

  /** Task-scope values under their Flink names. */
  taskValues(): Record<string, number> {
    const r = this.r;
    const idle = clampRate(this.idleRate.rate());
    const bp = clampRate(this.bpRate.rate());
    return {
      numRecordsIn: r.numRecordsIn(),
      numRecordsOut: r.numRecordsOut(),
      numRecordsInPerSecond: this.inRate.rate(),
      numRecordsOutPerSecond: this.outRate.rate(),
      numBytesIn: r.numBytesIn(),
      numBytesOut: r.numBytesOut(),
      numBytesInPerSecond: this.bytesInRate.rate(),
      numBytesOutPerSecond: this.bytesOutRate.rate(),
      numBuffersOut: r.numBuffersOut(),
      numBuffersOutPerSecond: this.buffersOutRate.rate(),
      busyTimeMsPerSecond: 1000 - Math.min(idle + bp, 1000),
      idleTimeMsPerSecond: idle,
      backPressuredTimeMsPerSecond: bp,
      softBackPressuredTimeMsPerSecond: 0,
      hardBackPressuredTimeMsPerSecond: bp,
      accumulateBusyTimeMs: Math.round(r.timer.total(BUSY)),
      accumulateIdleTimeMs: Math.round(r.timer.total(IDLE)),
      accumulateBackPressuredTimeMs: Math.round(r.timer.total(BACKPRESSURED)),
      isBackPressured: r.isBackPressured() ? 1 : 0,
      currentInputWatermark: r.currentInputWatermark(),
      'Shuffle.Netty.Input.Buffers.inputQueueLength': r.inputQueueLength(),
      'Shuffle.Netty.Output.Buffers.outputQueueLength': r.outputQueueLength(),
      'buffers.inputQueueLength': r.inputQueueLength(),
      'buffers.outputQueueLength': r.outputQueueLength(),
      'Shuffle.Netty.Input.Buffers.inPoolUsage': r.inPoolUsage(),
      'Shuffle.Netty.Output.Buffers.outPoolUsage': r.outPoolUsage(),
      checkpointAlignmentTime: r.checkpointAlignmentTimeNs(),
      debloatedBufferSize: r.debloatedBufferSize(),
      estimatedTimeToConsumeBuffersMs: r.estimatedTimeToConsumeBuffersMs(),
      'buffers.inPoolUsage': r.inPoolUsage(),
      'buffers.outPoolUsage': r.outPoolUsage(),
    };
  }

  /** Operator-scope values of the head operator, without the operator prefix. */
  operatorValues(): Record<string, number> {
    const out: Record<string, number> = {};
    const r = this.r;
    // Defaults for the head operator's I/O; the dataflow layer's own counts win when it reports them.
    const recordsIn = this.isSource ? r.numRecordsOut() : r.numRecordsIn();
    out.numRecordsIn = recordsIn;
    out.numRecordsInPerSecond = this.isSource ? this.outRate.rate() : this.inRate.rate();
    out.numRecordsOut = r.numRecordsOut();
    out.numRecordsOutPerSecond = this.outRate.rate();
    out.currentInputWatermark = r.currentInputWatermark();
    out.currentOutputWatermark = r.currentOutputWatermark();
    for (const [name, value] of this.counters) {
      out[name] = value;
      const rate = this.counterRates.get(name);
      if (rate) out[`${name}PerSecond`] = rate.rate();
    }
    for (const [name, read] of this.gauges) out[name] = read();
    return out;
  }

  /** Flink REST metric ids (task metrics bare, operator metrics `<operator>.<name>`) with values. */
  restValues(): Record<string, number | string> {
    const out: Record<string, number | string> = { ...this.taskValues() };
    const prefix = restOperatorName(this.headOperatorName);
    for (const [k, v] of Object.entries(this.operatorValues())) out[`${prefix}.${k}`] = v;
    for (const [id, g] of this.groupGauges) out[`${prefix}.${id}`] = g.read();
    out.isBackPressured = this.r.isBackPressured() ? 'true' : 'false';
    return out;
  }

  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const [name, value] of Object.entries(this.taskValues())) out.push({ scope: 'task', name, value });
    for (const [name, value] of Object.entries(this.operatorValues())) out.push({ scope: 'operator', name, value });
    for (const g of this.groupGauges.values()) out.push({ scope: 'operator', name: g.name, value: g.read(), labels: g.labels });
    return out;
  }

  dispose(): void {
    for (const v of this.views) this.updater.remove(v);
  }
}

function clampRate(v: number): number {
  return Math.max(0, Math.min(1000, v));
}
