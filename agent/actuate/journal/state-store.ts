/**
 * Compressed state documents in the journal's store: the autoscaler keeps its state (scaling
 * history, learned restart cost, fits, forecast, cool-down timers) next to the intent journal,
 * in the same directory or the same ConfigMap, under `autoscaler.<jobKey>`.
 *
 * The operator's rules, followed here (KubernetesAutoScalerStateStore, ConfigMapStore):
 * - a value is gzip-compressed and base64-encoded;
 * - the total must stay under what a ConfigMap holds (the operator's MAX_CM_BYTES is 1,000,000):
 *   while the encoded value is over `maxBytes`, the caller's `shrink` trims it (the operator
 *   drops the oldest collected metrics first) and it is encoded again;
 * - decompression is bounded (the operator caps it at 8 MiB against gzip bombs);
 * - a stored value that cannot be read is discarded and treated as absent, not acted upon.
 * JSON has no NaN or ±Infinity, which the history uses; they are saved as tagged strings.
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import { FlowpilotError, errorMessage } from '../../../common/errors.ts';
import { type JournalStore } from './store.ts';

/** The operator's bound on decompressed state (KubernetesAutoScalerStateStore.MAX_DECOMPRESSED_BYTES). */
export const MAX_DECOMPRESSED_BYTES = 8 * 1024 * 1024;
/** Default bound per job; several jobs and the intent records share a ConfigMap's ~1 MiB. */
export const DEFAULT_STATE_BYTES = 256 * 1024;

const TAG = '\u0000num:';

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? `${TAG}${String(v)}` : v;
}

function reviver(_k: string, v: unknown): unknown {
  return typeof v === 'string' && v.startsWith(TAG) ? Number(v.slice(TAG.length)) : v;
}

export function encodeState(value: unknown): string {
  return gzipSync(Buffer.from(JSON.stringify(value, replacer), 'utf8')).toString('base64');
}

export function decodeState(data: string): unknown {
  const raw = gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: MAX_DECOMPRESSED_BYTES });
  return JSON.parse(raw.toString('utf8'), reviver) as unknown;
}

interface StateDoc {
  encoding: 'gzip+base64';
  data: string;
  savedAt: number;
}

export interface CompressedStateOptions<T> {
  /** Key prefix in the store (default "autoscaler."). */
  prefix?: string;
  /** Bound on the encoded value (default 256 KiB). */
  maxBytes?: number;
  /** Checks a decoded value; null discards it. */
  check: (raw: unknown) => T | null;
  /** One trimming step (null: nothing left to trim). */
  shrink?: (value: T) => T | null;
  clock?: () => number;
  /** Told when a stored value is discarded or trimmed. */
  warn?: (msg: string, details: Record<string, unknown>) => void;
}

export interface SaveReport {
  bytes: number;
  trimSteps: number;
}

export class CompressedStateStore<T> {
  readonly where: string;
  private readonly store: JournalStore;
  private readonly o: CompressedStateOptions<T>;

  constructor(store: JournalStore, o: CompressedStateOptions<T>) {
    this.store = store;
    this.o = o;
    this.where = store.where;
  }

  key(jobKey: string): string {
    return `${this.o.prefix ?? 'autoscaler.'}${jobKey}`;
  }

  async load(jobKey: string): Promise<T | null> {
    let doc;
    try {
      doc = await this.store.read<StateDoc>(this.key(jobKey));
    } catch (err) {
      if (!(err instanceof FlowpilotError && err.code === 'FP_JOURNAL_CORRUPT')) throw err;
      this.o.warn?.('discarding autoscaler state that cannot be read', { jobKey, where: this.where, err: errorMessage(err) });
      return null;
    }
    if (!doc) return null;
    try {
      if (doc.value.encoding !== 'gzip+base64' || typeof doc.value.data !== 'string') throw new Error(`unknown encoding ${String(doc.value.encoding)}`);
      const v = this.o.check(decodeState(doc.value.data));
      if (v === null) throw new Error('the saved value does not have the expected shape (another version?)');
      return v;
    } catch (err) {
      this.o.warn?.('discarding autoscaler state that cannot be read', { jobKey, where: this.where, err: errorMessage(err) });
      return null;
    }
  }

  /** Encodes, trims to the bound, and writes (last writer wins: only the leader writes). */
  async save(jobKey: string, value: T): Promise<SaveReport> {
    const max = this.o.maxBytes ?? DEFAULT_STATE_BYTES;
    let v = value;
    let data = encodeState(v);
    let trimSteps = 0;
    while (data.length > max) {
      const next = this.o.shrink?.(v) ?? null;
      if (next === null) throw new FlowpilotError('FP_STATE_TOO_LARGE', `autoscaler state of ${jobKey} is ${data.length} bytes even trimmed, over the bound of ${max}`);
      v = next;
      data = encodeState(v);
      trimSteps++;
    }
    if (trimSteps > 0) this.o.warn?.('autoscaler state trimmed to its size bound', { jobKey, bytes: data.length, maxBytes: max, trimSteps });
    const doc: StateDoc = { encoding: 'gzip+base64', data, savedAt: (this.o.clock ?? Date.now)() };
    const key = this.key(jobKey);
    for (let attempt = 0; ; attempt++) {
      // Last writer wins: the version to replace may come from what the store last saw (no read
      // when it has one); a stale one fails the write with a conflict, and the next attempt reads.
      const cur = attempt === 0 && this.store.readRemembered ? await this.store.readRemembered<StateDoc>(key) : await this.store.read<StateDoc>(key);
      try {
        await this.store.write(key, doc, cur ? cur.version : null);
        return { bytes: data.length, trimSteps };
      } catch (err) {
        if (!(err instanceof FlowpilotError && err.code === 'FP_JOURNAL_CONFLICT') || attempt >= 4) throw err;
      }
    }
  }
}
