import type { AudioDecoder, ConcealMethod } from '../codec/decoder';
import { JitterBuffer, TimestampUnwrapper, type InsertResult } from './jitter-buffer';
import { VariableResampler } from './variable-resampler';
import { DelayTracker } from './delay-tracker';

export interface PlayerOptions {
  clockRate: number;
  channels: number;
  /** fixed playout latency target in ms; undefined: chosen from measured jitter */
  latencyMs?: number;
  /** lowest adaptive target (ms) */
  minLatencyMs?: number;
  /** after this much continuous underrun, stop concealing and wait for the sender (ms) */
  stallMs?: number;
}

export interface PlayerStats {
  state: 'buffering' | 'playing' | 'stalled';
  targetMs: number;
  /** audio buffered ahead of playout, ms: the latency the player adds (averaged over the last half second while playing) */
  bufferedMs: number;
  /** packets handed to the buffer, by verdict */
  queued: number;
  duplicates: number;
  late: number;
  overflow: number;
  /** ms of audio made up (loss and underrun) by method */
  concealedMs: { fec: number; plc: number; fade: number };
  underruns: number;
  stalls: number;
  /** ms of output played */
  playedMs: number;
  /** drift correction: + means playing faster than nominal to drain the buffer, ppm */
  driftPpm: number;
  resyncs: number;
  /** packets whose payload would not decode (concealed instead) */
  undecodable: number;
}

/**
 * The playout core, pure (time is passed in): packets go in with their arrival time, audio comes
 * out on demand at the output device's pace.
 *
 * - A packet missing while later ones are already here is lost: it is concealed (Opus FEC from
 *   the next packet when possible, else PLC; a fade for L16) and playout moves on.
 * - The buffer running dry is an underrun (the network is late, not lossy): concealment is
 *   played WITHOUT moving the playout point, so the late packet still plays when it comes and
 *   the latency has grown by exactly what the network needed. The adaptive target grows too.
 * - After `stallMs` of underrun the sender is taken to have paused or restarted: silence, and
 *   playout re-anchors on the next packet after a fresh buffering of the target (no burst of
 *   old audio).
 * - A slow servo resamples by a few hundred ppm at most to hold the buffer at the target, which
 *   also compensates the sender's and the sound card's clocks drifting apart.
 */
export class Player {
  private readonly jb = new JitterBuffer(2000);
  private readonly unwrap = new TimestampUnwrapper();
  private readonly resampler: VariableResampler;
  private readonly delays = new DelayTracker();
  private playTs: number | undefined;
  private state: PlayerStats['state'] = 'buffering';
  private underrunRunFrames = 0;
  private floorMs = 0;
  private lastPacketFrames: number;
  private blockFrames = 0;
  private ended = false;
  private avgLevelMs: number | undefined;
  private levelSum = 0;
  private levelCount = 0;
  private ppm = 0;
  private shownPpm = 0;
  private readonly ppmWindow: number[] = [];
  private ppmSum = 0;
  private readonly st: PlayerStats;

  constructor(
    private readonly decoder: AudioDecoder,
    private readonly o: PlayerOptions,
  ) {
    this.resampler = new VariableResampler(o.channels);
    this.lastPacketFrames = Math.round(o.clockRate * 0.02);
    this.st = {
      state: 'buffering', targetMs: 0, bufferedMs: 0, queued: 0, duplicates: 0, late: 0, overflow: 0,
      concealedMs: { fec: 0, plc: 0, fade: 0 }, underruns: 0, stalls: 0, playedMs: 0, driftPpm: 0, resyncs: 0, undecodable: 0,
    };
  }

  private ms(frames: number): number {
    return (frames / this.o.clockRate) * 1000;
  }

  /** The latency the player aims for now, ms. */
  targetMs(): number {
    if (this.o.latencyMs !== undefined) return this.o.latencyMs;
    const packet = this.ms(this.lastPacketFrames);
    // the output takes a whole block at once (10 ms for a typical device): that must be buffered too
    const block = this.ms(this.blockFrames);
    // until the spread is measured, start as early as a packet allows: an underrun grows the
    // latency in place (see nextChunk), so a jittery start costs a little concealment, not a gap
    const net = this.delays.spreadMs() ?? 0;
    return Math.max(this.o.minLatencyMs ?? 10, net + packet + block + 2, this.floorMs);
  }

  /** audio ready to play, ms (what has arrived beyond the playout point) */
  bufferedMs(): number {
    // decoded but not yet played: the rest of the current packet, and the resampler's input
    const decoded = (this.pending ? this.pending.length / this.o.channels : 0) + this.resampler.pendingFrames;
    const end = this.jb.newestEnd();
    if (end === undefined || this.playTs === undefined) return this.ms(decoded);
    return this.ms(Math.max(0, end - this.playTs) + decoded);
  }

  /** The sender said goodbye (RTCP BYE): when the buffer runs dry, fade out instead of concealing. */
  senderEnded(): void {
    this.ended = true;
  }

  /** A new stream (sender restart: new SSRC, or a sequence/timestamp jump): start over. */
  resync(): void {
    this.ended = false;
    this.jb.clear();
    this.unwrap.reset();
    this.playTs = undefined;
    this.state = 'buffering';
    this.delays.reset();
    this.st.resyncs++;
  }

  /** An RTP payload with its (wrapped) timestamp, arrived at `arrivalNs`. */
  push(timestamp: number, payload: Uint8Array, arrivalNs: bigint): InsertResult | 'malformed' {
    const samples = this.decoder.samplesIn(payload);
    if (samples === 0) return 'malformed';
    const ts = this.unwrap.unwrap(timestamp);
    this.delays.add(arrivalNs, ts, this.o.clockRate);
    this.lastPacketFrames = samples;
    // only a playing player has a "now" that makes packets late
    const r = this.jb.insert({ ts, samples, payload, arrivalNs }, this.state === 'playing' ? this.playTs : undefined);
    if (r === 'queued') this.st.queued++;
    else if (r === 'duplicate') this.st.duplicates++;
    else if (r === 'late') this.st.late++;
    else this.st.overflow++;
    return r;
  }

  /** Buffering (at start, or after a stall): anchor on the oldest packet, play once the target is buffered. */
  private tryStart(): void {
    const first = this.jb.first();
    if (!first) return;
    if (this.state === 'stalled' || this.playTs === undefined || this.playTs > first.ts + first.samples) {
      this.state = 'buffering';
      this.playTs = first.ts;
      this.pending = undefined;
    }
    if (this.bufferedMs() >= this.targetMs()) {
      this.state = 'playing';
      this.underrunRunFrames = 0;
    }
  }

  /** `frames` frames of output audio (interleaved), at the output's pace. */
  read(frames: number): Float32Array {
    if (frames > this.blockFrames) this.blockFrames = frames;
    if (this.state !== 'playing') this.tryStart();
    this.st.playedMs += this.ms(frames);
    if (this.state !== 'playing') return new Float32Array(frames * this.o.channels);
    this.servo();
    return this.resampler.read(frames, (n) => this.produce(n));
  }

  /** `n` frames of media audio from the playout point on: decoded, concealed, or (stalled) silence. */
  private produce(n: number): Float32Array {
    const ch = this.o.channels;
    const out = new Float32Array(n * ch);
    let filled = 0;
    while (filled < n) {
      const take = this.nextChunk(n - filled);
      out.set(take, filled * ch);
      filled += take.length / ch;
    }
    return out;
  }

  /** decoded audio not yet consumed (a packet decodes to more than was asked for) */
  private pending: Float32Array | undefined;

  private nextChunk(max: number): Float32Array {
    const ch = this.o.channels;
    if (this.pending && this.pending.length) {
      const p = this.pending;
      const k = Math.min(p.length, max * ch);
      this.pending = k < p.length ? p.subarray(k) : undefined;
      return p.subarray(0, k);
    }
    const playTs = this.playTs!;
    this.jb.dropBefore(playTs); // a packet whose time passed while another was concealed
    const first = this.jb.first();
    if (this.state === 'stalled') return new Float32Array(max * ch); // stalled within this read
    if (first && first.ts <= playTs) {
      // the packet due now (partially overlapping starts are played from the overlap)
      this.jb.shift();
      this.playTs = first.ts + first.samples;
      this.underrunRunFrames = 0;
      let pcm: Float32Array;
      try {
        pcm = this.decoder.decode(first.payload);
      } catch {
        pcm = new Float32Array(0); // undecodable: concealed below like a loss
      }
      if (pcm.length < first.samples * ch) {
        this.st.undecodable++;
        const c = this.decoder.conceal(first.samples);
        this.count(c.method, first.samples);
        pcm = c.pcm;
      }
      const skip = playTs - first.ts;
      return this.split(skip > 0 ? pcm.subarray(skip * ch) : pcm, max);
    }
    if (first) {
      // a hole before the next packet we have: lost (or very late) audio
      const gap = first.ts - playTs;
      const frames = Math.min(gap, this.lastPacketFrames);
      const next = frames === gap ? first.payload : undefined;
      const c = this.decoder.conceal(frames, next);
      this.count(c.method, frames);
      this.playTs = playTs + frames;
      return this.split(c.pcm, max);
    }
    // the buffer is dry: an underrun. Conceal in place (the playout point waits for the packet).
    if (this.underrunRunFrames === 0) {
      this.st.underruns++;
      // the network was later than the target allowed: aim 5 ms higher (decays by 1 ms/s of calm)
      if (this.o.latencyMs === undefined) this.floorMs = Math.min(2000, this.targetMs() + 5);
    }
    const frames = Math.min(this.lastPacketFrames, Math.max(1, max));
    if (this.ended) {
      // the stream is over: 5 ms of concealment faded to silence, then stop (no click, no made-up tail)
      const fade = Math.min(frames, Math.round(this.o.clockRate * 0.005));
      const c = this.decoder.conceal(fade);
      for (let f = 0; f < fade; f++) for (let k = 0; k < ch; k++) c.pcm[f * ch + k] *= 1 - (f + 1) / fade;
      this.state = 'stalled';
      return this.split(c.pcm, max);
    }
    this.underrunRunFrames += frames;
    if (this.ms(this.underrunRunFrames) > (this.o.stallMs ?? 100)) {
      this.state = 'stalled';
      this.st.stalls++;
      return new Float32Array(frames * ch);
    }
    const c = this.decoder.conceal(frames);
    this.count(c.method, frames);
    return this.split(c.pcm, max);
  }

  private split(pcm: Float32Array, max: number): Float32Array {
    const ch = this.o.channels;
    if (pcm.length <= max * ch) return pcm;
    this.pending = pcm.subarray(max * ch);
    return pcm.subarray(0, max * ch);
  }

  private count(method: ConcealMethod, frames: number): void {
    this.st.concealedMs[method] += this.ms(frames);
  }

  /**
   * Holds the buffer at the target by resampling: the ratio follows the averaged level error,
   * draining an excess over about 20 s, within +-2000 ppm; the floor raised by underruns decays
   * by 1 ms per second of calm.
   */
  private servo(): void {
    this.levelSum += this.bufferedMs();
    this.levelCount++;
    if (this.levelCount < 50) return;
    const level = this.levelSum / this.levelCount;
    this.avgLevelMs = level;
    this.levelSum = 0;
    this.levelCount = 0;
    const err = level - this.targetMs();
    const rel = Math.max(-2000e-6, Math.min(2000e-6, err / 20000));
    this.ppm = rel * 1e6;
    // shown: the correction averaged over the last minute (the per-update value rides on the
    // packet sawtooth; its average is the clock drift actually being compensated)
    this.ppmWindow.push(this.ppm);
    this.ppmSum += this.ppm;
    if (this.ppmWindow.length > 120) this.ppmSum -= this.ppmWindow.shift()!;
    this.shownPpm = this.ppmSum / this.ppmWindow.length;
    this.resampler.ratio = 1 + rel;
    if (this.floorMs > 0) this.floorMs = Math.max(0, this.floorMs - 0.5);
  }

  stats(): PlayerStats {
    return { ...this.st, concealedMs: { ...this.st.concealedMs }, state: this.state, targetMs: this.targetMs(), bufferedMs: this.state === 'playing' && this.avgLevelMs !== undefined ? this.avgLevelMs : this.bufferedMs(), driftPpm: Math.round(this.shownPpm) };
  }
}
