/**
 * The two ends of one channel (one producer subtask → one consumer subtask of one edge) and the
 * credit rule between them. The receiving `InputChannel` holds at most `capacity` entries and
 * grants one credit for every entry it hands to its task; the sending `OutputChannel` ships an
 * entry only while it holds credit and otherwise parks it in its backlog. A task whose outputs
 * have a backlog is not given more input (see OutputGate), so buffering stays bounded by
 * capacity plus what one input batch can produce. The receiver may also announce a smaller
 * batch size (buffer debloating, see buffer-debloater.ts); the sender then closes its batches
 * at that size. Transports (in-memory or TCP) only move entries, credits and announcements;
 * they never decide when to send.
 */
import { FlowpilotError } from '../../common/errors.ts';

export const ENTRY_RECORDS = 0;
export const ENTRY_WATERMARK = 1;
export const ENTRY_END = 2;
export const ENTRY_BARRIER = 3;
export type EntryKind = typeof ENTRY_RECORDS | typeof ENTRY_WATERMARK | typeof ENTRY_END | typeof ENTRY_BARRIER;

/** One unit on a channel: a batch of records (decoded, or still msgpack bytes), or an event. */
export interface ChannelEntry {
  kind: EntryKind;
  /** Decoded records (in-memory channels, or after decoding). */
  records: unknown[] | null;
  /** Encoded records as they came off the wire; decoded by the input gate when taken. */
  bytes: Uint8Array | null;
  /** Watermark timestamp, or checkpoint id for barriers. */
  value: number;
  /** Extra event data, e.g. checkpoint options carried by a barrier. */
  payload?: unknown;
}

export function recordsEntry(records: unknown[]): ChannelEntry {
  return { kind: ENTRY_RECORDS, records, bytes: null, value: 0 };
}

export function eventEntry(kind: EntryKind, value = 0, payload?: unknown): ChannelEntry {
  return payload === undefined ? { kind, records: null, bytes: null, value } : { kind, records: null, bytes: null, value, payload };
}

/** Receiving end. Lives in the consumer's TaskManager, created by whichever side arrives first. */
export class InputChannel {
  readonly key: string;
  readonly capacity: number;
  private readonly queue: ChannelEntry[] = [];
  private head = 0;
  private grant: ((credit: number) => void) | null = null;
  private announce: ((batchSize: number) => void) | null = null;
  private owed = 0;
  /** The batch size announced before the producer connected, sent when it does. */
  private announcedBatch = 0;
  failure: Error | null = null;
  /** Called when an entry arrives or the channel fails; set by the input gate. */
  onAvailable: (() => void) | null = null;

  constructor(key: string, capacity: number) {
    this.key = key;
    this.capacity = capacity;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Connects the producer: it receives the full initial credit, plus credit owed from before,
   * and the batch size announced so far, if any.
   */
  attachProducer(grant: (credit: number) => void, announce?: (batchSize: number) => void): void {
    if (this.grant) throw new FlowpilotError('FP_NET_CHANNEL', `channel ${this.key} already has a producer`);
    this.grant = grant;
    this.announce = announce ?? null;
    if (this.announce && this.announcedBatch > 0) this.announce(this.announcedBatch);
    const initial = this.capacity - this.queued + this.owed;
    this.owed = 0;
    if (initial > 0) grant(initial);
  }

  /** Asks the producer to close its batches at `batchSize` records (buffer debloating). */
  announceBatchSize(batchSize: number): void {
    this.announcedBatch = batchSize;
    this.announce?.(batchSize);
  }

  /** Called by the transport. An entry without credit is a protocol violation. */
  push(entry: ChannelEntry): void {
    if (this.queued >= this.capacity) {
      this.fail(new FlowpilotError('FP_NET_CREDIT', `channel ${this.key} received an entry without credit`));
      return;
    }
    this.queue.push(entry);
    this.onAvailable?.();
  }

  /** Takes the next entry and returns its credit to the producer. */
  poll(): ChannelEntry | undefined {
    if (this.head >= this.queue.length) return undefined;
    const entry = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as ChannelEntry;
    this.head++;
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.grant) this.grant(1);
    else this.owed++;
    return entry;
  }

  fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.onAvailable?.();
  }

  /** Drops queued entries (on cancel); no more credit is granted. */
  release(): void {
    this.queue.length = 0;
    this.head = 0;
    this.grant = null;
    this.announce = null;
  }
}

/** How an output channel's entries reach the receiver. */
export interface ChannelTransport {
  /** Ships one entry; the caller has consumed one credit for it. Returns bytes put on the wire (0 in memory). */
  send(entry: ChannelEntry): number;
  close(): void;
}

/** Task-level view over all output channels: capacity, waiting for credit, failures. */
export class OutputGate {
  private blocked = 0;
  private waiters: Array<() => void> = [];
  failure: Error | null = null;
  numBytesOut = 0;
  numBuffersOut = 0;
  readonly channels: OutputChannel[] = [];

  hasCapacity(): boolean {
    return this.blocked === 0;
  }

  /** Resolves when no channel has a backlog, the gate fails, or the signal aborts. */
  waitForCapacity(signal?: AbortSignal): Promise<void> {
    if (this.blocked === 0 || this.failure || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Moves every partly filled batch into its channel's queue. */
  flush(): void {
    const chs = this.channels;
    for (let i = 0; i < chs.length; i++) chs[i]!.finishBatch();
  }

  /**
   * Flink's outPoolUsage: per channel, the share of the receiver's buffers this producer has
   * filled (1 when entries wait for credit); the maximum over channels.
   */
  poolUsage(capacity: number): number {
    let max = 0;
    for (const ch of this.channels) {
      const u = ch.backlogLength > 0 ? 1 : Math.max(0, Math.min(1, (capacity - ch.availableCredit) / capacity));
      if (u > max) max = u;
    }
    return max;
  }

  /** Buffered entries waiting for credit, over all channels (for outPoolUsage-like gauges). */
  backlog(): number {
    let n = 0;
    for (const ch of this.channels) n += ch.backlogLength;
    return n;
  }

  fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.wake();
  }

  /** @internal */
  channelBlocked(): void {
    this.blocked++;
  }

  /** @internal */
  channelUnblocked(): void {
    this.blocked--;
    if (this.blocked === 0) this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    if (ws.length === 0) return;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/**
 * Sending end: collects records into batches and ships entries only with credit. A batch closes
 * at `batchSize` records, at the size the receiver announced when smaller (debloating), and, on
 * a channel whose transport encodes (TCP), once it would fill about `segmentBytes` on the wire:
 * Flink's network buffer is a memory segment of that size (taskmanager.memory.segment-size), so
 * one credit stands for about as many bytes as there. The records that fit are estimated from
 * the bytes per record of the last batch sent.
 */
export class OutputChannel {
  readonly key: string;
  readonly batchSize: number;
  private readonly gate: OutputGate;
  private readonly segmentBytes: number;
  private transport: ChannelTransport | null = null;
  private credit = 0;
  private readonly backlog: ChannelEntry[] = [];
  private backlogHead = 0;
  /** The receiver's announced batch size (batchSize until it announces one). */
  private announced: number;
  /** Records that fit in one segment, as last estimated (batchSize until a batch went on the wire). */
  private segmentRecords: number;
  /** Records at which a batch is closed: the least of batchSize, the announced size and the segment's. */
  private limit: number;
  /**
   * The batch being filled, allocated at the batch limit and filled by index (no growth copies
   * per batch as with push), cut to its length when it is closed.
   */
  private batch: unknown[];
  private filled = 0;
  /**
   * Records at which the open batch closes: the limit, or the open array's length when the limit
   * rose after it was allocated. A store past an array's length grows it, and a store site that
   * has seen both kinds of store turns megamorphic in V8 (seen in the TaskManagers' profile).
   */
  private closeAt: number;

  constructor(key: string, batchSize: number, gate: OutputGate, segmentBytes = 0) {
    this.key = key;
    this.batchSize = batchSize;
    this.announced = batchSize;
    this.segmentRecords = batchSize;
    this.limit = batchSize;
    this.gate = gate;
    this.segmentBytes = segmentBytes;
    this.batch = new Array<unknown>(batchSize);
    this.closeAt = batchSize;
    gate.channels.push(this);
  }

  /** Records in the open batch. */
  get pending(): number {
    return this.filled;
  }

  get backlogLength(): number {
    return this.backlog.length - this.backlogHead;
  }

  get availableCredit(): number {
    return this.credit;
  }

  connect(transport: ChannelTransport): void {
    this.transport = transport;
  }

  /** Called by the transport when the receiver grants credit. */
  addCredit(n: number): void {
    this.credit += n;
    this.drain();
  }

  /** The size at which batches are closed now. */
  get batchLimit(): number {
    return this.limit;
  }

  /** The receiver announced a batch size (it never exceeds the configured one); the open batch closes at its next record. */
  setBatchLimit(n: number): void {
    this.announced = Math.max(1, Math.min(this.batchSize, Math.floor(n)));
    this.limit = Math.min(this.announced, this.segmentRecords);
    this.limitChanged();
  }

  /** An empty open batch gets an array of the new limit; a started one closes at the lesser of the limit and its array's length. */
  private limitChanged(): void {
    if (this.filled === 0 && this.batch.length !== this.limit) this.batch = new Array<unknown>(this.limit);
    this.closeAt = Math.min(this.limit, this.batch.length);
  }

  add(record: unknown): void {
    const n = this.filled;
    this.batch[n] = record;
    this.filled = n + 1;
    if (n + 1 >= this.closeAt) this.finishBatch();
  }

  finishBatch(): void {
    const n = this.filled;
    if (n === 0) return;
    const b = this.batch;
    b.length = n;
    // A fresh array per batch: the receiver keeps the one it was given.
    this.batch = new Array<unknown>(this.limit);
    this.closeAt = this.limit;
    this.filled = 0;
    this.enqueue(recordsEntry(b));
  }

  /** Watermarks still waiting for credit are coalesced: only the latest needs to travel. */
  emitWatermark(timestamp: number): void {
    this.finishBatch();
    const n = this.backlogLength;
    if (n > 0) {
      const last = this.backlog[this.backlog.length - 1]!;
      if (last.kind === ENTRY_WATERMARK) {
        last.value = timestamp;
        return;
      }
    }
    this.enqueue(eventEntry(ENTRY_WATERMARK, timestamp));
  }

  emitEvent(kind: EntryKind, value = 0, payload?: unknown): void {
    this.finishBatch();
    this.enqueue(eventEntry(kind, value, payload));
  }

  private enqueue(entry: ChannelEntry): void {
    if (this.credit > 0 && this.backlogLength === 0 && this.transport) {
      this.credit--;
      this.ship(entry);
      return;
    }
    if (this.backlogLength === 0) this.gate.channelBlocked();
    this.backlog.push(entry);
  }

  private drain(): void {
    if (!this.transport) return;
    let shipped = false;
    while (this.credit > 0 && this.backlogHead < this.backlog.length) {
      const entry = this.backlog[this.backlogHead]!;
      this.backlog[this.backlogHead] = undefined as unknown as ChannelEntry;
      this.backlogHead++;
      this.credit--;
      this.ship(entry);
      shipped = true;
    }
    if (shipped && this.backlogHead >= this.backlog.length) {
      this.backlog.length = 0;
      this.backlogHead = 0;
      this.gate.channelUnblocked();
    }
  }

  private ship(entry: ChannelEntry): void {
    try {
      const bytes = this.transport!.send(entry);
      this.gate.numBytesOut += bytes;
      if (entry.kind === ENTRY_RECORDS) {
        this.gate.numBuffersOut++;
        if (bytes > 0 && this.segmentBytes > 0) this.fitSegment(bytes, entry.records!.length);
      }
    } catch (err) {
      this.gate.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Re-estimates the records that fit in one segment from a batch of `records` that took `bytes` on the wire. */
  private fitSegment(bytes: number, records: number): void {
    const fit = Math.max(1, Math.min(this.batchSize, Math.floor((this.segmentBytes * records) / bytes)));
    if (fit === this.segmentRecords) return;
    this.segmentRecords = fit;
    this.limit = Math.min(this.announced, fit);
    this.limitChanged();
  }

  /** The transport broke: the producing task fails on its next turn. */
  fail(err: Error): void {
    this.gate.fail(err);
  }

  close(): void {
    this.transport?.close();
  }
}
