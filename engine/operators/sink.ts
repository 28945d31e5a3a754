/**
 * The sink operator: hands each batch to the user's SinkWriter and forwards checkpoint
 * notifications, which is where exactly-once sinks commit (two-phase commit).
 */
import type { Sink, SinkWriter } from '../api/functions.ts';
import { connectorContext } from './connector-context.ts';
import { StreamOperator, type OperatorSetup, type OperatorStateParts } from './operator.ts';

export class SinkOperator extends StreamOperator {
  private readonly sink: Sink<unknown>;
  private writer!: SinkWriter<unknown>;

  constructor(sink: Sink<unknown>) {
    super();
    this.sink = sink;
  }

  override async open(setup: OperatorSetup): Promise<void> {
    super.open(setup);
    this.writer = await this.sink.createWriter(connectorContext(setup));
  }

  processBatch(records: unknown[]): void | Promise<void> {
    return this.writer.write(records);
  }

  override processWatermark(timestamp: number): void {
    if (timestamp > this.currentWatermark) this.currentWatermark = timestamp;
  }

  override endInput(): void | Promise<void> {
    return this.writer.endInput?.();
  }

  override async snapshotState(checkpointId: number): Promise<OperatorStateParts> {
    return (await this.writer.snapshotState?.(checkpointId)) ?? {};
  }

  override notifyCheckpointComplete(checkpointId: number): void | Promise<void> {
    return this.writer.notifyCheckpointComplete?.(checkpointId);
  }

  override close(): void | Promise<void> {
    return this.writer?.close?.();
  }
}
