import { remapChannels, type PcmFormat } from './pcm';
import { Resampler } from './resampler';

/**
 * Converts a source's PCM to the stream's format: channels first (so resampling does the fewest
 * channels), then rate. Negotiated from the real formats on both sides, never assumed: a 48 kHz
 * source stays at its pitch in a 44.1 kHz stream.
 */
export class FormatConverter {
  private readonly resampler: Resampler | undefined;
  readonly passthrough: boolean;

  constructor(
    readonly from: PcmFormat,
    readonly to: PcmFormat,
  ) {
    this.resampler = from.rate === to.rate ? undefined : new Resampler(from.rate, to.rate, to.channels);
    this.passthrough = from.rate === to.rate && from.channels === to.channels;
  }

  process(chunk: Float32Array): Float32Array {
    const mapped = remapChannels(chunk, this.from.channels, this.to.channels);
    return this.resampler ? this.resampler.process(mapped) : mapped;
  }

  flush(): Float32Array {
    return this.resampler ? this.resampler.flush() : new Float32Array(0);
  }
}
