/**
 * A task's input side: all channels of all its input edges behind one poll(). It rotates over
 * channels so no producer starves another, decodes wire batches when they are taken (so the
 * receive path stays cheap), tracks each channel's watermark for the task-level
 * currentInputWatermark, and knows when every channel has ended.
 */
import { Unpackr } from 'msgpackr';
import { ENTRY_END, ENTRY_RECORDS, ENTRY_WATERMARK, type ChannelEntry, type InputChannel } from './channel.ts';

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
  private endedCount = 0;
  private next = 0;
  private waiter: (() => void) | null = null;
  private readonly unpackr = new Unpackr({ useRecords: true });
  numBytesIn = 0;
  numBytesInRemote = 0;

  constructor(channels: GateChannel[]) {
    this.channels = channels;
    this.ended = channels.map(() => false);
    this.watermarks = channels.map(() => MIN_WATERMARK);
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
    let used = 0;
    let cap = 0;
    for (const gc of this.channels) {
      used += gc.channel.queued;
      cap += gc.channel.capacity;
    }
    return cap === 0 ? 0 : used / cap;
  }

  /** Total entries queued on all channels (inputQueueLength). */
  queued(): number {
    let n = 0;
    for (const gc of this.channels) n += gc.channel.queued;
    return n;
  }

  /** The next entry from any channel, or undefined when none is ready. Throws if a channel failed. */
  poll(): PolledEntry | undefined {
    const chs = this.channels;
    const n = chs.length;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
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
          entry.records = this.unpackr.unpack(entry.bytes) as unknown[];
          entry.bytes = null;
        }
      } else if (entry.kind === ENTRY_WATERMARK) {
        this.watermarks[i] = entry.value;
      } else if (entry.kind === ENTRY_END) {
        if (!this.ended[i]) {
          this.ended[i] = true;
          this.endedCount++;
        }
      }
      return { entry, inputIndex: gc.inputIndex, channelIndex: gc.channelIndex };
    }
    return undefined;
  }

  /** Wakes a pending waitForData (e.g. a timer is due on the task's mailbox). */
  wake(): void {
    const w = this.waiter;
    if (w) w();
  }

  /** Resolves when some channel may have an entry (or failed), or the signal aborts. */
  waitForData(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    for (const gc of this.channels) if (gc.channel.queued > 0 || gc.channel.failure) return Promise.resolve();
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
