import type { StreamDescription } from '../stream/description';
import { L16Encoder } from './l16';
import { OpusEncoder } from './opus';

/** One packet's worth of interleaved float PCM in, one RTP payload out. */
export interface AudioEncoder {
  readonly name: string;
  encode(frame: Float32Array): Buffer;
  close(): void;
}

export function createEncoder(d: StreamDescription): AudioEncoder {
  return d.codec === 'opus' ? new OpusEncoder(d) : new L16Encoder();
}
