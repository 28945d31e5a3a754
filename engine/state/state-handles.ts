/**
 * Value, map and list state handles bound to the backend's current key, with Flink's TTL
 * semantics: with a TTL each entry is stored as { v, t } where t is its last-access time;
 * an entry is expired once t + ttl <= now; 'OnReadAndWrite' refreshes t on reads too;
 * 'NeverReturnExpired' hides (and removes) expired entries, 'ReturnExpiredIfNotCleanedUp'
 * still returns them until cleanup. List state keeps a timestamp per element.
 */
import type { HeapKeyedStateBackend, StateTable } from './keyed-backend.ts';
import { normalizeKey } from './keyed-backend.ts';
import type { ListState, MapState, ValueState } from './state-types.ts';

interface TtlEntry<T> {
  v: T;
  t: number;
}

/** Reads a TTL entry: undefined when expired and hidden; refreshes on read when configured. */
function readTtl<T>(table: StateTable, e: TtlEntry<T>, now: number): TtlEntry<T> | undefined {
  const ttl = table.ttl!;
  if (e.t + ttl.ttlMs <= now) {
    if (ttl.stateVisibility !== 'ReturnExpiredIfNotCleanedUp') return undefined;
    return e;
  }
  if (ttl.updateType === 'OnReadAndWrite') e.t = now;
  return e;
}

export class ValueStateHandle<T> implements ValueState<T> {
  private readonly b: HeapKeyedStateBackend;
  private readonly table: StateTable;
  constructor(b: HeapKeyedStateBackend, table: StateTable) {
    this.b = b;
    this.table = table;
  }
  value(): T | undefined {
    const g = this.table.groups[this.b.slot]!;
    const raw = g.get(this.b.currentKey);
    if (raw === undefined || this.table.ttl === undefined) return raw as T | undefined;
    const e = readTtl(this.table, raw as TtlEntry<T>, this.b.now());
    if (e === undefined) {
      g.delete(this.b.currentKey);
      return undefined;
    }
    return e.v;
  }
  update(value: T): void {
    const g = this.table.groups[this.b.slot]!;
    if (value === undefined || value === null) {
      g.delete(this.b.currentKey);
      return;
    }
    g.set(this.b.currentKey, this.table.ttl === undefined ? value : { v: value, t: this.b.now() });
  }
  clear(): void {
    this.table.groups[this.b.slot]!.delete(this.b.currentKey);
  }
}

export class MapStateHandle<UK, UV> implements MapState<UK, UV> {
  private readonly b: HeapKeyedStateBackend;
  private readonly table: StateTable;
  constructor(b: HeapKeyedStateBackend, table: StateTable) {
    this.b = b;
    this.table = table;
  }
  private inner(create: boolean): Map<unknown, unknown> | undefined {
    const g = this.table.groups[this.b.slot]!;
    let m = g.get(this.b.currentKey) as Map<unknown, unknown> | undefined;
    if (m === undefined && create) {
      m = new Map();
      g.set(this.b.currentKey, m);
    }
    return m;
  }
  private read(m: Map<unknown, unknown>, uk: unknown, now: number): UV | undefined {
    const raw = m.get(uk);
    if (raw === undefined || this.table.ttl === undefined) return raw as UV | undefined;
    const e = readTtl(this.table, raw as TtlEntry<UV>, now);
    if (e === undefined) {
      m.delete(uk);
      return undefined;
    }
    return e.v;
  }
  private dropIfEmpty(m: Map<unknown, unknown>): void {
    if (m.size === 0) this.table.groups[this.b.slot]!.delete(this.b.currentKey);
  }
  get(key: UK): UV | undefined {
    const m = this.inner(false);
    if (m === undefined) return undefined;
    const v = this.read(m, normalizeKey(key), this.b.now());
    this.dropIfEmpty(m);
    return v;
  }
  put(key: UK, value: UV): void {
    this.inner(true)!.set(normalizeKey(key), this.table.ttl === undefined ? value : { v: value, t: this.b.now() });
  }
  contains(key: UK): boolean {
    return this.get(key) !== undefined;
  }
  remove(key: UK): void {
    const m = this.inner(false);
    if (m === undefined) return;
    m.delete(normalizeKey(key));
    this.dropIfEmpty(m);
  }
  entries(): Array<[UK, UV]> {
    const m = this.inner(false);
    if (m === undefined) return [];
    const now = this.b.now();
    const out: Array<[UK, UV]> = [];
    for (const uk of [...m.keys()]) {
      const v = this.read(m, uk, now);
      if (v !== undefined) out.push([uk as UK, v]);
    }
    this.dropIfEmpty(m);
    return out;
  }
  keys(): UK[] {
    return this.entries().map((e) => e[0]);
  }
  values(): UV[] {
    return this.entries().map((e) => e[1]);
  }
  isEmpty(): boolean {
    return this.entries().length === 0;
  }
  clear(): void {
    this.table.groups[this.b.slot]!.delete(this.b.currentKey);
  }
}

export class ListStateHandle<T> implements ListState<T> {
  private readonly b: HeapKeyedStateBackend;
  private readonly table: StateTable;
  constructor(b: HeapKeyedStateBackend, table: StateTable) {
    this.b = b;
    this.table = table;
  }
  get(): T[] {
    const g = this.table.groups[this.b.slot]!;
    const raw = g.get(this.b.currentKey) as unknown[] | undefined;
    if (raw === undefined) return [];
    if (this.table.ttl === undefined) return (raw as T[]).slice();
    const now = this.b.now();
    const live: Array<TtlEntry<T>> = [];
    for (const e of raw as Array<TtlEntry<T>>) {
      const r = readTtl(this.table, e, now);
      if (r !== undefined) live.push(r);
    }
    if (live.length === 0) g.delete(this.b.currentKey);
    else if (live.length !== raw.length) g.set(this.b.currentKey, live);
    return live.map((e) => e.v);
  }
  add(value: T): void {
    const g = this.table.groups[this.b.slot]!;
    let list = g.get(this.b.currentKey) as unknown[] | undefined;
    if (list === undefined) {
      list = [];
      g.set(this.b.currentKey, list);
    }
    list.push(this.table.ttl === undefined ? value : { v: value, t: this.b.now() });
  }
  addAll(values: T[]): void {
    for (const v of values) this.add(v);
  }
  update(values: T[]): void {
    this.clear();
    this.addAll(values);
  }
  clear(): void {
    this.table.groups[this.b.slot]!.delete(this.b.currentKey);
  }
}
