import type { Clock, WallClock } from '../rtp/clock';
import { monotonicClock } from '../rtp/clock';

/**
 * The sender's clock: Unix time read once and then carried by the monotonic clock, so it never
 * jumps when NTP or the user sets the system time mid-stream. The RTCP sender reports (through
 * `wall`) and the time-sync server both read it: a receiver that learns this clock from the
 * exchange can use the reports' NTP timestamps directly.
 */
export class SenderClock implements WallClock {
  private readonly monoAnchor: bigint;
  private readonly unixAnchorNs: bigint;
  constructor(
    private readonly mono: Clock = monotonicClock,
    unixNowMs: number = Date.now(),
  ) {
    this.monoAnchor = mono.nowNs();
    this.unixAnchorNs = BigInt(Math.round(unixNowMs * 1e6));
  }
  /** ns since 1970-01-01 UTC */
  unixNs(): bigint {
    return this.unixAnchorNs + (this.mono.nowNs() - this.monoAnchor);
  }
  /** what another thread needs to read the same clock: unixNs = unixAnchorNs + (monotonic - monoAnchor) */
  anchors(): { monoAnchor: bigint; unixAnchorNs: bigint } {
    return { monoAnchor: this.monoAnchor, unixAnchorNs: this.unixAnchorNs };
  }
  unixSeconds(): number {
    return Number(this.unixNs()) / 1e9;
  }
}
