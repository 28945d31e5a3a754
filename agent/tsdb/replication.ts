/**
 * Replication of a MemoryStorage into a replica in another thread (the query worker). The
 * primary records, in order, every series it creates and every sample it accepts, each
 * retention run and each clear; `drain()` hands that over as one batch whose sample records
 * sit in one transferable Float64Array, and `applyReplicaBatch` replays it into the replica.
 * A replica fed every batch in order holds what the primary holds. A fresh replica starts
 * from `snapshotBatch`, taken in one piece on the primary's thread.
 */
import type { Labels } from './labels.ts';

export const OP_APPEND = 0;
export const OP_STALE = 1;
export const OP_RETENTION = 2;
export const OP_CLEAR = 3;

/** One batch of the log. ops holds n records of [op, series id, t, v]. */
export interface ReplicaBatch {
  readonly newSeries: { id: number; labels: Labels }[];
  readonly ops: Float64Array;
  readonly n: number;
}

export class ReplicationLog {
  private newSeries: { id: number; labels: Labels }[] = [];
  private ops = new Float64Array(4096 * 4);
  private n = 0;

  get pending(): number {
    return this.n + this.newSeries.length;
  }

  series(id: number, labels: Labels): void {
    this.newSeries.push({ id, labels });
  }

  op(kind: number, id: number, t: number, v: number): void {
    let i = this.n * 4;
    if (i + 4 > this.ops.length) {
      const grown = new Float64Array(this.ops.length * 2);
      grown.set(this.ops);
      this.ops = grown;
    }
    const o = this.ops;
    o[i++] = kind;
    o[i++] = id;
    o[i++] = t;
    o[i] = v;
    this.n++;
  }

  /** Everything recorded since the last drain (null when nothing was). */
  drain(): ReplicaBatch | null {
    if (this.n === 0 && this.newSeries.length === 0) return null;
    const batch: ReplicaBatch = { newSeries: this.newSeries, ops: this.ops.slice(0, this.n * 4), n: this.n };
    this.newSeries = [];
    this.n = 0;
    if (this.ops.length > 64 * 4096 * 4) this.ops = new Float64Array(4096 * 4);
    return batch;
  }
}

/** What a replica needs from its store (MemoryStorage implements it). */
export interface ReplicaTarget {
  replicaSeries(labels: Labels): unknown;
  replicaAppend(series: unknown, t: number, v: number, stale: boolean): void;
  replicaDead(series: unknown): boolean;
  applyRetention(nowMs: number): number;
  clear(): void;
}

/** Replays a batch; `refs` maps the primary's series ids to the replica's series across batches. */
export function applyReplicaBatch(target: ReplicaTarget, refs: Map<number, unknown>, batch: ReplicaBatch): void {
  for (const s of batch.newSeries) refs.set(s.id, target.replicaSeries(s.labels));
  const o = batch.ops;
  for (let r = 0; r < batch.n; r++) {
    const i = r * 4;
    const kind = o[i]!;
    if (kind === OP_APPEND || kind === OP_STALE) {
      const ref = refs.get(o[i + 1]!);
      if (ref !== undefined) target.replicaAppend(ref, o[i + 2]!, o[i + 3]!, kind === OP_STALE);
    } else if (kind === OP_RETENTION) {
      target.applyRetention(o[i + 2]!);
      for (const [id, ref] of refs) if (target.replicaDead(ref)) refs.delete(id);
    } else if (kind === OP_CLEAR) {
      target.clear();
      refs.clear();
    }
  }
}
