import { randomBytes } from 'node:crypto';
import { open as openFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ExitCode, RtpcastError } from '../../errors';
import type { PcmFormat } from '../pcm';
import { floatToS16LE, type AudioSink, type SinkStats } from './sink';

/**
 * The header WavFileSink writes: RIFF, a 28-byte JUNK chunk, fmt (16-bit PCM), data. 80 bytes.
 *
 * The JUNK chunk is the reserved room (EBU Tech 3306) for a ds64 chunk: a recording that grows
 * past 4 GiB (6.2 h of 48 kHz stereo) becomes RF64 in place, without moving the audio. Readers
 * skip JUNK (ffmpeg, sox, libsndfile, parseWav).
 */
export const WAV_HEADER_BYTES = 80;
const RIFF_LIMIT = 0xffffffff;

/** The header for `dataBytes` of s16le audio (pure). RF64 when the RIFF size no longer fits in 32 bits (or `forceRf64`). */
export function wavStreamHeader(format: PcmFormat, dataBytes: number, forceRf64 = false): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const riffSize = WAV_HEADER_BYTES - 8 + dataBytes + (dataBytes & 1);
  const rf64 = forceRf64 || riffSize > RIFF_LIMIT;
  const blockAlign = format.channels * 2;
  h.write(rf64 ? 'RF64' : 'RIFF', 0, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_LIMIT : riffSize, 4);
  h.write('WAVE', 8, 'latin1');
  h.write(rf64 ? 'ds64' : 'JUNK', 12, 'latin1');
  h.writeUInt32LE(28, 16);
  if (rf64) {
    const put64 = (v: number, at: number) => {
      h.writeUInt32LE(v % 0x100000000, at);
      h.writeUInt32LE(Math.floor(v / 0x100000000), at + 4);
    };
    put64(riffSize, 20);
    put64(dataBytes, 28);
    put64(Math.floor(dataBytes / blockAlign), 36);
    // table length (4 bytes at 44) stays 0
  }
  h.write('fmt ', 48, 'latin1');
  h.writeUInt32LE(16, 52);
  h.writeUInt16LE(1, 56); // PCM
  h.writeUInt16LE(format.channels, 58);
  h.writeUInt32LE(format.rate, 60);
  h.writeUInt32LE(format.rate * blockAlign, 64);
  h.writeUInt16LE(blockAlign, 68);
  h.writeUInt16LE(16, 70);
  h.write('data', 72, 'latin1');
  h.writeUInt32LE(rf64 ? RIFF_LIMIT : dataBytes, 76);
  return h;
}

/** Where the recording grows until close(): next to the target, so the final rename is atomic. */
export function partialPath(target: string, tag = randomBytes(4).toString('hex')): string {
  const base = basename(target);
  const stem = extname(base).toLowerCase() === '.wav' ? base.slice(0, -4) : base;
  return join(dirname(target), `${stem}.partial-${tag}.wav`);
}

export interface WavFileSinkOptions {
  /** how often the header's sizes are brought up to date while recording (ms); default 1000 */
  headerEveryMs?: number;
}

/**
 * `--out file.wav`: 16-bit PCM WAV (s16le, rounded and clipped like encodeWavS16).
 *
 * - The audio goes to `NAME.partial-XXXXXXXX.wav` next to the target; close() writes the final
 *   sizes, flushes to disk and renames it over the target (atomic: a reader never sees a half
 *   file at the target's name, and an existing file there stays intact until then).
 * - While recording, the header's sizes are rewritten every second (after the audio they count
 *   is written): if rtpcast is killed, the partial file is kept and is a valid WAV of everything
 *   up to the last second (parseWav, ffmpeg and sox also read the few samples after it).
 * - Writes are asynchronous and in order; write() never blocks the caller. A write error (disk
 *   full) is reported once through onError and recording stops.
 *
 * Clock 'timer': a file has no clock, the caller paces writes.
 */
export class WavFileSink implements AudioSink {
  readonly clock = 'timer' as const;
  readonly label: string;
  readonly tempPath: string;
  private fh: FileHandle | undefined;
  private format: PcmFormat | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** bytes of audio on disk */
  private dataBytes = 0;
  private headerBytes = -1;
  private frames = 0;
  private chain: Promise<void> = Promise.resolve();
  private flushing = false;
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly o: WavFileSinkOptions = {},
  ) {
    this.label = `WAV file ${path}`;
    this.tempPath = partialPath(path);
  }

  async open(format: PcmFormat): Promise<void> {
    this.format = format;
    try {
      this.fh = await openFile(this.tempPath, 'wx', 0o644);
      await this.fh.write(wavStreamHeader(format, 0), 0, WAV_HEADER_BYTES, 0);
      this.headerBytes = 0;
    } catch (e) {
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      await unlink(this.tempPath).catch(() => undefined);
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? `the folder ${dirname(this.path)} does not exist` : err.code === 'EACCES' || err.code === 'EPERM' ? `no permission to write in ${dirname(this.path)}` : err.message;
      throw new RtpcastError(`cannot record to ${this.path}: ${why}`, ExitCode.failure, 'choose another path with --out FILE.wav');
    }
    this.timer = setInterval(() => this.schedule(true), this.o.headerEveryMs ?? 1000);
    this.timer.unref();
  }

  write(samples: Float32Array): void {
    if (this.closed) throw new Error('WavFileSink: write after close');
    if (!this.fh || this.failed || !this.format) return;
    const b = floatToS16LE(samples.length % this.format.channels ? samples.subarray(0, samples.length - (samples.length % this.format.channels)) : samples);
    this.frames += b.length / (2 * this.format.channels);
    this.pending.push(b);
    this.pendingBytes += b.length;
    // small writes are gathered: one disk write per ~100 ms of audio or per timer tick
    if (this.pendingBytes >= this.format.rate * this.format.channels * 2 * 0.1) this.schedule(false);
  }

  /** Frames written so far and what is still queued in memory. */
  stats(): SinkStats {
    return { frames: this.frames, latencyMs: this.format ? (this.pendingBytes / (this.format.rate * this.format.channels * 2)) * 1000 : undefined };
  }

  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }

  /** Writes everything queued (and, with `header`, the current sizes) in order with earlier work. */
  private schedule(header: boolean): Promise<void> {
    if (this.flushing && !header) return this.chain;
    this.flushing = true;
    this.chain = this.chain.then(async () => {
      this.flushing = false;
      const fh = this.fh;
      if (!fh || this.failed) return;
      try {
        if (this.pending.length) {
          const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
          this.pending = [];
          this.pendingBytes = 0;
          await fh.write(buf, 0, buf.length, WAV_HEADER_BYTES + this.dataBytes);
          this.dataBytes += buf.length;
        }
        if (header && this.headerBytes !== this.dataBytes && this.format) {
          const bytes = this.dataBytes;
          await fh.write(wavStreamHeader(this.format, bytes), 0, WAV_HEADER_BYTES, 0);
          this.headerBytes = bytes;
        }
      } catch (e) {
        this.fail(e as NodeJS.ErrnoException);
      }
    });
    return this.chain;
  }

  private fail(e: NodeJS.ErrnoException): void {
    if (this.failed) return;
    this.failed = new RtpcastError(`recording to ${this.path} failed: ${e.code === 'ENOSPC' ? 'the disk is full' : e.message}`, ExitCode.failure, `what was recorded so far is in ${this.tempPath}`);
    this.pending = [];
    this.pendingBytes = 0;
    this.errorFn?.(this.failed);
  }

  /** Final sizes, flushed to disk, renamed over the target. Rejects if the recording failed (the partial file is kept). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const fh = this.fh;
    if (!fh) return;
    await this.schedule(true);
    this.fh = undefined;
    try {
      if (!this.failed) await fh.sync();
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException);
    } finally {
      await fh.close().catch(() => undefined);
    }
    if (this.failed) throw this.failed;
    try {
      await rename(this.tempPath, this.path);
    } catch (e) {
      throw new RtpcastError(`cannot rename the recording to ${this.path}: ${(e as Error).message}`, ExitCode.failure, `the recording is in ${this.tempPath}`);
    }
  }
}
