/**
 * The state-assignment rule of a restore, as Flink's StateAssignmentOperation, over any handle
 * type (bytes in memory, or chunk references in state files): which of one operator's state
 * entries, taken at `oldParallelism`, new subtask `i` of `newParallelism` gets.
 *   - keyed state: exactly the key groups of the subtask's new range
 *     (computeKeyGroupRangeForOperatorIndex), ascending;
 *   - operator list state: kept per subtask when the parallelism is unchanged, else every entry
 *     dealt round-robin in old-subtask order;
 *   - union state: every entry to every subtask.
 */
import { computeKeyGroupRangeForOperatorIndex } from '../keygroups/key-groups.ts';

/** One old subtask's state of one operator. */
export interface StatePart<T> {
  keyGroups: Array<[keyGroup: number, handle: T]>;
  operatorState: T[];
  unionState: T[];
}

/** `parts` are indexed by old subtask index (one per old subtask). */
export function assignOperatorState<T>(parts: readonly StatePart<T>[], newParallelism: number, maxParallelism: number, i: number): StatePart<T> {
  const range = computeKeyGroupRangeForOperatorIndex(maxParallelism, newParallelism, i);
  const keyGroups: Array<[number, T]> = [];
  for (const p of parts) for (const e of p.keyGroups) if (e[0] >= range.start && e[0] <= range.end) keyGroups.push(e);
  keyGroups.sort((a, b) => a[0] - b[0]);
  const operatorState = parts.length === newParallelism ? [...parts[i]!.operatorState] : parts.flatMap((p) => p.operatorState).filter((_, j) => j % newParallelism === i);
  const unionState = parts.flatMap((p) => p.unionState);
  return { keyGroups, operatorState, unionState };
}
