/**
 * An in-process harness that runs every subtask of a JobProgram in one process, connected by
 * in-memory queues (no network, no credit), for unit tests of operators and jobs, like Flink's
 * operator test harnesses. Delivery is FIFO per channel; HASH edges use the program's
 * partitioner. A checkpoint parks the sources at their next SourceControl wait, delivers
 * everything in flight, then snapshots every subtask (a consistent cut) and notifies
 * completion. `restore` starts a new run of a program (possibly at other parallelisms) from a
 * checkpoint, repartitioning state by key group and operator-state mode.
 */
import type { JobGraph, JobVertexSpec } from '../contracts/job-graph.ts';
import type {
  JobProgram,
  ProcessingTimeService,
  RecordWriter,
  SourceControl,
  SubtaskSnapshot,
  TaskContext,
  TaskInvokable,
} from '../contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import { repartitionSnapshots } from '../state/repartition.ts';

type Event = { input: number; channel: number } & ({ kind: 'records'; records: unknown[] } | { kind: 'watermark'; ts: number } | { kind: 'end' });

interface Subtask {
  vertex: JobVertexSpec;
  index: number;
  task: TaskInvokable;
  queue: Event[];
  endsExpected: number;
  endsSeen: number;
  writers: LocalWriter[];
  finished: boolean;
}

/** Snapshots of every subtask by vertex id, as a completed checkpoint. */
export interface LocalCheckpoint {
  checkpointId: number;
  vertices: Map<string, { parallelism: number; maxParallelism: number; subtasks: SubtaskSnapshot[] }>;
}

export interface HarnessMetrics {
  gauges: Map<string, () => number>;
  counters: Map<string, number>;
}

export interface LocalRunOptions {
  time?: ProcessingTimeService;
  config?: Record<string, string>;
  restoreFrom?: LocalCheckpoint;
  /** Largest number of queued events before sources wait for the harness to deliver. Default 64. */
  capacity?: number;
}

export const realTime: ProcessingTimeService = {
  now: () => Date.now(),
  schedule(timestamp, fire) {
    const t = setTimeout(() => fire(Date.now()), Math.max(0, timestamp - Date.now()));
    return { cancel: () => clearTimeout(t) };
  },
};

class LocalWriter implements RecordWriter {
  readonly numChannels: number;
  private readonly targets: Subtask[];
  private readonly select: ((r: unknown, n: number) => number) | undefined;
  private readonly ship: string;
  private readonly fromIndex: number;
  private readonly input: number;
  private readonly buffers: unknown[][];
  private rr = 0;

  constructor(targets: Subtask[], ship: string, select: ((r: unknown, n: number) => number) | undefined, fromIndex: number, input: number) {
    this.targets = targets;
    this.numChannels = targets.length;
    this.ship = ship;
    this.select = select;
    this.fromIndex = fromIndex;
    this.input = input;
    this.buffers = targets.map(() => []);
  }

  private channel(): number {
    return this.ship === 'FORWARD' ? 0 : this.fromIndex;
  }

  emit(record: unknown): void {
    if (this.ship === 'BROADCAST') {
      for (const b of this.buffers) b.push(record);
    } else if (this.ship === 'FORWARD') {
      this.buffers[this.fromIndex]!.push(record);
    } else if (this.select !== undefined) {
      this.buffers[this.select(record, this.numChannels)]!.push(record);
    } else {
      this.buffers[this.rr]!.push(record);
      this.rr = (this.rr + 1) % this.numChannels;
    }
  }

  /** Moves buffered records into the targets' queues. */
  flush(): void {
    for (let i = 0; i < this.buffers.length; i++) {
      const b = this.buffers[i]!;
      if (b.length === 0) continue;
      this.buffers[i] = [];
      this.targets[i]!.queue.push({ input: this.input, channel: this.channel(), kind: 'records', records: b });
    }
  }

  private each(f: (t: Subtask) => void): void {
    if (this.ship === 'FORWARD') f(this.targets[this.fromIndex]!);
    else for (const t of this.targets) f(t);
  }

  emitWatermark(ts: number): void {
    this.flush();
    this.each((t) => t.queue.push({ input: this.input, channel: this.channel(), kind: 'watermark', ts }));
  }

  end(): void {
    this.flush();
    this.each((t) => t.queue.push({ input: this.input, channel: this.channel(), kind: 'end' }));
  }
}

export class LocalJobRun {
  readonly program: JobProgram;
  readonly graph: JobGraph;
  readonly subtasks = new Map<string, Subtask[]>();
  readonly metrics = new Map<string, HarnessMetrics>();
  private readonly abort = new AbortController();
  private readonly capacity: number;
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;
  private parked = 0;
  private sourcesRunning = 0;
  private sourceRuns: Promise<void>[] = [];
  private pumping: Promise<void> | undefined;
  private checkpointId: number;
  private failure: unknown;

  constructor(program: JobProgram, options: LocalRunOptions = {}) {
    this.program = program;
    this.graph = program.graph;
    this.capacity = options.capacity ?? 64;
    this.checkpointId = options.restoreFrom?.checkpointId ?? 0;
    const time = options.time ?? realTime;
    const config = { ...program.graph.config, ...options.config };
    for (const v of this.graph.vertices) {
      const subs: Subtask[] = [];
      for (let i = 0; i < v.parallelism; i++) {
        const endsExpected = v.inputs.reduce((n, e) => n + (e.ship === 'FORWARD' ? 1 : this.vertex(e.sourceVertexId).parallelism), 0);
        subs.push({ vertex: v, index: i, task: undefined as unknown as TaskInvokable, queue: [], endsExpected, endsSeen: 0, writers: [], finished: false });
      }
      this.subtasks.set(v.id, subs);
    }
    for (const v of this.graph.vertices) {
      const edges = program.outputEdges!(v.id);
      const restores = this.restoresFor(v, options.restoreFrom);
      const subs = this.subtasks.get(v.id)!;
      for (const s of subs) {
        s.writers = edges.map((e, i) => new LocalWriter(this.subtasks.get(e.targetVertexId)!, e.ship, program.partitionerFor!(v.id, i), s.index, e.inputIndex));
        const m: HarnessMetrics = { gauges: new Map(), counters: new Map() };
        this.metrics.set(`${v.id}/${s.index}`, m);
        const ctx: TaskContext = {
          jobId: '0'.repeat(32),
          vertexId: v.id,
          subtaskIndex: s.index,
          parallelism: v.parallelism,
          maxParallelism: v.maxParallelism,
          attemptNumber: 0,
          keyGroupRange: computeKeyGroupRangeForOperatorIndex(v.maxParallelism, v.parallelism, s.index),
          outputs: s.writers,
          metrics: {
            gauge: (name, read) => void m.gauges.set(name, read),
            count: (name, delta) => void m.counters.set(name, (m.counters.get(name) ?? 0) + delta),
          },
          time: {
            now: () => time.now(),
            schedule: (ts, fire) => time.schedule(ts, (now) => {
              fire(now);
              void this.pump();
            }),
          },
          restored: restores?.[s.index] ?? null,
          config,
          signal: this.abort.signal,
          inputChannels: v.inputs.map((e) => (e.ship === 'FORWARD' ? 1 : this.vertex(e.sourceVertexId).parallelism)),
        };
        s.task = program.createTask(v.id, ctx);
      }
    }
  }

  private vertex(id: string): JobVertexSpec {
    return this.graph.vertices.find((v) => v.id === id)!;
  }

  private restoresFor(v: JobVertexSpec, cp: LocalCheckpoint | undefined) {
    const saved = cp?.vertices.get(v.id);
    if (saved === undefined) return undefined;
    return repartitionSnapshots(saved.subtasks, v.parallelism, saved.maxParallelism);
  }

  /** The vertex whose name contains `text`. */
  vertexNamed(text: string): JobVertexSpec {
    const v = this.graph.vertices.find((x) => x.name.includes(text));
    if (v === undefined) throw new Error(`no vertex named like "${text}" in ${this.graph.vertices.map((x) => x.name).join(', ')}`);
    return v;
  }

  /** Starts every source; returns when all sources have ended and everything is delivered. */
  async run(): Promise<void> {
    this.start();
    await this.finished();
  }

  start(): void {
    for (const subs of this.subtasks.values()) {
      for (const s of subs) {
        if (!s.vertex.isSource) continue;
        this.sourcesRunning++;
        const p = s.task.runSource!(this.control()).then(
          () => {
            if (!this.abort.signal.aborted) this.sourceEnded(s);
          },
          (err: unknown) => {
            this.failure ??= err;
          },
        );
        this.sourceRuns.push(p.finally(() => this.sourcesRunning--));
      }
    }
  }

  /** Waits for the sources to end and everything to be delivered (every task's input ended), without the final checkpoint. */
  async drained(): Promise<void> {
    await Promise.all(this.sourceRuns);
    await this.pump();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Waits for the sources to end and everything to be delivered; with checkpointing on, takes the final checkpoint (sinks commit with it). */
  async finished(): Promise<void> {
    await this.drained();
    const interval = Number.parseInt(this.graph.config['execution.checkpointing.interval'] ?? '', 10);
    if (!this.abort.signal.aborted && Number.isFinite(interval) && interval > 0) await this.checkpoint();
  }

  private sourceEnded(s: Subtask): void {
    s.finished = true;
    for (const w of s.writers) w.end();
    void this.pump();
  }

  private control(): SourceControl {
    const park = async (): Promise<void> => {
      await this.pump();
      while (this.paused !== undefined) {
        this.parked++;
        await this.paused;
        this.parked--;
      }
    };
    return {
      signal: this.abort.signal,
      hasCapacity: () => this.queued() < this.capacity,
      waitForCapacity: park,
      idle: async (ms) => {
        await park();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          this.abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      },
    };
  }

  private queued(): number {
    let n = 0;
    for (const subs of this.subtasks.values()) for (const s of subs) n += s.queue.length;
    return n;
  }

  /** Delivers queued events until every queue is empty. */
  pump(): Promise<void> {
    if (this.pumping !== undefined) return this.pumping;
    this.pumping = this.drain().finally(() => (this.pumping = undefined));
    return this.pumping;
  }

  private async drain(): Promise<void> {
    for (;;) {
      for (const subs of this.subtasks.values()) for (const s of subs) for (const w of s.writers) w.flush();
      let progressed = false;
      for (const subs of this.subtasks.values()) {
        for (const s of subs) {
          const e = s.queue.shift();
          if (e === undefined) continue;
          progressed = true;
          try {
            await this.deliver(s, e);
          } catch (err) {
            this.failure ??= err;
            this.abort.abort(err);
            throw err;
          }
        }
      }
      if (!progressed) return;
    }
  }

  private async deliver(s: Subtask, e: Event): Promise<void> {
    if (e.kind === 'records') await s.task.processBatch(e.input, e.channel, e.records);
    else if (e.kind === 'watermark') await s.task.processWatermark(e.input, e.channel, e.ts);
    else if (++s.endsSeen === s.endsExpected) {
      await s.task.endInput();
      s.finished = true;
      for (const w of s.writers) w.end();
    }
  }

  /** Takes a consistent checkpoint of every subtask and notifies completion. */
  async checkpoint(): Promise<LocalCheckpoint> {
    this.paused = new Promise((r) => (this.resume = r));
    while (this.parked < this.sourcesRunning) await new Promise((r) => setTimeout(r, 1));
    await this.pump();
    const id = ++this.checkpointId;
    const cp: LocalCheckpoint = { checkpointId: id, vertices: new Map() };
    for (const v of this.graph.vertices) {
      const snaps: SubtaskSnapshot[] = [];
      for (const s of this.subtasks.get(v.id)!) snaps.push(await s.task.snapshotState(id));
      cp.vertices.set(v.id, { parallelism: v.parallelism, maxParallelism: v.maxParallelism, subtasks: snaps });
    }
    await this.pump();
    for (const subs of this.subtasks.values()) for (const s of subs) await s.task.notifyCheckpointComplete(id);
    const resume = this.resume!;
    this.paused = undefined;
    resume();
    return cp;
  }

  /** Stops sources and closes every subtask without ending input (like a cancel or a failure). */
  async cancel(): Promise<void> {
    this.abort.abort(new Error('cancelled'));
    this.resume?.();
    this.paused = undefined;
    await Promise.allSettled(this.sourceRuns);
    await this.close();
  }

  async close(): Promise<void> {
    for (const subs of this.subtasks.values()) for (const s of subs) await s.task.close();
  }

  gauge(vertexId: string, subtask: number, name: string): number | undefined {
    return this.metrics.get(`${vertexId}/${subtask}`)?.gauges.get(name)?.();
  }

  counter(vertexId: string, name: string): number {
    let n = 0;
    for (const [k, m] of this.metrics) if (k.startsWith(`${vertexId}/`)) n += m.counters.get(name) ?? 0;
    return n;
  }
}
