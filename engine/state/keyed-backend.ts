/**
 * A heap keyed-state backend, partitioned by key group as Flink's HeapKeyedStateBackend: each
 * state name has one table per key group in this subtask's range, mapping key -> value (value
 * state), key -> (user key -> value) (map state) or key -> values (list state). With TTL every
 * entry carries its last-access time (see ttl.ts). Snapshots are serialized per key group, so a
 * restore at any parallelism loads exactly the key groups of its new range. Extra per-key-group
 * sections (timers) plug in through `addSection`.
 */
import { FlowpilotError } from '../../common/errors.ts';
import type { KeyGroupRange } from '../contracts/task.ts';
import { assignToKeyGroup, keyGroupRangeSize } from '../keygroups/key-groups.ts';
import { decodeState, encodeState } from './serde.ts';
import type { ListState, MapState, StateOptions, StateTtlConfig, ValueState } from './state-types.ts';
import { ListStateHandle, MapStateHandle, ValueStateHandle } from './state-handles.ts';

export type StateKind = 'value' | 'map' | 'list';

export interface StateTable {
  readonly name: string;
  readonly kind: StateKind;
  ttl: StateTtlConfig | undefined;
  /** Index: key group - range.start. */
  readonly groups: Array<Map<unknown, unknown>>;
}

/** A per-key-group section of a snapshot that is not a state table (e.g. timers). */
export interface KeyGroupSection {
  snapshot(keyGroup: number): unknown;
  restore(keyGroup: number, data: unknown): void;
}

/** JS Maps compare objects by identity; composite keys are stored by their JSON text. */
export function normalizeKey(key: unknown): unknown {
  return typeof key === 'object' && key !== null ? JSON.stringify(key) : key;
}

export class HeapKeyedStateBackend {
  readonly range: KeyGroupRange;
  readonly maxParallelism: number;
  readonly now: () => number;
  private readonly tables = new Map<string, StateTable>();
  private readonly sections = new Map<string, KeyGroupSection>();
  /** The current key as stored (normalized) and as the user gave it. */
  currentKey: unknown = undefined;
  currentUserKey: unknown = undefined;
  currentKeyGroup = -1;
  /** currentKeyGroup - range.start. */
  slot = -1;

  constructor(range: KeyGroupRange, maxParallelism: number, now: () => number) {
    this.range = range;
    this.maxParallelism = maxParallelism;
    this.now = now;
  }

  setCurrentKey(key: unknown): void {
    const kg = assignToKeyGroup(key, this.maxParallelism);
    if (kg < this.range.start || kg > this.range.end) {
      throw new FlowpilotError(
        'FP_STATE_KEY_GROUP',
        `key ${String(key)} belongs to key group ${kg}, outside this subtask's range [${this.range.start}, ${this.range.end}]; records must reach keyed operators through a HASH edge with the same maxParallelism`,
      );
    }
    this.currentUserKey = key;
    this.currentKey = normalizeKey(key);
    this.currentKeyGroup = kg;
    this.slot = kg - this.range.start;
  }

  /** Sets a key already known to be in `keyGroup` (restored timers). */
  setCurrentKeyInGroup(key: unknown, keyGroup: number): void {
    this.currentUserKey = key;
    this.currentKey = key;
    this.currentKeyGroup = keyGroup;
    this.slot = keyGroup - this.range.start;
  }

  table(name: string, kind: StateKind, ttl: StateTtlConfig | undefined): StateTable {
    let t = this.tables.get(name);
    if (t === undefined) {
      const groups: Array<Map<unknown, unknown>> = [];
      for (let i = 0; i < keyGroupRangeSize(this.range); i++) groups.push(new Map());
      t = { name, kind, ttl, groups };
      this.tables.set(name, t);
    } else if (t.kind !== kind) {
      throw new FlowpilotError('FP_STATE_KIND', `state "${name}" is ${t.kind} state, not ${kind} state; use another name`);
    }
    if (ttl !== undefined) t.ttl = ttl;
    return t;
  }

  getValueState<T>(name: string, options?: StateOptions): ValueState<T> {
    return new ValueStateHandle<T>(this, this.table(name, 'value', options?.ttl));
  }

  getMapState<UK, UV>(name: string, options?: StateOptions): MapState<UK, UV> {
    return new MapStateHandle<UK, UV>(this, this.table(name, 'map', options?.ttl));
  }

  getListState<T>(name: string, options?: StateOptions): ListState<T> {
    return new ListStateHandle<T>(this, this.table(name, 'list', options?.ttl));
  }

  addSection(name: string, section: KeyGroupSection): void {
    this.sections.set(name, section);
  }

  /** Keys with state in `name` across the range (for tests and diagnostics). */
  keys(name: string): unknown[] {
    const t = this.tables.get(name);
    const out: unknown[] = [];
    if (t !== undefined) for (const g of t.groups) for (const k of g.keys()) out.push(k);
    return out;
  }

  snapshot(): Map<number, Uint8Array> {
    const result = new Map<number, Uint8Array>();
    const now = this.now();
    for (let kg = this.range.start; kg <= this.range.end; kg++) {
      const slot = kg - this.range.start;
      const tables: unknown[] = [];
      for (const t of this.tables.values()) {
        const g = t.groups[slot]!;
        if (g.size === 0) continue;
        const entries: unknown[] = [];
        for (const [k, v] of g) {
          const live = t.ttl !== undefined ? liveForSnapshot(t, v, now) : t.kind === 'map' ? [...(v as Map<unknown, unknown>)] : v;
          if (live !== undefined) entries.push([k, live]);
        }
        if (entries.length > 0) tables.push([t.name, t.kind, entries]);
      }
      const sections: unknown[] = [];
      for (const [name, s] of this.sections) {
        const data = s.snapshot(kg);
        if (data !== undefined) sections.push([name, data]);
      }
      if (tables.length > 0 || sections.length > 0) result.set(kg, encodeState([tables, sections]));
    }
    return result;
  }

  /** Loads the key groups in this subtask's range; others are ignored. Call before user functions open. */
  restore(keyGroups: Map<number, Uint8Array>): void {
    for (const [kg, bytes] of keyGroups) {
      if (kg < this.range.start || kg > this.range.end) continue;
      const slot = kg - this.range.start;
      const [tables, sections] = decodeState<[Array<[string, StateKind, Array<[unknown, unknown]>]>, Array<[string, unknown]>]>(bytes);
      for (const [name, kind, entries] of tables) {
        const g = this.table(name, kind, undefined).groups[slot]!;
        for (const [k, v] of entries) g.set(k, kind === 'map' ? new Map(v as Array<[unknown, unknown]>) : v);
      }
      for (const [name, data] of sections) this.sections.get(name)?.restore(kg, data);
    }
  }
}

/** Drops expired entries from a TTL table's snapshot (Flink's cleanup in full snapshot). */
function liveForSnapshot(t: StateTable, v: unknown, now: number): unknown {
  const ttl = t.ttl!.ttlMs;
  if (t.kind === 'value') return (v as { t: number }).t + ttl <= now ? undefined : v;
  if (t.kind === 'list') {
    const live = (v as Array<{ t: number }>).filter((e) => e.t + ttl > now);
    return live.length > 0 ? live : undefined;
  }
  const live: Array<[unknown, unknown]> = [];
  for (const [uk, e] of v as Map<unknown, { t: number }>) if (e.t + ttl > now) live.push([uk, e]);
  return live.length > 0 ? live : undefined;
}
