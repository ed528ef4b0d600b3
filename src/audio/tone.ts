import type { PcmFormat } from './pcm';

/** A sine of `hz` at `dbfs` on every channel, phase-continuous across calls. Pure. */
export class ToneGenerator {
  private n = 0;
  private readonly amp: number;
  private readonly w: number;

  constructor(
    readonly format: PcmFormat,
    readonly hz: number,
    dbfs = -12,
  ) {
    this.amp = 10 ** (dbfs / 20);
    this.w = (2 * Math.PI * hz) / format.rate;
  }

  next(frames: number): Float32Array {
    const ch = this.format.channels;
    const out = new Float32Array(frames * ch);
    for (let f = 0; f < frames; f++) {
      // phase from the absolute sample index: no accumulated rounding over hours
      const v = this.amp * Math.sin(this.w * ((this.n + f) % this.format.rate) + this.phaseAt(this.n + f));
      for (let c = 0; c < ch; c++) out[f * ch + c] = v;
    }
    this.n += frames;
    return out;
  }

  /** whole seconds of phase, reduced so the argument of sin stays small and exact */
  private phaseAt(n: number): number {
    const secs = Math.floor(n / this.format.rate);
    const cycles = secs * this.hz;
    return 2 * Math.PI * (cycles - Math.floor(cycles));
  }
}
