/**
 * A task's input side: all channels of all its input edges behind one poll(). It rotates over
 * channels so no producer starves another, decodes wire batches when they are taken (so the
 * receive path stays cheap), tracks each channel's watermark for the task-level
 * currentInputWatermark, and knows when every channel has ended. It also aligns checkpoint
 * barriers: a channel that delivered barrier n is blocked until every channel still open has
 * delivered it; only then is the barrier handed to the task, once. A barrier with a higher id
 * abandons an unfinished alignment; late barriers of an abandoned checkpoint are dropped.
 */
import { performance } from 'node:perf_hooks';
import { BatchDecoder } from './batch-codec.ts';
import { ENTRY_BARRIER, ENTRY_END, ENTRY_RECORDS, ENTRY_WATERMARK, type ChannelEntry, type InputChannel } from './channel.ts';

export interface GateChannel {
  channel: InputChannel;
  /** Index of the edge among the vertex's inputs. */
  inputIndex: number;
  /** Channel index within that input: the producer's subtask index (0 on FORWARD edges). */
  channelIndex: number;
}

export interface PolledEntry {
  entry: ChannelEntry;
  inputIndex: number;
  channelIndex: number;
}

const MIN_WATERMARK = -9223372036854775808;

export class InputGate {
  private readonly channels: GateChannel[];
  private readonly ended: boolean[];
  private readonly watermarks: number[];
  private readonly blocked: boolean[];
  private aligning = false;
  private alignId = -1;
  private alignStart = 0;
  private readyBarrier: PolledEntry | null = null;
  /** Duration of the last (or the ongoing) alignment, in nanoseconds: Flink's checkpointAlignmentTime. */
  private lastAlignmentNs = 0;
  private endedCount = 0;
  private next = 0;
  private waiter: (() => void) | null = null;
  private readonly decoder = new BatchDecoder();
  numBytesIn = 0;
  numBytesInRemote = 0;
  /** Records handed to the task since the last takeConsumed() (for buffer debloating). */
  private consumed = 0;

  constructor(channels: GateChannel[]) {
    this.channels = channels;
    this.ended = channels.map(() => false);
    this.watermarks = channels.map(() => MIN_WATERMARK);
    this.blocked = channels.map(() => false);
    const wake = () => {
      const w = this.waiter;
      if (w) {
        this.waiter = null;
        w();
      }
    };
    for (const gc of channels) gc.channel.onAvailable = wake;
  }

  get numChannels(): number {
    return this.channels.length;
  }

  /** True once every channel has delivered its end-of-partition. */
  get finished(): boolean {
    return this.endedCount === this.channels.length;
  }

  /** Minimum over channels of the last watermark seen (Long.MIN_VALUE until all have one). */
  currentInputWatermark(): number {
    let min = Infinity;
    for (let i = 0; i < this.watermarks.length; i++) {
      if (this.ended[i]) continue;
      const w = this.watermarks[i]!;
      if (w < min) min = w;
    }
    return min === Infinity ? (this.watermarks.length ? Math.max(...this.watermarks) : MIN_WATERMARK) : min;
  }

  /** Fraction of the receiving buffers (credit) in use over all channels: Flink's inPoolUsage. */
  poolUsage(): number {
    const cap = this.buffers();
    return cap === 0 ? 0 : this.queued() / cap;
  }

  /** Receiving buffers (credit) over all channels. */
  buffers(): number {
    let cap = 0;
    for (const gc of this.channels) cap += gc.channel.capacity;
    return cap;
  }

  /** Records handed out since the last call. */
  takeConsumed(): number {
    const n = this.consumed;
    this.consumed = 0;
    return n;
  }

  /** Asks every producer to close its batches at `batchSize` records (buffer debloating). */
  announceBatchSize(batchSize: number): void {
    for (const gc of this.channels) gc.channel.announceBatchSize(batchSize);
  }

  /** Total entries queued on all channels (inputQueueLength). */
  queued(): number {
    let n = 0;
    for (const gc of this.channels) n += gc.channel.queued;
    return n;
  }

  /** The next entry from any channel, or undefined when none is ready. Throws if a channel failed. */
  poll(): PolledEntry | undefined {
    const ready = this.readyBarrier;
    if (ready !== null) {
      this.readyBarrier = null;
      return ready;
    }
    const chs = this.channels;
    const n = chs.length;
    const start = this.next;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.blocked[i]) continue;
      const gc = chs[i]!;
      const ch = gc.channel;
      if (ch.failure) throw ch.failure;
      const entry = ch.poll();
      if (entry === undefined) continue;
      this.next = (i + 1) % n;
      if (entry.kind === ENTRY_RECORDS) {
        if (entry.records === null && entry.bytes !== null) {
          const len = entry.bytes.byteLength;
          this.numBytesIn += len;
          this.numBytesInRemote += len;
          entry.records = this.decoder.decode(entry.bytes);
          entry.bytes = null;
        }
        this.consumed += entry.records!.length;
      } else if (entry.kind === ENTRY_WATERMARK) {
        this.watermarks[i] = entry.value;
      } else if (entry.kind === ENTRY_END) {
        if (!this.ended[i]) {
          this.ended[i] = true;
          this.endedCount++;
        }
        // The channel that ended may have been the last one an alignment waited for.
        if (this.aligning && this.alignmentComplete()) this.readyBarrier = this.finishAlignment(gc, i);
      } else if (entry.kind === ENTRY_BARRIER) {
        const barrier = this.onBarrier(entry, gc, i);
        if (barrier === null) {
          k--; // consumed internally: look at the same channel again (it may hold more, or now be blocked)
          continue;
        }
        return barrier;
      }
      return { entry, inputIndex: gc.inputIndex, channelIndex: gc.channelIndex };
    }
    return undefined;
  }

  /** Blocks the barrier's channel; returns the barrier once every open channel has delivered it. */
  private onBarrier(entry: ChannelEntry, gc: GateChannel, i: number): PolledEntry | null {
    const id = entry.value;
    if (id < this.alignId || (id === this.alignId && !this.aligning)) return null; // abandoned or finished checkpoint
    if (id > this.alignId) {
      this.blocked.fill(false);
      this.aligning = true;
      this.alignId = id;
      this.alignStart = performance.now();
      this.alignedEntry = entry;
    }
    this.blocked[i] = true;
    if (!this.alignmentComplete()) return null;
    return this.finishAlignment(gc, i);
  }

  private alignedEntry: ChannelEntry | null = null;

  private alignmentComplete(): boolean {
    for (let j = 0; j < this.channels.length; j++) if (!this.ended[j] && !this.blocked[j]) return false;
    return true;
  }

  private finishAlignment(gc: GateChannel, i: number): PolledEntry {
    this.aligning = false;
    this.blocked.fill(false);
    this.lastAlignmentNs = Math.round((performance.now() - this.alignStart) * 1e6);
    const entry = this.alignedEntry!;
    this.alignedEntry = null;
    this.next = (i + 1) % this.channels.length;
    return { entry, inputIndex: gc.inputIndex, channelIndex: gc.channelIndex };
  }

  /** Flink's checkpointAlignmentTime: the last alignment's duration, or the ongoing one's so far (ns). */
  checkpointAlignmentTimeNs(): number {
    return this.aligning ? Math.round((performance.now() - this.alignStart) * 1e6) : this.lastAlignmentNs;
  }

  /** Wakes a pending waitForData (e.g. a timer is due on the task's mailbox). */
  wake(): void {
    const w = this.waiter;
    if (w) w();
  }

  /** Resolves when some channel may have an entry (or failed), or the signal aborts. */
  waitForData(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.readyBarrier !== null) return Promise.resolve();
    for (let i = 0; i < this.channels.length; i++) {
      const ch = this.channels[i]!.channel;
      if ((ch.queued > 0 && !this.blocked[i]) || ch.failure) return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        this.waiter = null;
        resolve();
      };
      this.waiter = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
