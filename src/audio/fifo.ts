/** A queue of interleaved float PCM, read in exact frame counts (what a packetizer needs). */
export class PcmFifo {
  private chunks: Float32Array[] = [];
  private head = 0; // samples already consumed from chunks[0]
  private samples = 0;

  constructor(readonly channels: number) {}

  /** frames queued */
  get frames(): number {
    return Math.floor(this.samples / this.channels);
  }

  push(chunk: Float32Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.samples += chunk.length;
  }

  /** Exactly `frames` frames, or null if fewer are queued. */
  read(frames: number): Float32Array | null {
    const need = frames * this.channels;
    if (need > this.samples) return null;
    const out = new Float32Array(need);
    let filled = 0;
    while (filled < need) {
      const c = this.chunks[0];
      const take = Math.min(c.length - this.head, need - filled);
      out.set(c.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === c.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.samples -= need;
    return out;
  }

  /** Everything queued (whole frames), then empty. */
  drain(): Float32Array {
    return this.read(this.frames) ?? new Float32Array(0);
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.samples = 0;
  }
}
