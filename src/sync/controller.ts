import type { RtpTimeline } from './playout';

/** What the controller needs of the player (Player implements it). */
export interface SteerablePlayer {
  position(): number | undefined;
  bufferedSpan(): { first: number; end: number } | undefined;
  newestTimestamp(): number | undefined;
  jumpTo(ts: number): void;
  readSteered(frames: number, ratio: number): Float32Array;
}

/** What the controller needs of the clock estimate (ClockEstimator implements it). */
export interface SenderClockMap {
  toSender(localNs: bigint): bigint | undefined;
  estimate(): { drift: number } | undefined;
}

export const STEER = {
  /**
   * beyond this error playout jumps (a splice); within it, it is steered by resampling. Small:
   * after an underrun (the sender or the network hiccuped) the player is behind by what it
   * concealed, and steering 5 ms away at 1000 ppm would take 5 s, during which players that
   * underran differently are apart; the estimator's own noise is tens of us.
   */
  jumpMs: 2,
  /** the error is corrected with this time constant (s) ... */
  tauSec: 1,
  /** ... by at most this much resampling on top of the clock drift (1000 ppm = 1.7 cents) */
  maxPpm: 1000,
} as const;

export interface SteerStats {
  state: 'waiting' | 'early' | 'late' | 'locked';
  /** playout position minus where it should be, at the last block, us (+: playout is ahead, playing what is due later) */
  errorUs: number;
  jumps: number;
  /** blocks played as silence because the audio due was not here (yet or any more) */
  silentBlocks: number;
  /** correction applied on top of the drift, ppm */
  correctionPpm: number;
}

export interface SteeredBlock {
  pcm: Float32Array;
  /** unwrapped media position of the block's first frame, when audio was played */
  firstTs?: number;
}

/**
 * Plays every sample at its sender time + `latencyMs` (play --sync). Before each output block,
 * given the local time its first frame leaves:
 *   sender time  = estimator.toSender(leave)                      (clock offset and drift)
 *   target ts    = the timestamp sampled at sender time - latency  (RTCP sender report)
 *   error        = player.position() - target ts
 * An error beyond STEER.jumpMs (start, a gap, the sender restarting) is jumped over; a small one is steered
 * away by resampling at (1 + drift) x (1 - error / (rate x tau)), the player's own variable
 * resampler doing the work, so the correction is inaudible. Pure: times are passed in.
 */
export class SyncController {
  readonly stats: SteerStats = { state: 'waiting', errorUs: 0, jumps: 0, silentBlocks: 0, correctionPpm: 0 };
  constructor(
    private readonly clockRate: number,
    private readonly channels: number,
    private readonly latencyMs: number,
    private readonly clock: SenderClockMap,
    private readonly timeline: RtpTimeline,
  ) {}

  /**
   * where playout should be (unwrapped ts) for a frame leaving at local `leaveNs`; 'gap' where
   * the sender was stalled (no audio belongs there); undefined until clock and reports are known
   */
  targetTs(leaveNs: bigint, nearTs: number): number | 'gap' | undefined {
    const s = this.clock.toSender(leaveNs);
    if (s === undefined) return undefined;
    return this.timeline.place(s - BigInt(Math.round(this.latencyMs * 1e6)), nearTs);
  }

  block(p: SteerablePlayer, frames: number, leaveNs: bigint): SteeredBlock {
    const silence = (): SteeredBlock => {
      this.stats.silentBlocks++;
      return { pcm: new Float32Array(frames * this.channels) };
    };
    const near = p.newestTimestamp();
    const target = near === undefined ? undefined : this.targetTs(leaveNs, near);
    if (target === undefined) {
      this.stats.state = 'waiting';
      return silence();
    }
    if (target === 'gap') {
      // the sender was stalled at the sender time due now: nothing was sampled for it (the audio
      // after the stall is on the next segment's line; what came before it is overdue)
      this.stats.state = 'early';
      return silence();
    }
    let pos = p.position();
    const jump = (this.clockRate * STEER.jumpMs) / 1000;
    // after silence (waiting, early, late) playout resumes exactly at the target: the position
    // it stopped at may happen to be near the target again, but never exactly on it
    if (pos === undefined || this.stats.state !== 'locked' || Math.abs(pos - target) > jump) {
      const span = p.bufferedSpan();
      if (!span || target < span.first) {
        this.stats.state = 'early';
        return silence();
      }
      if (target + frames > span.end) {
        // the audio due now has not arrived (or is gone): --latency is shorter than the path's delay
        this.stats.state = 'late';
        return silence();
      }
      p.jumpTo(target);
      this.stats.jumps++;
      pos = target;
    }
    const err = pos - target;
    this.stats.errorUs = (err / this.clockRate) * 1e6;
    const corr = Math.max(-STEER.maxPpm * 1e-6, Math.min(STEER.maxPpm * 1e-6, err / (this.clockRate * STEER.tauSec)));
    this.stats.correctionPpm = corr * 1e6;
    this.stats.state = 'locked';
    const drift = this.clock.estimate()?.drift ?? 0;
    return { pcm: p.readSteered(frames, (1 + drift) * (1 - corr)), firstTs: pos };
  }
}
