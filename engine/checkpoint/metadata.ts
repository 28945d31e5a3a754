/**
 * The `_metadata` file of a checkpoint or savepoint and the state handles tasks acknowledge
 * with. `_metadata` is a small binary header (magic, format version, body length, CRC-32 of
 * the body) followed by a msgpack body: checkpoint id, job id and name, kind, timestamps, every
 * state file with its size, and for each operator its parallelism, maxParallelism and, per
 * subtask, where each key group, operator-state entry and union-state entry lies in which file
 * (offset, length, CRC-32). File names are relative to the directory holding `_metadata`, so a
 * savepoint directory can be moved. Decoding checks everything it can without reading state.
 * A subtask's state smaller than `state.storage.fs.memory-threshold` is not a file: its bytes
 * travel inline in the acknowledgement and are stored in `_metadata` itself, as the `inline`
 * bytes of its `files` entry (Flink's ByteStreamStateHandle); chunk references are the same.
 * Format version 2 is written only when some state is inline; version 1 (no inline state) is
 * still written otherwise and read as before.
 */
import { z } from 'zod';
import { crc32 } from 'node:zlib';
import { FlowpilotError } from '../../common/errors.ts';
import { decodeState, encodeState } from '../state/serde.ts';

export const METADATA_FILE_NAME = '_metadata';
/** "FPCP" (flowpilot checkpoint); deliberately not Flink's 0x4960672d, the body is not Flink's format. */
export const METADATA_MAGIC = 0x46504350;
/** Version without inline state (readable by engines before inline state). */
export const METADATA_VERSION = 1;
/** Version with inline state in `files[].inline`. */
export const METADATA_VERSION_INLINE = 2;
const HEADER_BYTES = 16;

export type SnapshotKind = 'CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';

/** Where one chunk of state lies in a state file: [offset, length, crc32]. */
export type ChunkRef = [offset: number, length: number, crc: number];
/** A key group's chunk: [keyGroup, offset, length, crc32]. */
export type KeyGroupChunk = [keyGroup: number, offset: number, length: number, crc: number];

/** One operator's state inside one subtask's state file. */
export interface OperatorChunks {
  operatorId: string;
  /** Ascending by key group. */
  keyGroups: KeyGroupChunk[];
  operatorState: ChunkRef[];
  unionState: ChunkRef[];
}

/**
 * What a task acknowledges a checkpoint with: plain data (ships over RPC as is). `file` is the
 * state file's name inside the checkpoint directory, null when the subtask has no state bytes.
 */
export interface SubtaskStateHandle {
  checkpointId: number;
  vertexId: string;
  subtaskIndex: number;
  file: string | null;
  /** Bytes of the state file. */
  size: number;
  /** The state's bytes when they are sent inline instead of written to `file` (which then only names them). */
  inline?: Uint8Array;
  operators: OperatorChunks[];
}

export interface OperatorSubtaskMeta extends Omit<OperatorChunks, 'operatorId'> {
  subtaskIndex: number;
  /** Relative file name, null when this subtask wrote nothing for the operator. */
  file: string | null;
}

export interface OperatorStateMeta {
  operatorId: string;
  /** The vertex (chain) the operator ran in when the state was taken; informational. */
  vertexId: string;
  parallelism: number;
  maxParallelism: number;
  /** One entry per subtask index, 0..parallelism-1. */
  subtasks: OperatorSubtaskMeta[];
}

export interface StateFileMeta {
  name: string;
  size: number;
  inline?: Uint8Array;
}

export interface CheckpointMetadata {
  checkpointId: number;
  jobId: string;
  jobName: string;
  kind: SnapshotKind;
  formatType: 'CANONICAL' | 'NATIVE';
  triggerTimestamp: number;
  completionTimestamp: number;
  /** Every state file of the snapshot with its exact size; `inline`: its bytes, kept here instead of in a file. */
  files: StateFileMeta[];
  operators: OperatorStateMeta[];
}

const u32 = z.number().int().min(0).max(0xffffffff);
const nonNeg = z.number().int().min(0);
/** A plain file name: no separators, no "..", so metadata can never point outside its directory. */
const fileName = z.string().regex(/^[A-Za-z0-9._-]+$/).refine((s) => s !== '.' && s !== '..' && s !== METADATA_FILE_NAME);
const chunk = z.tuple([nonNeg, nonNeg, u32]);
const kgChunk = z.tuple([nonNeg, nonNeg, nonNeg, u32]);
const hex32 = z.string().regex(/^[0-9a-f]{32}$/);

const metadataSchema = z.object({
  checkpointId: z.number().int().min(1),
  jobId: hex32,
  jobName: z.string(),
  kind: z.enum(['CHECKPOINT', 'SAVEPOINT', 'SYNC_SAVEPOINT']),
  formatType: z.enum(['CANONICAL', 'NATIVE']),
  triggerTimestamp: nonNeg,
  completionTimestamp: nonNeg,
  files: z.array(z.object({ name: fileName, size: nonNeg, inline: z.instanceof(Uint8Array).optional() })),
  operators: z.array(z.object({
    operatorId: z.string().min(1),
    vertexId: z.string(),
    parallelism: z.number().int().min(1),
    maxParallelism: z.number().int().min(1).max(32768),
    subtasks: z.array(z.object({
      subtaskIndex: nonNeg,
      file: fileName.nullable(),
      keyGroups: z.array(kgChunk),
      operatorState: z.array(chunk),
      unionState: z.array(chunk),
    })),
  })),
});

function corrupt(where: string, why: string): FlowpilotError {
  return new FlowpilotError('FP_SAVEPOINT_CORRUPT', `${where}: ${why}. The snapshot cannot be restored; pick another checkpoint or savepoint.`, {
    details: { httpStatus: 400, path: where },
  });
}

export function encodeMetadata(meta: CheckpointMetadata): Buffer {
  const body = Buffer.from(encodeState(meta));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(METADATA_MAGIC, 0);
  header.writeUInt32BE(meta.files.some((f) => f.inline !== undefined) ? METADATA_VERSION_INLINE : METADATA_VERSION, 4);
  header.writeUInt32BE(body.length, 8);
  header.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([header, body]);
}

/**
 * Decodes and checks a `_metadata` file's bytes; `where` names the file in errors. Beyond the
 * schema it checks the cross-references: every subtask of every operator present once, every
 * referenced file listed, every chunk inside its file, key groups inside [0, maxParallelism).
 */
export function decodeMetadata(bytes: Uint8Array, where: string): CheckpointMetadata {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER_BYTES) throw corrupt(where, `only ${buf.length} bytes, shorter than the header`);
  const magic = buf.readUInt32BE(0);
  if (magic !== METADATA_MAGIC) throw corrupt(where, `bad magic number 0x${magic.toString(16)} (not a flowpilot _metadata file)`);
  const version = buf.readUInt32BE(4);
  if (version !== METADATA_VERSION && version !== METADATA_VERSION_INLINE) {
    throw corrupt(where, `unsupported metadata version ${version} (this engine reads ${METADATA_VERSION} and ${METADATA_VERSION_INLINE})`);
  }
  const len = buf.readUInt32BE(8);
  if (buf.length !== HEADER_BYTES + len) throw corrupt(where, `body is ${buf.length - HEADER_BYTES} bytes, header says ${len} (truncated or padded)`);
  const body = buf.subarray(HEADER_BYTES);
  if (crc32(body) !== buf.readUInt32BE(12)) throw corrupt(where, 'checksum mismatch (the file was altered or damaged)');
  let raw: unknown;
  try {
    raw = decodeState(body);
  } catch (err) {
    throw corrupt(where, `body does not decode: ${(err as Error).message}`);
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupt(where, `unexpected content at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const meta = parsed.data as CheckpointMetadata;
  if (version === METADATA_VERSION && meta.files.some((f) => f.inline !== undefined)) throw corrupt(where, 'version 1 metadata with inline state');
  checkReferences(meta, where);
  return meta;
}

function checkReferences(meta: CheckpointMetadata, where: string): void {
  const sizes = new Map<string, number>();
  for (const f of meta.files) {
    if (sizes.has(f.name)) throw corrupt(where, `file ${f.name} listed twice`);
    if (f.inline !== undefined && f.inline.byteLength !== f.size) throw corrupt(where, `inline state ${f.name} has ${f.inline.byteLength} bytes, listed as ${f.size}`);
    sizes.set(f.name, f.size);
  }
  const ids = new Set<string>();
  for (const op of meta.operators) {
    if (ids.has(op.operatorId)) throw corrupt(where, `operator ${op.operatorId} listed twice`);
    ids.add(op.operatorId);
    if (op.parallelism > op.maxParallelism) throw corrupt(where, `operator ${op.operatorId} has parallelism ${op.parallelism} > maxParallelism ${op.maxParallelism}`);
    if (op.subtasks.length !== op.parallelism || op.subtasks.some((s, i) => s.subtaskIndex !== i)) {
      throw corrupt(where, `operator ${op.operatorId} must list subtasks 0..${op.parallelism - 1} in order`);
    }
    const seen = new Set<number>();
    for (const s of op.subtasks) {
      const hasChunks = s.keyGroups.length + s.operatorState.length + s.unionState.length > 0;
      if (s.file === null) {
        if (hasChunks) throw corrupt(where, `operator ${op.operatorId} subtask ${s.subtaskIndex} has state chunks but no file`);
        continue;
      }
      const size = sizes.get(s.file);
      if (size === undefined) throw corrupt(where, `operator ${op.operatorId} subtask ${s.subtaskIndex} refers to unlisted file ${s.file}`);
      const inside = (off: number, length: number) => off + length <= size;
      for (const [kg, off, length] of s.keyGroups) {
        if (kg >= op.maxParallelism) throw corrupt(where, `operator ${op.operatorId} has key group ${kg} outside [0, ${op.maxParallelism})`);
        if (seen.has(kg)) throw corrupt(where, `operator ${op.operatorId} has key group ${kg} twice`);
        seen.add(kg);
        if (!inside(off, length)) throw corrupt(where, `key group ${kg} of operator ${op.operatorId} lies past the end of ${s.file}`);
      }
      for (const [off, length] of [...s.operatorState, ...s.unionState]) {
        if (!inside(off, length)) throw corrupt(where, `operator state of ${op.operatorId} lies past the end of ${s.file}`);
      }
    }
  }
}

/** The inline state of a metadata by name (state stored in `_metadata`, not in files). */
export function inlineStateOf(meta: CheckpointMetadata): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const f of meta.files) if (f.inline !== undefined) out.set(f.name, f.inline);
  return out;
}

/** Total bytes of state a metadata describes (Flink's full checkpoint size; inline state included). */
export function metadataStateSize(meta: CheckpointMetadata): number {
  return meta.files.reduce((n, f) => n + f.size, 0);
}
