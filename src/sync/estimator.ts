/**
 * Offset and drift of the sender's clock against ours, from many time-sync exchanges.
 *
 * One exchange (NTP's four timestamps): we send at t0 (our clock), the sender receives at t1 and
 * answers at t2 (its clock), the answer arrives at t3 (ours). Then
 *   offset = ((t1 - t0) + (t2 - t3)) / 2      (sender minus ours, at our time (t0 + t3) / 2)
 *   rtt    = (t3 - t0) - (t2 - t1)
 * and the offset is wrong by at most rtt / 2 (by half the difference of the two legs' delays).
 * So the exchanges that came back fastest are the truthful ones: a delayed leg (a busy CPU, a
 * queue, Wi-Fi) makes rtt large and the offset wrong. The estimate:
 *  1. keeps the exchanges of the last `windowSec` (a drifting clock makes old ones stale);
 *  2. cuts them into buckets of `bucketSec` of our time and keeps the fastest exchange of each
 *     (by rtt): one truthful point per bucket, spread evenly over the window (picking the
 *     fastest of the whole window would cluster the points in one quiet moment, and a line
 *     through a cluster has a wild slope); a bucket whose fastest exchange took more than twice
 *     the median of those (+ 0.2 ms) is dropped: everything in it was held up (a stall);
 *  3. fits offset = a + b (t - tm) by least squares, each point weighted by
 *     1 / (its rtt - the window's fastest + 50 us)^2 (a slower exchange may be more wrong), drops the points whose residual is beyond
 *     3 x their median absolute residual (at least 5 us), and fits again: a = offset at tm,
 *     b = drift (ns of offset per ns of our time: 100 ppm = 1e-4);
 *  4. until the kept exchanges span `minSpanSec`, the drift is not trusted: b = 0 and a = their
 *     median offset.
 * Pure: times are passed in (bigint ns; the sender's are Unix ns, too large for a double's
 * precision, so offsets are kept relative to the first one).
 */
export interface EstimatorOptions {
  windowSec?: number;
  bucketSec?: number;
  minSpanSec?: number;
}

export interface SyncSample {
  /** our time at the middle of the exchange, ns */
  localNs: bigint;
  /** offset - base, ns */
  y: number;
  rttNs: number;
}

export interface ClockEstimate {
  /** offset (sender - ours) at our time `atNs`: base + a */
  atNs: bigint;
  offsetNs: bigint;
  /** fractional drift: sender ns per our ns minus 1 (1e-4 = 100 ppm) */
  drift: number;
  /** exchanges used / in the window */
  used: number;
  inWindow: number;
  /** smallest rtt in the window, ns */
  minRttNs: number;
  /** rms residual of the fit over the exchanges used, ns */
  residualNs: number;
}

export class ClockEstimator {
  private readonly samples: SyncSample[] = [];
  private base: bigint | undefined;
  private est: ClockEstimate | undefined;
  /** exchanges refused as impossible (negative rtt: a clock stepped, or a forged reply) */
  impossible = 0;
  private readonly o: Required<EstimatorOptions>;

  constructor(o: EstimatorOptions = {}) {
    this.o = { windowSec: o.windowSec ?? 120, bucketSec: o.bucketSec ?? 0.5, minSpanSec: o.minSpanSec ?? 2 };
  }

  get count(): number {
    return this.samples.length;
  }

  /** one exchange: t0, t3 our clock; t1, t2 the sender's (all ns) */
  add(t0: bigint, t1: bigint, t2: bigint, t3: bigint): boolean {
    const rtt = t3 - t0 - (t2 - t1);
    if (rtt < 0n || t3 < t0) {
      this.impossible++;
      return false;
    }
    const offset = (t1 - t0 + (t2 - t3)) / 2n;
    if (this.base === undefined) this.base = offset;
    const localNs = (t0 + t3) / 2n;
    this.samples.push({ localNs, y: Number(offset - this.base), rttNs: Number(rtt) });
    const oldest = localNs - BigInt(Math.round(this.o.windowSec * 1e9));
    while (this.samples.length > 1 && this.samples[0].localNs < oldest) this.samples.shift();
    this.est = this.fit();
    return true;
  }

  estimate(): ClockEstimate | undefined {
    return this.est;
  }

  /** the sender's clock at our time `localNs` (undefined before the first exchange) */
  toSender(localNs: bigint): bigint | undefined {
    const e = this.est;
    if (!e) return undefined;
    return localNs + e.offsetNs + BigInt(Math.round(e.drift * Number(localNs - e.atNs)));
  }

  /** our time when the sender's clock reads `senderNs` */
  toLocal(senderNs: bigint): bigint | undefined {
    const e = this.est;
    if (!e) return undefined;
    // sender = local + off + d (local - at)  =>  local = (sender - off + d at) / (1 + d)
    const rel = Number(senderNs - e.offsetNs - e.atNs); // local - at, times (1 + d)
    return e.atNs + BigInt(Math.round(rel / (1 + e.drift)));
  }

  private fit(): ClockEstimate {
    const all = this.samples;
    const bucketNs = BigInt(Math.round(this.o.bucketSec * 1e9));
    const best = new Map<bigint, SyncSample>();
    let minRtt = Infinity;
    for (const p of all) {
      const k = p.localNs / bucketNs;
      const b = best.get(k);
      if (!b || p.rttNs < b.rttNs) best.set(k, p);
      if (p.rttNs < minRtt) minRtt = p.rttNs;
    }
    // a bucket whose fastest exchange was still slow (the sender or we were stalled all through
    // it: the requests queued, one leg took up to the whole stall) is no evidence at all
    const rtts = [...best.values()].map((p) => p.rttNs);
    const gate = 2 * median(rtts) + 200_000;
    let pts = [...best.values()].filter((p) => p.rttNs <= gate);
    const t0 = pts.reduce((m, p) => (p.localNs < m ? p.localNs : m), pts[0].localNs);
    const t1 = pts.reduce((m, p) => (p.localNs > m ? p.localNs : m), pts[0].localNs);
    const spanSec = Number(t1 - t0) / 1e9;
    const ref = all[all.length - 1].localNs;
    const x = (p: SyncSample) => Number(p.localNs - ref);
    let line: { a: number; b: number };
    if (spanSec < this.o.minSpanSec || pts.length < 3) {
      line = { a: median(pts.map((p) => p.y)), b: 0 };
    } else {
      line = leastSquares(pts, x, minRtt);
      const res = pts.map((p) => Math.abs(p.y - (line.a + line.b * x(p))));
      const limit = Math.max(5000, 3 * median(res));
      const inliers = pts.filter((_, i) => res[i] <= limit);
      if (inliers.length >= 3 && inliers.length < pts.length) {
        pts = inliers;
        line = leastSquares(pts, x, minRtt);
      }
    }
    const rms = Math.sqrt(pts.reduce((s, p) => s + (p.y - (line.a + line.b * x(p))) ** 2, 0) / pts.length);
    return {
      atNs: ref,
      offsetNs: this.base! + BigInt(Math.round(line.a)),
      drift: line.b,
      used: pts.length,
      inWindow: all.length,
      minRttNs: minRtt,
      residualNs: rms,
    };
  }
}

function leastSquares(pts: SyncSample[], x: (p: SyncSample) => number, minRtt: number): { a: number; b: number } {
  const w = pts.map((p) => 1 / (p.rttNs - minRtt + 50_000) ** 2);
  let sw = 0;
  let mx = 0;
  let my = 0;
  pts.forEach((p, i) => {
    sw += w[i];
    mx += w[i] * x(p);
    my += w[i] * p.y;
  });
  mx /= sw;
  my /= sw;
  let sxx = 0;
  let sxy = 0;
  pts.forEach((p, i) => {
    const dx = x(p) - mx;
    sxx += w[i] * dx * dx;
    sxy += w[i] * dx * (p.y - my);
  });
  const b = sxx > 0 ? sxy / sxx : 0;
  // a: the line's value at x = 0 (the newest exchange)
  return { a: my - b * mx, b };
}

export function median(v: number[]): number {
  if (v.length === 0) return 0;
  const s = [...v].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
