/**
 * Cuts a completed checkpoint into the restore of one new subtask, as Flink's
 * StateAssignmentOperation does: keyed state by the key groups in the subtask's range
 * (so any parallelism up to maxParallelism restores exactly its own), operator list state
 * kept per subtask when the parallelism is unchanged and otherwise redistributed round robin
 * (SPLIT_DISTRIBUTE), and union state given to every subtask in full.
 */
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';
import type { SubtaskSnapshotWire } from '../runtime/deployment.ts';

/** The snapshots of one vertex from a completed checkpoint, by old subtask index. */
export interface VertexCheckpoint {
  parallelism: number;
  subtasks: SubtaskSnapshotWire[];
}

export function assignSubtaskState(
  checkpointId: number,
  vertex: VertexCheckpoint,
  maxParallelism: number,
  newParallelism: number,
  subtaskIndex: number,
): SubtaskSnapshotWire {
  const range = computeKeyGroupRangeForOperatorIndex(maxParallelism, newParallelism, subtaskIndex);
  const byOperator = new Map<string, SubtaskSnapshotWire['operators'][number]>();
  const ensure = (operatorId: string) => {
    let op = byOperator.get(operatorId);
    if (!op) {
      op = { operatorId, keyGroups: [], operatorState: [], unionState: [] };
      byOperator.set(operatorId, op);
    }
    return op;
  };
  const samePar = vertex.parallelism === newParallelism;
  const listState = new Map<string, Uint8Array[]>();
  for (const [oldIndex, snap] of vertex.subtasks.entries()) {
    if (!snap) continue;
    for (const o of snap.operators) {
      const op = ensure(o.operatorId);
      for (const [kg, bytes] of o.keyGroups) if (kg >= range.start && kg <= range.end) op.keyGroups.push([kg, bytes]);
      op.unionState.push(...o.unionState);
      if (samePar) {
        if (oldIndex === subtaskIndex) op.operatorState.push(...o.operatorState);
      } else {
        const all = listState.get(o.operatorId) ?? [];
        all.push(...o.operatorState);
        listState.set(o.operatorId, all);
      }
    }
  }
  if (!samePar) {
    for (const [operatorId, all] of listState) {
      const op = ensure(operatorId);
      for (let i = subtaskIndex; i < all.length; i += newParallelism) op.operatorState.push(all[i]!);
    }
  }
  return { checkpointId, operators: [...byOperator.values()] };
}
