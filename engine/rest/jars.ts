/**
 * The uploaded-"jar" store behind `/jars`. flowpilot jobs are TypeScript or JavaScript modules,
 * so an upload takes a `.ts`/`.js`/`.mjs` file where Flink takes a `.jar`. Files are stored
 * as `<uuid>_<original name>` in the upload directory; that basename is the jar id, exactly as
 * in Flink. Ids are checked so no request can reach outside the directory.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { handlerError } from './errors.ts';

export const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

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
    if (!st?.isFile()) throw handlerError(400, `Jar file ${file} does not exist`);
    return { id, name: id.slice(37), uploaded: Math.trunc(st.mtimeMs), path: file };
  }

  async delete(id: string): Promise<void> {
    const file = path.join(this.dir, id);
    const ok = isJarId(id) && (await fs.rm(file).then(() => true, () => false));
    if (!ok) throw handlerError(400, `File ${id} does not exist in ${this.dir}.`);
  }
}

/** `<uuid>_<name>` with no path separators and no parent references. */
export function isJarId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_[^/\\]+$/.test(id) && !id.includes('..');
}
