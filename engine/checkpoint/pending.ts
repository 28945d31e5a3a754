/**
 * The coordinator's bookkeeping helpers for one pending checkpoint: checking that an
 * acknowledgement fits the running graph (right vertex, subtask, checkpoint, operators, a plain
 * file name), turning the collected handles into `_metadata` (per operator: parallelism,
 * maxParallelism, per subtask the file and its chunk index), and checking that every state
 * file is on disk with its acknowledged size before `_metadata` makes the checkpoint real.
 * Inline state (below the memory threshold) arrives in the handle and goes into `_metadata`.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { JobGraph } from '../contracts/job-graph.ts';
import type { CheckpointMetadata, OperatorStateMeta, SnapshotKind, StateFileMeta, SubtaskStateHandle } from './metadata.ts';

const FILE_NAME = /^[A-Za-z0-9._-]+$/;

/** Why an acknowledgement does not fit, or null when it does. */
export function checkHandle(graph: JobGraph, checkpointId: number, vertexId: string, subtaskIndex: number, h: SubtaskStateHandle): string | null {
  const v = graph.vertices.find((x) => x.id === vertexId);
  if (!v) return `unknown vertex ${vertexId}`;
  if (!Number.isInteger(subtaskIndex) || subtaskIndex < 0 || subtaskIndex >= v.parallelism) return `subtask ${subtaskIndex} outside 0..${v.parallelism - 1}`;
  if (h.checkpointId !== checkpointId || h.vertexId !== vertexId || h.subtaskIndex !== subtaskIndex) return 'handle names another checkpoint or subtask';
  if (h.file !== null && (!FILE_NAME.test(h.file) || h.file === '.' || h.file === '..' || h.file.startsWith('_metadata'))) return `bad state file name ${h.file}`;
  if (h.inline !== undefined && (!(h.inline instanceof Uint8Array) || h.file === null || h.inline.byteLength !== h.size)) return 'inline state does not match its handle';
  const ids = new Set(v.operators.map((o) => o.id));
  for (const op of h.operators) if (!ids.has(op.operatorId)) return `operator ${op.operatorId} is not in vertex ${vertexId}`;
  return null;
}

export interface PendingLike {
  checkpointId: number;
  kind: SnapshotKind;
  formatType: 'CANONICAL' | 'NATIVE';
  triggerTimestamp: number;
  acks: Map<string, SubtaskStateHandle>;
}

export function buildMetadata(graph: JobGraph, p: PendingLike, jobName: string, jobId: string, completionTimestamp: number): CheckpointMetadata {
  const files = new Map<string, StateFileMeta>();
  const operators: OperatorStateMeta[] = [];
  for (const v of graph.vertices) {
    const handles = Array.from({ length: v.parallelism }, (_, i) => p.acks.get(`${v.id}#${i}`));
    for (const h of handles) if (h?.file) files.set(h.file, h.inline !== undefined ? { name: h.file, size: h.size, inline: h.inline } : { name: h.file, size: h.size });
    for (const op of v.operators) {
      operators.push({
        operatorId: op.id,
        vertexId: v.id,
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        subtasks: handles.map((h, subtaskIndex) => {
          const chunks = h?.operators.find((o) => o.operatorId === op.id);
          const any = chunks !== undefined && chunks.keyGroups.length + chunks.operatorState.length + chunks.unionState.length > 0;
          return {
            subtaskIndex,
            file: any ? h!.file : null,
            keyGroups: any ? chunks.keyGroups : [],
            operatorState: any ? chunks.operatorState : [],
            unionState: any ? chunks.unionState : [],
          };
        }),
      });
    }
  }
  return {
    checkpointId: p.checkpointId,
    jobId,
    jobName,
    kind: p.kind,
    formatType: p.formatType,
    triggerTimestamp: p.triggerTimestamp,
    completionTimestamp,
    files: [...files.values()],
    operators,
  };
}

/** Throws when a state file named by the metadata is missing or has another size than acknowledged (inline state has no file). */
export async function verifyStateFiles(dir: string, meta: CheckpointMetadata): Promise<void> {
  for (const f of meta.files) {
    if (f.inline !== undefined) continue;
    const st = await stat(path.join(dir, f.name));
    if (st.size !== f.size) throw new Error(`state file ${f.name} has ${st.size} bytes, acknowledged ${f.size}`);
  }
}
