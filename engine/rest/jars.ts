/**
 * The uploaded-"jar" store behind `/jars`. flowpilot jobs are TypeScript or JavaScript modules,
 * so an upload takes a `.ts`/`.js`/`.mjs` file where Flink takes a `.jar`. Files are stored
 * as `<uuid>_<original name>` in the upload directory; that basename is the jar id, exactly as
 * in Flink. Ids are checked so no request can reach outside the directory, and no answer names
 * the directory. Storing a module runs nothing; running it (`/jars/:id/run`) executes its code
 * in the JobManager and the TaskManagers, as a Flink jar's main() runs in the cluster.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { handlerError } from './errors.ts';

export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
/** Longest stored original name (bytes): with the 37-byte uuid prefix, the stored name stays under 255. */
export const MAX_NAME_BYTES = 200;

export interface StoredJar {
  id: string;
  name: string;
  uploaded: number;
  path: string;
}

export class JarStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  async save(originalName: string, data: Buffer): Promise<StoredJar> {
    const base = path.basename(originalName.replaceAll('\\', '/'));
    if (/[\u0000-\u001f\u007f]/.test(base)) throw handlerError(400, 'The file name contains a control character (such as a NUL byte).');
    if (Buffer.byteLength(base) > MAX_NAME_BYTES) throw handlerError(400, `The file name is longer than ${MAX_NAME_BYTES} bytes.`);
    if (!MODULE_EXTENSIONS.some((ext) => base.endsWith(ext)) || base.startsWith('.')) {
      throw handlerError(400, `Only job modules (${MODULE_EXTENSIONS.join(', ')}) are allowed.`);
    }
    await fs.mkdir(this.dir, { recursive: true });
    const id = `${randomUUID()}_${base}`;
    const file = path.join(this.dir, id);
    await fs.writeFile(file, data, { flag: 'wx' });
    return { id, name: base, uploaded: Date.now(), path: file };
  }

  async list(): Promise<StoredJar[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return [];
    }
    const out: StoredJar[] = [];
    for (const id of names) {
      if (!isJarId(id)) continue;
      const file = path.join(this.dir, id);
      const st = await fs.stat(file).catch(() => null);
      if (st?.isFile()) out.push({ id, name: id.slice(37), uploaded: Math.trunc(st.mtimeMs), path: file });
    }
    return out.sort((a, b) => b.uploaded - a.uploaded);
  }

  /** The stored file for an id, or a 400 as Flink's "Jar file ... does not exist". */
  async resolve(id: string): Promise<StoredJar> {
    const file = path.join(this.dir, id);
    const st = isJarId(id) ? await fs.stat(file).catch(() => null) : null;
    if (!st?.isFile()) throw handlerError(400, `Jar file ${printable(id)} does not exist`);
    return { id, name: id.slice(37), uploaded: Math.trunc(st.mtimeMs), path: file };
  }

  async delete(id: string): Promise<void> {
    const file = path.join(this.dir, id);
    const ok = isJarId(id) && (await fs.rm(file).then(() => true, () => false));
    if (!ok) throw handlerError(400, `File ${printable(id)} does not exist.`);
  }
}

/** `<uuid>_<name>` with no path separators, control characters or parent references, short enough to be a file name. */
export function isJarId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_[^/\\\u0000-\u001f\u007f]+$/.test(id) && !id.includes('..')
    && Buffer.byteLength(id) <= 37 + MAX_NAME_BYTES;
}

/** An id as it may appear in a message: control characters escaped, at most 300 characters. */
function printable(id: string): string {
  const safe = id.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > 300 ? `${safe.slice(0, 300)}…` : safe;
}
