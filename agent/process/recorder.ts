/**
 * `--record FILE`: appends every JobObservation the collector produces as one JSON line, in the
 * schema of agent/scaling/observation.ts (documented in docs/reference/replay.md), so `flowpilot scale
 * replay` can read the file back, with the alerts firing at that moment. Writes are queued on one append stream; a write error is
 * logged once and recording stops, never the agent.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../../common/log.ts';
import { silentLogger } from '../../common/log.ts';
import { errorMessage } from '../../common/errors.ts';
import type { JobObservation } from '../collect/observation.ts';

export class ObservationRecorder {
  readonly file: string;
  private readonly stream: WriteStream;
  private failed = false;
  private readonly log: Logger;
  written = 0;

  constructor(file: string, logger?: Logger) {
    this.file = file;
    this.log = logger ?? silentLogger();
    this.stream = createWriteStream(file, { flags: 'a' });
    this.stream.on('error', (err) => {
      if (!this.failed) this.log.error({ err: errorMessage(err), file }, 'cannot write observations; recording stops');
      this.failed = true;
    });
  }

  /** Writes one line; firing alerts go into the line's `alerts` (docs/reference/replay.md) so replay sees the same vetoes. */
  write(obs: JobObservation, alerts: Array<{ labels: Record<string, string> }> = []): void {
    if (this.failed) return;
    this.stream.write(`${JSON.stringify(alerts.length > 0 ? { ...obs, alerts } : obs)}\n`);
    this.written++;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
