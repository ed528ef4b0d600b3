import { Encoder } from '@evan/opus';
import { floatToInt16 } from '../audio/pcm';
import type { StreamDescription } from '../stream/description';
import type { AudioEncoder } from './encoder';

/**
 * Opus (RFC 6716) through @evan/opus: prebuilt libopus for x64/arm64 Linux, x64 Windows and
 * macOS, with a WebAssembly build as the fallback, so nothing is compiled at install time
 * (see docs/OPUS.md for the measurements behind the choice).
 */
export class OpusEncoder implements AudioEncoder {
  readonly name = 'Opus';
  private readonly enc: Encoder;

  constructor(d: Pick<StreamDescription, 'channels' | 'bitrate' | 'fec'>, opts: { complexity?: number; expectedLossPct?: number } = {}) {
    this.enc = new Encoder({ channels: d.channels as 1 | 2, sample_rate: 48000, application: 'audio' });
    this.enc.bitrate = d.bitrate ?? 128000;
    this.enc.signal = 'music';
    if (opts.complexity !== undefined) this.enc.complexity = opts.complexity as 0;
    // In-band FEC only carries redundancy when the encoder expects loss (OPUS_SET_PACKET_LOSS_PERC).
    this.enc.inband_fec = d.fec ?? true;
    if (d.fec ?? true) this.enc.packet_loss = opts.expectedLossPct ?? 5;
  }

  encode(frame: Float32Array): Buffer {
    const out = this.enc.encode(floatToInt16(frame));
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  }

  close(): void {}
}
