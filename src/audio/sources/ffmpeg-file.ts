import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import type { AudioSource } from '../source';
import type { PcmFormat } from '../pcm';
import { PcmStreamReader } from './stream-reader';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH, stopChild } from '../../os/run';
import { findProgram, missingProgram } from '../../os/programs';

/**
 * Any file ffmpeg can decode, converted by ffmpeg to the stream's rate and channel count
 * (ffmpeg's resampler), delivered as f32le on a pipe. ffmpeg is spawned directly, with an
 * argument array: the file name never passes through a shell.
 */
export class FfmpegFileSource implements AudioSource {
  readonly pacing = 'sender' as const;
  readonly label: string;
  private child: ChildProcess | undefined;
  private reader: PcmStreamReader | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private stderr = '';
  private closing = false;

  constructor(
    readonly path: string,
    readonly format: PcmFormat,
    private readonly ffmpeg = findProgram('ffmpeg'),
  ) {
    this.label = `file ${path} (decoded by ffmpeg)`;
  }

  /** The ffmpeg arguments (pure, tested). */
  static args(path: string, f: PcmFormat): string[] {
    return ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', path, '-map', '0:a:0', '-vn', '-f', 'f32le', '-acodec', 'pcm_f32le', '-ar', String(f.rate), '-ac', String(f.channels), 'pipe:1'];
  }

  async open(): Promise<PcmFormat> {
    try {
      accessSync(this.path, constants.R_OK);
      if (statSync(this.path).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code);
      throw new RtpcastError(`cannot read input file ${this.path}: ${why}`, ExitCode.input, 'check the path; use --input - for raw PCM on stdin, or --tone for a test tone');
    }
    if (!this.ffmpeg) throw missingProgram('ffmpeg', 'it decodes --input files');
    const child = spawn(this.ffmpeg, FfmpegFileSource.args(this.path, this.format), { stdio: ['ignore', 'pipe', 'pipe'], detached: DETACH });
    this.child = child;
    child.stderr!.on('data', (b: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += b.toString();
    });
    this.reader = new PcmStreamReader(child.stdout!, 'f32le', this.format.channels, this.format.rate);
    // Wait for the first audio (or failure) so a bad file is an error at start, not mid-stream.
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        if (!settled) {
          settled = true;
          reject(e);
        } else this.errorFn?.(e);
      };
      child.on('error', (e) => fail(missingProgram('ffmpeg', (e as Error).message)));
      child.on('exit', (code, signal) => {
        if (this.closing) return;
        if (code !== 0) fail(new RtpcastError(`ffmpeg could not decode ${this.path}: ${this.ffmpegMessage(code, signal)}`, ExitCode.input, 'check that the file is audio ffmpeg can read: ffprobe -hide_banner "' + this.path + '"'));
      });
      child.stdout!.once('data', () => {
        settled = true;
        resolve();
      });
      child.stdout!.once('end', () => {
        // a file with no audio frames: ffmpeg exits 0 with nothing written
        if (this.reader!.bytesIn === 0) setTimeout(() => fail(new RtpcastError(`${this.path} contains no audio`, ExitCode.input)), 50);
      });
    });
    return this.format;
  }

  private ffmpegMessage(code: number | null, signal: NodeJS.Signals | null): string {
    const text = this.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
    return text || (signal ? `killed by ${signal}` : `exit code ${code}`);
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
    this.closing = true;
    // ffmpeg may be blocked writing into the paused pipe, where SIGTERM does not reach it until the
    // write returns: closing our end ends that write with EPIPE at once (no 1 s SIGKILL wait).
    this.child?.stdout?.destroy();
    await stopChild(this.child, 1000);
  }
}
