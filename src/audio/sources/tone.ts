import type { AudioSource } from '../source';
import type { PcmFormat } from '../pcm';
import { ToneGenerator } from '../tone';

/** A test tone generated at the stream's own format (no conversion needed). */
export class ToneSource implements AudioSource {
  readonly pacing = 'sender' as const;
  readonly label: string;
  private readonly gen: ToneGenerator;

  constructor(
    readonly format: PcmFormat,
    hz: number,
    dbfs = -12,
  ) {
    this.gen = new ToneGenerator(format, hz, dbfs);
    this.label = `test tone ${hz} Hz at ${dbfs} dBFS`;
  }
  async open(): Promise<PcmFormat> {
    return this.format;
  }
  read(frames: number): Float32Array {
    return this.gen.next(frames);
  }
  onReadable(): void {}
  onError(): void {}
  async close(): Promise<void> {}
}
