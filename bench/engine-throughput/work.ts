/**
 * The per-record work both sides of the throughput benchmark do, so the engine's figure and the
 * bare-loop baseline differ only in what the engine adds: making the record, a map, a filter,
 * and (keyed case) a count per key.
 */
export interface BenchRecord {
  key: string;
  value: number;
}

export const KEYS = 1000;
const keyNames = Array.from({ length: KEYS }, (_, i) => `k${i}`);

export function makeRecord(partition: number, offset: number, partitions: number): BenchRecord {
  const g = offset * partitions + partition;
  return { key: keyNames[(g * 7919) % KEYS]!, value: g };
}

export function mapRecord(r: BenchRecord): BenchRecord {
  return { key: r.key, value: r.value * 3 + 1 };
}

export function keepRecord(r: BenchRecord): boolean {
  return r.value % 5 !== 0;
}
