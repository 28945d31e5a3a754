/**
 * Checkpoint storage on a (local or mounted) file system, laid out as Flink's:
 * `<checkpoint-dir>/<job-id>/chk-<n>/` and `<target>/savepoint-<6 of job id>-<12 hex>/`, each
 * holding the subtasks' state files and `_metadata`. `_metadata` is written last and
 * atomically (temp file, fsync, rename, fsync of the directory), so a directory without it is
 * a checkpoint that never completed and is never restored. Loading checks the metadata and
 * that every state file is there with its exact size (optionally every chunk's CRC) before
 * anything is handed to a restore: a snapshot is restored whole or not at all. Retention keeps
 * the last N completed checkpoints; savepoints belong to the user and are never deleted here.
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { FlowpilotError } from '../../common/errors.ts';
import type { JobStatus } from '../contracts/status.ts';
import type { ExternalizedCheckpointRetention } from './config.ts';
import { stripFileScheme } from './config.ts';
import { decodeMetadata, encodeMetadata, inlineStateOf, METADATA_FILE_NAME, type CheckpointMetadata, type SnapshotKind } from './metadata.ts';
import {
  checkpointDirName, ensureDir, externalPointer, parseCheckpointDirName, pathError, realpathNearest, resolveAllowedPath, savepointDirName,
} from './paths.ts';
import { readChunks, type ChunkRead } from './state-files.ts';

/** Where one checkpoint or savepoint is being (or was) written. */
export interface CheckpointLocation {
  kind: SnapshotKind;
  checkpointId: number;
  jobId: string;
  /** Absolute real path of the directory. */
  dir: string;
  /** `file:<dir>`, as Flink reports external paths and savepoint locations. */
  externalPath: string;
}

export interface CheckpointStorageOptions {
  /** Root for checkpoints (`<root>/<job-id>/chk-<n>`); null: periodic checkpoints cannot be taken. */
  checkpointDir: string | null;
  /** Default savepoint target. */
  savepointDir: string | null;
  /** Directories savepoint targets must lie under. */
  allowedRoots: readonly string[];
}

/** Test seam for crash-safety tests: runs after the temp file is synced, before the rename. */
export interface MetadataWriteHooks {
  beforeRename?(): void | Promise<void>;
}

/** Writes `_metadata` into `dir` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeMetadataAtomically(dir: string, meta: CheckpointMetadata, hooks: MetadataWriteHooks = {}): Promise<void> {
  const bytes = encodeMetadata(meta);
  const tmp = path.join(dir, `${METADATA_FILE_NAME}.tmp-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await hooks.beforeRename?.();
    await rename(tmp, path.join(dir, METADATA_FILE_NAME));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Removes a checkpoint directory. TaskManagers may still be writing into it (an expired or
 * declined checkpoint): a file created between the listing and the rmdir makes it fail with
 * ENOTEMPTY, so it is retried; a late writer then finds the directory gone and declines.
 * Returns null when the directory is gone, else why it could not be removed.
 */
export async function removeCheckpointDir(dir: string): Promise<string | null> {
  let last: unknown = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await rm(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
      return null;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  return (last as NodeJS.ErrnoException).code ?? String(last);
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR); the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EBADF') throw err;
  } finally {
    await dh.close();
  }
}

export class CheckpointStorage {
  readonly options: CheckpointStorageOptions;

  constructor(options: CheckpointStorageOptions) {
    this.options = options;
  }

  /** `<checkpoint-dir>/<job-id>` (not created). */
  jobDir(jobId: string): string {
    if (!this.options.checkpointDir) throw new FlowpilotError('FP_CHECKPOINT_CONFIG', 'no checkpoint directory configured (execution.checkpointing.dir)');
    return path.join(path.resolve(stripFileScheme(this.options.checkpointDir)), jobId);
  }

  /** Creates `<checkpoint-dir>/<job-id>/chk-<n>/`; FP_CHECKPOINT_EXISTS when a completed one is there. */
  async initCheckpoint(jobId: string, checkpointId: number): Promise<CheckpointLocation> {
    const dir = path.join(this.jobDir(jobId), checkpointDirName(checkpointId));
    await ensureDir(path.dirname(dir));
    if (await exists(path.join(dir, METADATA_FILE_NAME))) {
      // A completed checkpoint of an earlier run with the same job id: never overwrite it.
      throw new FlowpilotError('FP_CHECKPOINT_EXISTS', `${dir} already holds a completed checkpoint`, { details: { checkpointId } });
    }
    await rm(dir, { recursive: true, force: true }); // a partial leftover (no _metadata) is garbage
    await mkdir(dir);
    const real = await realpathNearest(dir);
    return { kind: 'CHECKPOINT', checkpointId, jobId, dir: real, externalPath: externalPointer(real) };
  }

  /**
   * Creates `<target>/savepoint-<6 of job id>-<12 hex>/` under an allowed root. `target` absent:
   * the configured savepoint dir, else Flink's 400 message.
   */
  async initSavepoint(jobId: string, checkpointId: number, kind: SnapshotKind, target?: string): Promise<CheckpointLocation> {
    const chosen = target ?? this.options.savepointDir;
    if (!chosen) {
      throw pathError(
        'Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.',
        '',
      );
    }
    const parent = await resolveAllowedPath(chosen, this.options.allowedRoots);
    try {
      await ensureDir(parent);
    } catch (err) {
      throw pathError(`the savepoint target ${chosen} cannot be used as a directory (${(err as NodeJS.ErrnoException).code ?? String(err)})`, chosen);
    }
    const dir = path.join(parent, savepointDirName(jobId));
    await mkdir(dir);
    // Re-check after creation: a symlink swapped in between the check and mkdir is caught here.
    const real = await resolveAllowedPath(dir, this.options.allowedRoots);
    return { kind, checkpointId, jobId, dir: real, externalPath: externalPointer(real) };
  }

  async finalize(location: CheckpointLocation, meta: CheckpointMetadata, hooks?: MetadataWriteHooks): Promise<void> {
    await writeMetadataAtomically(location.dir, meta, hooks);
  }

  /** Deletes a failed, aborted or subsumed checkpoint's directory (tolerating TaskManagers still writing into it). */
  async discard(location: CheckpointLocation): Promise<void> {
    await removeCheckpointDir(location.dir);
  }

  /**
   * Keeps the newest `numRetained` of `completed` (checkpoints only, oldest first) and deletes
   * the others' directories. Returns the locations still retained.
   */
  async retain(completed: readonly CheckpointLocation[], numRetained: number): Promise<CheckpointLocation[]> {
    const checkpoints = completed.filter((c) => c.kind === 'CHECKPOINT');
    const drop = checkpoints.slice(0, Math.max(0, checkpoints.length - numRetained));
    for (const c of drop) await this.discard(c);
    return checkpoints.slice(drop.length);
  }

  /**
   * A job reached a terminal state: delete its checkpoints as the retention mode says (Flink's
   * CheckpointProperties): RETAIN_ON_CANCELLATION keeps them always; DELETE_ON_CANCELLATION keeps
   * them only when the job FAILED; NO_EXTERNALIZED_CHECKPOINTS never keeps them.
   * Returns true when the job's checkpoint directory was removed.
   */
  async onJobTerminal(jobId: string, status: JobStatus, retention: ExternalizedCheckpointRetention): Promise<boolean> {
    if (!this.options.checkpointDir) return false;
    const keep = retention === 'RETAIN_ON_CANCELLATION' ? true : retention === 'DELETE_ON_CANCELLATION' ? status === 'FAILED' : false;
    if (keep) return false;
    await rm(this.jobDir(jobId), { recursive: true, force: true });
    return true;
  }

  /** The newest completed (has `_metadata`) checkpoint of a job on disk, e.g. after a JobManager restart. */
  async findLatestCheckpoint(jobId: string): Promise<string | null> {
    let names: string[];
    try {
      names = await readdir(this.jobDir(jobId));
    } catch {
      return null;
    }
    const ids = names.map(parseCheckpointDirName).filter((n): n is number => n !== null).sort((a, b) => b - a);
    for (const id of ids) {
      const dir = path.join(this.jobDir(jobId), checkpointDirName(id));
      if (await exists(path.join(dir, METADATA_FILE_NAME))) return dir;
    }
    return null;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** A checkpoint or savepoint read from disk and checked, ready for restore assignment. */
export interface LoadedCheckpoint {
  /** Absolute directory holding `_metadata` and the state files. */
  dir: string;
  externalPath: string;
  metadata: CheckpointMetadata;
}

export interface LoadOptions {
  /** When given, the path must lie under one of these (user-supplied restore paths). */
  allowedRoots?: readonly string[];
  /** 'sizes' (default): every file present with its exact size. 'full': also every chunk's CRC. */
  verify?: 'sizes' | 'full';
}

function missing(message: string, p: string): FlowpilotError {
  return new FlowpilotError('FP_SAVEPOINT_MISSING', message, { details: { httpStatus: 400, path: p } });
}

function corrupt(message: string, p: string): FlowpilotError {
  return new FlowpilotError('FP_SAVEPOINT_CORRUPT', message, { details: { httpStatus: 400, path: p } });
}

/**
 * Loads a checkpoint or savepoint from its directory or its `_metadata` file (with or without
 * `file:`). Throws FP_SAVEPOINT_PATH / FP_SAVEPOINT_MISSING / FP_SAVEPOINT_CORRUPT (all HTTP 400).
 */
export async function loadCheckpoint(pointer: string, opts: LoadOptions = {}): Promise<LoadedCheckpoint> {
  let p = stripFileScheme(pointer.trim());
  if (opts.allowedRoots) p = await resolveAllowedPath(p, opts.allowedRoots, 'savepoint path');
  else p = path.resolve(p);
  let dir = p;
  const st = await stat(p).catch(() => null);
  if (!st) throw missing(`savepoint or checkpoint ${pointer} does not exist`, pointer);
  if (st.isFile()) {
    if (path.basename(p) !== METADATA_FILE_NAME) throw missing(`${pointer} is a file but not a ${METADATA_FILE_NAME} file`, pointer);
    dir = path.dirname(p);
  }
  const metaPath = path.join(dir, METADATA_FILE_NAME);
  const bytes = await readFile(metaPath).catch(() => null);
  if (!bytes) {
    throw missing(
      `${dir} has no ${METADATA_FILE_NAME} file: it is a checkpoint that never completed, or not a savepoint directory. Nothing was restored.`,
      pointer,
    );
  }
  const metadata = decodeMetadata(bytes, metaPath);
  const chk = parseCheckpointDirName(path.basename(dir));
  if (metadata.kind === 'CHECKPOINT' && chk !== null && chk !== metadata.checkpointId) {
    throw corrupt(`${metaPath} describes checkpoint ${metadata.checkpointId} but lies in ${path.basename(dir)} (mismatched directory)`, pointer);
  }
  for (const f of metadata.files) {
    if (f.inline !== undefined) continue; // stored in _metadata itself
    const fst = await stat(path.join(dir, f.name)).catch(() => null);
    if (!fst || !fst.isFile()) throw corrupt(`state file ${f.name} of ${dir} is missing; the snapshot is partial`, pointer);
    if (fst.size !== f.size) throw corrupt(`state file ${f.name} of ${dir} has ${fst.size} bytes, the metadata says ${f.size}`, pointer);
  }
  if (opts.verify === 'full') await verifyAllChunks(dir, metadata);
  return { dir, externalPath: externalPointer(dir), metadata };
}

async function verifyAllChunks(dir: string, meta: CheckpointMetadata): Promise<void> {
  const inline = inlineStateOf(meta);
  for (const op of meta.operators) {
    for (const s of op.subtasks) {
      if (s.file === null) continue;
      const file = s.file;
      const bytes = inline.get(file);
      const read = (offset: number, length: number, crc: number): ChunkRead =>
        bytes === undefined ? { file, offset, length, crc } : { file, offset, length, crc, inline: bytes.subarray(offset, offset + length) };
      const reads: ChunkRead[] = [
        ...s.keyGroups.map(([, offset, length, crc]) => read(offset, length, crc)),
        ...[...s.operatorState, ...s.unionState].map(([offset, length, crc]) => read(offset, length, crc)),
      ];
      await readChunks(dir, reads);
    }
  }
}
