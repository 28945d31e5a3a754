/**
 * Gorilla-style compressed chunks of samples, the scheme of Prometheus's XOR chunks:
 * timestamps as bit-packed delta-of-deltas ('0' for a regular scrape), values XORed with the
 * previous value's 64 bits ('0' for an unchanged value; otherwise the meaningful bits, inside
 * the previous leading/trailing-zero window when they fit, else with a new window).
 *
 * One addition, integer mode, for a chunk whose first value v is an integer, or a multiple of
 * 1/60 or 1/1000 (format.ts SCALES: Flink's counters and integer gauges, its MeterView rates
 * that are a count over 60 s divided by 60, decimal fractions): values are the integers
 * n = v x d. Each n is predicted as the previous n plus the series' slope (the mean of the
 * chunk's deltas so far, then a running average over the last ~8), and only the residual is
 * written, zigzagged, in as many bits as the largest of the last four residuals needed:
 * '0' + that many bits, or '10' + a 6-bit width + the bits when it does not fit. A counter
 * rising by a steady amount costs 1 bit, one whose increments vary by +-x about log2(4x) + 1.
 * Any value that is not such an integer (NaN, StaleNaN, +-Inf, -0, a fraction, beyond 2^53)
 * escapes as '11' + its 64 bits; an integer chunk meeting its first sixtieth or thousandth
 * switches to that scale from there on (the decoder makes the same choice).
 *
 * Values are kept as their two 32-bit halves, never as JavaScript numbers, between the
 * caller and the bits, so a NaN's payload (Prometheus's StaleNaN) round-trips exactly.
 *
 * A chunk's bit stream starts with the first timestamp (f64), the first value's 64 bits and
 * the mode bit (integer mode: then 2 bits of scale index). A closed chunk (pool.ts) puts
 * [u16 byte length][u8 sample count][u8 extra owners][f64 maxT] before it.
 */

import { writeBits, writeSig } from './bits.ts';
import type { ChunkPool } from './pool.ts';
import {
  CHUNK_SAMPLES, HI, LO, MAX_CLASS, MAX_SLOT, PAGE_MASK, SLOT_SIZES, SCALES, SLOPE_SPAN,
  bitLength, expectedWidth, f64, f64Bytes, i32, numberOf, scaleIndexOf, scaled,
} from './format.ts';

export { CHUNK_SAMPLES, CLOSED_HEADER, PAGE_SIZE, STALE_HI, STALE_LO, bitsHi, bitsLo, bitsOf, numberOf } from './format.ts';
export { ChunkPool } from './pool.ts';
export type { SampleSink } from './decode.ts';

/** An append writes at most 4 + 64 bits of timestamp and 2 + 64 bits of value. */
const MAX_APPEND_BYTES = 20;
/** Bits of a head chunk's first sample: t (f64), v (64 bits), the mode bit. */
const FIRST_SAMPLE_BITS = 129;
/** A residual beyond this magnitude escapes (keeps z = 2|r| exact). */
const MAX_RESIDUAL = 2 ** 52;

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes an unsigned integer z < 2^53 in w bits. */
function writeWide(page: Uint8Array, o: number, pos: number, z: number, w: number): void {
  if (w === 0) return;
  if (w <= 32) writeBits(page, o, pos, z >>> 0, w);
  else {
    writeBits(page, o, pos, Math.floor(z / 4294967296), w - 32);
    writeBits(page, o, pos + w - 32, z >>> 0, 32);
  }
}

/**
 * The open chunk of one series plus the encoder state Prometheus keeps in its appender.
 * Its fields live on the owning series (MemSeries extends it) so a series is one object.
 */
export class HeadChunk {
  /** Address of the head slot (-1: no head chunk) and its size class. */
  protected slot = -1;
  protected cls = 0;
  /** Bits written into the slot. */
  protected bits = 0;
  /** Samples in the head chunk. */
  protected headCount = 0;
  protected headMinT = 0;
  /** The newest sample: time, its delta to the one before, its value's bits. */
  protected lastT = -Infinity;
  protected lastDelta = 0;
  protected lastHi = 0;
  protected lastLo = 0;
  /** The previous value's leading/trailing zero window (leading 0xff: none yet). */
  protected leading = 0xff;
  protected trailing = 0;
  /** Integer mode's scale (see the module comment), 0 in XOR mode. */
  protected scale = 0;
  /** Integer mode: the previous value x scale (NaN when it was not an integer at that scale), the slope, deltas averaged into it (up to SLOPE_SPAN), the last four residual widths (6 bits each). */
  protected prevN = NaN;
  protected slope = 0;
  protected slopeN = 0;
  protected hist = 0;

  /** Appends a sample whose value bits are (hi, lo); t must be > lastT. */
  protected encode(pool: ChunkPool, t: number, hi: number, lo: number): void {
    if (this.slot < 0) {
      this.slot = pool.allocSlot(0);
      this.cls = 0;
      this.bits = 0;
      this.headCount = 0;
      this.headMinT = t;
      const page = pool.page(this.slot);
      const o = this.slot & PAGE_MASK;
      f64[0] = t;
      const b = f64Bytes;
      for (let i = 0; i < 8; i++) page[o + i] = b[i]!;
      writeBits(page, o, 64, hi, 32);
      writeBits(page, o, 96, lo, 32);
      const v = numberOf(hi, lo);
      const si = scaleIndexOf(v);
      this.bits = FIRST_SAMPLE_BITS;
      this.scale = 0;
      if (si >= 0) {
        writeBits(page, o, 128, 1, 1);
        writeBits(page, o, 129, si, 2);
        this.bits += 2;
        this.scale = SCALES[si]!;
        this.prevN = scaled(v, this.scale);
        this.slope = 0;
        this.slopeN = 0;
        this.hist = 0;
      }
      this.lastT = t;
      this.lastDelta = 0;
      this.lastHi = hi;
      this.lastLo = lo;
      this.leading = 0xff;
      this.trailing = 0;
      this.headCount = 1;
      return;
    }
    if ((this.bits >>> 3) + MAX_APPEND_BYTES >= SLOT_SIZES[this.cls]!) this.grow(pool);
    const page = pool.page(this.slot);
    const o = this.slot & PAGE_MASK;
    let pos = this.bits;
    // Timestamp: delta of deltas in 14, 17 or 20 bits, else the absolute time as a double.
    const delta = t - this.lastT;
    const dod = delta - this.lastDelta;
    let newDelta = this.lastDelta + dod;
    if (dod === 0 && this.lastT + this.lastDelta === t) {
      pos += 1; // '0'
      newDelta = this.lastDelta;
    } else if (Number.isInteger(dod) && dod >= -0x7ffff && dod <= 0x7ffff && this.lastT + newDelta === t) {
      if (dod >= -0x1fff && dod <= 0x1fff) {
        writeBits(page, o, pos, 0b10, 2);
        writeBits(page, o, pos + 2, dod & 0x3fff, 14);
        pos += 16;
      } else if (dod >= -0xffff && dod <= 0xffff) {
        writeBits(page, o, pos, 0b110, 3);
        writeBits(page, o, pos + 3, dod & 0x1ffff, 17);
        pos += 20;
      } else {
        writeBits(page, o, pos, 0b1110, 4);
        writeBits(page, o, pos + 4, dod & 0xfffff, 20);
        pos += 24;
      }
    } else {
      // The decoder takes the time as written and its distance to the previous one.
      writeBits(page, o, pos, 0b1111, 4);
      f64[0] = t;
      writeBits(page, o, pos + 4, i32[HI]!, 32);
      writeBits(page, o, pos + 36, i32[LO]!, 32);
      pos += 68;
      newDelta = t - this.lastT;
    }
    this.lastDelta = newDelta;
    this.lastT = t;
    if (this.scale !== 0) pos = this.encodeInt(page, o, pos, hi, lo);
    else pos = this.encodeXor(page, o, pos, hi, lo);
    this.lastHi = hi;
    this.lastLo = lo;
    this.bits = pos;
    this.headCount++;
  }

  /** A value in integer mode (see the module comment); decode.ts mirrors every step. */
  private encodeInt(page: Uint8Array, o: number, pos: number, hi: number, lo: number): number {
    const v = numberOf(hi, lo);
    let n = scaled(v, this.scale);
    const prevN = this.prevN;
    if (n === n && prevN === prevN) {
      const pred = prevN + Math.floor(this.slope + 0.5); // as decode.ts (cheaper than Math.round)
      const r = n - pred;
      if (pred + r === n && r <= MAX_RESIDUAL && r >= -MAX_RESIDUAL) {
        const z = r >= 0 ? 2 * r : -2 * r - 1;
        const w = bitLength(z);
        const k = expectedWidth(this.hist);
        if (w <= k) {
          pos += 1; // '0'
          writeWide(page, o, pos, z, k);
          pos += k;
        } else {
          writeBits(page, o, pos, 0b10, 2);
          writeBits(page, o, pos + 2, w, 6);
          writeWide(page, o, pos + 8, z, w);
          pos += 8 + w;
        }
        this.hist = ((this.hist << 6) | w) & 0xffffff;
        if (this.slopeN < SLOPE_SPAN) this.slopeN++;
        this.slope += (n - prevN - this.slope) / this.slopeN;
        this.prevN = n;
        return pos;
      }
    }
    writeBits(page, o, pos, 0b11, 2);
    writeBits(page, o, pos + 2, hi, 32);
    writeBits(page, o, pos + 34, lo, 32);
    if (n !== n && this.scale === 1) {
      for (let s = 1; s < SCALES.length; s++) {
        const m = scaled(v, SCALES[s]!);
        if (m === m) {
          n = m;
          this.slope *= SCALES[s]!;
          this.scale = SCALES[s]!;
          break;
        }
      }
    }
    this.prevN = n;
    return pos + 66;
  }

  /** A value in XOR mode (Prometheus's): XOR with the previous bits. */
  private encodeXor(page: Uint8Array, o: number, pos: number, hi: number, lo: number): number {
    const xh = (hi ^ this.lastHi) | 0;
    const xl = (lo ^ this.lastLo) | 0;
    if (xh === 0 && xl === 0) {
      pos += 1; // '0'
    } else {
      let lead = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
      const trail = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
      if (lead > 31) lead = 31; // 5 bits, as Prometheus
      if (this.leading !== 0xff && lead >= this.leading && trail >= this.trailing) {
        writeBits(page, o, pos, 0b10, 2);
        pos = writeSig(page, o, pos + 2, xh, xl, this.trailing, 64 - this.leading - this.trailing);
      } else {
        this.leading = lead;
        this.trailing = trail;
        const sig = 64 - lead - trail;
        writeBits(page, o, pos, 0b11, 2);
        writeBits(page, o, pos + 2, lead, 5);
        writeBits(page, o, pos + 7, sig & 63, 6); // 64 is written as 0
        pos = writeSig(page, o, pos + 13, xh, xl, trail, sig);
      }
    }
    return pos;
  }

  private grow(pool: ChunkPool): void {
    if (this.cls >= MAX_CLASS) throw new Error('head chunk overflow');
    const next = pool.allocSlot(this.cls + 1);
    const used = (this.bits + 7) >>> 3;
    const so = this.slot & PAGE_MASK;
    pool.page(next).set(pool.page(this.slot).subarray(so, so + used), next & PAGE_MASK);
    pool.freeSlot(this.slot, this.cls);
    this.slot = next;
    this.cls++;
  }

  /** True when the head chunk must be cut before the next append. */
  protected headFull(): boolean {
    return this.headCount >= CHUNK_SAMPLES || (this.bits >>> 3) + MAX_APPEND_BYTES >= MAX_SLOT;
  }

  /** Moves the head chunk into closed space; returns the closed chunk's address. */
  protected cutHead(pool: ChunkPool): number {
    const addr = pool.close(this.slot, (this.bits + 7) >>> 3, this.headCount, this.lastT);
    pool.freeSlot(this.slot, this.cls);
    this.slot = -1;
    this.headCount = 0;
    return addr;
  }

  /** Frees the head chunk without keeping it. */
  protected dropHead(pool: ChunkPool): void {
    if (this.slot < 0) return;
    pool.freeSlot(this.slot, this.cls);
    this.slot = -1;
    this.headCount = 0;
  }

  protected get headBytesHeld(): number {
    return this.slot < 0 ? 0 : SLOT_SIZES[this.cls]!;
  }
}

