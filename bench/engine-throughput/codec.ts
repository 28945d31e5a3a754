/**
 * The keyed shuffle's wire encoding alone, in one process: (b)'s records ({ key: 'k123', value })
 * in batches of 512 (`--batch N`), encoded and decoded with msgpack (records extension, what the wire used
 * before) and with engine/network/batch-codec.ts, best of `--reps` rounds of 100 k batches' worth
 * after a warm-up. Prints ns per record for each side and bytes per record.
 * Usage: node bench/engine-throughput/codec.ts [--reps N] [--batch N]
 */
import { performance } from 'node:perf_hooks';
import { Packr, Unpackr } from 'msgpackr';
import { BatchDecoder, BatchEncoder } from '../../engine/network/batch-codec.ts';
import { makeRecord } from './work.ts';

const argv = process.argv.slice(2);
const REPS = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 5;
const BATCH = argv.includes('--batch') ? Number(argv[argv.indexOf('--batch') + 1]) : 512;

const batches: unknown[][] = [];
for (let b = 0; b < Math.ceil(102_400 / BATCH); b++) batches.push(Array.from({ length: BATCH }, (_, i) => makeRecord(b % 2, b * BATCH + i, 2)));

interface Codec {
  name: string;
  encode(records: unknown[]): Uint8Array;
  decode(bytes: Uint8Array): unknown[];
}
const packr = new Packr({ useRecords: true });
const unpackr = new Unpackr({ useRecords: true });
const encoder = new BatchEncoder();
const decoder = new BatchDecoder();
const codecs: Codec[] = [
  { name: 'msgpack (records)', encode: (r) => packr.pack(r), decode: (b) => unpackr.unpack(b) as unknown[] },
  { name: 'columnar batch codec', encode: (r) => encoder.encode(r), decode: (b) => decoder.decode(b) },
];

function round(c: Codec): { enc: number; dec: number; bytes: number } {
  const bufs: Uint8Array[] = [];
  let t0 = performance.now();
  for (let k = 0; k < 5; k++) for (const b of batches) bufs.push(c.encode(b));
  const enc = performance.now() - t0;
  t0 = performance.now();
  let n = 0;
  for (const b of bufs) n += c.decode(b).length;
  const dec = performance.now() - t0;
  return { enc: (enc * 1e6) / n, dec: (dec * 1e6) / n, bytes: bufs[0]!.length / batches[0]!.length };
}

for (const c of codecs) round(c);
for (const c of codecs) {
  let best = { enc: Infinity, dec: Infinity, bytes: 0 };
  for (let r = 0; r < REPS; r++) {
    const x = round(c);
    best = { enc: Math.min(best.enc, x.enc), dec: Math.min(best.dec, x.dec), bytes: x.bytes };
  }
  console.log(`${c.name.padEnd(22)} encode ${best.enc.toFixed(1)} ns/record   decode ${best.dec.toFixed(1)} ns/record   ${best.bytes.toFixed(1)} bytes/record`);
}
