/**
 * Tells a live producer on a pipe (parec, arecord: audio arrives at the real-time rate) from a
 * file being piped (cat, a decoder: as fast as rtpcast reads). The first `settleNs` after the first
 * byte are not measured (what piled up in the pipe before rtpcast read it arrives at once, even
 * from a live producer); the rate over the next `measureNs` decides. A producer that has delivered
 * more than `aheadSec` of audio beyond the time elapsed is faster than real time at once.
 * Pure: it is fed frame counts and times.
 */
export type PipeVerdict = { live: boolean; ratio: number };

export class PipeRateDetector {
  private t0: bigint | undefined;
  private total = 0;
  private measured = 0;
  verdict: PipeVerdict | undefined;

  constructor(
    private readonly rate: number,
    private readonly settleNs = 250_000_000,
    private readonly measureNs = 1_000_000_000,
    private readonly aheadSec = 2,
    /** faster than this many times real time is a file */
    private readonly maxLiveRatio = 1.25,
  ) {}

  /** when to call decide() at the latest, once data started (undefined before the first byte) */
  get deadlineNs(): bigint | undefined {
    return this.t0 === undefined ? undefined : this.t0 + BigInt(this.settleNs + this.measureNs);
  }

  feed(frames: number, nowNs: bigint): PipeVerdict | undefined {
    if (this.verdict) return this.verdict;
    if (this.t0 === undefined) this.t0 = nowNs;
    const elapsed = Number(nowNs - this.t0);
    this.total += frames;
    if (elapsed >= this.settleNs && elapsed < this.settleNs + this.measureNs) this.measured += frames;
    if (this.total > (elapsed / 1e9 + this.aheadSec) * this.rate) this.verdict = { live: false, ratio: this.total / this.rate / Math.max(elapsed / 1e9, 1e-3) };
    return this.decide(nowNs);
  }

  /** the input ended before a verdict: a file (however short) */
  ended(): PipeVerdict {
    this.verdict ??= { live: false, ratio: Infinity };
    return this.verdict;
  }

  decide(nowNs: bigint): PipeVerdict | undefined {
    if (this.verdict || this.t0 === undefined) return this.verdict;
    if (nowNs < this.deadlineNs!) return undefined;
    const ratio = this.measured / this.rate / (this.measureNs / 1e9);
    this.verdict = { live: ratio <= this.maxLiveRatio, ratio };
    return this.verdict;
  }
}
