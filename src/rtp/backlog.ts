/**
 * Keeps the latency of a live source low when audio piles up: at start-up (what the producer
 * wrote before rtpcast read its first byte) or after rtpcast stalled. The standing latency is the
 * level seen just before new audio arrives (the low point of each refill: a producer that writes
 * in big chunks has a high level right after a chunk, but not before the next one). When the
 * lowest such level over a window is more than `slackFrames` above the target, the excess is
 * returned to be dropped (and counted by the caller). The window spans at least two of the
 * producer's gaps between writes, so a bursty producer is measured at its low points.
 * Pure: it is fed levels and times.
 */
export class BacklogTrimmer {
  private windowStart: bigint | undefined;
  private floor = Infinity;
  private samples = 0;
  private lastArrival: bigint | undefined;
  /** the longest gap between arrivals lately (decays by half per window) */
  private maxGapNs = 0;

  constructor(
    readonly targetFrames: number,
    readonly slackFrames: number,
    private readonly minWindowNs = 500_000_000,
    private readonly maxWindowNs = 6_000_000_000,
  ) {}

  /** the current window length: twice the longest recent gap between writes, within bounds */
  get windowNs(): number {
    return Math.min(this.maxWindowNs, Math.max(this.minWindowNs, 2 * this.maxGapNs));
  }

  /**
   * New audio arrived: `levelBefore` frames were waiting just before it (stream frames). Returns
   * how many frames to drop now (0 almost always).
   */
  arrived(levelBefore: number, nowNs: bigint): number {
    if (this.lastArrival !== undefined) this.maxGapNs = Math.max(this.maxGapNs, Number(nowNs - this.lastArrival));
    this.lastArrival = nowNs;
    if (this.windowStart === undefined) this.windowStart = nowNs;
    this.floor = Math.min(this.floor, levelBefore);
    this.samples++;
    if (Number(nowNs - this.windowStart) < this.windowNs || this.samples < 2) return 0;
    const excess = this.floor - this.targetFrames;
    this.windowStart = nowNs;
    this.floor = Infinity;
    this.samples = 0;
    this.maxGapNs /= 2;
    return excess > this.slackFrames ? Math.floor(excess) : 0;
  }
}
