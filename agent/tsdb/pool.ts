/**
 * Chunk memory of a store: 1 MiB pages shared by every series, so a series holds numbers
 * (addresses), not buffers. Two kinds of space:
 * - head slots, where each series' open chunk is appended in place (size classes of
 *   48..2048 bytes, a third or a half larger each, as the chunk grows; recycled through free lists);
 * - closed chunks, copied to their exact size into append-only pages when the head chunk
 *   is cut. Series cut their chunks at about the same times, so a page holds chunks of about
 *   the same age and is released whole once retention has dropped all of them.
 *
 * A closed chunk equal byte for byte (same samples, same times) to one closed shortly before
 * is not copied again: the earlier copy gains an owner. Series scraped from one target share
 * their timestamps, and Flink exports some series twice (a task's numRecordsIn is its head
 * operator's) and many constants, so equal chunks are common. Candidates are the last
 * 2 x RECENT chunks closed (the series of a scrape cut together), which bounds the index.
 */
import { CLOSED_HEADER, MAX_CLASS, PAGE_BITS, PAGE_MASK, PAGE_SIZE, SLOT_SIZES, f64, f64Bytes, numberFromBytes } from './format.ts';
import { decode, type SampleSink } from './decode.ts';

/** Closed chunks remembered per generation as candidates for sharing. */
const RECENT = 1 << 15;
/** Owners of one closed chunk (the header's owner byte counts those past the first). */
const MAX_OWNERS = 256;

function hashChunk(page: Uint8Array, o: number, bytes: number, count: number, maxT: number): number {
  let h = Math.imul(0x811c9dc5 ^ count, 0x01000193);
  h = Math.imul(h ^ (maxT % 4294967296), 0x01000193);
  for (let i = 0; i < bytes; i++) h = Math.imul(h ^ page[o + i]!, 0x01000193);
  return h >>> 0;
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
  /** Hash -> address of recently closed chunks, this generation and the one before. */
  private recent = new Map<number, number>();
  private older = new Map<number, number>();
  /** Bytes in head slots handed out, and in closed chunks still live (a shared chunk once). */
  headBytes = 0;
  closedBytes = 0;
  /** Closed chunks held (a shared chunk once), and owners beyond the first of shared ones. */
  closedChunks = 0;
  sharedOwners = 0;

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

  /** A zeroed head slot of SLOT_SIZES[cls] bytes. */
  allocSlot(cls: number): number {
    const size = SLOT_SIZES[cls]!;
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
    this.headBytes -= SLOT_SIZES[cls]!;
    this.freeSlots[cls]!.push(addr);
  }

  /** Copies a head chunk into closed space (or shares an equal chunk closed just before); returns the closed chunk's address. */
  close(slot: number, bytes: number, count: number, maxT: number): number {
    const src = this.page(slot);
    const so = slot & PAGE_MASK;
    const h = hashChunk(src, so, bytes, count, maxT);
    const cand = this.recent.get(h) ?? this.older.get(h);
    if (cand !== undefined && this.sameAs(cand, src, so, bytes, count, maxT)) {
      const p = this.page(cand);
      const o = cand & PAGE_MASK;
      if (p[o + 3]! < MAX_OWNERS - 1) {
        p[o + 3]!++;
        this.sharedOwners++;
        return cand;
      }
    }
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
    dst[o + 2] = count;
    dst[o + 3] = 0;
    f64[0] = maxT;
    dst.set(f64Bytes, o + 4);
    dst.set(src.subarray(so, so + bytes), o + CLOSED_HEADER);
    this.closedBump += size;
    this.live[this.closedPage] = this.live[this.closedPage]! + size;
    this.closedBytes += size;
    this.closedChunks++;
    this.recent.set(h, addr);
    if (this.recent.size >= RECENT) {
      this.older = this.recent;
      this.recent = new Map();
    }
    return addr;
  }

  private sameAs(addr: number, src: Uint8Array, so: number, bytes: number, count: number, maxT: number): boolean {
    const p = this.pages[addr >>> PAGE_BITS];
    if (p === null || p === undefined) return false;
    const o = addr & PAGE_MASK;
    if ((p[o]! | (p[o + 1]! << 8)) !== bytes || p[o + 2] !== count || this.closedMaxT(addr) !== maxT) return false;
    const d = o + CLOSED_HEADER;
    for (let i = 0; i < bytes; i++) if (p[d + i] !== src[so + i]) return false;
    return true;
  }

  closedCount(addr: number): number {
    return this.page(addr)[(addr & PAGE_MASK) + 2]!;
  }

  /** Bytes a closed chunk takes, header included. */
  closedBytesOf(addr: number): number {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    return CLOSED_HEADER + (p[o]! | (p[o + 1]! << 8));
  }

  /** Owners of a closed chunk (1 unless shared). */
  ownersOf(addr: number): number {
    return 1 + this.page(addr)[(addr & PAGE_MASK) + 3]!;
  }

  closedMaxT(addr: number): number {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    const b = f64Bytes;
    for (let i = 0; i < 8; i++) b[i] = p[o + 4 + i]!;
    return numberFromBytes();
  }

  closedMinT(addr: number): number {
    const p = this.page(addr);
    const o = (addr & PAGE_MASK) + CLOSED_HEADER;
    const b = f64Bytes;
    for (let i = 0; i < 8; i++) b[i] = p[o + i]!;
    return numberFromBytes();
  }

  /** Drops one owner of a closed chunk; the chunk goes with its last owner, its page once none of its chunks is left. */
  dropClosed(addr: number): void {
    const p = this.page(addr);
    const o = addr & PAGE_MASK;
    if (p[o + 3]! > 0) {
      p[o + 3]!--;
      this.sharedOwners--;
      return;
    }
    const bytes = p[o]! | (p[o + 1]! << 8);
    const h = hashChunk(p, o + CLOSED_HEADER, bytes, p[o + 2]!, this.closedMaxT(addr));
    if (this.recent.get(h) === addr) this.recent.delete(h);
    if (this.older.get(h) === addr) this.older.delete(h);
    const size = CLOSED_HEADER + bytes;
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
