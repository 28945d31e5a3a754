/**
 * A file sink with two-phase commit, as Flink's FileSink: each subtask appends lines to an
 * in-progress part file (hidden, `.part-*.inprogress`); snapshotState(checkpointId) closes it and
 * renames it to `.part-*.pending`, recording it in operator state; notifyCheckpointComplete
 * renames pending files of that checkpoint (or earlier) to their final visible name `part-*`.
 * A restore commits the pending files recorded in the restored checkpoint (which completed),
 * idempotently. At end of input with checkpointing on, the last part file becomes pending and
 * is committed by the final checkpoint (the task waits for it), never at once: a failover
 * before that checkpoint completes replays it from the previous one, and a committed file
 * would then be written twice. Without checkpointing (no execution.checkpointing.interval)
 * part files are committed on a rolling interval and at end of input. Readers should read only
 * `part-*` files.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ConnectorContext, OperatorStateSnapshot, Sink, SinkWriter } from '../api/functions.ts';
import { decodeState, encodeState } from '../state/serde.ts';

export interface FileSinkOptions<T> {
  /** Output directory (created if missing). */
  path: string;
  /** One line per record, without the newline; default JSON.stringify. */
  format?: (record: T) => string;
  /** Without checkpointing: commit the current part file after this many ms; default 10000. */
  rollingIntervalMs?: number;
  name?: string;
}

/** A pending file closed at end of input: it belongs to the next checkpoint snapshotted. */
const NEXT_CHECKPOINT = Number.MAX_SAFE_INTEGER;

interface PendingFile {
  checkpointId: number;
  pending: string;
  final: string;
}

export function fileSink<T>(options: FileSinkOptions<T>): Sink<T> {
  return {
    name: options.name ?? 'file',
    createWriter: (ctx) => new FileSinkWriter<T>(options, ctx),
  };
}

/** Renames a pending file to its final name; a no-op when that already happened. */
function commit(p: { pending: string; final: string }): void {
  if (existsSync(p.pending)) renameSync(p.pending, p.final);
  else if (!existsSync(p.final)) throw new Error(`file sink: pending file ${p.pending} is missing and ${p.final} was never committed`);
}

class FileSinkWriter<T> implements SinkWriter<T> {
  private readonly dir: string;
  private readonly format: (record: T) => string;
  private readonly rollingIntervalMs: number;
  private readonly checkpointing: boolean;
  private readonly ctx: ConnectorContext;
  private readonly token = randomBytes(4).toString('hex');
  private seq = 0;
  private current: { fd: number; tmp: string; base: string; openedAt: number } | undefined;
  private rollTimer: { cancel(): void } | undefined;
  private pending: PendingFile[] = [];

  constructor(options: FileSinkOptions<T>, ctx: ConnectorContext) {
    this.ctx = ctx;
    this.dir = options.path;
    this.format = options.format ?? ((r: T) => JSON.stringify(r));
    this.rollingIntervalMs = options.rollingIntervalMs ?? 10_000;
    const interval = Number.parseInt(ctx.config['execution.checkpointing.interval'] ?? '', 10);
    this.checkpointing = Number.isFinite(interval) && interval > 0;
    mkdirSync(this.dir, { recursive: true });
    if (ctx.restored !== null) {
      for (const e of ctx.restored.operatorState) commit(decodeState<PendingFile>(e));
    }
  }

  private open(): { fd: number; tmp: string; base: string; openedAt: number } {
    const base = `part-${this.ctx.subtaskIndex}-${this.token}-${this.seq++}`;
    const tmp = join(this.dir, `.${base}.inprogress`);
    this.current = { fd: openSync(tmp, 'a'), tmp, base, openedAt: this.ctx.now() };
    // Without checkpoints, a quiet stream still gets its part file committed after the rolling interval.
    if (!this.checkpointing && this.ctx.time !== undefined) {
      const opened = this.current;
      this.rollTimer = this.ctx.time.schedule(opened.openedAt + this.rollingIntervalMs, () => {
        this.rollTimer = undefined;
        if (this.current === opened) this.commitCurrentNow();
      });
    }
    return this.current;
  }

  write(records: T[]): void {
    if (records.length === 0) return;
    const cur = this.current ?? this.open();
    const fmt = this.format;
    let text = '';
    for (let i = 0; i < records.length; i++) text += fmt(records[i]!) + '\n';
    writeSync(cur.fd, text);
    if (!this.checkpointing && this.ctx.now() - cur.openedAt >= this.rollingIntervalMs) this.commitCurrentNow();
  }

  /** Closes the in-progress file and returns its pending entry, or undefined when none is open. */
  private closeCurrent(checkpointId: number): PendingFile | undefined {
    const cur = this.current;
    if (cur === undefined) return undefined;
    this.current = undefined;
    closeSync(cur.fd);
    const pending = join(this.dir, `.${cur.base}.pending`);
    renameSync(cur.tmp, pending);
    return { checkpointId, pending, final: join(this.dir, cur.base) };
  }

  private commitCurrentNow(): void {
    this.rollTimer?.cancel();
    this.rollTimer = undefined;
    const p = this.closeCurrent(-1);
    if (p !== undefined) commit(p);
  }

  snapshotState(checkpointId: number): OperatorStateSnapshot {
    for (const x of this.pending) if (x.checkpointId === NEXT_CHECKPOINT) x.checkpointId = checkpointId;
    const p = this.closeCurrent(checkpointId);
    if (p !== undefined) this.pending.push(p);
    return { operatorState: this.pending.map((x) => encodeState(x)) };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const keep: PendingFile[] = [];
    for (const p of this.pending) {
      if (p.checkpointId <= checkpointId) commit(p);
      else keep.push(p);
    }
    this.pending = keep;
  }

  /**
   * Bounded input finished. With checkpointing, the last part file waits for the final
   * checkpoint (as Flink's FileSink commits with it); without, everything is committed now.
   */
  endInput(): void {
    if (this.checkpointing) {
      const p = this.closeCurrent(NEXT_CHECKPOINT);
      if (p !== undefined) this.pending.push(p);
      return;
    }
    this.commitCurrentNow();
    for (const p of this.pending) commit(p);
    this.pending = [];
  }

  close(): void {
    this.rollTimer?.cancel();
    this.rollTimer = undefined;
    const cur = this.current;
    this.current = undefined;
    if (cur !== undefined) closeSync(cur.fd);
  }
}
