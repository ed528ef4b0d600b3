import { spawn, type ChildProcess } from 'node:child_process';
import { ExitCode, RtpcastError } from '../../errors';
import { DETACH } from '../../os/run';
import type { PcmFormat } from '../pcm';
import { exactFrames, floatToF32LE, type AudioSink, type SinkStats } from './sink';

export interface PulseSinkOptions {
  /** sink name (`pactl list sinks short`); default: the server's default sink */
  device?: string;
  /** --latency-msec: what the server buffers for this stream (default 50) */
  latencyMs?: number;
  /** pull mode: what rtpcast keeps queued beyond `latencyMs` (pipe, pacat's own buffer, the sink's latency; default 30) */
  headroomMs?: number;
  streamName?: string;
  clientName?: string;
  /** the pacat program (default: pacat on PATH) */
  pacat?: string;
  env?: NodeJS.ProcessEnv;
}

/** pacat arguments (pure): raw float32 in the stream's own format, so the server does any conversion once. */
export function pacatArgs(f: PcmFormat, o: PulseSinkOptions = {}): string[] {
  const args = ['--playback', '--raw', '--format=float32le', `--rate=${f.rate}`, `--channels=${f.channels}`, `--latency-msec=${o.latencyMs ?? 50}`, `--client-name=${o.clientName ?? 'rtpcast'}`, `--stream-name=${o.streamName ?? 'rtpcast play'}`, '--verbose'];
  if (o.device) args.push(`--device=${o.device}`);
  return args;
}

export type PacatEvent =
  | { kind: 'time'; seconds: number; latencyUs: number }
  | { kind: 'created' }
  | { kind: 'connected'; device: string }
  | { kind: 'started' }
  | { kind: 'underrun' }
  | { kind: 'error'; message: string };

/**
 * One line of `pacat --verbose` stderr (C locale), pure. pacat 16 prints, every 50 ms while the
 * stream is up, "Time: 2.954 sec; Latency: 46092 usec." terminated by \r: Time is the stream's
 * playback position on the device clock (pa_stream_get_time: what has left the speaker, sink
 * latency included; it stands still before the stream starts and while it is underrun), Latency
 * is the server side only (stream buffer + sink latency).
 */
export function parsePacatLine(raw: string): PacatEvent | undefined {
  const line = raw.replace(/\x1b\[K/g, '').trim();
  let m = /^Time: ([\d.]+) sec; Latency: (-?\d+) usec/.exec(line);
  if (m) return { kind: 'time', seconds: Number(m[1]), latencyUs: Number(m[2]) };
  if (line === 'Stream successfully created.') return { kind: 'created' };
  if ((m = /^Connected to device (\S+)/.exec(line))) return { kind: 'connected', device: m[1] };
  if (line === 'Stream started.') return { kind: 'started' };
  if (line === 'Stream underrun.') return { kind: 'underrun' };
  if ((m = /^(?:Stream error|Connection failure|Failed to [^:]*|pa_[a-z_]+\(\) failed): (.*)$/.exec(line))) return { kind: 'error', message: line };
  return undefined;
}

/**
 * The device's playback position from pacat's "Time:" reports, in frames, between reports
 * extrapolated on the monotonic clock while the stream is advancing (at most `maxExtrapolateMs`,
 * so a stalled device stops the estimate soon), never going backwards. Pure (time passed in).
 */
export class PlaybackClock {
  private lastFrames: number | undefined;
  private lastAt = 0;
  private advancing = false;
  private shown = 0;

  constructor(
    readonly rate: number,
    private readonly maxExtrapolateMs = 100,
  ) {}

  get known(): boolean {
    return this.lastFrames !== undefined;
  }

  report(seconds: number, nowMs: number): void {
    const frames = seconds * this.rate;
    this.advancing = this.lastFrames !== undefined && frames > this.lastFrames;
    this.lastFrames = frames;
    this.lastAt = nowMs;
  }

  /** the stream (re)started playing at `nowMs` ("Stream started."): extrapolate from here before the next report */
  started(nowMs: number): void {
    this.lastFrames ??= 0;
    this.lastFrames = Math.max(this.lastFrames, this.shown);
    this.lastAt = nowMs;
    this.advancing = true;
  }

  /** frames played by `nowMs` */
  position(nowMs: number): number {
    if (this.lastFrames === undefined) return 0;
    const ext = this.advancing ? (Math.min(Math.max(0, nowMs - this.lastAt), this.maxExtrapolateMs) * this.rate) / 1000 : 0;
    this.shown = Math.max(this.shown, this.lastFrames + ext);
    return this.shown;
  }
}

const TICK_MS = 10;

/**
 * The sound server (PulseAudio, or PipeWire through pipewire-pulse) through `pacat`.
 *
 * pacat has no pull interface, but with --verbose it reports the stream's playback position on
 * the device clock every 50 ms (see parsePacatLine). This sink uses it as the device clock:
 * every 10 ms it pulls (onPull) whatever keeps `written - played` at latencyMs + headroomMs. So
 * the sound card, not rtpcast's timer, sets the pace (clock 'device'): a card running 0.1% slow
 * never makes audio pile up in the pipe to pacat, a stalled or suspended sink stops the pulls, and
 * `latencyMs()` is the whole way from rtpcast to the speaker.
 *
 * Why not pace by a timer and read the latency from `pactl list sink-inputs`
 * (buffer_latency_usec + sink_latency_usec)? Measured: pacat only reads stdin when the server
 * asks, so whatever a timer writes beyond the card's pace waits in the pipe and in Node's buffer,
 * where pactl cannot see it: writing 2% fast, pactl kept reporting 37.5 + ~9 ms while the real
 * latency grew by 20 ms a second; and a null sink that was idle (its 2 s block) held the first
 * second of a stream, which left 1.3 s standing in the pipe for good. The position pacat prints
 * shows both.
 *
 * write() is accepted too (push mode, for a caller with its own clock; the same accounting gives
 * latencyMs()). Verified with pacat 16.1 on PulseAudio 16.1 and on PipeWire 0.3.65
 * (pipewire-pulse). If pacat never reports a position, the pull loop falls back to the
 * monotonic clock after 1.5 s (stats().clock says which).
 */
export class PulseSink implements AudioSink {
  readonly clock = 'device' as const;
  readonly label: string;
  private child: ChildProcess | undefined;
  private format: PcmFormat | undefined;
  private pullFn: ((frames: number) => Float32Array) | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private position: PlaybackClock | undefined;
  private written = 0;
  private underruns = 0;
  private serverLatencyUs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stderrLines: string[] = [];
  private carry = '';
  private closing = false;
  private failed = false;
  private device: string | undefined;
  private clockSource: 'pacat' | 'monotonic' = 'pacat';
  private monoStart = 0;
  private firstFullAt: number | undefined;

  constructor(private readonly o: PulseSinkOptions = {}) {
    this.label = `sound server (pacat)${o.device ? ` → ${o.device}` : ''}`;
  }

  async open(format: PcmFormat): Promise<void> {
    this.format = format;
    this.position = new PlaybackClock(format.rate);
    const exe = this.o.pacat ?? 'pacat';
    const child = spawn(exe, pacatArgs(format, this.o), { env: { ...(this.o.env ?? process.env), LC_ALL: 'C', LANG: 'C' }, stdio: ['pipe', 'ignore', 'pipe'], detached: DETACH });
    this.child = child;
    child.stdin!.on('error', () => undefined); // EPIPE when pacat dies: reported by 'exit'
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (e: Error) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(e);
        } else this.report(e);
      };
      const timer = setTimeout(() => fail(new RtpcastError(`pacat did not open a playback stream within 5 s${this.lastLine() ? `: ${this.lastLine()}` : ''}`, ExitCode.failure, 'is the sound server running? try: pactl info')), 5000);
      child.on('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'ENOENT' ? new RtpcastError('pacat is not installed or not on PATH (needed to play through the sound server)', ExitCode.missingProgram, 'install it: sudo apt install pulseaudio-utils') : new RtpcastError(`cannot run pacat: ${e.message}`, ExitCode.failure)),
      );
      child.on('exit', (code, signal) => {
        if (this.closing) return;
        this.stop();
        const why = this.lastLine() || (signal ? `killed by ${signal}` : `exit code ${code}`);
        const noDevice = /No such entity/.test(why);
        fail(
          new RtpcastError(
            settled ? `sound server playback stopped: ${why}` : `cannot play through the sound server${this.o.device ? ` on ${this.o.device}` : ''}: ${why}`,
            ExitCode.failure,
            noDevice ? 'list outputs: rtpcast devices --outputs' : /refused|Connection failure/.test(why) ? 'no sound server is running for this user: start PulseAudio or PipeWire (pipewire-pulse)' : undefined,
          ),
        );
      });
      child.stderr!.on('data', (b: Buffer) => {
        const text = this.carry + b.toString();
        const parts = text.split(/[\r\n]/);
        this.carry = parts.pop() ?? '';
        for (const line of parts) {
          const ev = parsePacatLine(line);
          if (ev?.kind === 'time') {
            this.position!.report(ev.seconds, performance.now());
            this.serverLatencyUs = ev.latencyUs;
            continue;
          }
          const clean = line.replace(/\x1b\[K/g, '').trim();
          if (clean) {
            this.stderrLines.push(clean);
            if (this.stderrLines.length > 30) this.stderrLines.shift();
          }
          if (ev?.kind === 'underrun' && !this.closing) this.underruns++;
          else if (ev?.kind === 'started') this.position!.started(performance.now());
          else if (ev?.kind === 'connected') this.device = ev.device;
          else if (ev?.kind === 'created' && !settled) {
            settled = true;
            clearTimeout(timer);
            resolve();
          }
        }
      });
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.tick();
  }

  private lastLine(): string {
    const lines = this.stderrLines.filter((l) => !/^(Stream (started|underrun|successfully created)|Connected to|Connection established|Opening a|Buffer metrics|Using sample spec|Got EOF|Playback stream drained|Draining connection)/.test(l));
    return lines.pop() ?? '';
  }

  /** the sink the server connected the stream to (known shortly after open) */
  get connectedDevice(): string | undefined {
    return this.device;
  }

  onPull(fn: (frames: number) => Float32Array): void {
    this.pullFn = fn;
    if (this.timer) this.tick();
  }

  private targetFrames(): number {
    return Math.round((((this.o.latencyMs ?? 50) + (this.o.headroomMs ?? 30)) * this.format!.rate) / 1000);
  }

  private played(now: number): number {
    if (this.clockSource === 'monotonic') return ((now - this.monoStart) * this.format!.rate) / 1000;
    return this.position!.position(now);
  }

  private tick(): void {
    if (!this.pullFn || !this.format || this.closing || this.failed) return;
    const now = performance.now();
    const target = this.targetFrames();
    if (this.clockSource === 'pacat' && !this.position!.known && this.written >= target) {
      // pacat reports within 50 ms of the stream being created; 1.5 s without one: pace by our clock
      this.firstFullAt ??= now;
      if (now - this.firstFullAt > 1500) {
        this.clockSource = 'monotonic';
        this.monoStart = now - ((this.written - target) * 1000) / this.format.rate;
      }
    }
    const want = Math.floor(target - (this.written - this.played(now)));
    if (want < this.format.rate / 200) return; // less than 5 ms: next tick
    this.push(exactFrames(this.pullFn(want), want, this.format.channels));
  }

  write(samples: Float32Array): void {
    if (!this.format || this.closing || this.failed) return;
    const ch = this.format.channels;
    this.push(samples.length % ch ? samples.subarray(0, samples.length - (samples.length % ch)) : samples);
  }

  private push(samples: Float32Array): void {
    this.written += samples.length / this.format!.channels;
    this.child?.stdin?.write(floatToF32LE(samples));
  }

  /** written and not yet played (pipe, pacat, server buffer, sink latency); undefined until pacat reports a position */
  latencyMs(): number | undefined {
    if (!this.format || (this.clockSource === 'pacat' && !this.position?.known)) return undefined;
    return ((this.written - this.played(performance.now())) / this.format.rate) * 1000;
  }

  stats(): SinkStats & { serverLatencyMs?: number; clock: 'pacat' | 'monotonic' } {
    return { frames: this.written, underruns: this.underruns, latencyMs: this.latencyMs(), serverLatencyMs: this.serverLatencyUs === undefined ? undefined : this.serverLatencyUs / 1000, clock: this.clockSource };
  }

  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }

  private report(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.errorFn?.(e);
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops pulling, lets pacat play what it holds (at most latency + 2 s), then ends it. */
  async close(): Promise<void> {
    this.stop();
    this.closing = true;
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.stdin?.end();
    const drainMs = (this.latencyMs() ?? 0) + 2000;
    if (await Promise.race([exited.then(() => true), sleep(drainMs).then(() => false)])) return;
    c.kill('SIGTERM');
    if (await Promise.race([exited.then(() => true), sleep(1000).then(() => false)])) return;
    c.kill('SIGKILL');
    await exited;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
