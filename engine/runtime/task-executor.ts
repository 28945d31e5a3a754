/**
 * Runs one subtask: wires its output channels (in memory or TCP) and input gate, creates the
 * chain through JobProgram.createTask, and drives it. A non-source task loops: take the next
 * entry from the input gate only while every output has credit, hand it to the chain, and
 * account the time as busy, idle (no input) or backpressured (no credit). A source task runs
 * its own loop through SourceControl with the same accounting. Timers fire on the task's own
 * turn. The executor reports Flink ExecutionStates to its owner.
 *
 * Checkpoints (aligned): a source takes its snapshot and sends barrier n downstream at its next
 * safe point (inside waitForCapacity() or idle()) after triggerCheckpoint(n); any other task
 * snapshots when the input gate hands it the aligned barrier, then forwards the barrier. Every
 * snapshot goes to `onCheckpoint`; notifyCheckpointComplete runs on the task's own turn.
 *
 * End of input with checkpointing on (Flink's final checkpoint, FLIP-147): a task whose input
 * has ended (a source that returned, or every input channel ended) does not finish at once. It
 * reports the end of its input and stays RUNNING: a trigger then snapshots it directly (nothing
 * can come in-band any more, and a trigger it skipped while still running is taken up), and it
 * finishes once a checkpoint the JobManager flagged `final` (triggered when every subtask's
 * input had ended) has completed. So two-phase-commit sinks commit their last output with a
 * checkpoint that also records the sources at their end: a failover at any point never
 * replays output that was already committed.
 */
import { performance } from 'node:perf_hooks';
import type { ExecutionState } from '../contracts/status.ts';
import type { JobProgram, ProcessingTimeService, RecordWriter, SourceControl, SubtaskSnapshot, TaskContext, TaskInvokable } from '../contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import { ENTRY_BARRIER, ENTRY_END, ENTRY_RECORDS, ENTRY_WATERMARK, OutputChannel, OutputGate } from '../network/channel.ts';
import { InputGate, type GateChannel } from '../network/input-gate.ts';
import { channelKey, type ShuffleService } from '../network/shuffle-service.ts';
import { BufferDebloater, type DebloatSettings } from '../network/buffer-debloater.ts';
import type { Logger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { TaskDeployment } from './deployment.ts';
import { readSubtaskRestore } from '../checkpoint/restore.ts';
import type { SubtaskRestore } from '../contracts/task.ts';
import { channelIndexOf, consumersOf, createRecordWriter, isPointwise, producersOf, type OutputCounters } from './record-writers.ts';
import { LONG_MIN_VALUE, TaskMetrics } from './task-metrics.ts';
import { BACKPRESSURED, BUSY, IDLE, TaskTimer, type ViewUpdater } from './time-accounting.ts';

export interface TaskExecutorOptions {
  batchSize: number;
  /** Bytes of a network buffer (taskmanager.memory.segment-size): remote batches close at about this size; 0 or absent: no bound. */
  segmentBytes?: number;
  bufferTimeoutMs: number;
  /** Window / update interval of the rate views. */
  viewSlots: number;
  /** Buffers per receiving channel (taskmanager.network.memory.buffers-per-channel). */
  creditPerChannel: number;
  /** Buffer debloating of this task's inputs (taskmanager.network.memory.buffer-debloat.*); null: off. */
  debloat?: DebloatSettings | null;
}

export interface TaskExecutorDeps {
  taskManagerId: string;
  shuffle: ShuffleService;
  program: JobProgram;
  job: { jobId: string; jobName: string; executionId: string; config: Record<string, string> };
  task: TaskDeployment;
  options: TaskExecutorOptions;
  updater: ViewUpdater;
  log: Logger;
  onState(state: ExecutionState, failure?: string): void;
  /** A snapshot for checkpoint `checkpointId` was taken (or failed: `snapshot` null, `failure` set). */
  /** `options`: what the trigger or the barrier carried (a CheckpointOptions: where the state goes); `timing`: what it cost the task. */
  onCheckpoint?(checkpointId: number, snapshot: SubtaskSnapshot | null, failure?: string, options?: unknown, timing?: CheckpointTiming): void;
  /** Checkpointing is on and this task's input has ended: it now waits for the final checkpoint. */
  onEndOfInput?(): void;
}

/**
 * What one checkpoint cost a subtask on its own thread (Flink's checkpoint statistics per
 * subtask): `syncMs` the snapshot and barrier forwarding, during which the task processes
 * nothing; `alignmentMs` from the first to the last barrier of the checkpoint on its input
 * channels (channels that delivered the barrier are held meanwhile, the others keep flowing; 0
 * for sources); `startDelayMs` for sources, from the trigger to the safe point that took it.
 */
export interface CheckpointTiming {
  syncMs: number;
  alignmentMs: number;
  startDelayMs: number;
}

const SLICE_MS = 8;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export class TaskExecutor {
  readonly deps: TaskExecutorDeps;
  readonly metrics: TaskMetrics;
  state: ExecutionState = 'DEPLOYING';
  private readonly abort = new AbortController();
  private readonly timer = new TaskTimer(IDLE);
  private readonly outputs = new OutputGate();
  private readonly counters: OutputCounters = { numRecordsOut: 0, currentOutputWatermark: LONG_MIN_VALUE };
  private readonly gate: InputGate;
  private readonly writers: RecordWriter[] = [];
  private readonly mailbox: Array<() => void | Promise<void>> = [];
  /** Source tasks: work that waits for the source's next safe point (checkpoints, commit notifications). */
  private readonly safePointWork: Array<() => Promise<void>> = [];
  private safePointWake: (() => void) | null = null;
  private numRecordsIn = 0;
  private invokable: TaskInvokable | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private debloatTimer: NodeJS.Timeout | null = null;
  private debloater: BufferDebloater | null = null;
  private done: Promise<void> | null = null;
  private lastYield = performance.now();
  /** The newest checkpoint this task was triggered for (sources, or any task once its input ended) and the newest it snapshotted. */
  private lastTrigger: { id: number; payload: unknown } | null = null;
  private lastSnapshotId = 0;
  /** Set while the input has ended and the task waits for the final checkpoint; work runs in order on `endedWork`. */
  private endedWork: Promise<void> | null = null;
  private finalSnapshotId = 0;
  private finalDone: (() => void) | null = null;
  private outputsEnded = false;

  constructor(deps: TaskExecutorDeps) {
    this.deps = deps;
    const { task, job, shuffle, taskManagerId, options } = deps;
    for (let outputIndex = 0; outputIndex < task.outputs.length; outputIndex++) {
      const out = task.outputs[outputIndex]!;
      const consumers = consumersOf(out.ship, task.parallelism, out.consumerParallelism, task.subtaskIndex);
      const channels = consumers.map((c) => {
        const ch = new OutputChannel(channelKey(job.executionId, out.targetVertexId, out.inputIndex, task.subtaskIndex, c), options.batchSize, this.outputs, options.segmentBytes ?? 0);
        const loc = out.consumers[c]!;
        if (loc.taskManagerId === taskManagerId) shuffle.connectLocal(ch);
        else shuffle.connectRemote(ch, loc.dataAddress);
        return ch;
      });
      const select = out.ship === 'HASH' ? deps.program.partitionerFor?.(task.vertexId, outputIndex) : undefined;
      if (out.ship === 'HASH' && !select) deps.log.warn({ vertex: task.vertexId, target: out.targetVertexId }, 'job program gives no partitioner for a HASH edge; routing by the whole value');
      this.writers.push(
        createRecordWriter({ ship: out.ship, channels, select, maxParallelism: out.consumerMaxParallelism, subtaskIndex: task.subtaskIndex }, this.counters),
      );
    }
    const gateChannels: GateChannel[] = [];
    for (const input of task.inputs) {
      for (const p of producersOf(input.ship, input.producerParallelism, task.parallelism, task.subtaskIndex)) {
        gateChannels.push({
          channel: shuffle.inputChannel(channelKey(job.executionId, task.vertexId, input.inputIndex, p, task.subtaskIndex)),
          inputIndex: input.inputIndex,
          channelIndex: channelIndexOf(input.ship, input.producerParallelism, task.parallelism, p),
        });
      }
    }
    this.gate = new InputGate(gateChannels);
    const gate = this.gate;
    const outputs = this.outputs;
    const counters = this.counters;
    this.metrics = new TaskMetrics(
      {
        timer: this.timer,
        numRecordsIn: () => this.numRecordsIn,
        numRecordsOut: () => counters.numRecordsOut,
        numBytesIn: () => gate.numBytesIn,
        numBytesOut: () => outputs.numBytesOut,
        numBuffersOut: () => outputs.numBuffersOut,
        isBackPressured: () => this.timer.state === BACKPRESSURED || !outputs.hasCapacity(),
        currentInputWatermark: () => (task.isSource ? LONG_MIN_VALUE : gate.currentInputWatermark()),
        currentOutputWatermark: () => counters.currentOutputWatermark,
        inputQueueLength: () => gate.queued(),
        outputQueueLength: () => outputs.backlog(),
        inPoolUsage: () => gate.poolUsage(),
        outPoolUsage: () => outputs.poolUsage(options.creditPerChannel),
        checkpointAlignmentTimeNs: () => gate.checkpointAlignmentTimeNs(),
        debloatedBufferSize: () => this.debloater?.batchSize ?? options.batchSize,
        estimatedTimeToConsumeBuffersMs: () => {
          const thr = this.debloater?.averageThroughput ?? -1;
          return thr > 0 ? Math.round((gate.queued() * this.debloater!.batchSize * 1000) / thr) : 0;
        },
      },
      deps.updater,
      options.viewSlots,
      task.headOperator,
      task.isSource,
    );
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Starts the subtask; the returned promise settles when it reaches a terminal state. */
  start(): Promise<void> {
    if (!this.done) this.done = this.run();
    return this.done;
  }

  /** Cancels the subtask and waits until it has stopped. */
  async cancel(): Promise<void> {
    if (isTerminal(this.state)) return;
    if (this.state !== 'CANCELING') this.setState('CANCELING');
    this.abort.abort();
    this.gate.wake();
    await this.done;
  }

  private setState(state: ExecutionState, failure?: string): void {
    this.state = state;
    this.deps.onState(state, failure);
  }

  private async run(): Promise<void> {
    const { task, log } = this.deps;
    try {
      this.setState('INITIALIZING');
      // The restore plan's chunks are read (and CRC-checked) before the task exists; a bad chunk fails the task.
      const restored = task.restore ? await readSubtaskRestore(task.restore) : null;
      this.invokable = this.deps.program.createTask(task.vertexId, this.context(restored));
      const occupancy = this.invokable.occupancy;
      if (occupancy) this.timer.setOccupancy(occupancy);
      if (this.abort.signal.aborted) throw new Error('canceled');
      this.setState('RUNNING');
      const timeout = this.deps.options.bufferTimeoutMs;
      this.flushTimer = setInterval(() => this.outputs.flush(), Math.max(1, timeout));
      this.startDebloating();
      if (task.isSource) await this.runSource();
      else await this.runInput();
      if (this.abort.signal.aborted) throw new Error('canceled');
      await this.finishOutputs();
      if (this.checkpointingEnabled) await this.awaitFinalCheckpoint();
      if (this.abort.signal.aborted) throw new Error('canceled');
      await this.closeInvokable();
      this.setState('FINISHED');
    } catch (err) {
      await this.closeInvokable();
      if (this.abort.signal.aborted) {
        this.setState('CANCELED');
      } else {
        log.warn({ err: errorMessage(err), vertex: task.vertexId, subtask: task.subtaskIndex }, 'task failed');
        this.setState('FAILED', err instanceof Error ? (err.stack ?? err.message) : String(err));
      }
    } finally {
      if (this.flushTimer) clearInterval(this.flushTimer);
      if (this.debloatTimer) clearInterval(this.debloatTimer);
      this.timer.switchTo(IDLE);
    }
  }

  /** Every period, sizes the producers' batches to this task's measured throughput. */
  private startDebloating(): void {
    const d = this.deps.options.debloat;
    const gate = this.gate;
    if (!d || gate.numChannels === 0) return;
    const debloater = new BufferDebloater({ ...d, maxBatch: this.deps.options.batchSize });
    this.debloater = debloater;
    const buffers = gate.buffers();
    let last = performance.now();
    gate.takeConsumed();
    this.debloatTimer = setInterval(() => {
      const now = performance.now();
      const size = debloater.sample(gate.takeConsumed(), now - last, buffers);
      last = now;
      if (size !== null) gate.announceBatchSize(size);
    }, Math.max(1, d.periodMs));
  }

  private async closeInvokable(): Promise<void> {
    const inv = this.invokable;
    this.invokable = null;
    if (!inv) return;
    try {
      await inv.close();
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err) }, 'task close failed');
    }
  }

  private context(restored: SubtaskRestore | null): TaskContext {
    const { task, job } = this.deps;
    const time: ProcessingTimeService = {
      now: () => Date.now(),
      schedule: (timestamp, fire) => {
        const handle = setTimeout(() => {
          if (task.isSource) fire(timestamp);
          else {
            this.mailbox.push(() => fire(timestamp));
            this.gate.wake();
          }
        }, Math.max(0, timestamp - Date.now()));
        return { cancel: () => clearTimeout(handle) };
      },
    };
    return {
      jobId: job.jobId,
      vertexId: task.vertexId,
      subtaskIndex: task.subtaskIndex,
      parallelism: task.parallelism,
      maxParallelism: task.maxParallelism,
      attemptNumber: task.attemptNumber,
      keyGroupRange: computeKeyGroupRangeForOperatorIndex(task.maxParallelism, task.parallelism, task.subtaskIndex),
      outputs: this.writers,
      metrics: this.metrics,
      time,
      restored,
      config: job.config,
      signal: this.abort.signal,
      inputChannels: inputChannelCounts(task),
    };
  }

  /** Lets timers, sockets and other tasks run when this task has held the thread for a slice. */
  private maybeYield(): Promise<void> | undefined {
    const now = performance.now();
    if (now - this.lastYield < SLICE_MS) return undefined;
    this.lastYield = now;
    return yieldToLoop();
  }

  private async runSource(): Promise<void> {
    const inv = this.invokable!;
    if (!inv.runSource) throw new Error(`vertex ${this.deps.task.vertexId} is a source but its task has no runSource`);
    const outputs = this.outputs;
    const timer = this.timer;
    const signal = this.abort.signal;
    const ctl: SourceControl = {
      signal,
      hasCapacity: () => outputs.hasCapacity() && outputs.failure === null,
      waitForCapacity: async () => {
        if (outputs.failure) throw outputs.failure;
        // A source that does not watch ctl.signal still stops here once it is cancelled.
        if (signal.aborted) throw new Error('canceled');
        await this.runSafePointWork();
        if (!outputs.hasCapacity()) {
          while (!outputs.hasCapacity() && !signal.aborted && !outputs.failure) {
            timer.switchTo(BACKPRESSURED);
            await Promise.race([outputs.waitForCapacity(signal), this.safePointSignal()]);
            await this.runSafePointWork();
          }
          timer.switchTo(BUSY);
          if (outputs.failure) throw outputs.failure;
          this.lastYield = performance.now();
          return;
        }
        const y = this.maybeYield();
        if (y) await y;
      },
      idle: async (ms: number) => {
        if (signal.aborted) throw new Error('canceled');
        await this.runSafePointWork();
        outputs.flush();
        const until = performance.now() + ms;
        for (let left = ms; left > 0 && !signal.aborted; left = until - performance.now()) {
          timer.switchTo(IDLE);
          await Promise.race([sleep(left, signal), this.safePointSignal()]);
          await this.runSafePointWork();
        }
        timer.switchTo(BUSY);
        this.lastYield = performance.now();
      },
    };
    timer.switchTo(BUSY);
    await inv.runSource(ctl);
    if (outputs.failure) throw outputs.failure;
  }

  private async runInput(): Promise<void> {
    const inv = this.invokable!;
    const gate = this.gate;
    const outputs = this.outputs;
    const timer = this.timer;
    const signal = this.abort.signal;
    const mailbox = this.mailbox;
    for (;;) {
      if (signal.aborted) return;
      if (outputs.failure) throw outputs.failure;
      while (mailbox.length > 0 && outputs.hasCapacity()) {
        timer.switchTo(BUSY);
        const m = mailbox.shift()!();
        if (m !== undefined) await m;
      }
      if (!outputs.hasCapacity()) {
        timer.switchTo(BACKPRESSURED);
        await outputs.waitForCapacity(signal);
        this.lastYield = performance.now();
        continue;
      }
      const polled = gate.poll();
      if (polled === undefined) {
        if (gate.finished) break;
        outputs.flush();
        if (!outputs.hasCapacity()) continue;
        timer.switchTo(IDLE);
        await gate.waitForData(signal);
        this.lastYield = performance.now();
        continue;
      }
      timer.switchTo(BUSY);
      const entry = polled.entry;
      let r: void | Promise<void> = undefined;
      if (entry.kind === ENTRY_RECORDS) {
        const records = entry.records!;
        this.numRecordsIn += records.length;
        r = inv.processBatch(polled.inputIndex, polled.channelIndex, records);
      } else if (entry.kind === ENTRY_WATERMARK) {
        r = inv.processWatermark(polled.inputIndex, polled.channelIndex, entry.value);
      } else if (entry.kind === ENTRY_END) {
        if (gate.finished) break;
      } else if (entry.kind === ENTRY_BARRIER) {
        r = this.checkpoint(entry.value, entry.payload, gate.checkpointAlignmentTimeNs() / 1e6);
      }
      if (r !== undefined) await r;
      const y = this.maybeYield();
      if (y) await y;
    }
    if (signal.aborted) return;
    timer.switchTo(BUSY);
    while (mailbox.length > 0) await mailbox.shift()!();
    await inv.endInput();
  }

  private get checkpointingEnabled(): boolean {
    const interval = Number.parseInt(this.deps.job.config['execution.checkpointing.interval'] ?? '', 10);
    return Number.isFinite(interval) && interval > 0;
  }

  /** Input ended with checkpointing on: stay RUNNING until a final checkpoint this task took part in has completed. */
  private async awaitFinalCheckpoint(): Promise<void> {
    const signal = this.abort.signal;
    if (signal.aborted) return;
    this.timer.switchTo(IDLE);
    const done = new Promise<void>((resolve) => {
      this.finalDone = resolve;
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.endedWork = Promise.resolve();
    // A trigger skipped while the input was still flowing (its barrier can no longer arrive).
    const t = this.lastTrigger;
    if (t && t.id > this.lastSnapshotId) this.onEnded(() => this.checkpoint(t.id, t.payload));
    this.deps.onEndOfInput?.();
    await done;
    await this.endedWork;
  }

  private onEnded(work: () => Promise<void>): void {
    this.endedWork = this.endedWork!.then(work, work);
  }

  /**
   * Sources: start checkpoint `checkpointId` at the source's next safe point. A task whose input
   * has ended snapshots at once. Others ignore it (barriers come in-band).
   */
  triggerCheckpoint(checkpointId: number, payload?: unknown): void {
    if (this.state !== 'RUNNING') return;
    if (!this.lastTrigger || checkpointId > this.lastTrigger.id) this.lastTrigger = { id: checkpointId, payload };
    if (this.endedWork) {
      if (isFinal(payload) && this.finalSnapshotId === 0) this.finalSnapshotId = checkpointId;
      this.onEnded(() => this.checkpoint(checkpointId, payload));
      return;
    }
    if (!this.deps.task.isSource) return;
    const triggered = performance.now();
    this.atSafePoint(() => this.checkpoint(checkpointId, payload, 0, performance.now() - triggered));
  }

  /** Checkpoint `checkpointId` completed everywhere: let the chain commit, on its own turn. */
  notifyCheckpointComplete(checkpointId: number): void {
    const run = async () => {
      try {
        await this.invokable?.notifyCheckpointComplete(checkpointId);
      } catch (err) {
        this.deps.log.warn({ err: errorMessage(err), checkpointId }, 'notifyCheckpointComplete failed');
      }
    };
    if (this.endedWork) {
      this.onEnded(async () => {
        await run();
        if (this.finalSnapshotId > 0 && checkpointId >= this.finalSnapshotId && this.lastSnapshotId >= this.finalSnapshotId) this.finalDone?.();
      });
      return;
    }
    if (this.deps.task.isSource) this.atSafePoint(run);
    else {
      this.mailbox.push(run);
      this.gate.wake();
    }
  }

  private atSafePoint(work: () => Promise<void>): void {
    this.safePointWork.push(work);
    const w = this.safePointWake;
    this.safePointWake = null;
    w?.();
  }

  private safePointSignal(): Promise<void> {
    if (this.safePointWork.length > 0) return Promise.resolve();
    return new Promise<void>((resolve) => (this.safePointWake = resolve));
  }

  private async runSafePointWork(): Promise<void> {
    while (this.safePointWork.length > 0) {
      this.timer.switchTo(BUSY);
      await this.safePointWork.shift()!();
    }
  }

  /** Snapshot, then barrier downstream (behind every record emitted before it), then report. */
  private async checkpoint(checkpointId: number, payload?: unknown, alignmentMs = 0, startDelayMs = 0): Promise<void> {
    const inv = this.invokable;
    if (!inv) return;
    if (checkpointId <= this.lastSnapshotId) return;
    this.lastSnapshotId = checkpointId;
    const started = performance.now();
    let snapshot: SubtaskSnapshot;
    try {
      snapshot = await inv.snapshotState(checkpointId);
    } catch (err) {
      this.deps.log.warn({ err: errorMessage(err), checkpointId }, 'snapshot failed');
      this.deps.onCheckpoint?.(checkpointId, null, errorMessage(err), payload);
      return;
    }
    // After end-of-partition nothing more goes downstream: those tasks snapshot on the trigger themselves.
    if (!this.outputsEnded) for (const ch of this.outputs.channels) ch.emitEvent(ENTRY_BARRIER, checkpointId, payload);
    this.deps.onCheckpoint?.(checkpointId, snapshot, undefined, payload, { syncMs: performance.now() - started, alignmentMs, startDelayMs });
  }

  /** Flushes, sends end-of-partition on every channel and waits until it has all been shipped. */
  private async finishOutputs(): Promise<void> {
    const outputs = this.outputs;
    outputs.flush();
    for (const ch of outputs.channels) ch.emitEvent(ENTRY_END);
    this.outputsEnded = true;
    while (!outputs.hasCapacity()) {
      if (outputs.failure) throw outputs.failure;
      this.timer.switchTo(BACKPRESSURED);
      await outputs.waitForCapacity(this.abort.signal);
      if (this.abort.signal.aborted) throw new Error('canceled');
    }
    if (outputs.failure) throw outputs.failure;
  }

  dispose(): void {
    this.metrics.dispose();
  }
}

/** Channels per input index, as the chain's watermark valve needs them. */
function inputChannelCounts(task: TaskDeployment): number[] {
  const counts: number[] = [];
  for (const input of task.inputs) {
    counts[input.inputIndex] = isPointwise(input.ship, input.producerParallelism, task.parallelism) ? 1 : input.producerParallelism;
  }
  return counts;
}

/** A trigger's CheckpointOptions flagged `final` by the JobManager. */
function isFinal(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && (payload as { final?: unknown }).final === true;
}

export function isTerminal(state: ExecutionState): boolean {
  return state === 'FINISHED' || state === 'CANCELED' || state === 'FAILED';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
