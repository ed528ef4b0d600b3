import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AudioSource } from '../source';
import type { PcmFormat } from '../pcm';
import { PcmStreamReader } from './stream-reader';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH, stopChild } from '../../os/run';

export const PORTAUDIO_WORKER = join(__dirname, '..', 'portaudio-worker.js');

/** A PortAudio capture device, read through the worker process (see portaudio-worker.ts). */
export class PortAudioSource implements AudioSource {
  readonly pacing = 'source' as const;
  private child: ChildProcess | undefined;
  private reader: PcmStreamReader | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private readableFn: (() => void) | undefined;
  private stderr = '';
  private closing = false;

  constructor(
    readonly deviceId: number,
    readonly format: PcmFormat,
    readonly label: string,
  ) {}

  async open(): Promise<PcmFormat> {
    const child = spawn(process.execPath, [PORTAUDIO_WORKER, 'capture', String(this.deviceId), String(this.format.rate), String(this.format.channels)], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: DETACH });
    const pcm = child.stdio[3] as NodeJS.ReadableStream & import('node:stream').Readable;
    this.child = child;
    child.stderr!.on('data', (b: Buffer) => {
      // keep only our own messages: the native library's probing noise is not the user's concern
      for (const line of b.toString().split('\n')) if (line.startsWith('rtpcast-portaudio:') && this.stderr.length < 2000) this.stderr += line + '\n';
    });
    this.reader = new PcmStreamReader(pcm, 'f32le', this.format.channels, this.format.rate * 10);
    if (this.readableFn) this.reader.onReadable(this.readableFn);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(e);
        } else this.errorFn?.(e);
      };
      const timer = setTimeout(() => fail(new RtpcastError(`no audio from PortAudio device ${this.deviceId} within 5 s`, ExitCode.failure, 'list devices: rtpcast devices')), 5000);
      child.on('exit', (code) => {
        if (this.closing) return;
        fail(new RtpcastError(`PortAudio capture from device ${this.deviceId} stopped: ${this.stderr.trim() || `exit code ${code}`}`, ExitCode.failure, 'list devices: rtpcast devices'));
      });
      pcm.once('data', () => {
        clearTimeout(timer);
        settled = true;
        resolve();
      });
    });
    return this.format;
  }
  read(frames: number): Float32Array | null {
    return this.reader ? this.reader.read(frames) : new Float32Array(0);
  }
  get buffered(): number {
    return this.reader?.bufferedFrames ?? 0;
  }
  onReadable(fn: () => void): void {
    this.readableFn = fn;
    this.reader?.onReadable(fn);
  }
  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }
  async close(): Promise<void> {
    this.closing = true;
    await stopChild(this.child, 1500);
  }
}
