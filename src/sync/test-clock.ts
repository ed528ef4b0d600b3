import { monotonicClock, type Clock } from '../rtp/clock';

/**
 * A local clock that is wrong on purpose: `offsetMs` ahead of the true monotonic clock and
 * running `driftPpm` fast (negative: behind, slow). `rtpcast play --clock-offset-ms/--clock-drift-ppm`
 * play on it, the way a machine with a badly set, badly trimmed clock would, so that several
 * players on one machine can be measured against the true clock (`toTrue`).
 */
export class SkewedClock implements Clock {
  private readonly anchor: bigint;
  constructor(
    readonly offsetMs: number,
    readonly driftPpm: number,
    private readonly truth: Clock = monotonicClock,
  ) {
    this.anchor = truth.nowNs();
  }
  nowNs(): bigint {
    return this.fromTrue(this.truth.nowNs());
  }
  fromTrue(trueNs: bigint): bigint {
    const el = Number(trueNs - this.anchor);
    return trueNs + BigInt(Math.round(this.offsetMs * 1e6 + el * this.driftPpm * 1e-6));
  }
  /** the true monotonic time at which this clock reads `localNs` */
  toTrue(localNs: bigint): bigint {
    const rel = Number(localNs - this.anchor) - this.offsetMs * 1e6; // = el (1 + drift)
    return this.anchor + BigInt(Math.round(rel / (1 + this.driftPpm * 1e-6)));
  }
}
