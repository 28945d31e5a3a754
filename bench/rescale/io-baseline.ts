/**
 * The raw I/O baseline for the rescale benchmark: how long plain fs calls take to write (with
 * fsync) and read back N bytes spread over a few files, in the same run and on the same disk as
 * the engine's figures, so downtime can be printed beside it ("downtime <= 2 x raw I/O + 1 s").
 * `measureCheckpointIo` does the same bytes through the checkpoint modules (per-key-group state
 * files, _metadata, load, restore reads with CRC checks) to show what they add over raw I/O.
 * Reads may come from the page cache; so do the engine's restore reads in the same run.
 * Usage: node bench/rescale/io-baseline.ts [--bytes 100MB] [--files 4] [--dir /tmp]
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeSubtaskState } from '../../engine/checkpoint/state-files.ts';
import { writeMetadataAtomically, loadCheckpoint } from '../../engine/checkpoint/storage.ts';
import { assignRestoreState, readSubtaskRestore } from '../../engine/checkpoint/restore.ts';
import { buildMetadata } from '../../engine/checkpoint/pending.ts';
import type { JobGraph } from '../../engine/contracts/job-graph.ts';
import type { SubtaskStateHandle } from '../../engine/checkpoint/metadata.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../../engine/keygroups/key-groups.ts';

export interface IoFigures {
  bytes: number;
  files: number;
  writeMs: number;
  readMs: number;
  totalMs: number;
}

const CHUNK = 8 * 1024 * 1024;

/** Parses "100MB", "1GB", "512k", "1048576". */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (examples: 10MB, 1GB, 4096)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

function shares(bytes: number, files: number): number[] {
  return Array.from({ length: files }, (_, i) => Math.floor(bytes / files) + (i < bytes % files ? 1 : 0));
}

/** Plain fs: write `bytes` over `files` files (8 MB writes, fsync each), then read them all back. */
export async function measureIoBaseline(bytes: number, opts: { files?: number; dir?: string } = {}): Promise<IoFigures> {
  const files = opts.files ?? 4;
  const dir = await mkdtemp(path.join(opts.dir ?? tmpdir(), 'fp-io-'));
  const block = randomBytes(Math.min(CHUNK, Math.max(1, bytes)));
  try {
    const t0 = performance.now();
    await Promise.all(
      shares(bytes, files).map(async (n, i) => {
        const fh = await open(path.join(dir, `f${i}`), 'w');
        try {
          for (let left = n; left > 0; left -= block.length) await fh.write(block, 0, Math.min(block.length, left));
          await fh.sync();
        } finally {
          await fh.close();
        }
      }),
    );
    const t1 = performance.now();
    const buf = Buffer.allocUnsafe(block.length);
    await Promise.all(
      shares(bytes, files).map(async (n, i) => {
        const own = i === 0 ? buf : Buffer.allocUnsafe(block.length);
        const fh = await open(path.join(dir, `f${i}`), 'r');
        try {
          let pos = 0;
          while (pos < n) {
            const { bytesRead } = await fh.read(own, 0, Math.min(own.length, n - pos), pos);
            if (bytesRead === 0) break;
            pos += bytesRead;
          }
        } finally {
          await fh.close();
        }
      }),
    );
    const t2 = performance.now();
    return { bytes, files, writeMs: t1 - t0, readMs: t2 - t1, totalMs: t2 - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The same bytes through the checkpoint path: `files` subtasks write 128 key groups' worth of
 * state files, `_metadata` is written atomically, then the snapshot is loaded and every new
 * subtask (at parallelism files+1) reads its key groups with CRC checks.
 */
export async function measureCheckpointIo(bytes: number, opts: { files?: number; dir?: string } = {}): Promise<IoFigures> {
  const p = opts.files ?? 4;
  const maxP = 128;
  const dir = await mkdtemp(path.join(opts.dir ?? tmpdir(), 'fp-chkio-'));
  const perGroup = Math.max(1, Math.floor(bytes / maxP));
  const block = randomBytes(Math.min(perGroup, CHUNK));
  const groupBytes = (): Uint8Array[] => {
    const parts: Uint8Array[] = [];
    for (let left = perGroup; left > 0; left -= block.length) parts.push(block.subarray(0, Math.min(block.length, left)));
    return parts;
  };
  const vertexId = 'f'.repeat(32);
  const opId = 'e'.repeat(32);
  const graphAt = (parallelism: number): JobGraph => ({
    jobId: 'd'.repeat(32), jobName: 'io', config: {},
    vertices: [{ id: vertexId, name: 'state', parallelism, maxParallelism: maxP, maxParallelismConfigured: false, operators: [{ id: opId, uid: 'state', name: 'state', kind: 'keyedProcess' }], inputs: [], isSource: false, isSink: false }],
  });
  try {
    // The snapshot bytes exist before the write starts (the state backend made them); only the write is timed.
    const snapshots = Array.from({ length: p }, (_, i) => {
      const r = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
      const keyGroups = new Map<number, Uint8Array>();
      for (let kg = r.start; kg <= r.end; kg++) keyGroups.set(kg, Buffer.concat(groupBytes()));
      return { checkpointId: 1, operators: [{ operatorId: opId, keyGroups, operatorState: [], unionState: [] }] };
    });
    const t0 = performance.now();
    const handles = await Promise.all(snapshots.map((snap, i) => writeSubtaskState(dir, vertexId, i, snap)));
    const acks = new Map<string, SubtaskStateHandle>(handles.map((h) => [`${vertexId}#${h.subtaskIndex}`, h]));
    await writeMetadataAtomically(dir, buildMetadata(graphAt(p), { checkpointId: 1, kind: 'SAVEPOINT', formatType: 'CANONICAL', triggerTimestamp: 0, acks }, 'io', 'd'.repeat(32), 1));
    const t1 = performance.now();
    const loaded = await loadCheckpoint(dir);
    const plans = assignRestoreState(loaded, graphAt(p + 1), { allowNonRestoredState: false }).subtasks[vertexId]!;
    for (const plan of plans) await readSubtaskRestore(plan);
    const t2 = performance.now();
    return { bytes: perGroup * maxP, files: p, writeMs: t1 - t0, readMs: t2 - t1, totalMs: t2 - t0 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatFigures(label: string, f: IoFigures): string {
  const mb = f.bytes / 1024 / 1024;
  const rate = (ms: number) => (ms > 0 ? `${(mb / (ms / 1000)).toFixed(0)} MB/s` : '-');
  return `${label.padEnd(22)} ${mb.toFixed(0).padStart(6)} MB  write ${f.writeMs.toFixed(0).padStart(6)} ms (${rate(f.writeMs)})  read ${f.readMs.toFixed(0).padStart(6)} ms (${rate(f.readMs)})  total ${f.totalMs.toFixed(0).padStart(6)} ms`;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const arg = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
  const sizes = (arg('--bytes') ?? '10MB,100MB').split(',').map(parseBytes);
  const files = Number(arg('--files') ?? 4);
  const dir = arg('--dir');
  for (const bytes of sizes) {
    const raw = await measureIoBaseline(bytes, { files, dir });
    const chk = await measureCheckpointIo(bytes, { files, dir });
    console.log(formatFigures('raw fs', raw));
    console.log(formatFigures('checkpoint modules', chk));
    console.log(`${''.padEnd(22)} checkpoint / raw = ${(chk.totalMs / raw.totalMs).toFixed(2)}`);
  }
}
