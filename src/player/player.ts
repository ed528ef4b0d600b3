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
  /**
   * The reads come from a clock that does not drift against the packets' (a timer sink on the
   * sender's machine or a sender with a good clock): the adaptive target is computed for the
   * actual phase of the reads against the packet arrivals (readPhase) instead of the worst one.
   * Not for a sound card pulling at its own pace: its phase slides with the drift, and the target
   * would step by a packet's worth each time it wraps.
   */
  phaseAware?: boolean;
}

/**
 * The drift servo's constants (see Player.servo). Chosen so that on a clean path with no drift
 * the correction is exactly 0 once settled (the averaged level stays inside the dead band), and
 * a real drift of +-100 ppm is followed without overshoot: the loop is first order (the buffer
 * integrates the rate error) with a time constant of 1000 / kpPpmPerMs = 10 s, and the error
 * filter's 2 s is well under that (damping ratio about 1.1: not oscillating).
 */
/** how much of a stream (ms of packets, 3 packets at least) playout waits for before it starts, whatever the target */
export const START_MS = 40;

export const SERVO = {
  /** the averaged level is compared with the target every this many seconds of output */
  updateSec: 0.5,
  /** time constant of the low-pass filter on the level error, s */
  filterSec: 2,
  /** no correction while the filtered error is within +-this (ms): measurement noise and target steps */
  deadBandMs: 0.5,
  /** ppm of correction per ms of error beyond the dead band */
  kpPpmPerMs: 100,
  /**
   * the largest correction, ppm: 1000 ppm is 1.7 cents, well below the 5-10 cents a trained ear
   * tells apart. It is reached only to drain the latency an underrun added (a sender's hiccup of
   * 20 ms takes 20 s at most); a clock drift or the small steps of the target take 0-150 ppm.
   */
  maxPpm: 1000,
  /**
   * Fast slew: when the level is more than this (ms) above the target (an underrun added its
   * lateness to the latency, the target fell back after a jittery stretch), the slow loop above would
   * take 20-40 s; the servo then corrects on the half second's level itself (not the filtered
   * error, which lags 2 s) at `drainKpPpmPerMs`, within +-`drainMaxPpm`. The drift loop never
   * gets here (a 100 ppm drift is held 1.5 ms off the target).
   */
  drainAboveMs: 3,
  /** ppm per ms of error in the fast slew: half the excess goes in each half second (no overshoot) */
  drainKpPpmPerMs: 1000,
  /**
   * The fast slew's cap, ppm: 2500 ppm (0.25%, 4.3 cents, about the smallest pitch change a
   * trained ear tells apart on a held pure tone) drains 2.5 ms per second, the 25 ms an underrun
   * of 30 ms leaves in about 10 s. It is resampling: the waveform stays continuous (no splice, no
   * click, no phase break; test/player/player.test.ts checks the output). 5000 ppm was tried: a
   * 3 s tone played through an underrun then measured 0.5% sharp (the interop tests' tolerance).
   * Only to drain (play faster): a level below the target is brought up by the slow loop, as
   * before (slowing down adds latency, which is never urgent).
   */
  drainMaxPpm: 2500,
  /**
   * beyond this much filtered excess (ms) the excess is skipped instead (see Player.servo).
   * (40 ms, or twice the target, was tried: on a clean loopback it cut the latency back right
   * after a sender's hiccup, and the next hiccup underran again: more concealment, a higher p95.)
   */
  catchUpMs: 100,
  /** what the target keeps beyond the packet, the output block and the network's spread, ms */
  marginMs: 2,
} as const;

/**
 * What an underrun adds to the adaptive target (issue #6): headroom for the machine's or the
 * network's hiccups that the measured spread does not show (a hiccup that happened once will
 * likely happen again). It is added on top of the target computed from the spread, not a floor
 * raised from the current target: in a burst of underruns (a machine stalled for hundreds of ms)
 * the target already carries the burst's late arrivals in its spread, and a floor of "target +
 * 5 ms" at each underrun ratcheted on itself up to 578 ms in a 45-minute soak, then fell at
 * 1 ms/s: 150-400 ms of latency held for 9 minutes.
 */
export const HEADROOM = {
  /** ms added by an underrun */
  stepMs: 5,
  /**
   * at most one step per this many seconds of output: a burst of underruns raises it once, a
   * hiccup that comes back 10 s later (the delay tracker's 8 s have forgotten the first) once more
   */
  raiseEverySec: 10,
  /**
   * the most it grows to, ms: 4 steps. It is for the hiccups the spread does not measure (a 5-30 ms
   * lateness of a starved machine: the spread measures the network's own jitter, which it already
   * adds); a longer stall underruns whatever is kept, and the catch-up (SERVO.catchUpMs) bounds
   * what it piles up.
   */
  capMs: 20,
  /**
   * none of it decays while underruns keep coming (the last less than this many seconds of output
   * ago): that is when it is needed. Once calm this long, it decays at calmDecayMsPerSec.
   */
  calmSec: 5,
  /**
   * ms per second: the largest headroom is gone 10 s after calm set in. Under the fast slew's
   * 2.5 ms/s (SERVO.drainMaxPpm), so the level follows the falling target within 3 ms.
   */
  calmDecayMsPerSec: 2,
} as const;

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
  /** drift correction: + means playing faster than nominal to drain the buffer, ppm (averaged over the last minute) */
  driftPpm: number;
  /** the correction applied now, ppm (driftPpm is its average) */
  correctionPpm: number;
  /** audio skipped: when playout started (what arrived before the output opened, or beyond the target) and by catch-ups, ms */
  skippedMs: number;
  /** times the buffer held more than SERVO.catchUpMs beyond the target and the excess was skipped */
  catchUps: number;
  /** what underruns add to the target now, ms (HEADROOM; 0 with a fixed latency) */
  headroomMs: number;
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
  /** see HEADROOM */
  private headroomMs = 0;
  /** playedMs at the last headroom step and at the last underrun */
  private raisedAtMs: number | undefined;
  private underrunAtMs: number | undefined;
  private lastPacketFrames: number;
  private blockFrames = 0;
  private ended = false;
  private avgLevelMs: number | undefined;
  private levelSum = 0;
  private ppm = 0;
  private shownPpm = 0;
  private errFiltered: number | undefined;
  private levelFrames = 0;
  private readonly ppmWindow: number[] = [];
  private ppmSum = 0;
  private readonly st: PlayerStats;

  constructor(
    private readonly decoder: AudioDecoder,
    private readonly o: PlayerOptions,
  ) {
    this.phaseAware = o.phaseAware ?? false;
    this.resampler = new VariableResampler(o.channels);
    this.lastPacketFrames = Math.round(o.clockRate * 0.02);
    this.st = {
      state: 'buffering', targetMs: 0, bufferedMs: 0, queued: 0, duplicates: 0, late: 0, overflow: 0,
      concealedMs: { fec: 0, plc: 0, fade: 0 }, underruns: 0, stalls: 0, playedMs: 0, driftPpm: 0, correctionPpm: 0, skippedMs: 0, catchUps: 0, headroomMs: 0, resyncs: 0, undecodable: 0,
    };
  }

  private ms(frames: number): number {
    return (frames / this.o.clockRate) * 1000;
  }

  /**
   * The latency the player aims for now, ms: the buffered level averaged over time (bufferedMs,
   * sampled before each output block). The level is a sawtooth: a packet adds `packet` ms at
   * once, the output takes it away block by block; it is lowest just before a packet arrives,
   * half a packet under its average. That low point must still hold one output block (the
   * output takes it at once) plus the network's spread and a margin:
   *   target = block + packet / 2 + spread + margin
   * (Opus on a clean loopback: 10 + 10 + ~1 + 2 = 23 ms.)
   */
  targetMs(): number {
    if (this.o.latencyMs !== undefined) return this.o.latencyMs;
    const packet = this.ms(this.lastPacketFrames);
    const block = this.ms(this.blockFrames);
    // until the spread is measured, start as early as a packet allows: an underrun grows the
    // latency in place (see nextChunk), so a jittery start costs a little concealment, not a gap
    const net = this.delays.spreadMs() ?? 0;
    // the low point of the sawtooth is half a packet under the level, at the read that comes
    // latest after a packet can be counted on (its median arrival + spread + margin): a packet
    // after it in the worst phase, less in the phase the reads actually have (readLagMs)
    const lag = this.phaseAware ? this.readLagMs() : undefined;
    // (+1 ms with the phase: what the resampler reads ahead of a block, 16 taps and the slew's
    // extra frames, and the noise of the median the phase is measured against, which the worst
    // phase's slack covered)
    const low = lag === undefined ? packet / 2 : Math.min(packet / 2, lag - packet / 2 + 1);
    return Math.max(this.o.minLatencyMs ?? 10, block + low + net + SERVO.marginMs) + this.headroomMs;
  }

  /** see PlayerOptions.phaseAware; set by the session once it knows what kind of output it has (setPhaseAware) */
  private phaseAware = false;
  /** when the read clock was last moved while playing (readAlignNs) */
  private realignedAtNs: bigint | undefined;

  setPhaseAware(on: boolean): void {
    this.phaseAware = on;
  }

  /** the phases of the last reads against the packet grid, frames (0 .. gcd(packet, block)) */
  private readonly phases: number[] = [];
  private phaseCache: { n: number; lag: number | undefined; behindSafe?: number } | undefined;
  private phaseNotes = 0;

  /**
   * Where the reads fall against the packets' scheduled arrivals (the median delay): at each read,
   * the media time arriving then (DelayTracker.mediaAt) minus the start of the newest packet's grid,
   * modulo the period the phases repeat with (gcd(packet, block): 10 ms for 20 ms packets read in
   * 10 ms blocks, 5 ms for L16's 5 ms packets). Recorded for the last 256 reads.
   */
  private notePhase(nowNs: bigint | undefined, frames: number): void {
    if (!this.phaseAware || nowNs === undefined || this.newestTs === undefined || this.delays.count < 3) return;
    const m = this.delays.mediaAt(nowNs);
    if (m === undefined) return;
    const g = gcd(this.lastPacketFrames, frames);
    if (g <= 0) return;
    this.phases.push((((m - this.newestTs) % g) + g) % g);
    if (this.phases.length > 256) this.phases.shift();
    // recomputed every 25 reads (a sort of 256 numbers; the phase moves slowly), and at every
    // read while there are few
    if (++this.phaseNotes >= 25 || this.phases.length < 100) {
      this.phaseNotes = 0;
      this.phaseCache = undefined;
    }
  }

  /**
   * The largest lag of a read behind the scheduled arrival of the packet it waits for, ms
   * (undefined until 50 reads): the reads' phase (a circular mean, then the 90th percentile of the
   * deviations from it: a late read only makes it larger, and the rare stalls do not count) plus a
   * packet minus the phase period (the reads between two arrivals come one block apart).
   */
  private readLagMs(): number | undefined {
    const n = this.phases.length;
    if (n < 50) return undefined;
    if (this.phaseCache) return this.phaseCache.lag;
    const g = gcd(this.lastPacketFrames, this.blockFrames);
    let sx = 0;
    let sy = 0;
    for (const p of this.phases) {
      sx += Math.cos((2 * Math.PI * p) / g);
      sy += Math.sin((2 * Math.PI * p) / g);
    }
    const mean = ((Math.atan2(sy, sx) / (2 * Math.PI)) * g + g) % g;
    const dev = this.phases.map((p) => ((((p - mean) % g) + g * 1.5) % g) - g / 2).sort((a, b) => a - b);
    // a packet can be counted on only spread + margin after its median arrival: the lag is behind
    // that (wrapped before the deviation is added: a read a little later than the mean must not
    // wrap round to "just after the packet")
    const safe = ((this.delays.spreadMs() ?? 0) + SERVO.marginMs) * (this.o.clockRate / 1000);
    const behindSafe = ((((mean - safe) % g) + g) % g) + Math.max(0, dev[Math.floor(n * 0.9)]);
    const lag = this.ms(Math.min(this.lastPacketFrames, Math.max(0, behindSafe + this.lastPacketFrames - g)));
    this.phaseCache = { n, lag, behindSafe };
    return lag;
  }

  /**
   * For an output whose block clock is free to choose (a timer sink): how long to delay the next
   * read so that the reads come `afterMs` after the packets can be counted on (median arrival +
   * spread + margin), ns (0 .. the
   * phase period); undefined until the arrival schedule is known. The read that comes just after
   * a packet can take it at once: the buffer then needs to hold no more than a block beyond the
   * network's spread (with phaseAware).
   */
  readAlignNs(nowNs: bigint, blockFrames: number, afterMs = 1.5): bigint | undefined {
    if (!this.phaseAware || this.newestTs === undefined || this.delays.count < 3) return undefined;
    const g = gcd(this.lastPacketFrames, blockFrames);
    const rate = this.o.clockRate / 1000;
    const want = afterMs * rate;
    if (this.state === 'playing') {
      // while playing: on the phase measured over the last reads (readLagMs), when the reads lag
      // more than 3 ms behind where they were aimed (the first alignment was made on a few
      // packets, and the spread, so the point a packet can be counted on, moves later as it is
      // measured), at most every 20 s. Moving the reads later delays the output once by less
      // than a block; nothing is lost or repeated.
      if (this.realignedAtNs !== undefined && nowNs - this.realignedAtNs < 20_000_000_000n) return undefined;
      if (this.readLagMs() === undefined) return undefined;
      const behind = this.phaseCache?.behindSafe;
      if (behind === undefined || behind <= want + 3 * rate) return undefined;
      this.realignedAtNs = nowNs;
      this.phases.length = 0;
      this.phaseCache = undefined;
      const late = (((behind - want) % g) + g) % g;
      return BigInt(Math.round(((g - late) / this.o.clockRate) * 1e9));
    }
    const m = this.delays.mediaAt(nowNs);
    if (m === undefined) return undefined;
    const safe = ((this.delays.spreadMs() ?? 0) + SERVO.marginMs) * rate;
    const behind = (((m - this.newestTs - safe) % g) + g) % g;
    const late = (((behind - want) % g) + g) % g;
    if (late <= 2 * rate) return 0n;
    this.phases.length = 0;
    this.phaseCache = undefined;
    return BigInt(Math.round(((g - late) / this.o.clockRate) * 1e9));
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
    this.newestTs = undefined;
    this.phases.length = 0;
    this.phaseCache = undefined;
    this.realignedAtNs = undefined;
    this.st.resyncs++;
  }

  /** An RTP payload with its (wrapped) timestamp, arrived at `arrivalNs`. */
  push(timestamp: number, payload: Uint8Array, arrivalNs: bigint): InsertResult | 'malformed' {
    const samples = this.decoder.samplesIn(payload);
    if (samples === 0) return 'malformed';
    const ts = this.unwrap.unwrap(timestamp);
    this.delays.add(arrivalNs, ts, this.o.clockRate);
    this.lastPacketFrames = samples;
    if (this.newestTs === undefined || ts > this.newestTs) this.newestTs = ts;
    // only a playing player has a "now" that makes packets late
    const r = this.jb.insert({ ts, samples, payload, arrivalNs }, this.state === 'playing' ? this.playTs : undefined);
    if (r === 'queued') this.st.queued++;
    else if (r === 'duplicate') this.st.duplicates++;
    else if (r === 'late') this.st.late++;
    else this.st.overflow++;
    return r;
  }

  /**
   * Buffering (at start, or after a stall): anchor on the oldest packet; play once enough is
   * buffered that the AVERAGE level will be the target. Right after a packet arrived the level is
   * at the top of its sawtooth, half a packet above the average; `nowNs` (when the caller knows
   * the time) tells how long ago the newest packet came, so how far down the sawtooth we are.
   * Anything buffered beyond that is skipped (never heard: it arrived while the output was
   * opening, or the last packet overshot the target): playout starts at the target instead of
   * above it and leaving the excess to the drift servo, which would take a minute and a pitch
   * shift to drain it.
   */
  private tryStart(nowNs?: bigint): void {
    const first = this.jb.first();
    if (!first) return;
    if (this.state === 'stalled' || this.playTs === undefined || this.playTs > first.ts + first.samples) {
      this.state = 'buffering';
      this.playTs = first.ts;
      this.pending = undefined;
      this.resampler.reset();
    }
    const packet = this.ms(this.lastPacketFrames);
    // a stream's first packets often come unevenly (the sender warming up): playout starts once
    // the typical delay rests on START_MS of stream (3 packets at least)
    if (this.delays.count < Math.max(3, Math.ceil(START_MS / packet))) return;
    const want = this.targetMs() + packet / 2 - this.sinceNewestMs(nowNs);
    const have = this.bufferedMs();
    if (have >= want) {
      const excess = Math.floor(((have - want) / 1000) * this.o.clockRate);
      if (excess > 0) {
        this.dropPending(excess);
        this.st.skippedMs += this.ms(excess);
      }
      this.state = 'playing';
      this.underrunRunFrames = 0;
      this.errFiltered = undefined;
      this.levelSum = 0;
      this.levelFrames = 0;
    }
  }

  /** skips up to `frames` of what is buffered (never past the newest packet); returns how many */
  private skipAhead(frames: number): number {
    const end = this.jb.newestEnd();
    if (end === undefined || this.playTs === undefined) return 0;
    const n = Math.max(0, Math.min(frames, end - this.playTs - this.lastPacketFrames));
    if (n > 0) this.dropPending(n);
    return n;
  }

  /** moves the playout point `frames` later (what is decoded and pending is dropped) */
  private dropPending(frames: number): void {
    this.pending = undefined;
    this.playTs = this.playTs! + frames;
    this.jb.dropBefore(this.playTs);
  }

  /** the newest (unwrapped) timestamp received */
  private newestTs: number | undefined;

  /**
   * ms since the newest packet would have arrived at the typical delay (DelayTracker): between 0
   * and a packet; 0 when the time is not known. (Its actual arrival would carry its jitter into
   * every measurement of the level.)
   */
  private sinceNewestMs(nowNs: bigint | undefined): number {
    if (nowNs === undefined || this.newestTs === undefined) return 0;
    const due = this.delays.expectedArrivalNs(this.newestTs);
    if (due === undefined) return 0;
    return Math.max(0, Math.min(this.ms(this.lastPacketFrames), Number(nowNs - due) / 1e6));
  }

  /**
   * The level as the servo sees it, before a block is read. Without the time: what is buffered
   * now. With it: measured against the schedule, not against what happens to be here: the media
   * time that arrives now when packets come at their typical (median) delay, plus a packet (it
   * ends that much later), minus the playout point, plus what is decoded and not yet played:
   * the top of the level's sawtooth, whose average is half a packet lower. Neither the phase of
   * the reads against the arrivals, nor the jitter of the newest packet, nor a burst of early
   * packets moves it (sampled at the reads alone, the average slides by up to a block as the
   * phase drifts, and the servo would chase that; a burst would look like excess latency).
   */
  private levelMs(nowNs: bigint | undefined): number {
    const m = nowNs === undefined || this.playTs === undefined ? undefined : this.delays.mediaAt(nowNs);
    if (m === undefined) return this.bufferedMs();
    const decoded = (this.pending ? this.pending.length / this.o.channels : 0) + this.resampler.pendingFrames;
    return this.ms(m + this.lastPacketFrames - this.playTs! + decoded) - this.ms(this.lastPacketFrames) / 2;
  }

  /**
   * `frames` frames of output audio (interleaved), at the output's pace. `nowNs` (the same clock
   * as the packets' arrival times), when given, lets playout start at exactly the target.
   */
  read(frames: number, nowNs?: bigint): Float32Array {
    if (frames > this.blockFrames) this.blockFrames = frames;
    this.notePhase(nowNs, frames);
    if (this.state !== 'playing') this.tryStart(nowNs);
    this.st.playedMs += this.ms(frames);
    if (this.state !== 'playing') return new Float32Array(frames * this.o.channels);
    this.servo(frames, nowNs);
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
      // the network (or the machine) was later than the target allowed: keep 5 ms more, once per
      // burst of underruns (HEADROOM.raiseEverySec), never more than HEADROOM.capMs
      const now = this.st.playedMs;
      this.underrunAtMs = now;
      if (this.o.latencyMs === undefined && (this.raisedAtMs === undefined || now - this.raisedAtMs >= HEADROOM.raiseEverySec * 1000)) {
        this.raisedAtMs = now;
        this.headroomMs = Math.min(HEADROOM.capMs, this.headroomMs + HEADROOM.stepMs);
      }
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
   * Holds the buffer at the target by resampling (see SERVO): every half second of output the
   * level averaged over it (sampled before each block, weighted by block length) is compared
   * with the target; the error is low-pass filtered (2 s); inside a +-0.5 ms dead band nothing
   * is corrected, beyond it the ratio moves 100 ppm per ms, within +-1000 ppm. Proportional only:
   * a constant clock drift is then held with a constant level offset (dead band + drift / 100
   * ppm per ms: 1.5 ms for 100 ppm, which the target's 2 ms margin covers), and the loop does not
   * overshoot. The headroom underruns added to the target (HEADROOM) decays by
   * 2 ms per second once no underrun came for 5 s.
   */
  private servo(frames: number, nowNs: bigint | undefined): void {
    this.levelSum += this.levelMs(nowNs) * frames;
    this.levelFrames += frames;
    const dt = this.levelFrames / this.o.clockRate;
    if (dt < SERVO.updateSec) return;
    const level = this.levelSum / this.levelFrames;
    this.avgLevelMs = level;
    this.levelSum = 0;
    this.levelFrames = 0;
    const err = level - this.targetMs();
    this.errFiltered = this.errFiltered === undefined ? err : this.errFiltered + ((err - this.errFiltered) * dt) / (SERVO.filterSec + dt);
    let e = this.errFiltered;
    let ppm: number;
    if (err > SERVO.drainAboveMs) {
      // fast slew on the level itself: the level measured against the schedule is exact after an
      // underrun (the playout point waited exactly as long as the packet was late), so it needs
      // no filtering; the filter restarts from it, so the slow loop takes over without a lag
      this.errFiltered = e = err;
      ppm = Math.min(SERVO.drainMaxPpm, (err - SERVO.deadBandMs) * SERVO.drainKpPpmPerMs);
    } else {
      const beyond = Math.abs(e) <= SERVO.deadBandMs ? 0 : e - Math.sign(e) * SERVO.deadBandMs;
      ppm = Math.max(-SERVO.maxPpm, Math.min(SERVO.maxPpm, beyond * SERVO.kpPpmPerMs));
    }
    const rel = ppm / 1e6;
    this.ppm = ppm;
    // shown: the correction averaged over the last minute (the per-update value rides on the
    // packet sawtooth; its average is the clock drift actually being compensated)
    this.ppmWindow.push(this.ppm);
    this.ppmSum += this.ppm;
    if (this.ppmWindow.length > 120) this.ppmSum -= this.ppmWindow.shift()!;
    this.shownPpm = this.ppmSum / this.ppmWindow.length;
    this.resampler.ratio = 1 + rel;
    if (this.headroomMs > 0 && (this.underrunAtMs === undefined || this.st.playedMs - this.underrunAtMs >= HEADROOM.calmSec * 1000)) {
      this.headroomMs = Math.max(0, this.headroomMs - dt * HEADROOM.calmDecayMsPerSec);
    }
    // far too much buffered (underruns piled up latency: a starved machine, a sender's long
    // hiccups): resampling at the cap would take minutes, so the excess is skipped at once (one
    // splice instead of a delay that lasts), counted in skippedMs and catchUps
    if (e > SERVO.catchUpMs) {
      const excess = Math.floor(((level - this.targetMs()) / 1000) * this.o.clockRate);
      const dropped = this.skipAhead(excess);
      if (dropped > 0) {
        this.st.skippedMs += this.ms(dropped);
        this.st.catchUps++;
        this.errFiltered = undefined;
        // the ratio was set above from the error before the skip (the fast slew's +2500 ppm): kept
        // for the next half second it drained the level the skip had just put at the target,
        // 2-3 frames a block under it (a simulated stall's catch-up: 25 underruns in 0.5 s)
        this.ppm = 0;
        this.resampler.ratio = 1;
      }
    }
  }

  // --- steering from outside: play --sync (src/sync/controller.ts) decides where playout is ------

  /**
   * The media position (unwrapped timestamp, fractional) of the next output frame, or undefined
   * before playout starts: the playout point, minus what is decoded and not yet handed to the
   * resampler, minus what the resampler holds beyond its position (its look-ahead).
   */
  position(): number | undefined {
    if (this.playTs === undefined || this.state === 'buffering') return undefined;
    const pending = this.pending ? this.pending.length / this.o.channels : 0;
    return this.playTs - pending - this.resampler.pendingFrames;
  }

  /** the unwrapped timestamps buffered: from the oldest packet's start to the newest one's end */
  bufferedSpan(): { first: number; end: number } | undefined {
    const f = this.jb.first();
    const end = this.jb.newestEnd();
    return f && end !== undefined ? { first: f.ts, end } : undefined;
  }

  /** the newest unwrapped timestamp received (a reference to place a 32-bit timestamp on the line) */
  newestTimestamp(): number | undefined {
    return this.newestTs;
  }

  /** moves playout to `ts` (fractional) at once and plays from there: what was decoded, pending or older is dropped */
  jumpTo(ts: number): void {
    const whole = Math.floor(ts);
    this.pending = undefined;
    this.resampler.reset(ts - whole);
    this.playTs = whole;
    this.jb.dropBefore(whole);
    this.state = 'playing';
    this.underrunRunFrames = 0;
  }

  /** `frames` frames of output consuming `ratio` media frames each, from where playout is: no start-up, no servo */
  readSteered(frames: number, ratio: number): Float32Array {
    if (frames > this.blockFrames) this.blockFrames = frames;
    this.st.playedMs += this.ms(frames);
    this.resampler.ratio = ratio;
    this.ppm = (ratio - 1) * 1e6;
    return this.resampler.read(frames, (n) => this.produce(n));
  }

  stats(): PlayerStats {
    return { ...this.st, concealedMs: { ...this.st.concealedMs }, state: this.state, targetMs: this.targetMs(), headroomMs: Math.round(this.headroomMs * 10) / 10, bufferedMs: this.state === 'playing' && this.avgLevelMs !== undefined ? this.avgLevelMs : this.bufferedMs(), driftPpm: Math.round(this.shownPpm), correctionPpm: Math.round(this.ppm * 10) / 10 };
  }
}

function gcd(a: number, b: number): number {
  a = Math.abs(Math.round(a));
  b = Math.abs(Math.round(b));
  while (b) [a, b] = [b, a % b];
  return a;
}
