/**
 * The RecordWriters a task's chain emits into, one per outgoing edge. Each ship strategy has
 * its own small class so the per-record path is a push into the chosen channel's open batch:
 * FORWARD (one channel), HASH (key → key group → subtask, Flink's formulas), REBALANCE (round
 * robin from the subtask's own index) and BROADCAST (every channel). The channel layout of an
 * edge is decided by `edgeChannels`, which producer and consumer both use.
 */
import type { ShipStrategy } from '../contracts/job-graph.ts';
import type { ChannelSelector, RecordWriter } from '../contracts/task.ts';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../keygroups/key-groups.ts';
import type { OutputChannel } from '../network/channel.ts';

/** Shared per-task output counters. */
export interface OutputCounters {
  numRecordsOut: number;
  /** Last watermark emitted on any edge (Long.MIN_VALUE before the first). */
  currentOutputWatermark: number;
}

export type KeyOf = (value: unknown) => unknown;

/**
 * Which producer subtasks feed consumer subtask `consumer` (or, reversed, which consumers a
 * producer feeds). FORWARD between equal parallelisms is point-to-point; FORWARD between
 * different parallelisms is treated as REBALANCE, as Flink's API would require.
 */
export function isPointwise(ship: ShipStrategy, producerParallelism: number, consumerParallelism: number): boolean {
  return ship === 'FORWARD' && producerParallelism === consumerParallelism;
}

export function producersOf(ship: ShipStrategy, producerParallelism: number, consumerParallelism: number, consumer: number): number[] {
  if (isPointwise(ship, producerParallelism, consumerParallelism)) return [consumer];
  return Array.from({ length: producerParallelism }, (_, i) => i);
}

export function consumersOf(ship: ShipStrategy, producerParallelism: number, consumerParallelism: number, producer: number): number[] {
  if (isPointwise(ship, producerParallelism, consumerParallelism)) return [producer];
  return Array.from({ length: consumerParallelism }, (_, i) => i);
}

/** The channel index a consumer sees for a producer: 0 on point-to-point edges, else the producer's index. */
export function channelIndexOf(ship: ShipStrategy, producerParallelism: number, consumerParallelism: number, producer: number): number {
  return isPointwise(ship, producerParallelism, consumerParallelism) ? 0 : producer;
}

abstract class ChannelWriter implements RecordWriter {
  protected readonly channels: OutputChannel[];
  protected readonly counters: OutputCounters;

  constructor(channels: OutputChannel[], counters: OutputCounters) {
    this.channels = channels;
    this.counters = counters;
  }

  get numChannels(): number {
    return this.channels.length;
  }

  abstract emit(record: unknown): void;

  emitWatermark(timestamp: number): void {
    this.counters.currentOutputWatermark = timestamp;
    const chs = this.channels;
    for (let i = 0; i < chs.length; i++) chs[i]!.emitWatermark(timestamp);
  }
}

class ForwardWriter extends ChannelWriter {
  private readonly only: OutputChannel;

  constructor(channels: OutputChannel[], counters: OutputCounters) {
    super(channels, counters);
    this.only = channels[0]!;
  }

  emit(record: unknown): void {
    this.counters.numRecordsOut++;
    this.only.add(record);
  }
}

class HashWriter extends ChannelWriter {
  private readonly select: ChannelSelector;
  private readonly maxParallelism: number;

  constructor(channels: OutputChannel[], counters: OutputCounters, select: ChannelSelector, maxParallelism: number) {
    super(channels, counters);
    this.select = select;
    this.maxParallelism = maxParallelism;
  }

  emit(record: unknown): void {
    this.counters.numRecordsOut++;
    this.channels[this.select(record, this.channels.length, this.maxParallelism)]!.add(record);
  }
}

/** A channel selector that uses the whole value as the key (when the program gives none). */
export function selectorByKey(keyOf: KeyOf): ChannelSelector {
  return (record, numChannels, maxParallelism = 128) =>
    computeOperatorIndexForKeyGroup(maxParallelism, numChannels, assignToKeyGroup(keyOf(record), maxParallelism));
}

class RebalanceWriter extends ChannelWriter {
  private next: number;

  constructor(channels: OutputChannel[], counters: OutputCounters, start: number) {
    super(channels, counters);
    this.next = start % channels.length;
  }

  emit(record: unknown): void {
    this.counters.numRecordsOut++;
    const i = this.next;
    this.next = i + 1 === this.channels.length ? 0 : i + 1;
    this.channels[i]!.add(record);
  }
}

class BroadcastWriter extends ChannelWriter {
  emit(record: unknown): void {
    this.counters.numRecordsOut++;
    const chs = this.channels;
    for (let i = 0; i < chs.length; i++) chs[i]!.add(record);
  }
}

export interface WriterSpec {
  ship: ShipStrategy;
  /** Channels in consumer-subtask order (one channel on point-to-point edges). */
  channels: OutputChannel[];
  /** HASH only: the program's channel selector (default: the whole value is the key), and the consumer vertex's max parallelism. */
  select?: ChannelSelector;
  maxParallelism: number;
  subtaskIndex: number;
}

export function createRecordWriter(spec: WriterSpec, counters: OutputCounters): RecordWriter {
  const { channels } = spec;
  if (channels.length === 1 && spec.ship !== 'BROADCAST') return new ForwardWriter(channels, counters);
  switch (spec.ship) {
    case 'HASH':
      return new HashWriter(channels, counters, spec.select ?? selectorByKey(identityKey), spec.maxParallelism);
    case 'BROADCAST':
      return new BroadcastWriter(channels, counters);
    default:
      return new RebalanceWriter(channels, counters, spec.subtaskIndex);
  }
}

function identityKey(value: unknown): unknown {
  return value;
}
