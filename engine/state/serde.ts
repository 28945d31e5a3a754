/**
 * The one binary codec for state snapshots and records in state: msgpack via msgpackr, with
 * bigint support. Plain objects decode as objects; use arrays of pairs for maps.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, useBigIntExtension: true });

export function encodeState(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeState<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
