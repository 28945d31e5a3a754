/**
 * Wire format of data connections between TaskManagers. Every frame is
 * `u32 length | u8 type | u32 channel id | payload`, big-endian, where length counts everything
 * after itself. Batches carry one msgpack-encoded array of records (records extension on, so an
 * array of same-shaped objects stores its keys once). The decoder is incremental and copies only
 * when a frame straddles socket chunks.
 */
import { FlowpilotError } from '../../common/errors.ts';

export const FRAME_OPEN = 1;
export const FRAME_BATCH = 2;
export const FRAME_WATERMARK = 3;
export const FRAME_END = 4;
export const FRAME_CREDIT = 5;
export const FRAME_BARRIER = 6;
export const FRAME_FAIL = 7;
/** Receiver → sender: the batch size to use from now on (buffer debloating). */
export const FRAME_BATCH_SIZE = 8;

export const HEADER_BYTES = 9;
/** Refuse absurd frames rather than allocate them (a corrupt or foreign peer). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function frameHeader(type: number, channelId: number, payloadBytes: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32BE(payloadBytes + 5, 0);
  h.writeUInt8(type, 4);
  h.writeUInt32BE(channelId, 5);
  return h;
}

export function frame(type: number, channelId: number, payload?: Uint8Array): Buffer {
  const len = payload ? payload.byteLength : 0;
  const h = frameHeader(type, channelId, len);
  return payload ? Buffer.concat([h, payload]) : h;
}

export function numberFrame(type: number, channelId: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_BYTES + 8);
  b.writeUInt32BE(13, 0);
  b.writeUInt8(type, 4);
  b.writeUInt32BE(channelId, 5);
  b.writeDoubleBE(value, 9);
  return b;
}

export type FrameHandler = (type: number, channelId: number, payload: Buffer) => void;

/** Splits a byte stream into frames. */
export class FrameDecoder {
  private pending: Buffer | null = null;
  private readonly onFrame: FrameHandler;

  constructor(onFrame: FrameHandler) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len < 5 || len > MAX_FRAME_BYTES) throw new FlowpilotError('FP_NET_FRAME', `bad data frame length ${len}`);
      if (buf.length - off - 4 < len) break;
      const type = buf.readUInt8(off + 4);
      const id = buf.readUInt32BE(off + 5);
      this.onFrame(type, id, buf.subarray(off + HEADER_BYTES, off + 4 + len));
      off += 4 + len;
    }
    if (off < buf.length) {
      // Copy the tail so the (possibly large) chunk it came from can be collected.
      this.pending = Buffer.from(buf.subarray(off));
      buf = this.pending;
    }
  }
}
