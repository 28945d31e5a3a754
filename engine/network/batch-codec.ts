/**
 * Wire encoding of a batch of records between TaskManagers. Most streams carry flat records of
 * one shape ({ key: 'k1', value: 3 }, or [timestamp, record] when event time travels with
 * them), so such a batch goes column by column, the way Flink's POJO and tuple serializers
 * write fields without per-record type tags: the field names once, then per field all values
 * as one block (int32 or float64 array, one byte per boolean, or one UTF-8 string with the
 * UTF-16 lengths; a string column whose values repeat goes as a dictionary: its distinct
 * values once, then a u16 index per record). Encoding is one pass to check the shape and one to fill typed arrays;
 * decoding reads each string column with a single native call and builds the records with
 * one object literal per shape (compiled once), so per record there is no type dispatch and
 * no native call. Anything else (nested values, mixed shapes, null, bigint, Date, non-plain
 * objects, ...) goes as msgpack, as before.
 *
 * Layout (little-endian): byte 0 is the format, 0 = msgpack (records extension) follows,
 * 1 = columnar. Columnar: u8 flags (bit 0: every record is [timestamp, record]), u8 field
 * count k, u32 record count n, then per field u16 name length + UTF-8 name, then, 8-aligned
 * from the payload's start, the timestamp column (n float64) when flagged, then per field a
 * column: u8 type, padding to the column's alignment, and the values.
 */
import { Packr, Unpackr } from 'msgpackr';
import { endianness } from 'node:os';
import { FlowpilotError } from '../../common/errors.ts';

const FORMAT_MSGPACK = 0;
const FORMAT_COLUMNS = 1;
const FLAG_TIMESTAMPED = 1;
const COL_INT32 = 1;
const COL_FLOAT64 = 2;
const COL_STRING = 3;
const COL_BOOL = 4;
const COL_DICT = 5;
/** Batches smaller than this go as msgpack: the shape check and header do not pay off. */
const MIN_COLUMNAR = 8;
const MAX_FIELDS = 64;
/** Distinct strings a dictionary column can index (u16). */
const MAX_WORDS = 65536;
const LITTLE_ENDIAN = endianness() === 'LE';

type Builder = (n: number, ts: Float64Array | null, cols: ArrayLike<unknown>[]) => unknown[];

/** Per-record value kinds seen while checking a column. */
const K_INT = 1;
const K_DOUBLE = 2;
const K_STRING = 3;
const K_BOOL = 4;

function kindOf(v: unknown): number {
  // typeof compared with literals (inlined type tests), not switched on (a Typeof builtin call per value).
  if (typeof v === 'number') return (v | 0) === v && (v !== 0 || 1 / v > 0) ? K_INT : K_DOUBLE;
  if (typeof v === 'string') return K_STRING;
  if (typeof v === 'boolean') return K_BOOL;
  return 0;
}

/** Merges a value's kind into a column's: ints widen to doubles; any other mix is not columnar (0). */
function merge(col: number, v: number): number {
  if (col === v) return col;
  if ((col === K_INT && v === K_DOUBLE) || (col === K_DOUBLE && v === K_INT)) return K_DOUBLE;
  return 0;
}

interface Dictionary {
  words: string[];
  index: Uint16Array;
}

const align = (off: number, a: number) => (off + a - 1) & ~(a - 1);

export class BatchEncoder {
  private readonly packr = new Packr({ useRecords: true });
  private fields: string[] = [];
  private kinds: number[] = [];
  private readonly words = new Map<string, number>();

  /** Encodes a batch; the result is a fresh buffer the caller may keep. */
  encode(records: unknown[]): Uint8Array {
    if (LITTLE_ENDIAN && records.length >= MIN_COLUMNAR) {
      const out = this.columnar(records);
      if (out !== null) return out;
    }
    return this.msgpack(records);
  }

  /** The record of a batch entry when it is [timestamp, record], else null. */
  static stamped(r: unknown): Record<string, unknown> | null {
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number') return null;
    const inner: unknown = r[1];
    return isPlainObject(inner) ? inner : null;
  }

  private columnar(records: unknown[]): Uint8Array | null {
    const n = records.length;
    const first = records[0];
    let timestamped = false;
    let r0: Record<string, unknown> | null = isPlainObject(first) ? first : null;
    if (r0 === null) {
      r0 = BatchEncoder.stamped(first);
      timestamped = true;
    }
    if (r0 === null) return null;
    const fields = Object.keys(r0);
    const k = fields.length;
    if (k === 0 || k > MAX_FIELDS || fields.includes('__proto__')) return null;
    this.fields = fields;
    const kinds = this.kinds;
    kinds.length = k;
    for (let j = 0; j < k; j++) kinds[j] = kindOf(r0[fields[j]!]);
    // Pass 1: every record has the same own enumerable keys in the same order, and each column one kind.
    if (!sameShape(records, n, fields, kinds, timestamped)) return null;
    return this.write(records, n, timestamped);
  }

  private write(records: unknown[], n: number, timestamped: boolean): Uint8Array {
    const fields = this.fields;
    const kinds = this.kinds;
    const k = fields.length;
    const names = fields.map((f) => Buffer.from(f, 'utf8'));
    const strings: Array<{ text: string; bytes: number; dict: Dictionary | null } | null> = [];
    let size = 7;
    for (const nm of names) size += 2 + nm.length;
    size = align(size, 8);
    if (timestamped) size += 8 * n;
    for (let j = 0; j < k; j++) {
      const kind = kinds[j]!;
      strings.push(null);
      size += 1;
      if (kind === K_INT) size = align(size, 4) + 4 * n;
      else if (kind === K_DOUBLE) size = align(size, 8) + 8 * n;
      else if (kind === K_BOOL) size += n;
      else {
        const key = fields[j]!;
        const dict = this.dictionary(records, n, key, timestamped);
        let text = '';
        if (dict !== null) text = dict.words.join('');
        // One string for the column: one native encode instead of one per record.
        else for (let i = 0; i < n; i++) text += rec(records[i], timestamped)[key] as string;
        // Lone surrogates would not survive UTF-8: such a batch goes as msgpack (ES2024's isWellFormed, Node 20+).
        if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) return this.msgpack(records);
        const bytes = Buffer.byteLength(text, 'utf8');
        strings[j] = { text, bytes, dict };
        // Plain: u32 byte length, then the UTF-16 lengths (u32 each), then the bytes. Dictionary: u32 word
        // count, u32 byte length, the words' UTF-16 lengths (u32 each), the bytes, then a u16 index per record.
        if (dict === null) size = align(size, 4) + 4 + 4 * n + bytes;
        else size = align(align(size, 4) + 8 + 4 * dict.words.length + bytes, 2) + 2 * n;
      }
    }
    const buf = Buffer.from(new ArrayBuffer(size));
    buf[0] = FORMAT_COLUMNS;
    buf[1] = timestamped ? FLAG_TIMESTAMPED : 0;
    buf[2] = k;
    buf.writeUInt32LE(n, 3);
    let off = 7;
    for (const nm of names) {
      buf.writeUInt16LE(nm.length, off);
      buf.set(nm, off + 2);
      off += 2 + nm.length;
    }
    off = align(off, 8);
    if (timestamped) {
      const ts = new Float64Array(buf.buffer, off, n);
      for (let i = 0; i < n; i++) ts[i] = (records[i] as [number, unknown])[0];
      off += 8 * n;
    }
    for (let j = 0; j < k; j++) {
      const kind = kinds[j]!;
      const key = fields[j]!;
      if (kind === K_INT) {
        buf[off++] = COL_INT32;
        off = align(off, 4);
        const col = new Int32Array(buf.buffer, off, n);
        for (let i = 0; i < n; i++) col[i] = rec(records[i], timestamped)[key] as number;
        off += 4 * n;
      } else if (kind === K_DOUBLE) {
        buf[off++] = COL_FLOAT64;
        off = align(off, 8);
        const col = new Float64Array(buf.buffer, off, n);
        for (let i = 0; i < n; i++) col[i] = rec(records[i], timestamped)[key] as number;
        off += 8 * n;
      } else if (kind === K_BOOL) {
        buf[off++] = COL_BOOL;
        for (let i = 0; i < n; i++) buf[off + i] = rec(records[i], timestamped)[key] ? 1 : 0;
        off += n;
      } else {
        const s = strings[j]!;
        const dict = s.dict;
        buf[off++] = dict === null ? COL_STRING : COL_DICT;
        off = align(off, 4);
        if (dict === null) {
          buf.writeUInt32LE(s.bytes, off);
          off += 4;
          const lens = new Uint32Array(buf.buffer, off, n);
          for (let i = 0; i < n; i++) lens[i] = (rec(records[i], timestamped)[key] as string).length;
          off += 4 * n;
          buf.write(s.text, off, s.bytes, 'utf8');
          off += s.bytes;
        } else {
          const words = dict.words;
          const d = words.length;
          buf.writeUInt32LE(d, off);
          buf.writeUInt32LE(s.bytes, off + 4);
          off += 8;
          const lens = new Uint32Array(buf.buffer, off, d);
          for (let w = 0; w < d; w++) lens[w] = words[w]!.length;
          off += 4 * d;
          buf.write(s.text, off, s.bytes, 'utf8');
          off = align(off + s.bytes, 2);
          new Uint16Array(buf.buffer, off, n).set(dict.index);
          off += 2 * n;
        }
      }
    }
    return buf;
  }

  /**
   * A string column's distinct values and each record's index into them, when they repeat enough
   * to pay (at most half the records distinct): keys, names and categories mostly do. The words
   * then travel once per batch, and the decoded records share one string per word.
   */
  private dictionary(records: unknown[], n: number, key: string, timestamped: boolean): Dictionary | null {
    const words: string[] = [];
    const index = new Uint16Array(n);
    const ok = indexWords(records, n, key, timestamped, this.words, words, index, Math.min(MAX_WORDS, n >>> 1));
    this.words.clear();
    return ok ? { words, index } : null;
  }

  private msgpack(records: unknown[]): Uint8Array {
    const body = this.packr.pack(records);
    const buf = new Uint8Array(body.length + 1);
    buf[0] = FORMAT_MSGPACK;
    buf.set(body, 1);
    return buf;
  }
}

/*
 * The per-record loops of the encoder live in plain functions that end right after their loop.
 * V8 compiles a long loop on its first run (on-stack replacement) before the code after it has
 * run, and keeps that code: when the code after the loop reads a property, every later call
 * enters the cached loop code and falls back to the interpreter where the loop ends (seen in the
 * TaskManagers as one deoptimization per batch).
 */

/** Checks that records 0..n-1 have exactly `fields` in order, widening `kinds`; false when not columnar. */
function sameShape(records: unknown[], n: number, fields: string[], kinds: number[], timestamped: boolean): boolean {
  const k = fields.length;
  for (let i = 0; i < n; i++) {
    let r: unknown = records[i];
    if (timestamped) {
      r = BatchEncoder.stamped(r);
      if (r === null) return false;
    } else if (!isPlainObject(r)) return false;
    const o = r as Record<string, unknown>;
    let j = 0;
    for (const key in o) {
      if (j >= k || key !== fields[j]) return false;
      const m = merge(kinds[j]!, kindOf(o[key]));
      if (m === 0) return false;
      kinds[j] = m;
      j++;
    }
    if (j !== k) return false;
  }
  return true;
}

/** Fills `index` with each record's position in `words` (appending new words); false once more than `max` are distinct. */
function indexWords(records: unknown[], n: number, key: string, timestamped: boolean, seen: Map<string, number>, words: string[], index: Uint16Array, max: number): boolean {
  for (let i = 0; i < n; i++) {
    const s = rec(records[i], timestamped)[key] as string;
    let w = seen.get(s);
    if (w === undefined) {
      w = words.length;
      if (w >= max) return false;
      seen.set(s, w);
      words.push(s);
    }
    index[i] = w;
  }
  return true;
}

function rec(r: unknown, timestamped: boolean): Record<string, unknown> {
  return (timestamped ? (r as [number, unknown])[1] : r) as Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export class BatchDecoder {
  private readonly unpackr = new Unpackr({ useRecords: true });
  private readonly builders = new Map<string, Builder>();

  decode(bytes: Uint8Array): unknown[] {
    if (bytes.length === 0) throw new FlowpilotError('FP_NET_FRAME', 'empty record batch');
    if (bytes[0] === FORMAT_MSGPACK) return this.unpackr.unpack(bytes.subarray(1)) as unknown[];
    if (bytes[0] !== FORMAT_COLUMNS) throw new FlowpilotError('FP_NET_FRAME', `unknown record batch format ${bytes[0]}`);
    if (!LITTLE_ENDIAN) throw new FlowpilotError('FP_NET_FRAME', 'columnar record batches need a little-endian host');
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const timestamped = (buf[1]! & FLAG_TIMESTAMPED) !== 0;
    const k = buf[2]!;
    const n = buf.readUInt32LE(3);
    let off = 7;
    const fields: string[] = [];
    for (let j = 0; j < k; j++) {
      const len = buf.readUInt16LE(off);
      fields.push(buf.toString('utf8', off + 2, off + 2 + len));
      off += 2 + len;
    }
    // The encoder never writes it; in an object literal it would set the prototype, not a field.
    if (fields.includes('__proto__')) throw new FlowpilotError('FP_NET_FRAME', 'a record batch field named __proto__');
    off = align(off, 8);
    let ts: Float64Array | null = null;
    if (timestamped) {
      ts = copyOut(buf, off, n, Float64Array);
      off += 8 * n;
    }
    const cols: ArrayLike<unknown>[] = [];
    for (let j = 0; j < k; j++) {
      const type = buf[off++];
      if (type === COL_INT32) {
        off = align(off, 4);
        cols.push(copyOut(buf, off, n, Int32Array));
        off += 4 * n;
      } else if (type === COL_FLOAT64) {
        off = align(off, 8);
        cols.push(copyOut(buf, off, n, Float64Array));
        off += 8 * n;
      } else if (type === COL_BOOL) {
        const col = new Array<boolean>(n);
        for (let i = 0; i < n; i++) col[i] = buf[off + i] === 1;
        cols.push(col);
        off += n;
      } else if (type === COL_STRING) {
        off = align(off, 4);
        const bytesLen = buf.readUInt32LE(off);
        off += 4;
        const lens = copyOut(buf, off, n, Uint32Array);
        off += 4 * n;
        const text = buf.toString('utf8', off, off + bytesLen);
        off += bytesLen;
        const col = new Array<string>(n);
        let p = 0;
        for (let i = 0; i < n; i++) {
          const e = p + lens[i]!;
          col[i] = text.substring(p, e);
          p = e;
        }
        if (p !== text.length) throw new FlowpilotError('FP_NET_FRAME', 'corrupt string column in a record batch');
        cols.push(col);
      } else if (type === COL_DICT) {
        off = align(off, 4);
        if (off + 8 > buf.length) throw new FlowpilotError('FP_NET_FRAME', 'record batch shorter than its columns');
        const d = buf.readUInt32LE(off);
        const bytesLen = buf.readUInt32LE(off + 4);
        off += 8;
        const lens = copyOut(buf, off, d, Uint32Array);
        off += 4 * d;
        if (off + bytesLen > buf.length) throw new FlowpilotError('FP_NET_FRAME', 'record batch shorter than its columns');
        const text = buf.toString('utf8', off, off + bytesLen);
        off = align(off + bytesLen, 2);
        const words = new Array<string>(d);
        let p = 0;
        for (let w = 0; w < d; w++) {
          const e = p + lens[w]!;
          words[w] = text.substring(p, e);
          p = e;
        }
        if (p !== text.length) throw new FlowpilotError('FP_NET_FRAME', 'corrupt string column in a record batch');
        const index = copyOut(buf, off, n, Uint16Array);
        off += 2 * n;
        const col = new Array<string>(n);
        for (let i = 0; i < n; i++) {
          const w = index[i]!;
          if (w >= d) throw new FlowpilotError('FP_NET_FRAME', 'corrupt string column in a record batch');
          col[i] = words[w]!;
        }
        cols.push(col);
      } else {
        throw new FlowpilotError('FP_NET_FRAME', `unknown column type ${type} in a record batch`);
      }
    }
    if (off !== buf.length) throw new FlowpilotError('FP_NET_FRAME', 'record batch length does not match its columns');
    return this.builder(fields, timestamped)(n, ts, cols);
  }

  /** One compiled loop per shape, so every record of it is built by the same object literal. */
  private builder(fields: string[], timestamped: boolean): Builder {
    const id = `${timestamped ? 1 : 0}${JSON.stringify(fields)}`;
    let b = this.builders.get(id);
    if (b === undefined) {
      const props = fields.map((f, j) => `${JSON.stringify(f)}: c${j}[i]`).join(', ');
      const cols = fields.map((_, j) => `const c${j} = cols[${j}];`).join(' ');
      const item = timestamped ? `[ts[i], { ${props} }]` : `{ ${props} }`;
      b = new Function('n', 'ts', 'cols', `${cols} const out = new Array(n); for (let i = 0; i < n; i++) out[i] = ${item}; return out;`) as Builder;
      if (this.builders.size >= 256) this.builders.clear();
      this.builders.set(id, b);
    }
    return b;
  }
}

/** Copies a column out of the payload into its own aligned typed array (the payload sits at any offset of a socket chunk). */
function copyOut<T extends Uint16Array | Int32Array | Uint32Array | Float64Array>(buf: Buffer, off: number, n: number, Ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }): T {
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  if (off + bytes > buf.length) throw new FlowpilotError('FP_NET_FRAME', 'record batch shorter than its columns');
  const arr = new Ctor(n);
  new Uint8Array(arr.buffer).set(buf.subarray(off, off + bytes));
  return arr;
}
