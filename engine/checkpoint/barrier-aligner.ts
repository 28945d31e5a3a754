/**
 * Barrier alignment for one task's input gate, as a pure state machine (no I/O, no timers).
 * Channels are the gate's flat channel indices 0..numChannels-1. Exactly-once: once barrier n
 * arrives on a channel, that channel is blocked (the task must not take entries from it) until
 * barrier n has arrived on every channel that has not ended; then the aligner says "snapshot
 * n now" and unblocks everything; the task snapshots, forwards barrier n on all outputs, and
 * resumes. A newer barrier (or cancellation marker) aborts an older alignment; barriers of an
 * already finished, aborted or subsumed checkpoint are ignored. At-least-once: same counting,
 * but no channel is ever blocked. Protocol violations (two barriers n on one channel, a barrier
 * after end-of-partition) throw FP_BARRIER_PROTOCOL: they mean a runtime bug, not bad input.
 */
import { performance } from 'node:perf_hooks';
import { FlowpilotError } from '../../common/errors.ts';

export type AbortReason =
  /** A newer barrier arrived before this checkpoint's alignment finished. */
  | 'SUBSUMED'
  /** A cancellation marker for this checkpoint arrived (an upstream task declined it). */
  | 'CANCELLED'
  /** The task itself aborted the alignment (abortCurrent). */
  | 'ABORTED';

export type AlignerAction =
  /** Snapshot now, then forward the barrier downstream; every channel is unblocked. */
  | { type: 'snapshot'; checkpointId: number; alignmentDurationNs: number }
  /** Give up on this checkpoint: forward a cancellation marker downstream and decline it to the coordinator. */
  | { type: 'abort'; checkpointId: number; reason: AbortReason };

export interface BarrierAlignerOptions {
  mode?: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  /** Milliseconds clock for the alignment time; default performance.now. */
  now?: () => number;
}

export class BarrierAligner {
  readonly numChannels: number;
  readonly mode: 'EXACTLY_ONCE' | 'AT_LEAST_ONCE';
  private readonly now: () => number;
  private readonly seen: boolean[];
  private readonly ended: boolean[];
  private endedCount = 0;
  private seenCount = 0;
  /** Checkpoint being aligned, or -1. */
  private current = -1;
  /** Highest checkpoint id started, completed or cancelled here; older barriers are stale. */
  private latest = 0;
  private startedAt = 0;
  /** Duration of the last (or ongoing) alignment in ns: Flink's checkpointAlignmentTime. */
  lastAlignmentDurationNs = 0;

  constructor(numChannels: number, opts: BarrierAlignerOptions = {}) {
    if (!Number.isInteger(numChannels) || numChannels < 1) {
      throw new FlowpilotError('FP_BARRIER_PROTOCOL', `a barrier aligner needs at least one input channel, got ${numChannels}`);
    }
    this.numChannels = numChannels;
    this.mode = opts.mode ?? 'EXACTLY_ONCE';
    this.now = opts.now ?? (() => performance.now());
    this.seen = new Array<boolean>(numChannels).fill(false);
    this.ended = new Array<boolean>(numChannels).fill(false);
  }

  /** The checkpoint being aligned, or null. */
  get pendingCheckpointId(): number | null {
    return this.current === -1 ? null : this.current;
  }

  /** The highest checkpoint id this gate has seen a barrier or cancellation for. */
  get latestCheckpointId(): number {
    return this.latest;
  }

  /** True when the task must not take entries from `channel` now. */
  isBlocked(channel: number): boolean {
    return this.mode === 'EXACTLY_ONCE' && this.current !== -1 && this.seen[channel] === true;
  }

  /** Channels currently blocked, ascending. */
  blockedChannels(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.numChannels; i++) if (this.isBlocked(i)) out.push(i);
    return out;
  }

  /** True when `channel` has delivered its end-of-partition. */
  isEnded(channel: number): boolean {
    return this.ended[channel] === true;
  }

  private check(channel: number): void {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.numChannels) {
      throw new FlowpilotError('FP_BARRIER_PROTOCOL', `channel ${channel} is not in 0..${this.numChannels - 1}`);
    }
  }

  /** Barrier `checkpointId` arrived on `channel`. */
  onBarrier(channel: number, checkpointId: number): AlignerAction[] {
    this.check(channel);
    if (this.ended[channel]) throw new FlowpilotError('FP_BARRIER_PROTOCOL', `barrier ${checkpointId} on channel ${channel} after its end-of-partition`);
    if (checkpointId === this.current) {
      if (this.seen[channel]) throw new FlowpilotError('FP_BARRIER_PROTOCOL', `barrier ${checkpointId} arrived twice on channel ${channel}`);
      this.mark(channel);
      return this.maybeComplete();
    }
    if (checkpointId <= this.latest) return []; // stale: finished, cancelled or subsumed already
    const actions = this.abortPending('SUBSUMED');
    this.start(checkpointId);
    this.mark(channel);
    actions.push(...this.maybeComplete());
    return actions;
  }

  /** A cancellation marker for `checkpointId` arrived on `channel` (an upstream task declined it). */
  onCancellationBarrier(channel: number, checkpointId: number): AlignerAction[] {
    this.check(channel);
    if (checkpointId === this.current) {
      const actions = this.abortPending('CANCELLED');
      return actions;
    }
    if (checkpointId <= this.latest) return [];
    const actions = this.abortPending('SUBSUMED');
    this.latest = checkpointId;
    actions.push({ type: 'abort', checkpointId, reason: 'CANCELLED' });
    return actions;
  }

  /** `channel` delivered its end-of-partition: it no longer takes part in alignment. */
  onEndOfPartition(channel: number): AlignerAction[] {
    this.check(channel);
    if (this.ended[channel]) return [];
    this.ended[channel] = true;
    this.endedCount++;
    if (this.current === -1) return [];
    if (this.seen[channel]) {
      this.seen[channel] = false;
      this.seenCount--;
    }
    return this.maybeComplete();
  }

  /** The task gives up on the alignment in progress (e.g. the coordinator aborted it). */
  abortCurrent(): AlignerAction[] {
    return this.abortPending('ABORTED');
  }

  /** Aborts `checkpointId` if it is the one being aligned, and ignores its later barriers. */
  abortCheckpoint(checkpointId: number): AlignerAction[] {
    if (checkpointId === this.current) return this.abortPending('ABORTED');
    if (checkpointId > this.latest) this.latest = checkpointId;
    return [];
  }

  private start(checkpointId: number): void {
    this.current = checkpointId;
    this.latest = checkpointId;
    this.seen.fill(false);
    this.seenCount = 0;
    this.startedAt = this.now();
  }

  private mark(channel: number): void {
    this.seen[channel] = true;
    this.seenCount++;
  }

  private reset(): void {
    this.current = -1;
    this.seen.fill(false);
    this.seenCount = 0;
  }

  private abortPending(reason: AbortReason): AlignerAction[] {
    if (this.current === -1) return [];
    const checkpointId = this.current;
    this.lastAlignmentDurationNs = Math.round((this.now() - this.startedAt) * 1e6);
    this.reset();
    return [{ type: 'abort', checkpointId, reason }];
  }

  private maybeComplete(): AlignerAction[] {
    if (this.seenCount + this.endedCount < this.numChannels) return [];
    const checkpointId = this.current;
    this.lastAlignmentDurationNs = Math.round((this.now() - this.startedAt) * 1e6);
    this.reset();
    return [{ type: 'snapshot', checkpointId, alignmentDurationNs: this.lastAlignmentDurationNs }];
  }
}
