/**
 * Gorilla-style compressed chunks of samples, the scheme of Prometheus's XOR chunks:
 * timestamps as bit-packed delta-of-deltas ('0' for a regular scrape), values XORed with the
 * previous value's 64 bits ('0' for an unchanged value; otherwise the meaningful bits, inside
 * the previous leading/trailing-zero window when they fit, else with a new window).
 * One addition: a chunk whose first value is an integer is in integer mode, where values are
 * delta-of-deltas too (counters rising at a steady rate cost a few bits), any other value
 * escaping as its 64 bits. Counters and integer gauges are most of Flink's metrics.
 *
 * Chunk bytes live in a ChunkPool: 1 MiB pages shared by every series of a store, so a
 * series holds numbers (addresses), not buffers. Two kinds of space:
 * - head slots, where each series' open chunk is appended in place (size classes of
 *   32..2048 bytes, doubled as the chunk grows, recycled through free lists);
 * - closed chunks, copied to their exact size into append-only pages when the head chunk
 *   is cut (CHUNK_SAMPLES samples). Series cut their chunks at about the same times, so a
 *   page holds chunks of about the same age and is released whole once retention has dropped
 *   all of them.
 *
 * Values are kept as their two 32-bit halves, never as JavaScript numbers, between the
 * caller and the bits, so a NaN's payload (Prometheus's StaleNaN) round-trips exactly.
 *
 * A closed chunk's layout: [u16 byte length][u16 sample count][f64 maxT][bit stream], the
 * stream starting with the first timestamp (f64) and the first value's 64 bits.
 */

import { readBit, readBits, writeBits, writeSig } from './bits.ts';

/** Samples per chunk before the head chunk is cut (as Prometheus). */
export const CHUNK_SAMPLES = 120;

const PAGE_BITS = 20;
export const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
/** Head slot sizes: 32 << class. */
const MIN_SLOT = 32;
const MAX_CLASS = 6;
const MAX_SLOT = MIN_SLOT << MAX_CLASS;
/** Bytes a closed chunk's header takes before its bit stream. */
export const CLOSED_HEADER = 12;
/** An append writes at most 4 + 64 bits of timestamp and 7 + 64 bits of value. */
const MAX_APPEND_BYTES = 20;
/** Bytes of a head chunk's first sample: t (f64) and v (64 bits). */
const FIRST_SAMPLE_BYTES = 16;

/** StaleNaN's bits (0x7ff0000000000002), Prometheus's staleness marker. */
export const STALE_HI = 0x7ff00000;
export const STALE_LO = 0x00000002;

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

/** The 64 bits of a number as [hi, lo] 32-bit halves, in scratch. */
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

/**
 * Integer mode's buckets for a value's delta of deltas: prefix of i one bits then a zero, then
 * INT_WIDTHS[i] bits (two's complement); INT_WIDTHS.length one bits: the value's raw 64 bits.
 */
const INT_WIDTHS = [0, 7, 10, 14, 20, 26, 32];
const INT_LIMITS = INT_WIDTHS.map((w) => (w === 0 ? 0 : 2 ** (w - 1) - 1));
const INT_ESCAPE = (1 << INT_WIDTHS.length) - 1;

/** Whether 64 bits are an integer that integer mode can difference exactly: |v| <= 2^53, not -0. */
function isIntBits(hi: number, lo: number): boolean {
  if (hi === (0x80000000 | 0) && lo === 0) return false; // -0
  const v = numberOf(hi, lo);
  return Number.isInteger(v) && v <= 9007199254740992 && v >= -9007199254740992;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Where decoded samples go, oldest first (plain arrays in series.ts, shared typed arrays in storage.ts). */
export interface SampleSink {
  add(t: number, v: number, stale: boolean): void;
}

export class ChunkPool {
  private pages: Array<Uint8Array | null> = [];
  private readonly freePages: number[] = [];
  /** Live bytes per page of closed chunks (undefined/-1 for head pages). */
  private readonly live: number[] = [];
  private readonly freeSlots: number[][] = Array.from({ length: MAX_CLASS + 1 }, () => []);
  private headPage = -1;
  private headBump = PAGE_SIZE;
  private closedPage = -1;
  private closedBump = PAGE_SIZE;
  /** Bytes in head slots handed out, and in closed chunks still live. */
  headBytes = 0;
  closedBytes = 0;
  closedChunks = 0;

  /** Pages held (1 MiB each), head and closed. */
  get pagesHeld(): number {
    return this.pages.length - this.freePages.length;
  }

  page(addr: number): Uint8Array {
    return this.pages[addr >>> PAGE_BITS]!;
  }

  private newPage(): number {
    const buf = new Uint8Array(PAGE_SIZE);
    const p = this.freePages.pop();
    if (p !== undefined) {
      this.pages[p] = buf;
      return p;
    }
    if (this.pages.length >= 2048) throw new Error('tsdb chunk pool full (2 GiB)');
    this.pages.push(buf);
    return this.pages.length - 1;
  }

  /** A zeroed head slot of 32 << cls bytes. */
  allocSlot(cls: number): number {
    const size = MIN_SLOT << cls;
    this.headBytes += size;
    const free = this.freeSlots[cls]!.pop();
    if (free !== undefined) {
      this.page(free).fill(0, free & PAGE_MASK, (free & PAGE_MASK) + size);
      return free;
    }
    if (this.headBump + size > PAGE_SIZE) {
      this.headPage = this.newPage();
      this.live[this.headPage] = -1;
      this.headBump = 0;
    }
    const addr = this.headPage * PAGE_SIZE + this.headBump;
    this.headBump += size;
    return addr;
  }

  freeSlot(addr: number, cls: number): void {
    this.headBytes -= MIN_SLOT << cls;
    this.freeSlots[cls]!.push(addr);
  }

  /** Copies a head chunk into closed space; returns the closed chunk's address. */
  close(slot: number, bytes: number, count: number, maxT: number): number {
    const size = CLOSED_HEADER + bytes;
    if (this.closedBump + size > PAGE_SIZE) {
      if (this.closedPage >= 0 && this.live[this.closedPage] === 0) this.releasePage(this.closedPage);
      this.closedPage = this.newPage();
      this.live[this.closedPage] = 0;
      this.closedBump = 0;
    }
    const addr = this.closedPage * PAGE_SIZE + this.closedBump;
    const dst = this.pages[this.closedPage]!;
    const o = this.closedBump;
    dst[o] = bytes & 0xff;
    dst[o + 1] = bytes >>> 8;
    dst[o + 2] = count & 0xff;
    dst[o + 3] = count >>> 8;
    f64[0] = maxT;
    const b = f64Bytes;
    for (let i = 0; i < 8; i++) dst[o + 4 + i] = b[i]!;
    const so = slot & PAGE_MASK;
    dst.set(this.page(slot).subarray(so, so + bytes), o + CLOSED_HEADER);
    this.closedBump += size;
    this.live[this.closedPage] = this.live[this.closedPage]! + size;
    this.closedBytes += size;
    this.closedChunks++;
    return addr;
  }

  closedCount(addr: number): number {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    return p[o + 2]! | (p[o + 3]! << 8);
  }

  /** Bytes a closed chunk takes, header included. */
  closedBytesOf(addr: number): number {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    return CLOSED_HEADER + (p[o]! | (p[o + 1]! << 8));
  }

  closedMaxT(addr: number): number {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    const b = f64Bytes;
    for (let i = 0; i < 8; i++) b[i] = p[o + 4 + i]!;
    return f64[0]!;
  }

  closedMinT(addr: number): number {
    const p = this.page(addr);
    const o = (addr & PAGE_MASK) + CLOSED_HEADER;
    const b = f64Bytes;
    for (let i = 0; i < 8; i++) b[i] = p[o + i]!;
    return f64[0]!;
  }

  /** Drops a closed chunk; its page is released once none of its chunks is left. */
  dropClosed(addr: number): void {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    const size = CLOSED_HEADER + (p[o]! | (p[o + 1]! << 8));
    const page = addr >>> PAGE_BITS;
    this.live[page] = this.live[page]! - size;
    this.closedBytes -= size;
    this.closedChunks--;
    if (this.live[page] === 0 && page !== this.closedPage) this.releasePage(page);
  }

  private releasePage(page: number): void {
    this.pages[page] = null;
    this.freePages.push(page);
  }

  /** Decodes a closed chunk's samples with minT <= t <= maxT into sink. */
  decodeClosed(addr: number, minT: number, maxT: number, sink: SampleSink): void {
    decode(this.page(addr), (addr & PAGE_MASK) + CLOSED_HEADER, this.closedCount(addr), minT, maxT, sink);
  }

  /** Decodes a head chunk of `count` samples. */
  decodeHead(slot: number, count: number, minT: number, maxT: number, sink: SampleSink): void {
    decode(this.page(slot), slot & PAGE_MASK, count, minT, maxT, sink);
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
  /** Integer mode (the chunk's first value is an integer): values as delta-of-deltas, like timestamps. */
  protected intMode = false;
  /** In integer mode: the previous value's difference to the one before (0 after a non-integer). */
  protected lastVDelta = 0;

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
      this.intMode = isIntBits(hi, lo);
      if (this.intMode) writeBits(page, o, 128, 1, 1);
      this.bits = FIRST_SAMPLE_BYTES * 8 + 1;
      this.lastVDelta = 0;
      this.lastT = t;
      this.lastDelta = 0;
      this.lastHi = hi;
      this.lastLo = lo;
      this.leading = 0xff;
      this.trailing = 0;
      this.headCount = 1;
      return;
    }
    if ((this.bits >>> 3) + MAX_APPEND_BYTES >= MIN_SLOT << this.cls) this.grow(pool);
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
    if (this.intMode) pos = this.encodeInt(page, o, pos, hi, lo);
    else pos = this.encodeXor(page, o, pos, hi, lo);
    this.lastHi = hi;
    this.lastLo = lo;
    this.bits = pos;
    this.headCount++;
  }

  /**
   * A value in integer mode: when it and the previous value are integers, the delta of their
   * difference to the previous difference in 8, 14, 24 or 32 bits ('0' when the slope holds);
   * any other value as its 64 bits (NaN payloads included).
   */
  private encodeInt(page: Uint8Array, o: number, pos: number, hi: number, lo: number): number {
    const curInt = isIntBits(hi, lo);
    const prevInt = isIntBits(this.lastHi, this.lastLo);
    const v = curInt ? numberOf(hi, lo) : 0;
    const prev = prevInt ? numberOf(this.lastHi, this.lastLo) : 0;
    let written = false;
    if (curInt && prevInt) {
      const dod = v - prev - this.lastVDelta;
      if (Number.isInteger(dod) && dod >= -0x7fffffff && dod <= 0x7fffffff && prev + (this.lastVDelta + dod) === v) {
        written = true;
        if (dod === 0) pos += 1;
        else {
          let i = 1;
          while (i < INT_WIDTHS.length - 1 && (dod < -INT_LIMITS[i]! || dod > INT_LIMITS[i]!)) i++;
          const w = INT_WIDTHS[i]!;
          writeBits(page, o, pos, ((1 << i) - 1) << 1, i + 1);
          writeBits(page, o, pos + i + 1, w === 32 ? dod | 0 : dod & ((1 << w) - 1), w);
          pos += i + 1 + w;
        }
      }
    }
    if (!written) {
      writeBits(page, o, pos, INT_ESCAPE, INT_WIDTHS.length);
      writeBits(page, o, pos + INT_WIDTHS.length, hi, 32);
      writeBits(page, o, pos + INT_WIDTHS.length + 32, lo, 32);
      pos += INT_WIDTHS.length + 64;
    }
    this.lastVDelta = curInt && prevInt ? v - prev : 0;
    return pos;
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
    return this.slot < 0 ? 0 : MIN_SLOT << this.cls;
  }
}

function decode(page: Uint8Array, o: number, count: number, minT: number, maxT: number, sink: SampleSink): void {
  const b = f64Bytes;
  for (let i = 0; i < 8; i++) b[i] = page[o + i]!;
  let t = f64[0]!;
  let hi = readBits(page, o, 64, 32) | 0;
  let lo = readBits(page, o, 96, 32) | 0;
  const intMode = readBit(page, o, 128) === 1;
  let pos = 129;
  let delta = 0;
  let vDelta = 0;
  let leading = 0;
  let trailing = 0;
  let v = numberOf(hi, lo);
  let isInt = intMode && isIntBits(hi, lo);
  let stale = hi === STALE_HI && lo === STALE_LO;
  for (let k = 0; ; ) {
    if (t > maxT) return;
    if (t >= minT) {
      sink.add(t, v, stale);
    }
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
      // Integer mode (see encodeInt): i one bits and a zero, then INT_WIDTHS[i] bits; all ones: 64 raw bits.
      let i = 0;
      while (i < INT_WIDTHS.length && readBit(page, o, pos + i) === 1) i++;
      let dod = NaN;
      if (i < INT_WIDTHS.length) {
        const w = INT_WIDTHS[i]!;
        pos += i + 1;
        dod = w === 0 ? 0 : (readBits(page, o, pos, w) << (32 - w)) >> (32 - w);
        pos += w;
      } else pos += INT_WIDTHS.length;
      if (Number.isNaN(dod)) {
        hi = readBits(page, o, pos, 32) | 0;
        lo = readBits(page, o, pos + 32, 32) | 0;
        pos += 64;
        const nv = numberOf(hi, lo);
        const nInt = isIntBits(hi, lo);
        vDelta = isInt && nInt ? nv - v : 0;
        v = nv;
        isInt = nInt;
        stale = hi === STALE_HI && lo === STALE_LO;
      } else {
        // Both integers (the encoder differences only those): the new value is one too.
        const nv = v + (vDelta + dod);
        vDelta = nv - v;
        v = nv;
        stale = false;
      }
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
