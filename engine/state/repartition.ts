/**
 * Redistributes one vertex's in-memory subtask snapshots to a new parallelism (the local test
 * harness's restore), by the same rule a restore from files uses (state-assignment.ts).
 * `snapshots` are indexed by old subtask index.
 */
import type { OperatorSnapshot, SubtaskRestore, SubtaskSnapshot } from '../contracts/task.ts';
import { assignOperatorState, type StatePart } from './state-assignment.ts';

export function repartitionSnapshots(snapshots: SubtaskSnapshot[], newParallelism: number, maxParallelism: number): SubtaskRestore[] {
  const checkpointId = snapshots[0]?.checkpointId ?? 0;
  const empty: StatePart<Uint8Array> = { keyGroups: [], operatorState: [], unionState: [] };
  const operatorIds = new Set(snapshots.flatMap((s) => s.operators.map((op) => op.operatorId)));
  const restores: SubtaskRestore[] = [];
  for (let i = 0; i < newParallelism; i++) restores.push({ checkpointId, operators: new Map() });
  for (const operatorId of operatorIds) {
    const parts = snapshots.map((s): StatePart<Uint8Array> => {
      const op = s.operators.find((o) => o.operatorId === operatorId);
      return op ? { keyGroups: [...op.keyGroups], operatorState: op.operatorState, unionState: op.unionState } : empty;
    });
    for (let i = 0; i < newParallelism; i++) {
      const own = assignOperatorState(parts, newParallelism, maxParallelism, i);
      const snapshot: OperatorSnapshot = { operatorId, keyGroups: new Map(own.keyGroups), operatorState: own.operatorState, unionState: own.unionState };
      restores[i]!.operators.set(operatorId, snapshot);
    }
  }
  return restores;
}
