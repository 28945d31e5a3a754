/**
 * The storage contract under the intent journal: a small key → JSON document map with
 * compare-and-set writes. Every document carries a version; a write names the version it
 * read (or null for "must not exist yet") and fails with FP_JOURNAL_CONFLICT otherwise, so
 * two writers never silently overwrite each other. Implementations: a local directory of
 * JSON files (file-store.ts) and one Kubernetes ConfigMap (configmap-store.ts).
 */
import { createHash } from 'node:crypto';
import { FlowpilotError } from '../../../common/errors.ts';

export interface Versioned<T> {
  value: T;
  version: number;
}

export interface JournalStore {
  /** A short description for messages, e.g. "file:/var/lib/flowpilot/journal". */
  readonly where: string;
  read<T>(key: string): Promise<Versioned<T> | null>;
  /**
   * The key as this store last read or wrote it, read only when it has seen none: for a writer
   * whose write is checked anyway (a stale version fails it with FP_JOURNAL_CONFLICT), never for
   * deciding anything. Optional; `read` serves where it is absent.
   */
  readRemembered?<T>(key: string): Promise<Versioned<T> | null>;
  /** Writes `value` if the stored version equals `expected` (null: absent). Returns the new version. */
  write<T>(key: string, value: T, expected: number | null): Promise<number>;
  keys(): Promise<string[]>;
}

export function journalConflict(where: string, key: string, expected: number | null, actual: number | null): FlowpilotError {
  return new FlowpilotError('FP_JOURNAL_CONFLICT',
    `journal ${where}: "${key}" changed under us (expected version ${expected ?? 'none'}, found ${actual ?? 'none'}); another writer is active — re-read and retry`,
    { details: { key, expected, actual } });
}

/**
 * Keys made path- and ConfigMap-safe ([A-Za-z0-9._-]) without collisions: any other character
 * (and '_') becomes '_' plus 4 hex digits; long keys are cut and suffixed with a hash. Applying
 * it to an already safe key changes nothing, so keys listed by a store can be read back.
 */
export function safeKey(key: string): string {
  if (/^[A-Za-z0-9.-]*(_[0-9a-f]{4}[A-Za-z0-9.-]*)*$/.test(key) && key.length <= 200) return key;
  const enc = key.replace(/[^A-Za-z0-9.-]/g, (c) => `_${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (enc.length <= 200) return enc;
  const head = enc.slice(0, 180).replace(/_[0-9a-f]{0,3}$/, '');
  return `${head}-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/** Read-modify-write with retries on conflict; `fn` gets the current value (or null). */
export async function updateDocument<T>(store: JournalStore, key: string, fn: (cur: T | null) => T, attempts = 5): Promise<T> {
  for (let i = 0; ; i++) {
    const cur = await store.read<T>(key);
    const next = fn(cur ? cur.value : null);
    try {
      await store.write(key, next, cur ? cur.version : null);
      return next;
    } catch (err) {
      if (!(err instanceof FlowpilotError && err.code === 'FP_JOURNAL_CONFLICT') || i + 1 >= attempts) throw err;
    }
  }
}
