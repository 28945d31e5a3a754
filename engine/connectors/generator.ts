/**
 * The rate-controlled generator source. Record number g (0, 1, 2, ... in due order) belongs to
 * partition g % N at offset floor(g / N), and its content comes only from (partition, offset),
 * so a replay from restored offsets produces exactly the same records. The rate profile says
 * how many records are due by now since the generator's start time (kept in state, so the
 * backlog of a restart shows up as lag). Partitions go to subtasks round-robin (p % parallelism);
 * offsets and the start time are union operator state, so any parallelism restores them.
 * Gauge `pendingRecords` = records due by now - records emitted, over this subtask's partitions;
 * `GeneratorSourceReader.topic.<name>.partition.<p>.currentOffset` per partition it reads.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { SourceControl } from '../contracts/task.ts';
import type { ConnectorContext, OperatorStateSnapshot, Source, SourceOutput, SourceReader } from '../api/functions.ts';
import { decodeState, encodeState } from '../state/serde.ts';
import { RateProfile } from './rate-profile.ts';

/** Makes record `offset` of `partition`; `dueTimeMs` is when it became due (wall clock), usable as event time. */
export type RecordFactory<T> = (partition: number, offset: number, dueTimeMs: number) => T;

export interface GeneratorOptions<T> {
  partitions: number;
  /** A RateProfile or its text: constant:R, steps:R1@0s,..., or a .csv path. */
  profile: RateProfile | string;
  record?: RecordFactory<T>;
  /** Stop after this many records in total (over all partitions); default unbounded. */
  limit?: number;
  /** Records per emitted batch per subtask; default 500. */
  batchSize?: number;
  name?: string;
}

export interface GeneratedRecord {
  partition: number;
  offset: number;
  time: number;
}

export const defaultRecordFactory: RecordFactory<GeneratedRecord> = (partition, offset, time) => ({ partition, offset, time });

/** Records of `partition` among the first `total` records. */
export function partitionShare(total: number, partition: number, partitions: number): number {
  return total <= partition ? 0 : Math.floor((total - partition - 1) / partitions) + 1;
}

interface GeneratorState {
  start: number;
  offsets: Array<[number, number]>;
}

export function generatorSource<T = GeneratedRecord>(options: GeneratorOptions<T>): Source<T> {
  const profile = typeof options.profile === 'string' ? RateProfile.parse(options.profile) : options.profile;
  if (!Number.isInteger(options.partitions) || options.partitions < 1) throw new RangeError('partitions must be an integer >= 1');
  return {
    name: options.name ?? 'generator',
    createReader: (ctx) => new GeneratorReader<T>(options, profile, ctx),
  };
}

class GeneratorReader<T> implements SourceReader<T> {
  private readonly ctx: ConnectorContext;
  private readonly profile: RateProfile;
  private readonly factory: RecordFactory<T>;
  private readonly n: number;
  private readonly limit: number;
  private readonly batchSize: number;
  /** Partitions this subtask owns and their next offsets (parallel arrays). */
  readonly partitions: number[] = [];
  readonly offsets: number[] = [];
  private readonly shares: number[] = [];
  start: number;

  constructor(options: GeneratorOptions<T>, profile: RateProfile, ctx: ConnectorContext) {
    this.ctx = ctx;
    this.profile = profile;
    this.factory = options.record ?? (defaultRecordFactory as unknown as RecordFactory<T>);
    this.n = options.partitions;
    this.limit = options.limit ?? Number.POSITIVE_INFINITY;
    this.batchSize = options.batchSize ?? 500;
    for (let p = ctx.subtaskIndex; p < this.n; p += ctx.parallelism) {
      this.partitions.push(p);
      this.offsets.push(0);
    }
    this.start = ctx.now();
    if (ctx.restored !== null) this.restore(ctx.restored.unionState);
    ctx.metrics.gauge('pendingRecords', () => this.pendingRecords());
    // One offset gauge per partition this subtask reads, named as Flink's Kafka source reader
    // names them (key-value groups topic/partition), so partition counts can be discovered.
    const topic = options.name ?? 'generator';
    this.partitions.forEach((p, i) => ctx.metrics.gauge('GeneratorSourceReader.currentOffset', () => this.offsets[i]!, [['topic', topic], ['partition', String(p)]]));
  }

  private restore(entries: Uint8Array[]): void {
    const known = new Map<number, number>();
    let start = Number.POSITIVE_INFINITY;
    for (const e of entries) {
      const s = decodeState<GeneratorState>(e);
      if (s.start < start) start = s.start;
      for (const [p, off] of s.offsets) known.set(p, Math.max(off, known.get(p) ?? 0));
    }
    if (Number.isFinite(start)) this.start = start;
    this.partitions.forEach((p, i) => (this.offsets[i] = known.get(p) ?? 0));
  }

  /** Records due over all partitions by processing time `now`. */
  dueTotal(now: number): number {
    return Math.min(this.limit, Math.floor(this.profile.cumulative((now - this.start) / 1000) + 1e-9));
  }

  pendingRecords(): number {
    const due = this.dueTotal(this.ctx.now());
    let pending = 0;
    for (let i = 0; i < this.partitions.length; i++) pending += Math.max(0, partitionShare(due, this.partitions[i]!, this.n) - this.offsets[i]!);
    return pending;
  }

  private finished(): boolean {
    if (!Number.isFinite(this.limit)) return false;
    for (let i = 0; i < this.partitions.length; i++) {
      if (this.offsets[i]! < partitionShare(this.limit, this.partitions[i]!, this.n)) return false;
    }
    return true;
  }

  /**
   * Emits up to one batch of due records in global sequence order (offset, then partition), so
   * event times derived from due times never go backwards within a subtask, even when its
   * partitions were restored at different offsets. Stops early once the outputs have no credit
   * left. Returns how many were emitted.
   */
  private emitDue(out: SourceOutput<T>, due: number, ctl: SourceControl): number {
    const k = this.partitions.length;
    const n = this.n;
    const f = this.factory;
    const shares = this.shares;
    for (let i = 0; i < k; i++) shares[i] = partitionShare(due, this.partitions[i]!, n);
    if (k === 1) return this.emitOnePartition(out, shares[0]!, ctl);
    let emitted = 0;
    // Stop early when the outputs ran out of credit (checked every 16 records): what is emitted
    // beyond that waits in the output backlog, ahead of the next checkpoint barrier.
    while (emitted < this.batchSize && ((emitted & 15) !== 0 || emitted === 0 || ctl.hasCapacity())) {
      let best = -1;
      let bestG = Number.POSITIVE_INFINITY;
      for (let i = 0; i < k; i++) {
        const off = this.offsets[i]!;
        if (off >= shares[i]!) continue;
        const g = off * n + this.partitions[i]!;
        if (g < bestG) {
          bestG = g;
          best = i;
        }
      }
      if (best < 0) break;
      // Emit this partition's run up to the next partition's position (at most one record per round when they are level).
      const p = this.partitions[best]!;
      const off = this.offsets[best]!;
      const dueTime = this.start + this.profile.timeOf(bestG + 1) * 1000;
      out.collect(f(p, off, Math.ceil(dueTime)));
      this.offsets[best] = off + 1;
      emitted++;
    }
    return emitted;
  }

  /** emitDue for a subtask that owns one partition: its records are consecutive, so a plain loop in runs of 16. */
  private emitOnePartition(out: SourceOutput<T>, share: number, ctl: SourceControl): number {
    const p = this.partitions[0]!;
    const n = this.n;
    const f = this.factory;
    const profile = this.profile;
    const start = this.start;
    const first = this.offsets[0]!;
    const end = Math.min(share, first + this.batchSize);
    let off = first;
    while (off < end) {
      const stop = Math.min(end, off + 16);
      for (; off < stop; off++) {
        const dueTime = start + profile.timeOf(off * n + p + 1) * 1000;
        out.collect(f(p, off, Math.ceil(dueTime)));
      }
      this.offsets[0] = off;
      if (!ctl.hasCapacity()) break;
    }
    return off - first;
  }

  async run(out: SourceOutput<T>, ctl: SourceControl): Promise<void> {
    if (this.partitions.length === 0) out.markIdle();
    let busySince = this.ctx.now();
    while (!ctl.signal.aborted) {
      const now = this.ctx.now();
      const due = this.dueTotal(now);
      const emitted = this.emitDue(out, due, ctl);
      await out.flush();
      if (this.finished()) return;
      if (emitted === 0) {
        const next = this.start + this.profile.timeOf(due + 1) * 1000;
        await ctl.idle(Math.min(100, Math.max(1, Math.ceil(next - now))));
        busySince = this.ctx.now();
      } else {
        await ctl.waitForCapacity();
        // Never hold the event loop for long, even when the runtime's wait resolves at once.
        if (this.ctx.now() - busySince > 20) {
          await yieldToLoop();
          busySince = this.ctx.now();
        }
      }
    }
  }

  snapshotState(): OperatorStateSnapshot {
    const state: GeneratorState = { start: this.start, offsets: this.partitions.map((p, i) => [p, this.offsets[i]!]) };
    return { unionState: [encodeState(state)] };
  }
}
