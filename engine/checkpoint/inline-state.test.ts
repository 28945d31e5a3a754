import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isFlowpilotError } from '../../common/errors.ts';
import type { JobGraph, JobVertexSpec } from '../contracts/job-graph.ts';
import type { SubtaskSnapshot } from '../contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import { DEFAULT_MEMORY_THRESHOLD, inlineThresholdOf, parseCheckpointConfig, parseMemorySize } from './config.ts';
import { decodeMetadata, METADATA_FILE_NAME, type SubtaskStateHandle } from './metadata.ts';
import { buildMetadata, checkHandle } from './pending.ts';
import { assignRestoreState, readSubtaskRestore } from './restore.ts';
import { loadCheckpoint, writeMetadataAtomically } from './storage.ts';
import { readChunks, writeSubtaskState } from './state-files.ts';

const OP = 'aa'.repeat(16);
const VID = 'f'.repeat(32);
const JOB = 'ab'.repeat(16);
const MAXP = 128;

const vertex = (parallelism: number): JobVertexSpec => ({
  id: VID, name: 'Counter', parallelism, maxParallelism: MAXP, maxParallelismConfigured: false,
  operators: [{ id: OP, uid: OP, name: 'count', kind: 'map' }], inputs: [], isSource: false, isSink: false,
});
const graph = (parallelism: number): JobGraph => ({ jobName: 'j', vertices: [vertex(parallelism)], config: {} });

/** Bytes of key group `kg`: `size` bytes derived from kg, so every key group's content is distinct. */
const kgBytes = (kg: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (kg * 31 + i) % 251);

/** Subtask i of `parallelism`: every key group of its range with `kgSize` bytes, one list entry and one union entry. */
function snapshot(parallelism: number, i: number, kgSize: number): SubtaskSnapshot {
  const r = computeKeyGroupRangeForOperatorIndex(MAXP, parallelism, i);
  const keyGroups = new Map<number, Uint8Array>();
  for (let kg = r.start; kg <= r.end; kg++) keyGroups.set(kg, kgBytes(kg, kgSize));
  return { checkpointId: 4, operators: [{ operatorId: OP, keyGroups, operatorState: [Uint8Array.of(10 + i)], unionState: [Uint8Array.of(50 + i, 7)] }] };
}

/** Writes subtasks with the given key-group sizes as the coordinator would, then `_metadata`. */
async function checkpoint(dir: string, kgSizes: number[], threshold: number): Promise<SubtaskStateHandle[]> {
  const handles: SubtaskStateHandle[] = [];
  for (let i = 0; i < kgSizes.length; i++) handles.push(await writeSubtaskState(dir, VID, i, snapshot(kgSizes.length, i, kgSizes[i]!), threshold));
  const acks = new Map(handles.map((h) => [`${VID}#${h.subtaskIndex}`, h]));
  for (const h of handles) assert.equal(checkHandle(graph(kgSizes.length), 4, VID, h.subtaskIndex, h), null);
  const meta = buildMetadata(graph(kgSizes.length), { checkpointId: 4, kind: 'CHECKPOINT', formatType: 'CANONICAL', triggerTimestamp: 1, acks }, 'j', JOB, 2);
  await writeMetadataAtomically(dir, meta);
  return handles;
}

/** Restores `dir` at `parallelism` and checks every key group, list entry and union entry arrived once and intact. */
async function restoreAndCheck(dir: string, from: number, parallelism: number, kgSizeOfOldSubtask: (i: number) => number): Promise<void> {
  const loaded = await loadCheckpoint(dir, { verify: 'full' });
  const a = assignRestoreState(loaded, graph(parallelism), { allowNonRestoredState: false });
  const seen = new Set<number>();
  const lists: number[] = [];
  for (let i = 0; i < parallelism; i++) {
    // Through msgpack as a TaskDeployment would ship it: plain data only.
    const restored = await readSubtaskRestore(structuredClone(a.subtasks[VID]![i]!));
    const op = restored.operators.get(OP)!;
    const r = computeKeyGroupRangeForOperatorIndex(MAXP, parallelism, i);
    for (const [kg, bytes] of op.keyGroups) {
      assert.ok(kg >= r.start && kg <= r.end);
      const oldOwner = Array.from({ length: from }, (_, k) => k).find((k) => {
        const o = computeKeyGroupRangeForOperatorIndex(MAXP, from, k);
        return kg >= o.start && kg <= o.end;
      })!;
      assert.deepEqual(new Uint8Array(bytes), kgBytes(kg, kgSizeOfOldSubtask(oldOwner)), `key group ${kg}`);
      seen.add(kg);
    }
    lists.push(...op.operatorState.map((b) => b[0]!));
    assert.deepEqual(op.unionState.map((b) => [...b]), Array.from({ length: from }, (_, k) => [50 + k, 7]));
  }
  assert.equal(seen.size, MAXP);
  assert.deepEqual(lists.sort((x, y) => x - y), Array.from({ length: from }, (_, k) => 10 + k));
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fp-inline-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const stateFiles = async (dir: string) => (await readdir(dir)).filter((n) => n !== METADATA_FILE_NAME);

describe('inline state below state.storage.fs.memory-threshold', () => {
  it('a small state is acknowledged inline, stored only in _metadata, and restores from it at another parallelism', () =>
    withDir(async (dir) => {
      const handles = await checkpoint(dir, [8, 8], DEFAULT_MEMORY_THRESHOLD);
      for (const h of handles) {
        assert.ok(h.inline instanceof Uint8Array);
        assert.equal(h.inline.byteLength, h.size);
      }
      assert.deepEqual(await stateFiles(dir), [], 'no state file written');
      const raw = await readFile(path.join(dir, METADATA_FILE_NAME));
      assert.equal(raw.readUInt32BE(4), 2, 'format version 2 when state is inline');
      const meta = decodeMetadata(raw, 'x');
      assert.equal(meta.files.filter((f) => f.inline !== undefined).length, 2);
      for (const to of [1, 2, 3]) await restoreAndCheck(dir, 2, to, () => 8);
    }));

  it('a state at or above the threshold still goes to a file, and metadata without inline state keeps format version 1', () =>
    withDir(async (dir) => {
      // 64 key groups of 400 bytes = 25.6 kB per subtask, above 20 kb.
      const handles = await checkpoint(dir, [400, 400], DEFAULT_MEMORY_THRESHOLD);
      for (const h of handles) assert.equal(h.inline, undefined);
      assert.equal((await stateFiles(dir)).length, 2);
      assert.equal((await readFile(path.join(dir, METADATA_FILE_NAME))).readUInt32BE(4), 1);
      await restoreAndCheck(dir, 2, 3, () => 400);
    }));

  it('the boundary is exclusive, and threshold 0 always writes files', () =>
    withDir(async (dir) => {
      const snap: SubtaskSnapshot = { checkpointId: 4, operators: [{ operatorId: OP, keyGroups: new Map([[3, new Uint8Array(100)]]), operatorState: [], unionState: [] }] };
      assert.equal((await writeSubtaskState(dir, VID, 0, snap, 100)).inline, undefined);
      assert.ok((await writeSubtaskState(dir, VID, 1, snap, 101)).inline);
      assert.equal((await writeSubtaskState(dir, VID, 2, snap, 0)).inline, undefined);
      assert.equal((await stateFiles(dir)).length, 2);
    }));

  it('restores a checkpoint mixing inline and file state, rescaled up and down', () =>
    withDir(async (dir) => {
      const sizes = [8, 600, 8]; // subtasks 0 and 2 inline, 1 to a file
      const handles = await checkpoint(dir, sizes, DEFAULT_MEMORY_THRESHOLD);
      assert.deepEqual(handles.map((h) => h.inline !== undefined), [true, false, true]);
      assert.equal((await stateFiles(dir)).length, 1);
      for (const to of [1, 2, 3, 5]) await restoreAndCheck(dir, 3, to, (i) => sizes[i]!);
    }));

  it('a damaged inline chunk in a restore plan is refused, not restored', () =>
    withDir(async (dir) => {
      await checkpoint(dir, [8], DEFAULT_MEMORY_THRESHOLD);
      const a = assignRestoreState(await loadCheckpoint(dir), graph(1), { allowNonRestoredState: false });
      const read = a.subtasks[VID]![0]!.operators[0]!.keyGroups[5]!.read;
      assert.ok(read.inline);
      read.inline[0] = read.inline[0]! ^ 0xff;
      await assert.rejects(readChunks(dir, [read]), (e) => isFlowpilotError(e, 'FP_SAVEPOINT_CORRUPT'));
    }));

  it('refuses a handle whose inline bytes do not match its size', () => {
    const h: SubtaskStateHandle = { checkpointId: 4, vertexId: VID, subtaskIndex: 0, file: 'x.state', size: 3, inline: new Uint8Array(2), operators: [] };
    assert.match(checkHandle(graph(1), 4, VID, 0, h) ?? '', /inline/);
  });
});

describe('state.storage.fs.memory-threshold', () => {
  it('parses Flink memory sizes, defaults to 20 kb, honours the old key and caps at 1 mb', () => {
    assert.equal(parseMemorySize('20kb'), 20480);
    assert.equal(parseMemorySize('1 mb'), 1048576);
    assert.equal(parseMemorySize('512'), 512);
    assert.throws(() => parseMemorySize('12 parsecs'));
    assert.equal(parseCheckpointConfig({}).inlineThreshold, 20480);
    assert.equal(parseCheckpointConfig({ 'state.storage.fs.memory-threshold': '0' }).inlineThreshold, 0);
    assert.equal(parseCheckpointConfig({ 'state.backend.fs.memory-threshold': '1kb' }).inlineThreshold, 1024);
    assert.throws(() => parseCheckpointConfig({ 'state.storage.fs.memory-threshold': '2mb' }), (e) => isFlowpilotError(e, 'FP_CHECKPOINT_CONFIG'));
    assert.equal(inlineThresholdOf({}), 20480);
    assert.equal(inlineThresholdOf({ 'state.storage.fs.memory-threshold': '4 kb' }), 4096);
    assert.equal(inlineThresholdOf({ 'state.backend.fs.memory-threshold': '0' }), 0);
  });
});
