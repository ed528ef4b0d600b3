/**
 * Streaming sample-rate converter: a Kaiser-windowed sinc, evaluated at exact rational positions
 * (position k of the output is k * inRate / outRate in the input, kept as integers so it never
 * drifts), with a polyphase table interpolated linearly between phases. The cut-off follows the
 * lower of the two Nyquist frequencies, so downsampling does not alias.
 */
export class Resampler {
  private readonly taps: number; // taps per side
  private readonly phases = 256;
  private readonly table: Float32Array; // (phases + 1) rows of 2*taps coefficients
  private hist: Float32Array; // interleaved input not yet fully used, starting at input index `histStart`
  private histFrames: number;
  private base = 0; // integer input position of the next output, relative to hist start
  private acc = 0; // fractional part, in units of 1/outRate
  readonly delayFrames: number;

  constructor(
    readonly inRate: number,
    readonly outRate: number,
    readonly channels: number,
    taps = 24,
  ) {
    this.taps = taps;
    const cutoff = Math.min(1, outRate / inRate) * 0.94;
    const beta = 8.6;
    const i0b = besselI0(beta);
    const width = 2 * taps;
    this.table = new Float32Array((this.phases + 1) * width);
    for (let p = 0; p <= this.phases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      for (let j = 0; j < width; j++) {
        // tap j sits at input offset (j - taps + 1) from floor(position); distance from the position:
        const x = j - taps + 1 - frac;
        const w = Math.abs(x) >= taps ? 0 : besselI0(beta * Math.sqrt(1 - (x / taps) ** 2)) / i0b;
        const v = cutoff * sinc(cutoff * x) * w;
        this.table[p * width + j] = v;
        sum += v;
      }
      // unity gain at DC for every phase
      for (let j = 0; j < width; j++) this.table[p * width + j] /= sum;
    }
    // Start with taps-1 frames of silence as history so the first output is centred on input 0.
    this.histFrames = taps - 1;
    this.hist = new Float32Array(this.histFrames * channels);
    this.base = taps - 1;
    this.delayFrames = 0;
  }

  /** Converts a chunk; returns every output frame whose window is complete. */
  process(input: Float32Array): Float32Array {
    const ch = this.channels;
    const inFrames = Math.floor(input.length / ch);
    const buf = new Float32Array((this.histFrames + inFrames) * ch);
    buf.set(this.hist.subarray(0, this.histFrames * ch));
    buf.set(input.subarray(0, inFrames * ch), this.histFrames * ch);
    const total = this.histFrames + inFrames;
    const width = 2 * this.taps;
    const out: number[] = [];
    // output needs input frames base - taps + 1 .. base + taps
    while (this.base + this.taps < total) {
      const pf = (this.acc / this.outRate) * this.phases;
      const p0 = Math.floor(pf);
      const t = pf - p0;
      const r0 = p0 * width;
      const r1 = r0 + width;
      const first = this.base - this.taps + 1;
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (let j = 0; j < width; j++) {
          const coef = this.table[r0 + j] + t * (this.table[r1 + j] - this.table[r0 + j]);
          s += coef * buf[(first + j) * ch + c];
        }
        out.push(s);
      }
      this.acc += this.inRate;
      while (this.acc >= this.outRate) {
        this.acc -= this.outRate;
        this.base++;
      }
    }
    // keep what future outputs still need: from base - taps + 1 on
    const keepFrom = Math.max(0, this.base - this.taps + 1);
    this.histFrames = total - keepFrom;
    this.hist = buf.slice(keepFrom * ch, total * ch);
    this.base -= keepFrom;
    return Float32Array.from(out);
  }

  /** Pushes silence through to release the last input samples (call once at the end). */
  flush(): Float32Array {
    return this.process(new Float32Array(this.taps * this.channels));
  }
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}
