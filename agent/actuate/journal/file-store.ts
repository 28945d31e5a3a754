/**
 * The journal on local disk: one JSON file per key in a directory. A write goes to a temp
 * file in the same directory, is fsync'ed, renamed over the old file (atomic on POSIX), and
 * the directory is fsync'ed so the rename survives a power cut. A crash therefore leaves
 * either the old or the new document, never a torn one. Compare-and-set is serialised per
 * key inside the process; one agent process owns a journal directory (leader election
 * guards the Kubernetes case).
 */
import { open, readFile, readdir, rename, mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FlowpilotError } from '../../../common/errors.ts';
import { journalConflict, safeKey, type JournalStore, type Versioned } from './store.ts';

interface FileDoc {
  version: number;
  value: unknown;
}

export class FileJournalStore implements JournalStore {
  readonly dir: string;
  readonly where: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(dir: string) {
    this.dir = dir;
    this.where = `file:${dir}`;
  }

  private path(key: string): string {
    return join(this.dir, `${safeKey(key)}.json`);
  }

  async read<T>(key: string): Promise<Versioned<T> | null> {
    let text: string;
    try {
      text = await readFile(this.path(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new FlowpilotError('FP_JOURNAL_IO', `journal ${this.where}: cannot read "${key}": ${String(err)}`, { cause: err });
    }
    let doc: FileDoc;
    try {
      doc = JSON.parse(text) as FileDoc;
    } catch (err) {
      throw new FlowpilotError('FP_JOURNAL_CORRUPT', `journal ${this.path(key)} is not valid JSON; move it aside to start fresh`, { cause: err });
    }
    return { value: doc.value as T, version: doc.version };
  }

  async write<T>(key: string, value: T, expected: number | null): Promise<number> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.writeLocked(key, value, expected));
    this.locks.set(key, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === run) this.locks.delete(key);
    }
  }

  private async writeLocked(key: string, value: unknown, expected: number | null): Promise<number> {
    const cur = await this.read(key);
    const actual = cur ? cur.version : null;
    if (actual !== expected) throw journalConflict(this.where, key, expected, actual);
    const version = (actual ?? 0) + 1;
    await mkdir(this.dir, { recursive: true });
    const target = this.path(key);
    const tmp = join(this.dir, `.${safeKey(key)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify({ version, value } satisfies FileDoc, null, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new FlowpilotError('FP_JOURNAL_IO', `journal ${this.where}: cannot write "${key}": ${String(err)}`, { cause: err });
    }
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    return version;
  }

  async keys(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
