/**
 * A line-delimited file source. Each file is one split; splits go to subtasks round-robin by
 * index (file i -> subtask i % parallelism). A subtask reads its files in order, emitting one
 * record per line (parsed by an optional function) and remembering the byte offset after the
 * last emitted line. Offsets are union operator state, so a restore at any parallelism replays
 * each file exactly from where the checkpoint left it. Bounded: the source ends when its files
 * are read, unless `follow` is set, in which case it keeps polling for appended lines.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { SourceControl } from '../contracts/task.ts';
import type { ConnectorContext, OperatorStateSnapshot, Source, SourceOutput, SourceReader } from '../api/functions.ts';
import { decodeState, encodeState } from '../state/serde.ts';

export interface FileSourceOptions<T> {
  /** One or more files, read in this order. */
  paths: string[];
  parse?: (line: string) => T;
  /** Keep polling for appended lines every `pollMs` instead of ending. */
  follow?: boolean;
  pollMs?: number;
  /** Lines per emitted batch; default 500. */
  batchSize?: number;
  name?: string;
}

export function fileSource<T = string>(options: FileSourceOptions<T>): Source<T> {
  return { name: options.name ?? 'file', createReader: (ctx) => new FileSourceReader<T>(options, ctx) };
}

const CHUNK = 64 * 1024;

class FileSourceReader<T> implements SourceReader<T> {
  private readonly options: FileSourceOptions<T>;
  /** Files this subtask owns and the byte offset of the next unread line in each. */
  private readonly files: string[] = [];
  private readonly offsets: number[] = [];
  private readonly parse: (line: string) => T;

  constructor(options: FileSourceOptions<T>, ctx: ConnectorContext) {
    this.options = options;
    this.parse = options.parse ?? ((l: string) => l as unknown as T);
    options.paths.forEach((p, i) => {
      if (i % ctx.parallelism === ctx.subtaskIndex) {
        this.files.push(p);
        this.offsets.push(0);
      }
    });
    if (ctx.restored !== null) {
      const known = new Map<string, number>();
      for (const e of ctx.restored.unionState) for (const [p, off] of decodeState<Array<[string, number]>>(e)) known.set(p, off);
      this.files.forEach((p, i) => (this.offsets[i] = known.get(p) ?? 0));
    }
  }

  /** Reads whole lines of file `i` from its offset, up to `max` lines, emitting each; returns how many. */
  private readLines(i: number, out: SourceOutput<T>, max: number): number {
    const path = this.files[i]!;
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return 0;
    }
    if (size <= this.offsets[i]!) return 0;
    const fd = openSync(path, 'r');
    let emitted = 0;
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let carry = Buffer.alloc(0);
      let pos = this.offsets[i]!;
      while (emitted < max && pos < size) {
        const n = readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
        if (n <= 0) break;
        pos += n;
        const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
        let start = 0;
        for (let j = 0; j < data.length && emitted < max; j++) {
          if (data[j] !== 10) continue;
          let end = j;
          if (end > start && data[end - 1] === 13) end--;
          out.collect(this.parse(data.toString('utf8', start, end)));
          emitted++;
          this.offsets[i]! += j + 1 - start;
          start = j + 1;
        }
        carry = Buffer.from(data.subarray(start));
        if (emitted >= max) break;
      }
      // A bounded file's last line may lack its newline.
      if (!this.options.follow && pos >= size && carry.length > 0 && emitted < max) {
        out.collect(this.parse(carry.toString('utf8')));
        emitted++;
        this.offsets[i]! += carry.length;
      }
    } finally {
      closeSync(fd);
    }
    return emitted;
  }

  async run(out: SourceOutput<T>, ctl: SourceControl): Promise<void> {
    const batch = this.options.batchSize ?? 500;
    if (this.files.length === 0 && !this.options.follow) return;
    while (!ctl.signal.aborted) {
      let emitted = 0;
      for (let i = 0; i < this.files.length && emitted < batch; i++) emitted += this.readLines(i, out, batch - emitted);
      await out.flush();
      if (emitted > 0) {
        await ctl.waitForCapacity();
        continue;
      }
      if (!this.options.follow) return;
      await ctl.idle(this.options.pollMs ?? 200);
    }
  }

  snapshotState(): OperatorStateSnapshot {
    return { unionState: [encodeState(this.files.map((p, i) => [p, this.offsets[i]!]))] };
  }
}
