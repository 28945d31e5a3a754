/**
 * Operator (non-keyed) state for sources, sinks and other connectors, as Flink's
 * OperatorStateStore: named list states whose elements are redistributed round-robin on
 * rescale (getListState, Flink's SPLIT_DISTRIBUTE) and named union list states that every
 * subtask receives whole on restore (getUnionListState). Each element travels as one
 * Uint8Array entry of the contract's OperatorSnapshot, tagged with its state's name.
 */
import type { OperatorStateSnapshot } from '../api/functions.ts';
import { decodeState, encodeState } from './serde.ts';

export class OperatorStateStore {
  private readonly lists = new Map<string, unknown[]>();
  private readonly unions = new Map<string, unknown[]>();

  /** Loads restored entries (already redistributed by the runtime). */
  constructor(restored: { operatorState: Uint8Array[]; unionState: Uint8Array[] } | null) {
    if (restored === null) return;
    for (const e of restored.operatorState) {
      const [name, v] = decodeState<[string, unknown]>(e);
      this.getListState(name).push(v);
    }
    for (const e of restored.unionState) {
      const [name, v] = decodeState<[string, unknown]>(e);
      this.getUnionListState(name).push(v);
    }
  }

  /** A mutable list; its elements are split round-robin over subtasks on restore. */
  getListState<T>(name: string): T[] {
    let l = this.lists.get(name);
    if (l === undefined) {
      l = [];
      this.lists.set(name, l);
    }
    return l as T[];
  }

  /** A mutable list; on restore every subtask gets the elements of all subtasks. */
  getUnionListState<T>(name: string): T[] {
    let l = this.unions.get(name);
    if (l === undefined) {
      l = [];
      this.unions.set(name, l);
    }
    return l as T[];
  }

  snapshot(): OperatorStateSnapshot {
    const operatorState: Uint8Array[] = [];
    const unionState: Uint8Array[] = [];
    for (const [name, l] of this.lists) for (const v of l) operatorState.push(encodeState([name, v]));
    for (const [name, l] of this.unions) for (const v of l) unionState.push(encodeState([name, v]));
    return { operatorState, unionState };
  }
}
