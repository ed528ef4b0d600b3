/**
 * Smooths the times output blocks leave. For the timer-paced outputs they are exact (the block
 * schedule) and this changes nothing. For the outputs the device pulls, a block leaves at the
 * pull time plus what the sink says it holds, and that report jitters by milliseconds (pacat's
 * latency moves as its buffer fills and drains): followed as is, playout would be steered and
 * jumped around by the noise. The device consumes at a steady rate, so the leave times lie on a
 * line: a second-order loop (phase and rate) follows that line and lets the jitter through at
 * `alpha` only. Pure.
 */
export class LeaveFilter {
  private last: number | undefined;
  private lastFrames = 0;
  private periodNs: number;
  constructor(
    clockRate: number,
    private readonly alpha = 0.01,
    private readonly beta = 0.00005,
    /** beyond this error (ns) the line is restarted (the output stopped, a resume after suspend) */
    private readonly resetNs = 50_000_000,
  ) {
    this.periodNs = 1e9 / clockRate;
    this.nominal = this.periodNs;
  }
  private readonly nominal: number;

  /** the smoothed leave time of a block of `frames` whose measured leave time is `leaveNs` */
  next(leaveNs: bigint, frames: number): bigint {
    const m = Number(leaveNs);
    if (this.last === undefined) {
      this.last = m;
      this.lastFrames = frames;
      return leaveNs;
    }
    const pred = this.last + this.lastFrames * this.periodNs;
    const e = m - pred;
    if (Math.abs(e) > this.resetNs) {
      this.last = m;
      this.lastFrames = frames;
      this.periodNs = this.nominal;
      return leaveNs;
    }
    this.last = pred + this.alpha * e;
    // the rate follows slowly, within +-1000 ppm of nominal
    this.periodNs = Math.min(this.nominal * 1.001, Math.max(this.nominal * 0.999, this.periodNs + (this.beta * e) / Math.max(1, this.lastFrames)));
    this.lastFrames = frames;
    return BigInt(Math.round(this.last));
  }
}
