import type { Readable } from 'node:stream';
import { PcmFifo } from '../fifo';
import { decodeRaw, bytesPerSample, type SampleFormat } from '../pcm';

/**
 * Reads raw PCM from a byte stream into a bounded FIFO: the stream is paused above `highFrames`
 * and resumed below half of it, so a fast producer (a file decoder, `cat`) is held back instead of
 * filling memory. Partial samples at chunk borders are carried over.
 */
export class PcmStreamReader {
  private readonly fifo: PcmFifo;
  private carry = Buffer.alloc(0);
  private paused = false;
  ended = false;
  bytesIn = 0;
  /** whole frames received so far (arrivals, whether read yet or not) */
  framesIn = 0;
  private readable: (() => void) | undefined;

  constructor(
    private readonly stream: Readable,
    readonly format: SampleFormat,
    readonly channels: number,
    /** pause the stream above this many frames (changeable: stdin loosens it while it measures its producer) */
    public highFrames: number,
  ) {
    this.fifo = new PcmFifo(channels);
    stream.on('data', (b: Buffer) => this.onData(b));
    stream.on('end', () => {
      this.ended = true;
      this.readable?.();
    });
  }

  get bufferedFrames(): number {
    return this.fifo.frames;
  }

  onReadable(fn: () => void): void {
    this.readable = fn;
  }

  private onData(b: Buffer): void {
    this.bytesIn += b.length;
    const frameBytes = bytesPerSample(this.format) * this.channels;
    const all = this.carry.length ? Buffer.concat([this.carry, b]) : b;
    const whole = all.length - (all.length % frameBytes);
    this.carry = Buffer.from(all.subarray(whole));
    if (whole > 0) {
      this.fifo.push(decodeRaw(all.subarray(0, whole), this.format));
      this.framesIn += whole / frameBytes;
    }
    if (!this.paused && this.fifo.frames > this.highFrames) {
      this.paused = true;
      this.stream.pause();
    }
    this.readable?.();
  }

  read(frames: number): Float32Array | null {
    const avail = this.fifo.frames;
    if (avail === 0 && this.ended) return null;
    const out = this.fifo.read(Math.min(frames, avail)) ?? new Float32Array(0);
    if (this.paused && this.fifo.frames < this.highFrames / 2) {
      this.paused = false;
      this.stream.resume();
    }
    return out;
  }

  /** Discards up to `frames` of the oldest frames; returns how many. */
  discard(frames: number): number {
    const n = Math.min(frames, this.fifo.frames);
    if (n > 0) this.read(n);
    return n;
  }
}
