import type { Writable } from 'node:stream';
import { ExitCode, RtpcastError, usageError } from '../../errors';
import type { PcmFormat, SampleFormat } from '../pcm';
import { encodeRaw, type AudioSink, type SinkStats } from './sink';

/**
 * `--out -`: raw PCM on standard output (`--format s16le|s16be|f32le`, interleaved, no header),
 * e.g. `rtpcast play ... --out - | aplay -f S16_LE -r 48000 -c 2`. Everything else rtpcast prints
 * must then go to stderr.
 *
 * Clock 'timer': a pipe has no clock, the caller paces writes in real time (so a reader that
 * plays it gets audio as it arrives). If the reader is slower, Node buffers; `latencyMs()` is
 * what sits in that buffer. The reader going away (EPIPE: `| head -c 1000`) is reported once
 * through onError.
 */
export class RawStdoutSink implements AudioSink {
  readonly clock = 'timer' as const;
  readonly label: string;
  private format: PcmFormat | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private failed = false;
  private frames = 0;

  constructor(
    readonly sampleFormat: SampleFormat = 's16le',
    private readonly out: Writable = process.stdout,
  ) {
    this.label = `raw ${sampleFormat} PCM on stdout`;
  }

  async open(format: PcmFormat): Promise<void> {
    if ((this.out as Partial<NodeJS.WriteStream>).isTTY) {
      throw usageError('--out - writes raw audio to standard output, which is a terminal here', `pipe it into a player, e.g. rtpcast play ... --out - | aplay -f ${this.sampleFormat === 'f32le' ? 'FLOAT_LE' : this.sampleFormat === 's16be' ? 'S16_BE' : 'S16_LE'} -r ${format.rate} -c ${format.channels}`);
    }
    this.format = format;
    this.out.on('error', (e: NodeJS.ErrnoException) => {
      if (this.failed) return;
      this.failed = true;
      this.errorFn?.(
        e.code === 'EPIPE'
          ? new RtpcastError('the program reading standard output closed it', ExitCode.failure)
          : new RtpcastError(`writing to standard output failed: ${e.message}`, ExitCode.failure),
      );
    });
  }

  write(samples: Float32Array): void {
    if (this.failed || !this.format) return;
    const ch = this.format.channels;
    const whole = samples.length - (samples.length % ch);
    this.frames += whole / ch;
    this.out.write(encodeRaw(whole === samples.length ? samples : samples.subarray(0, whole), this.sampleFormat));
  }

  latencyMs(): number | undefined {
    if (!this.format) return undefined;
    const bytesPerSec = this.format.rate * this.format.channels * (this.sampleFormat === 'f32le' ? 4 : 2);
    return (this.out.writableLength / bytesPerSec) * 1000;
  }

  stats(): SinkStats {
    return { frames: this.frames, latencyMs: this.latencyMs() };
  }

  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }

  /** Waits (at most 5 s) until what was written has left Node's buffer; stdout itself stays open. */
  async close(): Promise<void> {
    if (this.failed || this.out.writableLength === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      this.out.once('drain', () => {
        clearTimeout(t);
        resolve();
      });
      this.out.once('error', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
