/**
 * Network delay over the last few seconds. Each packet's relative delay is its arrival time minus
 * its media time (an unknown constant apart from the true delay).
 *
 * - spreadMs: the 95th percentile minus the median: how much later than the typical packet a
 *   late one comes, which the buffer must hold beyond its low point (the player measures its
 *   level against packets arriving at the median delay). Rarer stragglers (a reordered packet
 *   held back by the network) are cheaper to conceal (Opus FEC rebuilds them from the next
 *   packet) than to buffer for, for every packet, all the time. Early packets (a sender catching
 *   up after a hiccup, or bursting ahead) need no buffer at all: the minimum is not used.
 * - expectedArrivalNs: when a packet with this timestamp arrives at the typical (median) delay:
 *   what the player's level is measured against, so that the jitter of the newest packet does
 *   not move it.
 */
export class DelayTracker {
  private readonly window: number[] = [];
  private base: { arrival: bigint; ts: number; rate: number } | undefined;
  private cached: { spread: number; median: number } | undefined;
  private sinceSort = 0;
  private last: number | undefined;

  /** `windowMs`: how much of the stream the statistics cover (8 s: 400 Opus packets, 1600 of L16's 5 ms) */
  constructor(private readonly windowMs = 8000) {}
  private size = 400;

  get count(): number {
    return this.window.length;
  }

  add(arrivalNs: bigint, ts: number, clockRate: number): void {
    if (!this.base) this.base = { arrival: arrivalNs, ts, rate: clockRate };
    if (this.window.length === 1 && this.last !== undefined && ts > this.last) this.size = Math.max(50, Math.min(4000, Math.round(this.windowMs / (((ts - this.last) / clockRate) * 1000))));
    this.last = ts;
    const rel = Number(arrivalNs - this.base.arrival) / 1e6 - ((ts - this.base.ts) / clockRate) * 1000;
    this.window.push(rel);
    if (this.window.length > this.size) this.window.shift();
    // sorted again every 25 packets, and at every packet while there are few
    if (++this.sinceSort >= 25 || this.window.length < 50) {
      this.sinceSort = 0;
      this.cached = undefined;
    }
  }

  private stats(): { spread: number; median: number } {
    if (this.cached === undefined) {
      const s = [...this.window].sort((a, b) => a - b);
      const n = s.length;
      const q = (p: number) => s[Math.min(n - 1, Math.max(0, Math.floor(n * p)))];
      // with fewer than 20 the quantiles are the extremes: the second largest and smallest instead
      const median = s[Math.floor(n / 2)];
      const spread = Math.max(0, n < 5 ? 0 : n < 20 ? s[n - 2] - median : q(0.95) - median);
      this.cached = { spread, median };
    }
    return this.cached;
  }

  /** p95 - median of relative delay in the window, ms; undefined until 5 packets */
  spreadMs(): number | undefined {
    if (this.window.length < 5) return undefined;
    return this.stats().spread;
  }

  /** when a packet with (unwrapped) timestamp `ts` arrives at the median delay of the window */
  expectedArrivalNs(ts: number): bigint | undefined {
    if (!this.base || !this.window.length) return undefined;
    const ms = ((ts - this.base.ts) / this.base.rate) * 1000 + this.stats().median;
    return this.base.arrival + BigInt(Math.round(ms * 1e6));
  }

  /** the (unwrapped) timestamp that arrives at `nowNs` when packets come at the median delay */
  mediaAt(nowNs: bigint): number | undefined {
    if (!this.base || !this.window.length) return undefined;
    const ms = Number(nowNs - this.base.arrival) / 1e6 - this.stats().median;
    return this.base.ts + (ms / 1000) * this.base.rate;
  }

  reset(): void {
    this.window.length = 0;
    this.base = undefined;
    this.cached = undefined;
    this.last = undefined;
  }
}
