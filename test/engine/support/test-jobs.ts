/**
 * Job modules written directly against the runtime contract (engine/contracts), so the runtime
 * can be tested without the dataflow layer. `createJobProgram` reads `--job`:
 *   wordcount: "Source: lines -> Flat Map" (bounded, deterministic lines) --HASH--> "Keyed Count -> Sink: counts",
 *              which writes `<out>/counts-<subtask>.txt` ("word<TAB>count" lines) at end of input;
 *   slow:      an unbounded numbers source --HASH--> a sink that sleeps `--sink-delay-ms` per batch
 *              plus `--sink-record-ms` per record;
 *   chain:     a bounded source with map/filter chained in one vertex (for the throughput bench);
 *   throws:    throws while building (for the bad-module path).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobGraph, JobSubmission, JobVertexSpec, ShipStrategy } from '../../../engine/contracts/job-graph.ts';
import type { JobProgram, SourceControl, SubtaskSnapshot, TaskContext, TaskInvokable } from '../../../engine/contracts/task.ts';

export const VOCAB = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig', 'grape', 'honeydew', 'kiwi', 'lemon', 'mango', 'nectarine', 'olive'];

/** Line i of the word-count input. */
export function line(i: number): string {
  return `${VOCAB[(i * 7) % VOCAB.length]} ${VOCAB[(i * 13 + 1) % VOCAB.length]} ${VOCAB[(i * i) % VOCAB.length]}`;
}

function hex(name: string): string {
  return createHash('md5').update(name).digest('hex');
}

function vertex(name: string, parallelism: number, inputs: Array<{ from: string; ship: ShipStrategy }>, isSink: boolean): JobVertexSpec {
  return {
    id: hex(name),
    name,
    parallelism,
    maxParallelism: 128,
    maxParallelismConfigured: false,
    operators: name.split(' -> ').map((op) => ({ id: hex(`op:${op}`), uid: op, name: op, kind: op.startsWith('Source') ? 'source' : 'map' })),
    inputs: inputs.map((e, inputIndex) => ({ sourceVertexId: hex(e.from), ship: e.ship, inputIndex })),
    isSource: inputs.length === 0,
    isSink,
  };
}

function args(list: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < list.length; i += 2) m.set(list[i]!.replace(/^--/, ''), list[i + 1] ?? '');
  return m;
}

const emptySnapshot = async (checkpointId: number): Promise<SubtaskSnapshot> => ({ checkpointId, operators: [] });

abstract class BaseTask implements TaskInvokable {
  protected readonly ctx: TaskContext;
  constructor(ctx: TaskContext) {
    this.ctx = ctx;
  }
  processBatch(_i: number, _c: number, _r: unknown[]): void | Promise<void> {}
  processWatermark(_i: number, _c: number, ts: number): void {
    for (const w of this.ctx.outputs) w.emitWatermark(ts);
  }
  async endInput(): Promise<void> {}
  snapshotState = emptySnapshot;
  async notifyCheckpointComplete(): Promise<void> {}
  async close(): Promise<void> {}
}

class LinesSource extends BaseTask {
  private readonly lines: number;
  constructor(ctx: TaskContext, lines: number) {
    super(ctx);
    this.lines = lines;
    ctx.metrics.gauge('pendingRecords', () => 0);
  }
  override async close(): Promise<void> {}
  async runSource(ctl: SourceControl): Promise<void> {
    const out = this.ctx.outputs[0]!;
    const step = this.ctx.parallelism;
    for (let i = this.ctx.subtaskIndex; i < this.lines; i += step) {
      if (ctl.signal.aborted) return;
      if (!ctl.hasCapacity()) await ctl.waitForCapacity();
      for (const w of line(i).split(' ')) out.emit(w);
      if (i % 64 === 0) await ctl.waitForCapacity();
    }
  }
}

class CountSink extends BaseTask {
  private readonly counts = new Map<string, number>();
  private readonly out: string;
  constructor(ctx: TaskContext, out: string) {
    super(ctx);
    this.out = out;
  }
  override processBatch(_i: number, _c: number, records: unknown[]): void {
    const m = this.counts;
    for (const r of records) m.set(r as string, (m.get(r as string) ?? 0) + 1);
  }
  override async endInput(): Promise<void> {
    mkdirSync(this.out, { recursive: true });
    const body = [...this.counts].map(([w, n]) => `${w}\t${n}\n`).join('');
    writeFileSync(join(this.out, `counts-${this.ctx.subtaskIndex}.txt`), body);
  }
}

class NumbersSource extends BaseTask {
  private emitted = 0;
  private readonly limit: number;
  constructor(ctx: TaskContext, limit: number) {
    super(ctx);
    this.limit = limit;
    ctx.metrics.gauge('pendingRecords', () => Math.max(0, this.limit - this.emitted));
  }
  async runSource(ctl: SourceControl): Promise<void> {
    const out = this.ctx.outputs[0]!;
    while (!ctl.signal.aborted && this.emitted < this.limit) {
      await ctl.waitForCapacity();
      for (let k = 0; k < 256; k++) out.emit({ id: this.emitted++, payload: 'x'.repeat(64) });
    }
  }
}

class SlowSink extends BaseTask {
  private readonly delayMs: number;
  private readonly perRecordMs: number;
  constructor(ctx: TaskContext, delayMs: number, perRecordMs: number) {
    super(ctx);
    this.delayMs = delayMs;
    this.perRecordMs = perRecordMs;
  }
  override processBatch(_i: number, _c: number, records: unknown[]): Promise<void> {
    return new Promise((r) => setTimeout(r, this.delayMs + this.perRecordMs * records.length));
  }
}

/** map + filter + sum, chained behind a bounded numbers source (the per-record work of the bench). */
class ChainSource extends BaseTask {
  private readonly limit: number;
  sum = 0;
  constructor(ctx: TaskContext, limit: number) {
    super(ctx);
    this.limit = limit;
  }
  async runSource(ctl: SourceControl): Promise<void> {
    const out = this.ctx.outputs[0]!;
    for (let i = this.ctx.subtaskIndex; i < this.limit; i += this.ctx.parallelism) {
      if ((i & 1023) === 0) await ctl.waitForCapacity();
      const v = i * 3 + 1; // map
      if (v % 5 === 0) continue; // filter
      out.emit(v);
    }
  }
}

class SumSink extends BaseTask {
  private sum = 0;
  private readonly out: string | undefined;
  constructor(ctx: TaskContext, out: string | undefined) {
    super(ctx);
    this.out = out;
  }
  override processBatch(_i: number, _c: number, records: unknown[]): void {
    let s = this.sum;
    for (let i = 0; i < records.length; i++) s += records[i] as number;
    this.sum = s;
  }
  override async endInput(): Promise<void> {
    if (!this.out) return;
    mkdirSync(this.out, { recursive: true });
    writeFileSync(join(this.out, `sum-${this.ctx.subtaskIndex}.txt`), String(this.sum));
  }
}

export function createJobProgram(submission: JobSubmission): JobProgram {
  const a = args(submission.programArgs);
  const kind = a.get('job') ?? 'wordcount';
  const p = Number(a.get('parallelism') ?? submission.parallelism ?? 2);
  const out = a.get('out');
  if (kind === 'throws') throw new Error('this job module fails on purpose');
  let vertices: JobVertexSpec[];
  let make: Record<string, (ctx: TaskContext) => TaskInvokable>;
  const ship = (a.get('ship') ?? 'HASH') as ShipStrategy;
  if (kind === 'wordcount') {
    const src = vertex('Source: lines -> Flat Map', p, [], false);
    const sink = vertex('Keyed Count -> Sink: counts', p, [{ from: src.name, ship: 'HASH' }], true);
    vertices = [src, sink];
    const lines = Number(a.get('lines') ?? 1000);
    make = { [src.id]: (ctx) => new LinesSource(ctx, lines), [sink.id]: (ctx) => new CountSink(ctx, out ?? '.') };
  } else if (kind === 'slow') {
    const src = vertex('Source: numbers', p, [], false);
    const sink = vertex('Sink: slow', p, [{ from: src.name, ship }], true);
    vertices = [src, sink];
    const limit = Number(a.get('records') ?? Number.MAX_SAFE_INTEGER);
    const delay = Number(a.get('sink-delay-ms') ?? 50);
    const perRecord = Number(a.get('sink-record-ms') ?? 0);
    make = { [src.id]: (ctx) => new NumbersSource(ctx, limit), [sink.id]: (ctx) => new SlowSink(ctx, delay, perRecord) };
  } else if (kind === 'chain') {
    const src = vertex('Source: numbers -> Map -> Filter', p, [], false);
    const sink = vertex('Sink: sum', p, [{ from: src.name, ship }], true);
    vertices = [src, sink];
    const limit = Number(a.get('records') ?? 1_000_000);
    make = { [src.id]: (ctx) => new ChainSource(ctx, limit), [sink.id]: (ctx) => new SumSink(ctx, out) };
  } else {
    throw new Error(`unknown test job ${kind}`);
  }
  const graph: JobGraph = { jobName: `test-${kind}`, vertices, config: {} };
  return {
    graph,
    createTask: (vertexId, ctx) => {
      const f = make[vertexId];
      if (!f) throw new Error(`unknown vertex ${vertexId}`);
      return f(ctx);
    },
  };
}

/** Word counts a correct run must produce, counted here with a plain loop. */
export function expectedWordCounts(lines: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < lines; i++) for (const w of line(i).split(' ')) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}
