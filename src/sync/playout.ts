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

/**
 * Where each RTP timestamp sits on the sender's clock: the latest sender report says that
 * timestamp R was sampled at sender time N; the media clock runs at `clockRate` ticks per
 * second of the sender's clock (rtpcast's sender paces media time by the same monotonic clock
 * its reports are taken from, so there is no drift between the two to estimate).
 */
export class RtpTimeline {
  private sr: SenderReport | undefined;
  constructor(readonly clockRate: number) {}

  /** a new report (the latest wins; a report of another SSRC replaces it: the sender restarted) */
  update(sr: SenderReport): void {
    this.sr = sr;
  }
  get report(): SenderReport | undefined {
    return this.sr;
  }
  get ssrc(): number | undefined {
    return this.sr?.ssrc;
  }

  /**
   * The (possibly fractional) unwrapped timestamp sampled at sender time `senderNs`, on the
   * line of `nearTs` (an unwrapped timestamp of the same stream: the report's 32-bit timestamp
   * is placed next to it).
   */
  tsAt(senderNs: bigint, nearTs: number): number | undefined {
    const sr = this.sr;
    if (!sr) return undefined;
    const base = nearTs + signed32(sr.rtpTimestamp - (nearTs % 2 ** 32));
    return base + (Number(senderNs - sr.unixNs) / 1e9) * this.clockRate;
  }
}
