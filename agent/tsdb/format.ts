/**
 * The layout constants and value helpers shared by the store's chunk encoder (chunk.ts), its
 * decoder (decode.ts) and its memory (pool.ts): page geometry, the closed-chunk header,
 * Prometheus's StaleNaN bits, a number's 64 bits as two 32-bit halves, and the integer-mode
 * scales (a value v is stored as the integer v x d for d in SCALES when that is exact).
 */

/** Samples per chunk before the head chunk is cut (as Prometheus). */
export const CHUNK_SAMPLES = 120;

export const PAGE_BITS = 20;
export const PAGE_SIZE = 1 << PAGE_BITS;
export const PAGE_MASK = PAGE_SIZE - 1;
/**
 * Head slot sizes by class, growing by 4/3 to 3/2: a head chunk sits in the smallest that holds
 * it plus one more append, so a slot's unused tail is at most about a third (powers of two
 * left up to half of every head chunk's slot unused, in the store's accounting and its pages).
 * A chunk starts in class 0, which holds its first sample and a few more.
 */
export const SLOT_SIZES: readonly number[] = [48, 64, 96, 128, 176, 240, 320, 432, 576, 768, 1024, 1536, 2048];
export const MAX_CLASS = SLOT_SIZES.length - 1;
export const MAX_SLOT = SLOT_SIZES[MAX_CLASS]!;
/** Bytes a closed chunk's header takes before its bit stream: [u16 byte length][u8 sample count][u8 extra owners][f64 maxT]. */
export const CLOSED_HEADER = 12;

/** StaleNaN's bits (0x7ff0000000000002), Prometheus's staleness marker. */
export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;

/** Scratch for a number's bytes (f64Bytes is the same memory). */
export const f64 = new Float64Array(1);
export const i32 = new Int32Array(f64.buffer);
export const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
export const LO = LITTLE ? 0 : 1;
export const HI = LITTLE ? 1 : 0;

/** The 64 bits of a number as [hi, lo] 32-bit halves, in bitsHi / bitsLo. */
export function bitsOf(v: number): void {
  f64[0] = v;
  bitsHi = i32[HI]!;
  bitsLo = i32[LO]!;
}
export let bitsHi = 0;
export let bitsLo = 0;

export function numberOf(hi: number, lo: number): number {
  i32[HI] = hi;
  i32[LO] = lo;
  return f64[0]!;
}

/** The f64 last written into f64Bytes. */
export function numberFromBytes(): number {
  return f64[0]!;
}

/**
 * Integer mode's scales, in the order a chunk's first value tries them: integers, then
 * sixtieths (Flink's MeterView rates are a count over 60 s divided by 60), then thousandths
 * (millisecond-derived gauges, decimal fractions of up to 3 digits).
 */
export const SCALES = [1, 60, 1000] as const;
const MAX_EXACT = 9007199254740992;

/** v x d as an exact integer within +-2^53 such that n / d gives back v bit for bit; NaN otherwise (-0, NaN, Inf included). */
export function scaled(v: number, d: number): number {
  if (v === 0) return 1 / v > 0 ? 0 : NaN;
  const n = d === 1 ? v : Math.round(v * d);
  if (!Number.isInteger(n) || n > MAX_EXACT || n < -MAX_EXACT) return NaN;
  if (d !== 1 && n / d !== v) return NaN;
  return n;
}

/** The index in SCALES of the first scale that holds v exactly, or -1. */
export function scaleIndexOf(v: number): number {
  for (let i = 0; i < SCALES.length; i++) if (!Number.isNaN(scaled(v, SCALES[i]!))) return i;
  return -1;
}

/** Bits needed for a non-negative integer z < 2^53 (0 for 0). */
export function bitLength(z: number): number {
  if (z < 4294967296) return 32 - Math.clz32(z);
  return 64 - Math.clz32(Math.floor(z / 4294967296));
}

/** The width integer mode expects from its last four residual widths (packed 6 bits each): their maximum. */
export function expectedWidth(hist: number): number {
  let k = hist & 63;
  const b = (hist >>> 6) & 63;
  const c = (hist >>> 12) & 63;
  const d = (hist >>> 18) & 63;
  if (b > k) k = b;
  if (c > k) k = c;
  if (d > k) k = d;
  return k;
}

/** Slope memory of integer mode: the mean of the first deltas, then an average over about this many. */
export const SLOPE_SPAN = 8;
