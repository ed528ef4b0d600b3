import { floatToS16BE } from '../audio/pcm';
import type { AudioEncoder } from './encoder';

/** L16: 16-bit signed, big-endian (network order), channels interleaved (RFC 3551 4.5.11). */
export class L16Encoder implements AudioEncoder {
  readonly name = 'L16';
  encode(frame: Float32Array): Buffer {
    return floatToS16BE(frame);
  }
  encodeInto(frame: Float32Array, out: Buffer, offset: number): void {
    floatToS16BE(frame, out, offset);
  }
  payloadBytes(frame: Float32Array): number {
    return frame.length * 2;
  }
  /** s16le -> s16be: a byte swap per sample (Buffer.swap16, native), the same bytes floatToS16BE gives for those samples */
  encodeS16LEInPlace(buf: Buffer, offset: number, bytes: number): void {
    buf.subarray(offset, offset + bytes).swap16();
  }
  close(): void {}
}

/** L16 payload -> interleaved floats (for receivers and diagnostics). */
export function decodeL16(payload: Buffer): Float32Array {
  const n = payload.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = payload.readInt16BE(i * 2) / 32768;
  return out;
}
