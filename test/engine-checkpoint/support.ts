/**
 * Shared helpers for the checkpoint tests: job graphs with hex ids, temp directories that are
 * always removed, real keyed-state backends filled with per-key counters, and a full
 * "snapshot every subtask → write files → finalize _metadata" cycle through the real modules.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { JobGraph, JobVertexSpec } from '../../engine/contracts/job-graph.ts';
import type { SubtaskSnapshot } from '../../engine/contracts/task.ts';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../../engine/keygroups/key-groups.ts';
import { HeapKeyedStateBackend } from '../../engine/state/keyed-backend.ts';
import { encodeState } from '../../engine/state/serde.ts';
import { writeSubtaskState } from '../../engine/checkpoint/state-files.ts';
import { buildMetadata } from '../../engine/checkpoint/pending.ts';
import { CheckpointStorage, type CheckpointLocation } from '../../engine/checkpoint/storage.ts';
import type { SubtaskStateHandle } from '../../engine/checkpoint/metadata.ts';

export const JOB_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

export function hexId(name: string): string {
  return createHash('md5').update(name).digest('hex');
}

export async function tempDir(t: TestContext, prefix = 'fp-chk-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface VertexOpts {
  name: string;
  parallelism: number;
  maxParallelism?: number;
  configured?: boolean;
  operators?: string[];
}

export function vertex(o: VertexOpts): JobVertexSpec {
  const ops = o.operators ?? [o.name];
  return {
    id: hexId(`vertex:${o.name}`),
    name: o.name,
    parallelism: o.parallelism,
    maxParallelism: o.maxParallelism ?? 128,
    maxParallelismConfigured: o.configured ?? false,
    operators: ops.map((n) => ({ id: hexId(`op:${n}`), uid: n, name: n, kind: 'keyedProcess' })),
    inputs: [],
    isSource: false,
    isSink: false,
  };
}

export function graph(vertices: JobVertexSpec[]): JobGraph {
  return { jobId: JOB_ID, jobName: 'test job', vertices, config: {} };
}

/** Snapshots of a "counter" operator: keyed counts per key plus one operator-state entry and one union entry per subtask. */
export function countingSnapshots(v: JobVertexSpec, counts: Map<string, number>, checkpointId: number): SubtaskSnapshot[] {
  const opId = v.operators[0]!.id;
  return Array.from({ length: v.parallelism }, (_, i) => {
    const range = computeKeyGroupRangeForOperatorIndex(v.maxParallelism, v.parallelism, i);
    const b = new HeapKeyedStateBackend(range, v.maxParallelism, () => 0);
    const st = b.getValueState<number>('count');
    for (const [key, n] of counts) {
      const kg = keyGroupOf(key, v.maxParallelism);
      if (kg < range.start || kg > range.end) continue;
      b.setCurrentKey(key);
      st.update(n);
    }
    return {
      checkpointId,
      operators: [{ operatorId: opId, keyGroups: b.snapshot(), operatorState: [encodeState({ offset: `p${i}` })], unionState: [encodeState({ u: i })] }],
    };
  });
}

export function keyGroupOf(key: string, maxP: number): number {
  return assignToKeyGroup(key, maxP);
}

/** Writes every subtask's snapshot into `location.dir` and finalizes `_metadata`, as the coordinator would. */
export async function writeSnapshot(
  storage: CheckpointStorage,
  location: CheckpointLocation,
  g: JobGraph,
  snapshots: Map<string, SubtaskSnapshot[]>,
): Promise<void> {
  const acks = new Map<string, SubtaskStateHandle>();
  for (const v of g.vertices) {
    const snaps = snapshots.get(v.id) ?? [];
    for (let i = 0; i < v.parallelism; i++) {
      const snap = snaps[i] ?? { checkpointId: location.checkpointId, operators: [] };
      acks.set(`${v.id}#${i}`, await writeSubtaskState(location.dir, v.id, i, snap));
    }
  }
  const meta = buildMetadata(g, { checkpointId: location.checkpointId, kind: location.kind, formatType: 'CANONICAL', triggerTimestamp: 1000, acks }, g.jobName, JOB_ID, 2000);
  await storage.finalize(location, meta);
}
