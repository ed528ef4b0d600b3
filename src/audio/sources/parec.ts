import { spawn, type ChildProcess } from 'node:child_process';
import type { AudioSource } from '../source';
import type { PcmFormat } from '../pcm';
import { PcmStreamReader } from './stream-reader';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH, stopChild } from '../../os/run';

/** parec arguments (pure): the exact format is requested, so the server does no hidden conversion. */
export function parecArgs(device: string, f: PcmFormat, latencyMs = 10, name = 'rtpcast'): string[] {
  return [`--device=${device}`, '--raw', '--format=float32le', `--rate=${f.rate}`, `--channels=${f.channels}`, `--latency-msec=${latencyMs}`, `--client-name=${name}`, '--stream-name=rtpcast capture'];
}

/**
 * Captures a PulseAudio/PipeWire source (a sink's monitor, a microphone) through parec. The
 * device's clock paces the stream (`pacing: 'source'`). If parec stops (the source was removed,
 * the server restarted), an error is reported.
 */
export class ParecSource implements AudioSource {
  readonly pacing = 'source' as const;
  private child: ChildProcess | undefined;
  private reader: PcmStreamReader | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private readableFn: (() => void) | undefined;
  private stderr = '';
  private closing = false;

  constructor(
    readonly device: string,
    readonly format: PcmFormat,
    readonly label: string,
    private readonly parec: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async open(): Promise<PcmFormat> {
    const child = spawn(this.parec, parecArgs(this.device, this.format), { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], detached: DETACH });
    this.child = child;
    child.stderr!.on('data', (b: Buffer) => {
      if (this.stderr.length < 4000) this.stderr += b.toString();
    });
    // Never pause a live capture (the server would drop audio): hold up to 10 s, the sender keeps it near empty.
    this.reader = new PcmStreamReader(child.stdout!, 'f32le', this.format.channels, this.format.rate * 10);
    if (this.readableFn) this.reader.onReadable(this.readableFn);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => fail(new RtpcastError(`no audio from ${this.device} within 3 s`, ExitCode.failure, 'is the sound server running? list sources: rtpcast devices')), 3000);
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(e);
        } else this.errorFn?.(e);
      };
      child.on('error', (e) => fail(new RtpcastError(`cannot run parec: ${e.message}`, ExitCode.missingProgram, 'install it: sudo apt install pulseaudio-utils')));
      child.on('exit', (code, signal) => {
        if (this.closing) return;
        const why = this.stderr.trim().split('\n').pop() || (signal ? `killed by ${signal}` : `exit code ${code}`);
        fail(new RtpcastError(`capture from ${this.device} stopped: ${why}`, ExitCode.failure, 'the source may have been removed; list sources: rtpcast devices'));
      });
      child.stdout!.once('data', () => {
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
  /** frames captured and not yet read */
  get buffered(): number {
    return this.reader?.bufferedFrames ?? 0;
  }
  onReadable(fn: () => void): void {
    this.readableFn = fn;
    this.reader?.onReadable(fn);
  }
  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
    if (this.aborted) fn(this.aborted);
  }
  private aborted: Error | undefined;
  /** Ends the capture with `e` (reported through onError, now or when it is set), e.g. its sink was removed. */
  abort(e: Error): void {
    if (this.closing || this.aborted) return;
    this.aborted = e;
    this.errorFn?.(e);
  }
  async close(): Promise<void> {
    this.closing = true;
    await stopChild(this.child, 1000);
  }
}
