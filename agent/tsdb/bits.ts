/**
 * Bit-stream primitives of the store's chunks: MSB-first bit writes into zeroed bytes and reads
 * through one 32-bit window, at a bit position after a byte offset in a page (agent/tsdb/chunk.ts).
 */
/** Writes the low n (<= 32) bits of v at bit position pos (bits after o, MSB first). Target bits must be zero. */
export function writeBits(page: Uint8Array, o: number, pos: number, v: number, n: number): void {
  while (n > 0) {
    const idx = o + (pos >>> 3);
    const free = 8 - (pos & 7);
    const take = free < n ? free : n;
    const chunk = (v >>> (n - take)) & ((1 << take) - 1);
    page[idx] = page[idx]! | (chunk << (free - take));
    pos += take;
    n -= take;
  }
}

/** Writes the `sig` bits of the 64-bit (xh, xl) above `trail` trailing zeros; returns the new position. */
export function writeSig(page: Uint8Array, o: number, pos: number, xh: number, xl: number, trail: number, sig: number): number {
  let h: number;
  let l: number;
  if (trail >= 32) {
    h = 0;
    l = xh >>> (trail - 32);
  } else if (trail === 0) {
    h = xh;
    l = xl;
  } else {
    h = xh >>> trail;
    l = (xl >>> trail) | (xh << (32 - trail));
  }
  if (sig > 32) {
    writeBits(page, o, pos, h, sig - 32);
    writeBits(page, o, pos + sig - 32, l, 32);
  } else writeBits(page, o, pos, l, sig);
  return pos + sig;
}

/** Reads n (1..32) bits at bit position pos after o, as an unsigned number: one 32-bit window and at most one more byte. */
export function readBits(page: Uint8Array, o: number, pos: number, n: number): number {
  const idx = o + (pos >>> 3);
  const sh = pos & 7;
  const w = (page[idx]! << 24) | (page[idx + 1]! << 16) | (page[idx + 2]! << 8) | page[idx + 3]!;
  const top = (w << sh) >>> (32 - n);
  const over = sh + n - 32;
  if (over <= 0) return top;
  return (top | (page[idx + 4]! >>> (8 - over))) >>> 0;
}

export function readBit(page: Uint8Array, o: number, pos: number): number {
  return (page[o + (pos >>> 3)]! >>> (7 - (pos & 7))) & 1;
}
