/**
 * Path names and path safety for checkpoint storage. Names follow Flink:
 * `<dir>/<job-id>/chk-<n>/` for checkpoints and `<target>/savepoint-<6 of job id>-<12 hex>/`
 * for savepoints. A user-given path (a savepoint target, a restore path) is accepted only when
 * it lies under one of the allowed roots after `..` is resolved and every existing component's
 * symlinks are followed (fs.realpath of the nearest existing ancestor); a dangling symlink on
 * the way is refused, since creating the directory would follow it somewhere unchecked.
 */
import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FlowpilotError } from '../../common/errors.ts';
import { stripFileScheme } from './config.ts';

export const CHECKPOINT_DIR_PREFIX = 'chk-';
/** Linux's PATH_MAX and NAME_MAX: longer paths and names are refused with a 400 before the file system sees them. */
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
export const SAVEPOINT_DIR_PREFIX = 'savepoint-';

export function checkpointDirName(checkpointId: number): string {
  return `${CHECKPOINT_DIR_PREFIX}${checkpointId}`;
}

/** Parses "chk-17" → 17; anything else → null. */
export function parseCheckpointDirName(name: string): number | null {
  const m = /^chk-(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}

export function savepointDirName(jobId: string): string {
  return `${SAVEPOINT_DIR_PREFIX}${jobId.slice(0, 6)}-${randomBytes(6).toString('hex')}`;
}

/** Flink's external pointer form of a local directory. */
export function externalPointer(dir: string): string {
  return `file:${dir}`;
}

export function pathError(message: string, pathName: string): FlowpilotError {
  return new FlowpilotError('FP_SAVEPOINT_PATH', message, { details: { httpStatus: 400, path: pathName } });
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The real path of `p` (absolute): realpath of the longest existing prefix joined with the part
 * that does not exist yet. Refuses a dangling symlink on the way.
 */
export async function realpathNearest(p: string): Promise<string> {
  const tail: string[] = [];
  let cur = path.resolve(p);
  let races = 0;
  for (;;) {
    try {
      const real = await realpath(cur);
      return tail.length ? path.join(real, ...tail.reverse()) : real;
    } catch (err) {
      if (!isMissing(err)) throw err;
      let link: boolean | null = null;
      try {
        link = (await lstat(cur)).isSymbolicLink();
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      if (link !== null && races++ < 3) continue; // created (or re-pointed) meanwhile: resolve it again
      if (link === true) throw pathError(`${cur} is a dangling symbolic link; refusing to create state through it`, p);
      if (link === false) throw pathError(`${cur} keeps changing while it is resolved`, p);
      const parent = path.dirname(cur);
      if (parent === cur) return path.join(cur, ...tail.reverse());
      tail.push(path.basename(cur));
      cur = parent;
    }
  }
}

export function isWithin(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Checks a user-given path against the allowed roots and returns its real absolute path.
 * Throws FP_SAVEPOINT_PATH (HTTP 400) when it is relative, empty, or outside every root.
 */
export async function resolveAllowedPath(userPath: string, allowedRoots: readonly string[], what = 'savepoint target'): Promise<string> {
  const raw = stripFileScheme(userPath.trim());
  if (raw === '') throw pathError(`the ${what} is empty`, userPath);
  if (raw.includes('\0')) throw pathError(`the ${what} contains a NUL byte`, userPath);
  if (!path.isAbsolute(raw)) throw pathError(`the ${what} "${userPath}" must be an absolute path`, userPath);
  if (allowedRoots.length === 0) {
    throw pathError(
      `no allowed roots are configured for the ${what} "${userPath}"; set execution.checkpointing.savepoint-dir or flowpilot.savepoint.allowed-roots`,
      userPath,
    );
  }
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw pathError(`the ${what} is longer than ${MAX_PATH_BYTES} bytes`, userPath);
  const long = raw.split('/').find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (long !== undefined) throw pathError(`the ${what} has a path component longer than ${MAX_NAME_BYTES} bytes`, userPath);
  let real: string;
  let roots: string[];
  try {
    real = await realpathNearest(raw);
    roots = await Promise.all(allowedRoots.map((r) => realpathNearest(stripFileScheme(r))));
  } catch (err) {
    if (err instanceof FlowpilotError) throw err;
    // ELOOP, EACCES, ENAMETOOLONG, ...: the client's path cannot be resolved; say why, not where.
    throw pathError(`the ${what} "${userPath}" cannot be resolved (${(err as NodeJS.ErrnoException).code ?? 'error'})`, userPath);
  }
  // The message names what the client sent, never the resolved path or the roots (server layout).
  if (!roots.some((root) => isWithin(root, real))) {
    throw pathError(
      `the ${what} "${userPath}" is outside the allowed roots (flowpilot.savepoint.allowed-roots, else state.dir and state.savepoints.dir); choose a directory under one of them`,
      userPath,
    );
  }
  return real;
}

/**
 * Creates a directory and its missing parents one level at a time. Node's recursive mkdir can
 * spin forever on file systems that refuse creation with ENOENT (a target under /proc), which
 * would leave a checkpoint or savepoint hanging; this fails on the first refusal instead.
 */
export async function ensureDir(dir: string): Promise<void> {
  if (!path.isAbsolute(dir)) throw pathError(`the directory ${dir} must be an absolute path`, dir);
  const missing: string[] = [];
  let p = dir;
  for (;;) {
    try {
      if (!(await stat(p)).isDirectory()) throw pathError(`${p} exists and is not a directory`, dir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(p);
      const parent = path.dirname(p);
      if (parent === p) break;
      p = parent;
    }
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
