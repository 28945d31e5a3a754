/**
 * The keyed state handles a user function sees (bound to the current key, as in Flink) and the
 * state TTL configuration with Flink's StateTtlConfig semantics.
 */

export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

export interface MapState<UK, UV> {
  get(key: UK): UV | undefined;
  put(key: UK, value: UV): void;
  contains(key: UK): boolean;
  remove(key: UK): void;
  entries(): Array<[UK, UV]>;
  keys(): UK[];
  values(): UV[];
  isEmpty(): boolean;
  clear(): void;
}

export interface ListState<T> {
  get(): T[];
  add(value: T): void;
  addAll(values: T[]): void;
  update(values: T[]): void;
  clear(): void;
}

/** Flink's StateTtlConfig: when an entry's last-access timestamp is older than `ttlMs`, it is expired. */
export interface StateTtlConfig {
  ttlMs: number;
  /** Which access refreshes the timestamp. Default 'OnCreateAndWrite'. */
  updateType?: 'OnCreateAndWrite' | 'OnReadAndWrite';
  /** Default 'NeverReturnExpired'. */
  stateVisibility?: 'NeverReturnExpired' | 'ReturnExpiredIfNotCleanedUp';
}

export interface StateOptions {
  ttl?: StateTtlConfig;
}
