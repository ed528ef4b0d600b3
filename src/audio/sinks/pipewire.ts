import { spawn, type ChildProcess } from 'node:child_process';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH } from '../../os/run';
import type { PcmFormat } from '../pcm';
import { floatToF32LE, type AudioSink, type SinkStats } from './sink';

export interface PwPlaySinkOptions {
  /** node name or object.serial (--target); default: PipeWire's default sink */
  device?: string;
  /** --latency (default 50 ms) */
  latencyMs?: number;
  streamName?: string;
  /** the pw-play program (default: pw-play on PATH) */
  pwPlay?: string;
  env?: NodeJS.ProcessEnv;
}

/** pw-play arguments (pure). The audio comes on stdin as a WAV stream (see floatWavStreamHeader). */
export function pwPlayArgs(f: PcmFormat, o: PwPlaySinkOptions = {}): string[] {
  const args = ['--rate', String(f.rate), '--channels', String(f.channels), '--format', 'f32', '--latency', `${o.latencyMs ?? 50}ms`, '--media-role', 'Music', '--properties', `{ application.name = "rtpcast" media.name = "${(o.streamName ?? 'rtpcast play').replace(/"/g, "'")}" }`];
  if (o.device) args.push('--target', o.device);
  args.push('-');
  return args;
}

/**
 * The header of an endless IEEE-float WAV stream (sizes 0xFFFFFFFF: "until the end"). pw-cat
 * before PipeWire 1.0 has no raw mode: it reads stdin through libsndfile, which needs a header;
 * a streamed WAV works on every version.
 */
export function floatWavStreamHeader(f: PcmFormat): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(0xffffffff, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(3, 20); // IEEE float
  h.writeUInt16LE(f.channels, 22);
  h.writeUInt32LE(f.rate, 24);
  h.writeUInt32LE(f.rate * f.channels * 4, 28);
  h.writeUInt16LE(f.channels * 4, 32);
  h.writeUInt16LE(32, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(0xffffffff, 40);
  return h;
}

/**
 * PipeWire's own player, `pw-play`, for systems with PipeWire and without pacat
 * (pulseaudio-utils; where pacat exists, PulseSink works on PipeWire too, through
 * pipewire-pulse, and is preferred). Clock 'timer': the caller paces writes.
 *
 * No latency is known (no latencyMs()): measured with PipeWire 0.3.65, pw-play --verbose prints
 * its "stream time: ... ticks:N" lines on block-buffered stdout (they arrive seconds late, in
 * bursts), and pipewire-pulse lists a native stream with buffer_latency_usec and
 * sink_latency_usec both 0 (and without application.process.id).
 */
export class PwPlaySink implements AudioSink {
  readonly clock = 'timer' as const;
  readonly label: string;
  private child: ChildProcess | undefined;
  private format: PcmFormat | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private frames = 0;
  private stderr = '';
  private closing = false;
  private failed = false;

  constructor(private readonly o: PwPlaySinkOptions = {}) {
    this.label = `PipeWire (pw-play)${o.device ? ` → ${o.device}` : ''}`;
  }

  async open(format: PcmFormat): Promise<void> {
    this.format = format;
    const child = spawn(this.o.pwPlay ?? 'pw-play', pwPlayArgs(format, this.o), { env: { ...(this.o.env ?? process.env), LC_ALL: 'C' }, stdio: ['pipe', 'ignore', 'pipe'], detached: DETACH });
    this.child = child;
    child.stdin!.on('error', () => undefined);
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-2000);
    });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      // pw-play says nothing when it connects: it is taken as open once it has run 300 ms
      const timer = setTimeout(() => {
        settled = true;
        resolve();
      }, 300);
      const fail = (e: Error) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(e);
        } else this.report(e);
      };
      child.on('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'ENOENT' ? new RtpcastError('pw-play is not installed or not on PATH', ExitCode.missingProgram, 'install it: sudo apt install pipewire-bin') : new RtpcastError(`cannot run pw-play: ${e.message}`)),
      );
      child.on('exit', (code, signal) => {
        if (this.closing) return;
        const why = this.stderr.trim().split('\n').pop() || (signal ? `killed by ${signal}` : `exit code ${code}`);
        fail(new RtpcastError(settled ? `PipeWire playback stopped: ${why}` : `cannot play through PipeWire: ${why}`, ExitCode.failure, 'is PipeWire running? list outputs: rtpcast devices --outputs'));
      });
    });
    child.stdin!.write(floatWavStreamHeader(format));
  }

  write(samples: Float32Array): void {
    if (!this.format || this.closing || this.failed) return;
    this.frames += samples.length / this.format.channels;
    this.child?.stdin?.write(floatToF32LE(samples));
  }

  stats(): SinkStats {
    return { frames: this.frames };
  }

  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }

  private report(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.errorFn?.(e);
  }

  async close(): Promise<void> {
    this.closing = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin?.end();
    const t1 = setTimeout(() => c.kill('SIGTERM'), 2000);
    const t2 = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t1);
    clearTimeout(t2);
  }
}
