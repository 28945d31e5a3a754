/**
 * Flink's MemorySize grammar ("32kb", "20 kb", "1 mb", "512": one integer, optional spaces, an
 * optional case-insensitive unit; no unit means bytes), read into bytes. Used for Flink memory
 * keys (taskmanager.memory.segment-size, state.storage.fs.memory-threshold).
 * Neutral module: it imports nothing.
 */

const MEMORY_UNITS: Record<string, number> = {
  '': 1, b: 1, bytes: 1, k: 1024, kb: 1024, kibibytes: 1024, m: 1024 ** 2, mb: 1024 ** 2, mebibytes: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gibibytes: 1024 ** 3,
};

/** A Flink MemorySize ("20kb", "20 kb", "1 mb", "512", a bare number of bytes) in bytes; throws on anything else. */
export function parseMemorySize(v: string | number): number {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new Error(`${v} is not a memory size`);
  }
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? MEMORY_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`"${v}" is not a memory size (e.g. 20kb, 1 mb, 512)`);
  return Number(m[1]) * unit;
}
