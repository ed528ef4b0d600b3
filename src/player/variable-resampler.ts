/**
 * A resampler whose ratio can change a little at every call: how the player follows the
 * sender's clock against the sound card's without an audible pitch change (a 100 ppm
 * correction is 0.17 cents). Windowed sinc (Kaiser), polyphase table with linear interpolation
 * between phases, pull-based: it asks for input as it needs it.
 */
export class VariableResampler {
  private readonly taps: number;
  private readonly phases = 512;
  private readonly table: Float32Array;
  private buf: Float32Array;
  private frames = 0; // frames in buf
  private pos: number; // input position (frames, relative to buf start) of the next output frame
  /** input frames consumed per output frame: > 1 plays faster (drains the buffer) */
  ratio = 1;

  constructor(
    readonly channels: number,
    taps = 16,
  ) {
    this.taps = taps;
    const width = 2 * taps;
    const cutoff = 0.92;
    const beta = 8;
    const i0b = besselI0(beta);
    this.table = new Float32Array((this.phases + 1) * width);
    for (let p = 0; p <= this.phases; p++) {
      const frac = p / this.phases;
      let sum = 0;
      for (let j = 0; j < width; j++) {
        const x = j - taps + 1 - frac;
        const w = Math.abs(x) >= taps ? 0 : besselI0(beta * Math.sqrt(1 - (x / taps) ** 2)) / i0b;
        const v = x === 0 ? cutoff : Math.sin(Math.PI * cutoff * x) / (Math.PI * x);
        this.table[p * width + j] = v * w;
        sum += v * w;
      }
      for (let j = 0; j < width; j++) this.table[p * width + j] /= sum;
    }
    // history of taps-1 silent frames so the first output is centred on input frame 0
    this.buf = new Float32Array(4096 * channels);
    this.frames = taps - 1;
    this.pos = taps - 1;
  }

  /**
   * forgets all input (a restart of playout): the next output is centred on the next input
   * frame, or `frac` (0..1) of a frame after it (a jump to a fractional position: play --sync)
   */
  reset(frac = 0): void {
    this.buf.fill(0, 0, (this.taps - 1) * this.channels);
    this.frames = this.taps - 1;
    this.pos = this.taps - 1 + frac;
  }

  /** input frames held but not yet played (for latency accounting) */
  get pendingFrames(): number {
    return Math.max(0, this.frames - this.pos);
  }

  /** `outFrames` frames of output, pulling input through `pull(n)` (which must return n frames). */
  read(outFrames: number, pull: (n: number) => Float32Array): Float32Array {
    const ch = this.channels;
    const width = 2 * this.taps;
    const out = new Float32Array(outFrames * ch);
    // pull what this whole block needs at once, and no more: input pulled early is input taken
    // from the jitter buffer early, which the player would have to buffer for (latency)
    const needAll = Math.floor(this.pos + (outFrames - 1) * this.ratio) + this.taps + 1;
    if (needAll > this.frames) this.append(pull(needAll - this.frames));
    for (let o = 0; o < outFrames; o++) {
      const base = Math.floor(this.pos);
      const need = base + this.taps + 1;
      if (need > this.frames) this.append(pull(need - this.frames));
      const pf = (this.pos - base) * this.phases;
      const p0 = Math.floor(pf);
      const t = pf - p0;
      const r0 = p0 * width;
      const first = base - this.taps + 1;
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (let j = 0; j < width; j++) {
          const a = this.table[r0 + j];
          s += (a + t * (this.table[r0 + width + j] - a)) * this.buf[(first + j) * ch + c];
        }
        out[o * ch + c] = s;
      }
      this.pos += this.ratio;
    }
    this.compact();
    return out;
  }

  private append(x: Float32Array): void {
    const n = Math.floor(x.length / this.channels);
    const needLen = (this.frames + n) * this.channels;
    if (needLen > this.buf.length) {
      const nb = new Float32Array(Math.max(needLen, this.buf.length * 2));
      nb.set(this.buf.subarray(0, this.frames * this.channels));
      this.buf = nb;
    }
    this.buf.set(x.subarray(0, n * this.channels), this.frames * this.channels);
    this.frames += n;
  }

  /** drop input no longer reachable by the filter window */
  private compact(): void {
    const drop = Math.floor(this.pos) - this.taps + 1;
    if (drop < 1024) return;
    const ch = this.channels;
    this.buf.copyWithin(0, drop * ch, this.frames * ch);
    this.frames -= drop;
    this.pos -= drop;
  }
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
