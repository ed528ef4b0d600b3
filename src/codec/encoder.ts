import type { StreamDescription } from '../stream/description';
import { L16Encoder } from './l16';
import type { OpusEncoder } from './opus';

/** One packet's worth of interleaved float PCM in, one RTP payload out. */
export interface AudioEncoder {
  readonly name: string;
  encode(frame: Float32Array): Buffer;
  /** encoders with a fixed payload size can write straight into the packet (no intermediate copy) */
  encodeInto?(frame: Float32Array, out: Buffer, offset: number): void;
  payloadBytes?(frame: Float32Array): number;
  /**
   * Encoders whose payload is the PCM itself in another byte order (L16) turn 16-bit
   * little-endian samples already in the packet into their payload in place.
   */
  encodeS16LEInPlace?(buf: Buffer, offset: number, bytes: number): void;
  close(): void;
}

export function createEncoder(d: StreamDescription): AudioEncoder {
  // the Opus module (and its WebAssembly) is loaded only for Opus streams
  if (d.codec !== 'opus') return new L16Encoder();
  const { OpusEncoder: Opus } = require('./opus') as { OpusEncoder: typeof OpusEncoder };
  return new Opus(d);
}
