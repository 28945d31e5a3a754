/**
 * Compressed, immutable chunks of samples for the older part of a series. Timestamps
 * are stored as zig-zag varint delta-of-deltas (one byte per sample for regular scrapes);
 * values are XORed with the previous value and only the non-zero middle bytes are kept,
 * behind a control byte holding the count of zero bytes on each side (one byte for an
 * unchanged value). The first sample is stored raw.
 */

const f64 = new Float64Array(1);
const u8 = new Uint8Array(f64.buffer);
const prevBytes = new Uint8Array(8);

export interface SealedChunk {
  readonly minT: number;
  readonly maxT: number;
  readonly count: number;
  readonly bytes: Uint8Array;
}

class ByteWriter {
  buf: Uint8Array;
  len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  varint(v: number): void {
    // Zig-zag for signed values that fit in 2^52; written 7 bits at a time.
    let z = v < 0 ? -2 * v - 1 : 2 * v;
    this.ensure(8);
    while (z >= 0x80) {
      this.buf[this.len++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    this.buf[this.len++] = z;
  }
}

/** Encodes ts/vs (same length, ascending ts) into a chunk. */
export function encodeChunk(ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, to: number): SealedChunk {
  const n = to - from;
  const w = new ByteWriter(16 + n * 3);
  f64[0] = ts[from]!;
  for (let i = 0; i < 8; i++) w.byte(u8[i]!);
  f64[0] = vs[from]!;
  for (let i = 0; i < 8; i++) { w.byte(u8[i]!); prevBytes[i] = u8[i]!; }
  let prevT = ts[from]!;
  let prevDelta = 0;
  for (let k = from + 1; k < to; k++) {
    const t = ts[k]!;
    const delta = t - prevT;
    w.varint(delta - prevDelta);
    prevDelta = delta;
    prevT = t;
    f64[0] = vs[k]!;
    let lead = 0;
    while (lead < 8 && (u8[7 - lead]! ^ prevBytes[7 - lead]!) === 0) lead++;
    if (lead === 8) {
      w.byte(0);
      continue;
    }
    let trail = 0;
    while ((u8[trail]! ^ prevBytes[trail]!) === 0) trail++;
    w.byte((lead << 4) | trail | 0x80);
    w.ensure(8);
    for (let i = trail; i < 8 - lead; i++) w.buf[w.len++] = u8[i]! ^ prevBytes[i]!;
    for (let i = 0; i < 8; i++) prevBytes[i] = u8[i]!;
  }
  return { minT: ts[from]!, maxT: ts[to - 1]!, count: n, bytes: w.buf.slice(0, w.len) };
}

/** Decodes every sample of a chunk, appending to ts/vs. */
export function decodeChunk(c: SealedChunk, ts: number[], vs: number[]): void {
  const b = c.bytes;
  let p = 0;
  for (let i = 0; i < 8; i++) u8[i] = b[p++]!;
  let t = f64[0]!;
  const cur = new Uint8Array(8);
  for (let i = 0; i < 8; i++) cur[i] = b[p++]!;
  for (let i = 0; i < 8; i++) u8[i] = cur[i]!;
  ts.push(t);
  vs.push(f64[0]!);
  let delta = 0;
  for (let k = 1; k < c.count; k++) {
    let z = 0;
    let mul = 1;
    for (;;) {
      const byte = b[p++]!;
      z += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 0x80;
    }
    delta += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    t += delta;
    const ctl = b[p++]!;
    if (ctl !== 0) {
      const lead = (ctl >> 4) & 0x7;
      const trail = ctl & 0xf;
      for (let i = trail; i < 8 - lead; i++) cur[i] = cur[i]! ^ b[p++]!;
    }
    for (let i = 0; i < 8; i++) u8[i] = cur[i]!;
    ts.push(t);
    vs.push(f64[0]!);
  }
}

/** Samples per chunk before it is sealed. */
export const CHUNK_SAMPLES = 120;

/** The chunk being filled: encodes each sample as it arrives. */
class ActiveChunk {
  private readonly w = new ByteWriter(64);
  readonly minT: number;
  maxT: number;
  count = 1;
  private prevDelta = 0;
  /** Bits of the previous value as two uint32 words (numbers could lose NaN payloads). */
  private prevLo: number;
  private prevHi: number;

  constructor(t: number, v: number) {
    this.minT = t;
    this.maxT = t;
    f64[0] = t;
    for (let i = 0; i < 8; i++) this.w.byte(u8[i]!);
    f64[0] = v;
    for (let i = 0; i < 8; i++) this.w.byte(u8[i]!);
    this.prevLo = u8[0]! | (u8[1]! << 8) | (u8[2]! << 16) | (u8[3]! << 24);
    this.prevHi = u8[4]! | (u8[5]! << 8) | (u8[6]! << 16) | (u8[7]! << 24);
  }

  add(t: number, v: number): void {
    const w = this.w;
    const delta = t - this.maxT;
    w.varint(delta - this.prevDelta);
    this.prevDelta = delta;
    this.maxT = t;
    this.count++;
    for (let i = 0; i < 4; i++) prevBytes[i] = (this.prevLo >>> (8 * i)) & 0xff;
    for (let i = 0; i < 4; i++) prevBytes[4 + i] = (this.prevHi >>> (8 * i)) & 0xff;
    f64[0] = v;
    this.prevLo = u8[0]! | (u8[1]! << 8) | (u8[2]! << 16) | (u8[3]! << 24);
    this.prevHi = u8[4]! | (u8[5]! << 8) | (u8[6]! << 16) | (u8[7]! << 24);
    let lead = 0;
    while (lead < 8 && (u8[7 - lead]! ^ prevBytes[7 - lead]!) === 0) lead++;
    if (lead === 8) {
      w.byte(0);
      return;
    }
    let trail = 0;
    while ((u8[trail]! ^ prevBytes[trail]!) === 0) trail++;
    w.byte((lead << 4) | trail | 0x80);
    w.ensure(8);
    for (let i = trail; i < 8 - lead; i++) w.buf[w.len++] = u8[i]! ^ prevBytes[i]!;
  }

  /** Bytes held: the writer's buffer (with its slack). */
  get bytesHeld(): number {
    return this.w.buf.length;
  }

  view(): SealedChunk {
    return { minT: this.minT, maxT: this.maxT, count: this.count, bytes: this.w.buf.subarray(0, this.w.len) };
  }


}

/** Fields per sealed chunk in ChunkArchive.meta: start, byte length, count, minT, maxT. */
const META_STRIDE = 5;

/**
 * The compressed, older part of one series: sealed chunks stored back to back in one
 * byte buffer (one allocation per series, not one per chunk), plus the chunk being filled.
 */
export class ChunkArchive {
  private data: Uint8Array = new Uint8Array(0);
  private dataLen = 0;
  /** [start, byteLength, count, minT, maxT] per sealed chunk, oldest first. */
  private meta: number[] = [];
  private active: ActiveChunk | null = null;
  count = 0;

  push(t: number, v: number): void {
    if (this.active === null) this.active = new ActiveChunk(t, v);
    else this.active.add(t, v);
    this.count++;
    if (this.active.count >= CHUNK_SAMPLES) {
      this.seal(this.active.view());
      this.active = null;
    }
  }

  private seal(c: SealedChunk): void {
    const need = this.dataLen + c.bytes.length;
    if (need > this.data.length) {
      const next = new Uint8Array(Math.max(need, Math.ceil(this.data.length * 1.5)));
      next.set(this.data.subarray(0, this.dataLen));
      this.data = next;
    }
    this.data.set(c.bytes, this.dataLen);
    this.meta.push(this.dataLen, c.bytes.length, c.count, c.minT, c.maxT);
    this.dataLen = need;
  }

  /** Bytes held for samples: the sealed chunks' buffer (with slack), their metadata (8 per number), the active chunk. */
  get bytesHeld(): number {
    return this.data.length + this.meta.length * 8 + (this.active?.bytesHeld ?? 0);
  }

  private get sealedChunks(): number {
    return this.meta.length / META_STRIDE;
  }

  get minT(): number {
    return this.meta.length > 0 ? this.meta[3]! : this.active?.minT ?? Infinity;
  }

  get maxT(): number {
    if (this.active !== null) return this.active.maxT;
    return this.meta.length > 0 ? this.meta[this.meta.length - 1]! : -Infinity;
  }

  /** Drops whole chunks that end before minT; returns how many samples went. */
  dropBefore(minT: number): number {
    let dropped = 0;
    let k = 0;
    while (k < this.sealedChunks && this.meta[k * META_STRIDE + 4]! < minT) dropped += this.meta[k++ * META_STRIDE + 2]!;
    if (k > 0) {
      const cut = k < this.sealedChunks ? this.meta[k * META_STRIDE]! : this.dataLen;
      this.data.copyWithin(0, cut, this.dataLen);
      this.dataLen -= cut;
      this.meta = this.meta.slice(k * META_STRIDE);
      for (let i = 0; i < this.meta.length; i += META_STRIDE) this.meta[i] = this.meta[i]! - cut;
      if (this.data.length > 2 * this.dataLen + 64) this.data = this.data.slice(0, this.dataLen);
    }
    if (this.meta.length === 0 && this.active !== null && this.active.maxT < minT) {
      dropped += this.active.count;
      this.active = null;
    }
    this.count -= dropped;
    return dropped;
  }

  /** Appends the samples with minT <= t <= maxT, oldest first. */
  collect(minT: number, maxT: number, ts: number[], vs: number[]): void {
    const tmpT: number[] = [];
    const tmpV: number[] = [];
    const visit = (c: SealedChunk): void => {
      tmpT.length = 0;
      tmpV.length = 0;
      decodeChunk(c, tmpT, tmpV);
      for (let i = 0; i < tmpT.length; i++) {
        const t = tmpT[i]!;
        if (t >= minT && t <= maxT) { ts.push(t); vs.push(tmpV[i]!); }
      }
    };
    for (let i = 0; i < this.meta.length; i += META_STRIDE) {
      const cMin = this.meta[i + 3]!;
      const cMax = this.meta[i + 4]!;
      if (cMax < minT || cMin > maxT) continue;
      const start = this.meta[i]!;
      visit({ minT: cMin, maxT: cMax, count: this.meta[i + 2]!, bytes: this.data.subarray(start, start + this.meta[i + 1]!) });
    }
    if (this.active !== null && this.active.maxT >= minT && this.active.minT <= maxT) visit(this.active.view());
  }
}
