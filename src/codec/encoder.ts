import type { StreamDescription } from '../stream/description';
import { L16Encoder } from './l16';
import { OpusEncoder } from './opus';

/** One packet's worth of interleaved float PCM in, one RTP payload out. */
export interface AudioEncoder {
  readonly name: string;
  encode(frame: Float32Array): Buffer;
  /** encoders with a fixed payload size can write straight into the packet (no intermediate copy) */
  encodeInto?(frame: Float32Array, out: Buffer, offset: number): void;
  payloadBytes?(frame: Float32Array): number;
  close(): void;
}

export function createEncoder(d: StreamDescription): AudioEncoder {
  return d.codec === 'opus' ? new OpusEncoder(d) : new L16Encoder();
}
