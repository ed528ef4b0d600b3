import type { Readable } from 'node:stream';
import type { AudioSource } from '../source';
import type { PcmFormat, SampleFormat } from '../pcm';
import { PcmStreamReader } from './stream-reader';

/** Raw PCM on standard input, in a format the user states (`parec ... | rtpcast send --input -`). */
export class StdinSource implements AudioSource {
  readonly pacing = 'sender' as const;
  readonly label: string;
  private reader: PcmStreamReader | undefined;
  private errorFn: ((e: Error) => void) | undefined;

  constructor(
    readonly format: PcmFormat,
    readonly sampleFormat: SampleFormat,
    private readonly stream: Readable = process.stdin,
  ) {
    this.label = `raw PCM on stdin (${sampleFormat}, ${format.rate} Hz, ${format.channels} ch)`;
  }

  async open(): Promise<PcmFormat> {
    this.reader = new PcmStreamReader(this.stream, this.sampleFormat, this.format.channels, this.format.rate);
    this.stream.on('error', (e) => this.errorFn?.(e));
    return this.format;
  }
  read(frames: number): Float32Array | null {
    return this.reader ? this.reader.read(frames) : new Float32Array(0);
  }
  onReadable(fn: () => void): void {
    this.reader?.onReadable(fn);
  }
  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }
  async close(): Promise<void> {
    this.stream.pause();
  }
}
