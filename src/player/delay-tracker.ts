/**
 * The spread of network delay over the last few seconds: each packet's relative delay is its
 * arrival time minus its media time (an unknown constant apart from the true delay); the 95th
 * percentile minus the minimum is how much buffer keeps late packets from being late. Rarer
 * stragglers (a reordered packet held back by the network) are cheaper to conceal (Opus FEC
 * rebuilds them from the next packet) than to buffer for, for every packet, all the time.
 */
export class DelayTracker {
  private readonly window: number[] = [];
  private base: { arrival: bigint; ts: number } | undefined;
  private cached: number | undefined;
  private sinceSort = 0;

  constructor(private readonly size = 400) {}

  add(arrivalNs: bigint, ts: number, clockRate: number): void {
    if (!this.base) this.base = { arrival: arrivalNs, ts };
    const rel = Number(arrivalNs - this.base.arrival) / 1e6 - ((ts - this.base.ts) / clockRate) * 1000;
    this.window.push(rel);
    if (this.window.length > this.size) this.window.shift();
    if (++this.sinceSort >= 25) {
      this.sinceSort = 0;
      this.cached = undefined;
    }
  }

  /**
   * p95 - min of relative delay in the window, ms; with fewer than 20 packets (the start), the
   * whole range (max - min) of those seen so far: the first packets of a stream often come
   * unevenly (the sender and the network warming up), and playout starts on them. Undefined
   * until 2 packets.
   */
  spreadMs(): number | undefined {
    if (this.window.length < 2) return undefined;
    if (this.window.length < 20) return Math.max(...this.window) - Math.min(...this.window);
    if (this.cached === undefined) {
      const s = [...this.window].sort((a, b) => a - b);
      this.cached = s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] - s[0];
    }
    return this.cached;
  }

  reset(): void {
    this.window.length = 0;
    this.base = undefined;
    this.cached = undefined;
  }
}
