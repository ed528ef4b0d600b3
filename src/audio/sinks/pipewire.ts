import { spawn, type ChildProcess } from 'node:child_process';
import { ExitCode, RtpcastError } from '../../errors';
import { findProgram } from '../../os/programs';
import { DETACH, runProgram } from '../../os/run';
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
  /** how often the stream's latency is read from pactl (pipewire-pulse), ms; 0: never (default 2000) */
  pollMs?: number;
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
 * buffer_latency_usec + sink_latency_usec (ms) of the stream a process plays, from
 * `pactl -f json list sink-inputs` (pure; undefined when that process has no stream or the
 * fields are missing, as with pactl < 16).
 */
export function sinkInputLatencyMs(json: string, pid: number): number | undefined {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  for (const i of list as Array<Record<string, unknown>>) {
    const props = (i.properties ?? {}) as Record<string, unknown>;
    if (String(props['application.process.id']) !== String(pid)) continue;
    const b = Number(i.buffer_latency_usec);
    const s = Number(i.sink_latency_usec);
    if (!Number.isFinite(b) || !Number.isFinite(s)) return undefined;
    return (b + s) / 1000;
  }
  return undefined;
}

/**
 * PipeWire's own player, `pw-play`, for systems with PipeWire and without pacat
 * (pulseaudio-utils). Clock 'timer': pw-play reports no playback position, so the caller paces
 * writes. `latencyMs()` comes from `pactl list sink-inputs` (buffer_latency_usec +
 * sink_latency_usec of this stream through pipewire-pulse) polled every 2 s when pactl is there;
 * like pacat's server-side latency it does not see audio waiting in the pipe to pw-play.
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
  private poll: NodeJS.Timeout | undefined;
  private latency: number | undefined;

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
        clearInterval(this.poll);
        const why = this.stderr.trim().split('\n').pop() || (signal ? `killed by ${signal}` : `exit code ${code}`);
        fail(new RtpcastError(settled ? `PipeWire playback stopped: ${why}` : `cannot play through PipeWire: ${why}`, ExitCode.failure, 'is PipeWire running? list outputs: rtpcast devices --outputs'));
      });
      // pw-play says nothing when it connects: it is taken as open once it has run 300 ms
      const timer = setTimeout(() => {
        settled = true;
        resolve();
      }, 300);
    });
    child.stdin!.write(floatWavStreamHeader(format));
    const pactl = (this.o.pollMs ?? 2000) > 0 ? findProgram('pactl', this.o.env) : undefined;
    if (pactl) {
      let busy = false;
      const read = async () => {
        if (busy) return;
        busy = true;
        try {
          const r = await runProgram(pactl, ['-f', 'json', 'list', 'sink-inputs'], { timeoutMs: 3000, env: this.o.env });
          if (r.code === 0) this.latency = sinkInputLatencyMs(r.stdout, child.pid ?? -1);
        } catch {
          /* no pactl server (no pipewire-pulse): the latency stays unknown */
        } finally {
          busy = false;
        }
      };
      this.poll = setInterval(() => void read(), this.o.pollMs ?? 2000);
      this.poll.unref();
      void read();
    }
  }

  write(samples: Float32Array): void {
    if (!this.format || this.closing || this.failed) return;
    this.frames += samples.length / this.format.channels;
    this.child?.stdin?.write(floatToF32LE(samples));
  }

  latencyMs(): number | undefined {
    return this.latency;
  }

  stats(): SinkStats {
    return { frames: this.frames, latencyMs: this.latency };
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
    clearInterval(this.poll);
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
