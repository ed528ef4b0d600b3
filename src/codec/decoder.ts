import { decodeL16 } from './l16';
import { OpusWasmDecoder, opusPacketSamples } from './opus-wasm';

/** How a stretch of missing audio was filled. */
export type ConcealMethod = 'fec' | 'plc' | 'fade';

/** One RTP payload in, interleaved float PCM out; and audio for packets that never came. */
export interface AudioDecoder {
  readonly channels: number;
  /** samples per channel this payload decodes to (0: malformed) */
  samplesIn(payload: Uint8Array): number;
  decode(payload: Uint8Array): Float32Array;
  /** `frames` frames standing in for lost audio; `next` is the packet after the gap, if it is here */
  conceal(frames: number, next?: Uint8Array): { pcm: Float32Array; method: ConcealMethod };
  close(): void;
}

/**
 * L16 has no concealment of its own: the last sample fades to silence over 2 ms (no click), and
 * the first 2 ms after the gap fade in (see fadeIn).
 */
export class L16Decoder implements AudioDecoder {
  private last: Float32Array;
  private fadeInNext = false;
  constructor(
    readonly channels: number,
    private readonly rate: number,
  ) {
    this.last = new Float32Array(channels);
  }
  samplesIn(p: Uint8Array): number {
    return p.length % (2 * this.channels) === 0 ? p.length / (2 * this.channels) : 0;
  }
  decode(p: Uint8Array): Float32Array {
    const out = decodeL16(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    if (this.fadeInNext) {
      fadeIn(out, this.channels, Math.round(this.rate * 0.002));
      this.fadeInNext = false;
    }
    if (out.length >= this.channels) this.last = out.slice(out.length - this.channels);
    return out;
  }
  conceal(frames: number): { pcm: Float32Array; method: ConcealMethod } {
    const out = new Float32Array(frames * this.channels);
    const fade = Math.min(frames, Math.round(this.rate * 0.002));
    for (let f = 0; f < fade; f++) for (let c = 0; c < this.channels; c++) out[f * this.channels + c] = this.last[c] * (1 - (f + 1) / fade);
    this.last = new Float32Array(this.channels);
    this.fadeInNext = true;
    return { pcm: out, method: 'fade' };
  }
  close(): void {}
}

export function fadeIn(x: Float32Array, channels: number, frames: number): void {
  const n = Math.min(frames, Math.floor(x.length / channels));
  for (let f = 0; f < n; f++) for (let c = 0; c < channels; c++) x[f * channels + c] *= (f + 1) / (n + 1);
}

/** Opus: the decoder's own concealment, or FEC from the next packet when it is already here. */
export class OpusDecoder implements AudioDecoder {
  private readonly d: OpusWasmDecoder;
  fecRecovered = 0;
  constructor(readonly channels: number) {
    this.d = new OpusWasmDecoder(channels);
  }
  samplesIn(p: Uint8Array): number {
    return opusPacketSamples(p);
  }
  decode(p: Uint8Array): Float32Array {
    return this.d.decode(p);
  }
  conceal(frames: number, next?: Uint8Array): { pcm: Float32Array; method: ConcealMethod } {
    // concealment lengths must be multiples of 2.5 ms (120 samples at 48 kHz)
    const f = Math.max(120, Math.round(frames / 120) * 120);
    if (next && f <= opusPacketSamples(next)) {
      try {
        const pcm = this.d.recover(next, f);
        this.fecRecovered++;
        return { pcm: fit(pcm, frames, this.channels), method: 'fec' };
      } catch {
        /* no FEC in that packet: fall through to PLC */
      }
    }
    return { pcm: fit(this.d.conceal(f), frames, this.channels), method: 'plc' };
  }
  close(): void {
    this.d.close();
  }
}

function fit(pcm: Float32Array, frames: number, channels: number): Float32Array {
  if (pcm.length === frames * channels) return pcm;
  const out = new Float32Array(frames * channels);
  out.set(pcm.subarray(0, Math.min(pcm.length, out.length)));
  return out;
}
