/**
 * An I/O-bound enrichment function for the async operator: each call waits a configurable
 * latency (setTimeout, so it costs no CPU while waiting) and returns the record with
 * deterministic extra fields derived from a lookup key. More parallelism or more capacity
 * means more requests in flight, so throughput scales even on few cores.
 */
import type { AsyncFunction } from '../api/functions.ts';
import { javaStringHash } from '../keygroups/java-hash.ts';

export interface EnrichmentOptions<I> {
  /** Latency of one lookup in ms; default 20. */
  latencyMs?: number;
  /** Extra latency spread: each call waits latency + (hash of key % (jitter + 1)) ms, deterministically. */
  jitterMs?: number;
  /** The lookup key of a record. */
  key: (record: I) => string;
}

export interface Enriched<I> {
  record: I;
  segment: string;
  score: number;
}

const SEGMENTS = ['bronze', 'silver', 'gold', 'platinum'];

export function enrichment<I>(options: EnrichmentOptions<I>): AsyncFunction<I, Enriched<I>> {
  const latency = options.latencyMs ?? 20;
  const jitter = options.jitterMs ?? 0;
  return (record, signal) =>
    new Promise((resolve, reject) => {
      const k = options.key(record);
      const h = javaStringHash(k) >>> 0;
      const wait = latency + (jitter > 0 ? h % (jitter + 1) : 0);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve({ record, segment: SEGMENTS[h % SEGMENTS.length]!, score: h % 1000 });
      }, wait);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('enrichment aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
}
