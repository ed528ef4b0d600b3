import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH } from '../../os/run';
import type { PcmFormat } from '../pcm';
import { exactFrames, floatToF32LE, type AudioSink, type SinkStats } from './sink';

export const PORTAUDIO_OUTPUT_WORKER = join(__dirname, '..', 'portaudio-output-worker.js');

export interface PortAudioSinkOptions {
  /** frames per device buffer and per IPC request (default rate / 50: 20 ms) */
  framesPerBuffer?: number;
  /** the same in ms (framesPerBuffer wins) */
  framesPerBufferMs?: number;
  /** chunks kept on their way to the device beyond its own queue (default 2; see the worker) */
  prefetch?: number;
  env?: NodeJS.ProcessEnv;
  /** the worker script (tests) */
  worker?: string;
}

/** The error when naudiodon cannot be loaded (pure). */
export function portAudioMissing(why: string): RtpcastError {
  return new RtpcastError(
    `PortAudio output is unavailable: naudiodon is not installed or did not build (${why})`,
    ExitCode.missingProgram,
    'play through the sound server instead (--out pulse; needs pacat: sudo apt install pulseaudio-utils), or reinstall rtpcast where naudiodon builds (needs g++ and make)',
  );
}

/**
 * A PortAudio output device, played by portaudio-output-worker.ts in its own process. Pull
 * model (clock 'device'): the worker asks for `need N` frames on its control pipe (fd 4)
 * whenever the device has consumed a buffer, and this sink answers with exactly N frames from
 * the onPull function, as float32le on fd 3. Requests that arrive before onPull is registered
 * wait for it (the device starts once the first buffers are there). Pulls come one buffer at a
 * time (framesPerBuffer; a few at once while filling up at the start).
 *
 * Defaults (20 ms buffers, prefetch 2): the parent may answer up to 60 ms late before the device
 * runs dry, and the output latency is about 120 ms. Measured through ALSA "pulse": 120 ms from the
 * answer to the null sink's monitor; 10 ms buffers with prefetch 3 gave 70-75 ms but underflows
 * (2 in 5 s) on a loaded 2-core machine, where 20 ms buffers had none (PortAudio sizes the ALSA
 * buffer from the buffer size: 2 periods). `latencyMs()` is that estimate: (prefetch - 1 + 2 queued + 1 playing
 * + 2 host periods) buffers; naudiodon does not expose PortAudio's own stream latency.
 * Device underruns are counted from naudiodon's "output underflow" messages (they arrive late:
 * the worker's C stdout is block-buffered).
 */
export class PortAudioSink implements AudioSink {
  readonly clock = 'device' as const;
  private child: ChildProcess | undefined;
  private pcm: Writable | undefined;
  private format: PcmFormat | undefined;
  private pullFn: ((frames: number) => Float32Array) | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private waiting: number[] = [];
  private frames = 0;
  private requests = 0;
  private underruns = 0;
  private latencyFrames = 0;
  private stderrTail = '';
  private closing = false;
  private failed = false;
  private started = false;
  device: string | undefined;

  constructor(
    /** PortAudio device index; -1: the default output */
    readonly deviceId: number,
    readonly label: string = deviceId < 0 ? 'PortAudio default output' : `PortAudio device ${deviceId}`,
    private readonly o: PortAudioSinkOptions = {},
  ) {}

  async open(format: PcmFormat): Promise<void> {
    this.format = format;
    const fpb = this.o.framesPerBuffer ?? Math.max(64, Math.round(this.o.framesPerBufferMs !== undefined ? (format.rate * this.o.framesPerBufferMs) / 1000 : format.rate / 50));
    const args = [this.o.worker ?? PORTAUDIO_OUTPUT_WORKER, 'play', String(this.deviceId), String(format.rate), String(format.channels), String(fpb), String(this.o.prefetch ?? 2)];
    const child = spawn(process.execPath, args, { env: this.o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: DETACH });
    this.child = child;
    this.pcm = child.stdio[3] as Writable;
    this.pcm.on('error', () => undefined); // the worker died: reported by 'exit'
    const control = child.stdio[4] as Readable;
    child.stdout!.on('data', (b: Buffer) => {
      const m = b.toString().match(/output underflow/g);
      if (m) this.underruns += m.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString()).slice(-2000);
    });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let message: { kind: string; text: string } | undefined;
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(e);
        } else this.report(e);
      };
      const timer = setTimeout(() => fail(new RtpcastError(`PortAudio did not open ${this.label} within 10 s`, ExitCode.failure, 'list outputs: rtpcast devices --outputs')), 10_000);
      child.on('error', (e) => fail(new RtpcastError(`cannot start the PortAudio worker: ${e.message}`, ExitCode.failure)));
      child.on('exit', (code, signal) => {
        if (this.closing) return;
        if (code === 3 || message?.kind === 'missing') return fail(portAudioMissing(message?.text ?? 'cannot load it'));
        const why = message?.text ?? (signal ? `killed by ${signal}` : `exit code ${code}${this.lastNoise()}`);
        fail(new RtpcastError(settled ? `PortAudio playback on ${this.label} stopped: ${why}` : `cannot play on ${this.label}: ${why}`, ExitCode.failure, 'list outputs: rtpcast devices --outputs'));
      });
      let carry = '';
      control.on('data', (b: Buffer) => {
        const lines = (carry + b.toString()).split('\n');
        carry = lines.pop() ?? '';
        for (const line of lines) {
          const sp = line.indexOf(' ');
          const kind = sp < 0 ? line : line.slice(0, sp);
          const rest = sp < 0 ? '' : line.slice(sp + 1);
          if (kind === 'need') this.onNeed(Number(rest));
          else if (kind === 'ready') {
            const r = JSON.parse(rest) as { device: string; latencyFrames: number };
            this.device = r.device;
            this.latencyFrames = r.latencyFrames;
            settled = true;
            clearTimeout(timer);
            resolve();
          } else if (kind === 'started') this.started = true;
          else if (kind === 'error' || kind === 'missing') message = { kind, text: rest };
        }
      });
    });
  }

  private lastNoise(): string {
    const l = this.stderrTail.trim().split('\n').pop();
    return l ? ` (${l})` : '';
  }

  private onNeed(frames: number): void {
    if (!(frames > 0)) return;
    if (!this.pullFn) {
      this.waiting.push(frames);
      return;
    }
    this.answer(frames);
  }

  private answer(frames: number): void {
    if (this.closing || this.failed || !this.format) return;
    this.requests++;
    this.frames += frames;
    this.pcm!.write(floatToF32LE(exactFrames(this.pullFn!(frames), frames, this.format.channels)));
  }

  onPull(fn: (frames: number) => Float32Array): void {
    this.pullFn = fn;
    const w = this.waiting;
    this.waiting = [];
    for (const n of w) this.answer(n);
  }

  /** what is queued ahead of the frames pulled now, in ms (an estimate, see the class comment) */
  latencyMs(): number | undefined {
    return this.format && this.latencyFrames ? (this.latencyFrames / this.format.rate) * 1000 : undefined;
  }

  stats(): SinkStats & { requests: number; started: boolean } {
    return { frames: this.frames, underruns: this.underruns, latencyMs: this.latencyMs(), requests: this.requests, started: this.started };
  }

  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }

  private report(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.errorFn?.(e);
  }

  /**
   * The worker plays what the device already holds (tens of ms) and exits; killed after 1.5 s.
   * It is told by closing its PCM pipe (portable: on Windows a "SIGTERM" is TerminateProcess,
   * which would cut what the device holds), and on POSIX by SIGTERM as well.
   */
  async close(): Promise<void> {
    this.closing = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    this.pcm?.end();
    if (process.platform !== 'win32') c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 1500);
    await exited;
    clearTimeout(t);
  }
}
