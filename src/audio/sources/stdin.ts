import { fstatSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { AudioSource } from '../source';
import type { PcmFormat, SampleFormat } from '../pcm';
import { PcmStreamReader } from './stream-reader';
import { PipeRateDetector, type PipeVerdict } from './pipe-rate';
import { monotonicClock, type Clock } from '../../rtp/clock';

/**
 * How stdin is paced: 'live' (a producer running in real time, like parec or arecord: its clock
 * sets the pace and what piles up is dropped), 'paced' (a file: rtpcast's clock, every sample sent),
 * 'auto' (a pipe is measured over its first second and treated as live if it arrives at about the
 * real-time rate; anything else is paced).
 */
export type StdinMode = 'live' | 'paced' | 'auto';

export interface StdinOptions {
  mode?: StdinMode;
  clock?: Clock;
  /** whether the stream is a pipe or socket (default: stat of file descriptor 0) */
  isPipe?: boolean;
  /** auto: how long to wait for a first byte to measure before choosing paced (default 2000 ms) */
  firstByteMs?: number;
}

function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

/** Raw PCM on standard input, in a format the user states (`parec ... | rtpcast send --input -`). */
export class StdinSource implements AudioSource {
  readonly label: string;
  private live: boolean;
  private reader: PcmStreamReader | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  /** set by open() when the mode was detected: what was measured and what rtpcast does with it */
  notice: string | undefined;
  verdict: PipeVerdict | undefined;
  /** ms of audio dropped when the measurement found a live producer (it had piled up meanwhile) */
  droppedAtStartMs = 0;
  droppedFrames = 0;

  constructor(
    readonly format: PcmFormat,
    readonly sampleFormat: SampleFormat,
    private readonly stream: Readable = process.stdin,
    private readonly opts: StdinOptions = {},
  ) {
    this.label = `raw PCM on stdin (${sampleFormat}, ${format.rate} Hz, ${format.channels} ch)`;
    this.live = opts.mode === 'live';
  }

  get pacing(): 'sender' | 'source' {
    return this.live ? 'source' : 'sender';
  }

  async open(): Promise<PcmFormat> {
    const rate = this.format.rate;
    const mode = this.opts.mode ?? 'auto';
    const detect = mode === 'auto' && (this.opts.isPipe ?? (this.stream === process.stdin && stdinIsPipe()));
    // live: never hold the producer back (the pipe would hide latency); the sender keeps the level low.
    // measuring: do not hold back either, so a file shows its speed. paced: about a second.
    this.reader = new PcmStreamReader(this.stream, this.sampleFormat, this.format.channels, this.live ? rate * 10 : detect ? rate * 30 : rate);
    this.stream.on('error', (e) => this.errorFn?.(e));
    if (detect) {
      this.verdict = await this.measure(this.reader);
      this.live = this.verdict.live;
      this.reader.highFrames = this.live ? rate * 10 : rate;
      const r = Number.isNaN(this.verdict.ratio) ? `nothing arrived within ${(this.opts.firstByteMs ?? 2000) / 1000} s to measure` : !Number.isFinite(this.verdict.ratio) ? 'the whole input at once' : this.verdict.ratio < 0.5 ? `${this.verdict.ratio.toFixed(2)}x real time: a producer that writes in big chunks or starts slowly, e.g. parec without --latency-msec` : `${this.verdict.ratio.toFixed(2)}x real time`;
      const old = this.live ? this.dropBacklog() : 0;
      this.notice = this.live
        ? `stdin is a live producer (audio arrives at ${r}): following its clock and keeping the delay low; the ${old} ms that piled up before and while it was measured were dropped, and audio that piles up later beyond the target is dropped and counted (--no-live to send every sample instead)`
        : Number.isNaN(this.verdict.ratio)
          ? `stdin: ${r}: sending every sample, paced by rtpcast's clock, as for a file (--live if the producer is a live capture such as parec or arecord; --no-live to skip this wait)`
          : `stdin arrives faster than real time (${r}): sending every sample, paced by rtpcast's clock (--live if the producer is a live capture such as parec or arecord)`;
    } else if (this.live) {
      // --live: what the producer wrote before rtpcast read it is in the pipe; it comes in within
      // moments of the first byte. Take it in, then keep only the newest 100 ms.
      await this.firstData(150);
      const old = this.dropBacklog();
      if (old > 0) this.notice = `stdin --live: the ${old} ms that piled up before rtpcast read it were dropped; audio that piles up later beyond the target is dropped and counted`;
    }
    return this.format;
  }

  /** What stands in the buffer beyond the newest 100 ms is old already: dropped and counted. Returns ms. */
  private dropBacklog(): number {
    const rate = this.format.rate;
    const old = this.reader!.discard(Math.max(0, this.reader!.bufferedFrames - Math.round(rate * 0.1)));
    this.droppedFrames += old;
    this.droppedAtStartMs = Math.round((this.droppedFrames / rate) * 1000);
    return Math.round((old / rate) * 1000);
  }

  /** Resolves `thenMs` after the first byte (or at the end of the input). */
  private firstData(thenMs: number): Promise<void> {
    return new Promise((resolve) => {
      const go = () => {
        this.stream.off('data', go);
        this.stream.off('end', go);
        setTimeout(resolve, thenMs);
      };
      if (this.reader!.framesIn > 0) return go();
      this.stream.on('data', go);
      this.stream.on('end', go);
    });
  }

  /** Watches the first second of a pipe (see PipeRateDetector). */
  private measure(reader: PcmStreamReader): Promise<PipeVerdict> {
    const clock = this.opts.clock ?? monotonicClock;
    const det = new PipeRateDetector(this.format.rate);
    return new Promise((resolve) => {
      let seen = 0;
      let timer: NodeJS.Timeout | undefined;
      const done = (v: PipeVerdict | undefined) => {
        if (!v) return;
        clearTimeout(timer);
        this.stream.off('data', onData);
        this.stream.off('end', onEnd);
        resolve(v);
      };
      const onData = () => {
        const now = clock.nowNs();
        const first = seen === 0;
        const frames = reader.framesIn - seen;
        seen = reader.framesIn;
        done(det.feed(frames, now));
        if (first && !det.verdict) {
          clearTimeout(timer);
          const wait = () => {
            const left = Number(det.deadlineNs! - clock.nowNs()) / 1e6;
            timer = setTimeout(() => (det.decide(clock.nowNs()) ? done(det.verdict) : wait()), Math.max(1, Math.ceil(left)));
          };
          wait();
        }
      };
      const onEnd = () => done(det.ended());
      // nothing to measure yet (a producer that waits for the SDP or the banner): do not hold the
      // start up; paced, as before, and the notice says how to choose
      timer = setTimeout(() => done(det.verdict ?? { live: false, ratio: NaN }), this.opts.firstByteMs ?? 2000);
      this.stream.on('data', onData);
      this.stream.on('end', onEnd);
    });
  }

  read(frames: number): Float32Array | null {
    return this.reader ? this.reader.read(frames) : new Float32Array(0);
  }
  /** live: frames received and not yet read */
  get buffered(): number | undefined {
    return this.live ? this.reader?.bufferedFrames ?? 0 : undefined;
  }
  get arrivedFrames(): number | undefined {
    return this.live ? this.reader?.framesIn ?? 0 : undefined;
  }
  discard(frames: number): number {
    return this.reader?.discard(frames) ?? 0;
  }
  onReadable(fn: () => void): void {
    this.reader?.onReadable(fn);
  }
  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }
  async close(): Promise<void> {
    this.stream.pause();
  }
}
