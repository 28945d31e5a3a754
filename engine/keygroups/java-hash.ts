/**
 * Java's `hashCode()` for the key types the engine supports, so that keys land in the same key
 * groups as they would in Apache Flink: Integer (the value), Long ((int)(v ^ v>>>32)), String
 * (s[0]*31^(n-1)+...), Boolean (1231/1237), Double (bits ^ bits>>>32). Arrays hash like
 * java.util.Arrays.hashCode over their elements (Flink's tuple keys hash similarly). Any other
 * object hashes as the String of its JSON form, which is stable but has no Java counterpart.
 */

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Java String.hashCode over UTF-16 code units (JS strings are UTF-16 too). */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Java Long.hashCode for a signed 64-bit value. */
export function javaLongHash(v: bigint): number {
  const x = BigInt.asUintN(64, v);
  const lo = Number(x & 0xffffffffn);
  const hi = Number(x >> 32n);
  return (lo ^ hi) | 0;
}

/** Java Double.hashCode (doubleToLongBits, so every NaN hashes alike). */
export function javaDoubleHash(v: number): number {
  if (Number.isNaN(v)) return 0x7ff80000 | 0;
  f64[0] = v;
  return (u32[0]! ^ u32[1]!) | 0;
}

/** Integers in int range hash as Integer; other safe integers as Long; other numbers as Double. */
export function javaNumberHash(v: number): number {
  if (Number.isInteger(v)) {
    if (v >= INT_MIN && v <= INT_MAX) return v | 0;
    if (Number.isSafeInteger(v)) return javaLongHash(BigInt(v));
  }
  return javaDoubleHash(v);
}

export function javaHashCode(key: unknown): number {
  // typeof compared with literals, not switched on: optimized code then tests the type inline
  // instead of calling the Typeof builtin for a string (seen per record in a keyed shuffle's profile).
  if (typeof key === 'string') return javaStringHash(key);
  if (typeof key === 'number') return javaNumberHash(key);
  if (typeof key === 'bigint') return javaLongHash(key);
  if (typeof key === 'boolean') return key ? 1231 : 1237;
  if (key === null || key === undefined) return 0;
  if (Array.isArray(key)) {
    let h = 1;
    for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + javaHashCode(key[i])) | 0;
    return h;
  }
  return javaStringHash(JSON.stringify(key));
}
