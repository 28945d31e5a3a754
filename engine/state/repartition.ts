/**
 * Redistributes one vertex's subtask snapshots to a new parallelism, as Flink's
 * StateAssignmentOperation: keyed state goes by key group to the subtask whose range holds it
 * (computeKeyGroupRangeForOperatorIndex); operator list state is concatenated and dealt
 * round-robin; union state is given whole to every subtask. The runtime may use this when it
 * restores a checkpoint or savepoint at a different parallelism.
 */
import type { OperatorSnapshot, SubtaskRestore, SubtaskSnapshot } from '../contracts/task.ts';
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';

export function repartitionSnapshots(snapshots: SubtaskSnapshot[], newParallelism: number, maxParallelism: number): SubtaskRestore[] {
  const checkpointId = snapshots[0]?.checkpointId ?? 0;
  const byOperator = new Map<string, OperatorSnapshot[]>();
  for (const s of snapshots) {
    for (const op of s.operators) {
      const list = byOperator.get(op.operatorId) ?? [];
      list.push(op);
      byOperator.set(op.operatorId, list);
    }
  }
  const restores: SubtaskRestore[] = [];
  for (let i = 0; i < newParallelism; i++) restores.push({ checkpointId, operators: new Map() });
  for (const [operatorId, parts] of byOperator) {
    const listEntries = parts.flatMap((p) => p.operatorState);
    const union = parts.flatMap((p) => p.unionState);
    for (let i = 0; i < newParallelism; i++) {
      const range = computeKeyGroupRangeForOperatorIndex(maxParallelism, newParallelism, i);
      const keyGroups = new Map<number, Uint8Array>();
      for (const p of parts) {
        for (const [kg, bytes] of p.keyGroups) if (kg >= range.start && kg <= range.end) keyGroups.set(kg, bytes);
      }
      const operatorState = listEntries.filter((_, j) => j % newParallelism === i);
      restores[i]!.operators.set(operatorId, { operatorId, keyGroups, operatorState, unionState: union });
    }
  }
  return restores;
}
