/** A monotonic clock in nanoseconds. Real code uses process.hrtime; tests inject their own. */
export interface Clock {
  nowNs(): bigint;
}

export const monotonicClock: Clock = { nowNs: () => process.hrtime.bigint() };

/** A clock that only moves when told to: deterministic timing tests. */
export class ManualClock implements Clock {
  constructor(private t: bigint = 0n) {}
  nowNs(): bigint {
    return this.t;
  }
  advance(ns: bigint | number): void {
    this.t += BigInt(ns);
  }
  set(ns: bigint): void {
    this.t = ns;
  }
}

/** Wall clock (for RTCP NTP timestamps) as seconds since 1970, from a monotonic anchor so it never jumps mid-stream. */
export interface WallClock {
  unixSeconds(): number;
}
export const systemWallClock: WallClock = { unixSeconds: () => Date.now() / 1000 };
