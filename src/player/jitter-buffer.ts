/** A received media packet, placed on the unwrapped timestamp line. */
export interface MediaPacket {
  /** unwrapped RTP timestamp (no 2^32 wrap) */
  ts: number;
  /** samples per channel it carries */
  samples: number;
  payload: Uint8Array;
  arrivalNs: bigint;
}

export type InsertResult = 'queued' | 'duplicate' | 'late' | 'overflow';

/**
 * Packets waiting for their turn, in timestamp order: reorders, drops duplicates and packets
 * whose time has passed, and bounds its size. Pure (no clock, no I/O).
 */
export class JitterBuffer {
  private q: MediaPacket[] = [];

  constructor(private readonly maxPackets = 1000) {}

  get size(): number {
    return this.q.length;
  }

  /** `playTs`: the timestamp being played now; anything that ends before it is late. */
  insert(p: MediaPacket, playTs: number | undefined): InsertResult {
    if (playTs !== undefined && p.ts + p.samples <= playTs) return 'late';
    // binary search for the position (most packets append at the end)
    let lo = 0;
    let hi = this.q.length;
    if (hi > 0 && this.q[hi - 1].ts < p.ts) lo = hi;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.q[mid].ts < p.ts) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.q.length && this.q[lo].ts === p.ts) return 'duplicate';
    if (this.q.length >= this.maxPackets) return 'overflow';
    this.q.splice(lo, 0, p);
    return 'queued';
  }

  first(): MediaPacket | undefined {
    return this.q[0];
  }
  second(): MediaPacket | undefined {
    return this.q[1];
  }
  shift(): MediaPacket | undefined {
    return this.q.shift();
  }
  /** end (ts + samples) of the newest packet, or undefined when empty */
  newestEnd(): number | undefined {
    const l = this.q[this.q.length - 1];
    return l ? l.ts + l.samples : undefined;
  }
  /** drops packets that end before `ts`; returns how many */
  dropBefore(ts: number): number {
    let n = 0;
    while (this.q.length && this.q[0].ts + this.q[0].samples <= ts) {
      this.q.shift();
      n++;
    }
    return n;
  }
  clear(): void {
    this.q = [];
  }
}

/** Unwraps 32-bit RTP timestamps onto a continuous line around a moving reference. */
export class TimestampUnwrapper {
  private ref: number | undefined;
  unwrap(ts: number): number {
    if (this.ref === undefined) {
      this.ref = ts >>> 0;
      return this.ref;
    }
    const r = this.ref + signed32((ts >>> 0) - (this.ref >>> 0));
    if (r > this.ref) this.ref = r;
    return r;
  }
  reset(): void {
    this.ref = undefined;
  }
}

/** A difference of two 32-bit values as the signed distance between them (-2^31 .. 2^31-1). */
export function signed32(d: number): number {
  const m = (((d % 2 ** 32) + 2 ** 32) % 2 ** 32);
  return m >= 2 ** 31 ? m - 2 ** 32 : m;
}
