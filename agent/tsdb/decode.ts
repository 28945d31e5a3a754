/**
 * The chunk decoder: a chunk's bit stream (chunk.ts writes it) back into samples, oldest first,
 * into a sink. Kept apart from the encoder so the pool (pool.ts) and the encoder share it
 * without a cycle. See chunk.ts for the format.
 */
import { readBit, readBits } from './bits.ts';
import { HI, LO, SCALES, SLOPE_SPAN, STALE_HI, STALE_LO, bitLength, expectedWidth, f64, f64Bytes, i32, numberOf, scaled } from './format.ts';

/** Where decoded samples go, oldest first (plain arrays in series.ts, shared typed arrays in storage.ts). */
export interface SampleSink {
  add(t: number, v: number, stale: boolean): void;
}

/** Reads an unsigned integer of w (0..53) bits. */
function readWide(page: Uint8Array, o: number, pos: number, w: number): number {
  if (w === 0) return 0;
  if (w <= 32) return readBits(page, o, pos, w);
  return readBits(page, o, pos, w - 32) * 4294967296 + readBits(page, o, pos + w - 32, 32);
}

export function decode(page: Uint8Array, o: number, count: number, minT: number, maxT: number, sink: SampleSink): void {
  const b = f64Bytes;
  for (let i = 0; i < 8; i++) b[i] = page[o + i]!;
  let t = f64[0]!;
  let hi = readBits(page, o, 64, 32) | 0;
  let lo = readBits(page, o, 96, 32) | 0;
  const intMode = readBit(page, o, 128) === 1;
  let pos = 129;
  let delta = 0;
  let leading = 0;
  let trailing = 0;
  let v = numberOf(hi, lo);
  let stale = hi === STALE_HI && lo === STALE_LO;
  // Integer mode's state (see HeadChunk.encodeInt).
  let scale = 1;
  let prevN = NaN;
  let slope = 0;
  let slopeN = 0;
  let hist = 0;
  let width = 0;
  if (intMode) {
    scale = SCALES[readBits(page, o, 129, 2)]!;
    pos = 131;
    prevN = scaled(v, scale);
  }
  for (let k = 0; ; ) {
    if (t > maxT) return;
    if (t >= minT) sink.add(t, v, stale);
    if (++k >= count) return;
    // Timestamp.
    if (readBit(page, o, pos) === 0) {
      pos += 1;
      t += delta;
    } else if (readBit(page, o, pos + 1) === 0) {
      delta += (readBits(page, o, pos + 2, 14) << 18) >> 18;
      pos += 16;
      t += delta;
    } else if (readBit(page, o, pos + 2) === 0) {
      delta += (readBits(page, o, pos + 3, 17) << 15) >> 15;
      pos += 20;
      t += delta;
    } else if (readBit(page, o, pos + 3) === 0) {
      delta += (readBits(page, o, pos + 4, 20) << 12) >> 12;
      pos += 24;
      t += delta;
    } else {
      i32[HI] = readBits(page, o, pos + 4, 32) | 0;
      i32[LO] = readBits(page, o, pos + 36, 32) | 0;
      pos += 68;
      const nt = f64[0]!;
      delta = nt - t;
      t = nt;
    }
    if (intMode) {
      // '0' + k bits, '10' + 6-bit width + that many bits: a residual; '11': the raw 64 bits.
      let z: number;
      let w: number;
      const head = readBits(page, o, pos, 2);
      if (head < 2) {
        w = width;
        z = w === 0 ? 0 : w <= 32 ? readBits(page, o, pos + 1, w) : readWide(page, o, pos + 1, w);
        pos += 1 + w;
        if (z < 4294967296) w = 32 - Math.clz32(z);
        else w = bitLength(z);
      } else if (head === 2) {
        w = readBits(page, o, pos + 2, 6);
        z = w <= 32 ? readBits(page, o, pos + 8, w) : readWide(page, o, pos + 8, w);
        pos += 8 + w;
      } else {
        hi = readBits(page, o, pos + 2, 32) | 0;
        lo = readBits(page, o, pos + 34, 32) | 0;
        pos += 66;
        v = numberOf(hi, lo);
        stale = hi === STALE_HI && lo === STALE_LO;
        let n = scaled(v, scale);
        if (n !== n && scale === 1) {
          for (let s = 1; s < SCALES.length; s++) {
            const m = scaled(v, SCALES[s]!);
            if (m === m) {
              n = m;
              slope *= SCALES[s]!;
              scale = SCALES[s]!;
              break;
            }
          }
        }
        prevN = n;
        continue;
      }
      hist = ((hist << 6) | w) & 0xffffff;
      width = expectedWidth(hist);
      // Zigzag back to a signed residual (int32 arithmetic while it fits).
      const r = z < 1073741824 ? (z >>> 1) ^ -(z & 1) : z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      const n = prevN + Math.floor(slope + 0.5) + r;
      const d = n - prevN - slope;
      if (slopeN < SLOPE_SPAN) slope += d / ++slopeN;
      else slope += d * (1 / SLOPE_SPAN); // the same double as d / SLOPE_SPAN (a power of two)
      prevN = n;
      v = scale === 1 ? n : n / scale;
      stale = false;
      continue;
    }
    // Value (XOR mode).
    if (readBit(page, o, pos) === 0) {
      pos += 1;
      continue;
    }
    if (readBit(page, o, pos + 1) === 1) {
      leading = readBits(page, o, pos + 2, 5);
      const sig = readBits(page, o, pos + 7, 6) || 64;
      trailing = 64 - leading - sig;
      pos += 13;
    } else pos += 2;
    const sig = 64 - leading - trailing;
    let h: number;
    let l: number;
    if (sig > 32) {
      h = readBits(page, o, pos, sig - 32);
      l = readBits(page, o, pos + sig - 32, 32);
    } else {
      h = 0;
      l = readBits(page, o, pos, sig);
    }
    pos += sig;
    // Shift (h, l) left by trailing into 64 bits.
    let xh: number;
    let xl: number;
    if (trailing >= 32) {
      xh = l << (trailing - 32);
      xl = 0;
    } else if (trailing === 0) {
      xh = h;
      xl = l;
    } else {
      xh = (h << trailing) | (l >>> (32 - trailing));
      xl = l << trailing;
    }
    hi = (hi ^ xh) | 0;
    lo = (lo ^ xl) | 0;
    v = numberOf(hi, lo);
    stale = hi === STALE_HI && lo === STALE_LO;
  }
}
