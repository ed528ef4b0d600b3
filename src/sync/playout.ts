import { signed32 } from '../player/jitter-buffer';

/** NTP (1900) to Unix (1970) epoch, seconds */
const NTP_UNIX_OFFSET = 2208988800n;

export interface SenderReport {
  ssrc: number;
  /** the SR's NTP timestamp as ns since the Unix epoch */
  unixNs: bigint;
  rtpTimestamp: number;
}

/** NTP 64-bit timestamp -> ns since the Unix epoch (rounded to the ns). */
export function ntpToUnixNs(ntp: bigint): bigint {
  const secs = (ntp >> 32n) - NTP_UNIX_OFFSET;
  const frac = ntp & 0xffffffffn;
  return secs * 1_000_000_000n + (frac * 1_000_000_000n + (1n << 31n)) / (1n << 32n);
}

/** The sender reports (RTCP SR, RFC 3550 6.4.1) in a compound RTCP packet. Never throws; malformed parts are skipped. */
export function senderReports(buf: Uint8Array): SenderReport[] {
  const out: SenderReport[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off + 4 <= buf.length) {
    if (buf[off] >> 6 !== 2) break;
    const len = (dv.getUint16(off + 2) + 1) * 4;
    if (off + len > buf.length) break;
    if (buf[off + 1] === 200 && len >= 28) {
      out.push({ ssrc: dv.getUint32(off + 4), unixNs: ntpToUnixNs(dv.getBigUint64(off + 8)), rtpTimestamp: dv.getUint32(off + 16) });
    }
    off += len;
  }
  return out;
}

/** a report that moves the line by more than this (ms) starts a new segment: the sender re-anchored */
export const DISCONTINUITY_MS = 150;

/** how many segments are kept (the older ones are long played) */
const MAX_SEGMENTS = 8;

/** one stretch of the stream on one line: from `start` (32-bit, the first report on it) on, the latest report on it */
interface Segment {
  start: number;
  sr: SenderReport;
}

/**
 * Where each RTP timestamp sits on the sender's clock: a sender report says that timestamp R
 * was sampled at sender time N; the media clock runs at `clockRate` ticks per second of the
 * sender's clock (rtpcast's sender paces media time by the same monotonic clock its reports are
 * taken from, so there is no drift between the two to estimate).
 *
 * The reports normally lie on one line, and the latest one is used. When the sender re-anchors
 * its schedule (it was stalled for more than 200 ms: the timestamps go on, but from then on
 * belong to a later sender time; src/rtp/pacer.ts), its next report lies off the line by the
 * stall. That report starts a new segment: its line holds for its timestamp and the later
 * ones, the previous line still holds for the timestamps before it. Audio sampled before the
 * re-anchor that a player has not played yet (its process was starved or suspended across the
 * sender's stall, and read the new report before catching up) is still placed on the old
 * line, where it is long overdue, instead of being played a stall late on the new one; the
 * sender times between the two lines (the stall) have no audio: `place` says 'gap'.
 */
export class RtpTimeline {
  private segs: Segment[] = [];
  constructor(readonly clockRate: number) {}

  /** a new report (a report of another SSRC starts over: the sender restarted) */
  update(sr: SenderReport): void {
    const last = this.segs[this.segs.length - 1];
    if (!last || last.sr.ssrc !== sr.ssrc) {
      this.segs = [{ start: sr.rtpTimestamp, sr }];
      return;
    }
    // where the current line puts this report's timestamp, against where the report says
    const onLine = last.sr.rtpTimestamp + (Number(sr.unixNs - last.sr.unixNs) / 1e9) * this.clockRate;
    const offMs = (signed32(sr.rtpTimestamp - onLine) / this.clockRate) * 1000;
    if (Math.abs(offMs) > DISCONTINUITY_MS) {
      this.segs.push({ start: sr.rtpTimestamp, sr });
      if (this.segs.length > MAX_SEGMENTS) this.segs.shift();
    } else last.sr = sr;
  }
  get report(): SenderReport | undefined {
    return this.segs[this.segs.length - 1]?.sr;
  }
  get ssrc(): number | undefined {
    return this.report?.ssrc;
  }
  /** the re-anchors seen (segments kept beyond the first) */
  get discontinuities(): number {
    return this.segs.length - 1;
  }

  /**
   * The (possibly fractional) unwrapped timestamp sampled at sender time `senderNs`, on the
   * line of `nearTs` (an unwrapped timestamp of the same stream: the reports' 32-bit
   * timestamps are placed next to it); 'gap' when no audio was sampled then (the sender was
   * stalled and re-anchored); undefined before the first report.
   */
  place(senderNs: bigint, nearTs: number): number | 'gap' | undefined {
    if (!this.segs.length) return undefined;
    const near32 = nearTs % 2 ** 32;
    const unwrap = (ts32: number) => nearTs + signed32(ts32 - near32);
    // newest first: the segment whose line puts this sender time inside its own stretch
    let end = Infinity;
    for (let i = this.segs.length - 1; i >= 0; i--) {
      const g = this.segs[i];
      const ts = unwrap(g.sr.rtpTimestamp) + (Number(senderNs - g.sr.unixNs) / 1e9) * this.clockRate;
      const start = i === 0 ? -Infinity : unwrap(g.start);
      if (ts >= start && ts < end) return ts;
      end = start;
    }
    return 'gap';
  }

  /** `place`, on the latest line only (what every report of one segment agrees on) */
  tsAt(senderNs: bigint, nearTs: number): number | undefined {
    const sr = this.report;
    if (!sr) return undefined;
    const base = nearTs + signed32(sr.rtpTimestamp - (nearTs % 2 ** 32));
    return base + (Number(senderNs - sr.unixNs) / 1e9) * this.clockRate;
  }
}
