/**
 * Finds where a job module should be imported from. A module uploaded through REST lands in
 * an upload directory, where its relative imports (`../api/...`) cannot resolve. When a module
 * with the same SHA-256 exists in one of the known job directories (engine/jobs by default),
 * that copy is imported instead, so sample jobs and jobs kept next to the engine work when
 * uploaded; any other module is imported where it is and must be self-contained.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_JOB_DIRS = [fileURLToPath(new URL('../jobs/', import.meta.url))];

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const cache = new Map<string, { mtimeMs: number; sha: string }>();

function fileSha(path: string): string | undefined {
  try {
    const st = statSync(path);
    const hit = cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.sha;
    const sha = sha256(readFileSync(path));
    cache.set(path, { mtimeMs: st.mtimeMs, sha });
    return sha;
  } catch {
    return undefined;
  }
}

/** The path of a file with this content in `dirs` (searched one level deep), if any. */
export function findKnownModule(sha: string, dirs: string[] = DEFAULT_JOB_DIRS): string | undefined {
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!/\.(ts|js|mjs|mts)$/.test(name) || name.endsWith('.test.ts')) continue;
      const p = join(dir, name);
      if (fileSha(p) === sha) return p;
    }
  }
  return undefined;
}

/** Where to import a module whose bytes have `sha`: the given path if it holds them, else a known copy. */
export function resolveModulePath(path: string, sha: string, dirs?: string[]): string | undefined {
  if (fileSha(path) === sha) {
    return findKnownModule(sha, dirs) ?? path;
  }
  return findKnownModule(sha, dirs);
}
