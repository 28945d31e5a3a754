/**
 * Flink's key-group arithmetic (KeyGroupRangeAssignment and MathUtils.murmurHash): which key
 * group a key belongs to, which key groups a subtask owns, and which subtask owns a key group.
 * Everything uses Java int arithmetic so placements match Apache Flink bit for bit for Integer,
 * Long and String keys.
 */
import type { KeyGroupRange } from '../contracts/task.ts';
import { javaHashCode } from './java-hash.ts';

export const DEFAULT_LOWER_BOUND_MAX_PARALLELISM = 128;
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MathUtils.murmurHash(int): a non-negative int. */
export function murmurHash(code: number): number {
  let h = Math.imul(code | 0, 0xcc9e2d51);
  h = rotl(h, 15);
  h = Math.imul(h, 0x1b873593);
  h = rotl(h, 13);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= 4;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  if (h >= 0) return h;
  return h !== -2147483648 ? -h : 0;
}

/** MathUtils.roundUpToPowerOfTwo for positive ints. */
export function roundUpToPowerOfTwo(x: number): number {
  x = (x - 1) | 0;
  x |= x >> 1;
  x |= x >> 2;
  x |= x >> 4;
  x |= x >> 8;
  x |= x >> 16;
  return (x + 1) | 0;
}

export function computeDefaultMaxParallelism(parallelism: number): number {
  const p = parallelism <= 0 ? 1 : parallelism;
  const scaled = roundUpToPowerOfTwo(p + Math.trunc(p / 2));
  return Math.min(Math.max(scaled, DEFAULT_LOWER_BOUND_MAX_PARALLELISM), UPPER_BOUND_MAX_PARALLELISM);
}

/** The key group of a key hash already computed as Java hashCode. */
export function computeKeyGroupForKeyHash(keyHash: number, maxParallelism: number): number {
  return murmurHash(keyHash) % maxParallelism;
}

export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return murmurHash(javaHashCode(key)) % maxParallelism;
}

export function computeKeyGroupRangeForOperatorIndex(
  maxParallelism: number,
  parallelism: number,
  operatorIndex: number,
): KeyGroupRange {
  return {
    start: Math.trunc((operatorIndex * maxParallelism + parallelism - 1) / parallelism),
    end: Math.trunc(((operatorIndex + 1) * maxParallelism - 1) / parallelism),
  };
}

export function computeOperatorIndexForKeyGroup(maxParallelism: number, parallelism: number, keyGroup: number): number {
  return Math.trunc((keyGroup * parallelism) / maxParallelism);
}

export function assignKeyToParallelOperator(key: unknown, maxParallelism: number, parallelism: number): number {
  return computeOperatorIndexForKeyGroup(maxParallelism, parallelism, assignToKeyGroup(key, maxParallelism));
}

export function keyGroupRangeContains(range: KeyGroupRange, keyGroup: number): boolean {
  return keyGroup >= range.start && keyGroup <= range.end;
}

export function keyGroupRangeSize(range: KeyGroupRange): number {
  return range.end < range.start ? 0 : range.end - range.start + 1;
}
