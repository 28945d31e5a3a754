/**
 * Per-subtask state files. A task's SubtaskSnapshot (already msgpack bytes per key group and
 * per operator-state entry, see engine/state) is written to one file in the checkpoint
 * directory by the TaskManager running it: for each operator of the chain, its key groups in
 * ascending order, then its operator-state entries, then its union-state entries. The write is
 * asynchronous (the task keeps processing), ends with fsync, and yields a SubtaskStateHandle
 * that indexes every chunk by (offset, length, crc32), so a restore at any parallelism reads
 * exactly its key groups.
 * A snapshot smaller than the inline threshold (`state.storage.fs.memory-threshold`) is not
 * written at all: its bytes, laid out exactly as the file would be, travel in the handle to the
 * JobManager, which stores them in `_metadata` (one fsync'd write per checkpoint instead of one
 * file and fsync per subtask). Reading merges adjacent chunks of one file into one read, takes
 * inline chunks from the restore plan itself, and checks every CRC.
 */
import { open, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { FlowpilotError } from '../../common/errors.ts';
import type { SubtaskSnapshot } from '../contracts/task.ts';
import type { ChunkRef, KeyGroupChunk, OperatorChunks, SubtaskStateHandle } from './metadata.ts';

const MAX_IOV = 1024;
const MAX_WRITE_BYTES = 8 * 1024 * 1024;

/** The state file name for a subtask; random so a late write of an old attempt never clashes. */
export function stateFileName(vertexId: string, subtaskIndex: number): string {
  return `${vertexId}-${subtaskIndex}-${randomBytes(4).toString('hex')}.state`;
}

/**
 * Writes one subtask's snapshot into `checkpointDir` (which must exist: a TaskManager never
 * creates it, so a write into a checkpoint directory that was discarded meanwhile fails with
 * ENOENT) and returns the handle to acknowledge with. CRCs are computed batch by batch as the
 * file is written, so a large snapshot does not hold the event loop for long. A failed write
 * removes its partial file (best effort). The snapshot's byte arrays must not be mutated until
 * the promise settles. A snapshot of fewer than `inlineThreshold` bytes is returned inline (no
 * file, nothing touches the directory); 0 (the default here) never inlines.
 */
export async function writeSubtaskState(
  checkpointDir: string,
  vertexId: string,
  subtaskIndex: number,
  snapshot: SubtaskSnapshot,
  inlineThreshold = 0,
): Promise<SubtaskStateHandle> {
  const chunks: Uint8Array[] = [];
  /** For chunks[i]: the tuple and position its CRC goes into once computed. */
  const crcSlots: Array<[number[], number]> = [];
  let offset = 0;
  const add = (bytes: Uint8Array, ref: number[], crcPos: number): void => {
    ref.push(offset, bytes.byteLength, 0);
    offset += bytes.byteLength;
    if (bytes.byteLength > 0) {
      chunks.push(bytes);
      crcSlots.push([ref, crcPos]);
    }
  };
  const operators: OperatorChunks[] = snapshot.operators.map((op) => {
    const keyGroups: KeyGroupChunk[] = [...op.keyGroups.keys()]
      .sort((a, b) => a - b)
      .map((kg) => {
        const ref: number[] = [kg];
        add(op.keyGroups.get(kg)!, ref, 3);
        return ref as KeyGroupChunk;
      });
    const refs = (list: Uint8Array[]) =>
      list.map((b) => {
        const ref: number[] = [];
        add(b, ref, 2);
        return ref as ChunkRef;
      });
    return { operatorId: op.operatorId, keyGroups, operatorState: refs(op.operatorState), unionState: refs(op.unionState) };
  });
  const hasEntries = operators.some((o) => o.keyGroups.length + o.operatorState.length + o.unionState.length > 0);
  if (!hasEntries) return { checkpointId: snapshot.checkpointId, vertexId, subtaskIndex, file: null, size: 0, operators };
  const file = stateFileName(vertexId, subtaskIndex);
  if (offset < inlineThreshold) {
    for (let i = 0; i < chunks.length; i++) {
      const [ref, pos] = crcSlots[i]!;
      ref[pos] = crc32(chunks[i]!);
    }
    const inline = new Uint8Array(Buffer.concat(chunks, offset));
    return { checkpointId: snapshot.checkpointId, vertexId, subtaskIndex, file, size: offset, inline, operators };
  }
  const full = path.join(checkpointDir, file);
  const fh = await open(full, 'wx');
  let ok = false;
  try {
    let i = 0;
    while (i < chunks.length) {
      const batch: Uint8Array[] = [];
      let bytes = 0;
      while (i < chunks.length && batch.length < MAX_IOV && (batch.length === 0 || bytes + chunks[i]!.byteLength <= MAX_WRITE_BYTES)) {
        const [ref, pos] = crcSlots[i]!;
        ref[pos] = crc32(chunks[i]!);
        bytes += chunks[i]!.byteLength;
        batch.push(chunks[i]!);
        i++;
      }
      let written = 0;
      while (written < bytes) {
        const { bytesWritten } = await fh.writev(written === 0 ? batch : remainder(batch, written));
        written += bytesWritten;
      }
    }
    await fh.sync();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await unlink(full).catch(() => undefined);
  }
  return { checkpointId: snapshot.checkpointId, vertexId, subtaskIndex, file, size: offset, operators };
}

/** The part of `batch` after its first `skip` bytes (after a short writev). */
function remainder(batch: Uint8Array[], skip: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of batch) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

/** A chunk to read: which file, where, and its expected CRC; `inline`: the chunk's bytes, when its state is stored in `_metadata`. */
export interface ChunkRead {
  file: string;
  offset: number;
  length: number;
  crc: number;
  inline?: Uint8Array;
}

/** The chunk `offset`/`length` of inline state `bytes` (a copy: it is shipped on its own in a restore plan). */
export function inlineChunk(bytes: Uint8Array, offset: number, length: number): Uint8Array {
  return bytes.slice(offset, offset + length);
}

/**
 * Reads chunks from state files in `dir`, returning their bytes in the order asked. Adjacent
 * chunks of one file are read with one call. Throws FP_SAVEPOINT_CORRUPT on a short read or a
 * CRC mismatch.
 */
export async function readChunks(dir: string, reads: readonly ChunkRead[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array(reads.length);
  const byFile = new Map<string, number[]>();
  reads.forEach((r, i) => {
    if (r.length === 0) {
      out[i] = new Uint8Array(0);
      return;
    }
    if (r.inline !== undefined) {
      if (r.inline.byteLength !== r.length || crc32(r.inline) !== r.crc) {
        throw new FlowpilotError('FP_SAVEPOINT_CORRUPT', `inline state ${r.file} in ${path.join(dir, '_metadata')}: checksum or length mismatch at offset ${r.offset}`, { details: { httpStatus: 400 } });
      }
      out[i] = r.inline;
      return;
    }
    const list = byFile.get(r.file) ?? [];
    list.push(i);
    byFile.set(r.file, list);
  });
  for (const [file, idxs] of byFile) {
    idxs.sort((a, b) => reads[a]!.offset - reads[b]!.offset);
    const full = path.join(dir, file);
    const fh = await open(full, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new FlowpilotError('FP_SAVEPOINT_CORRUPT', `state file ${full} cannot be opened (${err.code ?? err.message})`, { details: { httpStatus: 400 } });
    });
    try {
      let k = 0;
      while (k < idxs.length) {
        const start = reads[idxs[k]!]!.offset;
        let end = start + reads[idxs[k]!]!.length;
        let j = k + 1;
        while (j < idxs.length && reads[idxs[j]!]!.offset === end && end - start < 64 * 1024 * 1024) {
          end += reads[idxs[j]!]!.length;
          j++;
        }
        const buf = Buffer.allocUnsafe(end - start);
        let got = 0;
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        if (got < buf.length) {
          throw new FlowpilotError('FP_SAVEPOINT_CORRUPT', `state file ${full} is shorter than its metadata says (wanted bytes ${start}..${end})`, { details: { httpStatus: 400 } });
        }
        for (let m = k; m < j; m++) {
          const r = reads[idxs[m]!]!;
          const bytes = buf.subarray(r.offset - start, r.offset - start + r.length);
          if (crc32(bytes) !== r.crc) {
            throw new FlowpilotError('FP_SAVEPOINT_CORRUPT', `state file ${full}: checksum mismatch at offset ${r.offset} (the file was altered or damaged)`, { details: { httpStatus: 400 } });
          }
          out[idxs[m]!] = bytes;
        }
        k = j;
      }
    } finally {
      await fh.close();
    }
  }
  return out;
}
