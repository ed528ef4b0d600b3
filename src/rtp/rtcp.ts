/** Seconds between 1900 (NTP epoch) and 1970 (Unix epoch). */
const NTP_UNIX_OFFSET = 2208988800;

/** 64-bit NTP timestamp (RFC 3550 4) from Unix seconds. */
export function ntpFromUnixSeconds(unix: number): bigint {
  const secs = Math.floor(unix);
  const frac = Math.floor((unix - secs) * 2 ** 32);
  return (BigInt(secs + NTP_UNIX_OFFSET) << 32n) | BigInt(Math.min(frac, 2 ** 32 - 1));
}

export interface SenderReportInput {
  ssrc: number;
  ntp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  cname: string;
}

/** SDES item type CNAME (RFC 3550 6.5). */
const SDES_CNAME = 1;

/** A compound RTCP packet: SR (no report blocks) + SDES CNAME, as RFC 3550 6.1 requires. */
export function buildSenderReport(i: SenderReportInput): Buffer {
  // Written by hand (RFC 3550 6.4.1, no report blocks): loading werift-rtp for this cost ~50 ms of start-up.
  const sr = Buffer.allocUnsafe(28);
  sr[0] = 0x80; // V=2, P=0, RC=0
  sr[1] = 200;
  sr.writeUInt16BE(6, 2); // length in 32-bit words minus one
  sr.writeUInt32BE(i.ssrc >>> 0, 4);
  sr.writeBigUInt64BE(BigInt.asUintN(64, i.ntp), 8);
  sr.writeUInt32BE(i.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(i.packetCount >>> 0, 20);
  sr.writeUInt32BE(i.octetCount >>> 0, 24);
  return Buffer.concat([sr, buildSdes(i.ssrc, i.cname)]);
}

/**
 * SDES with one CNAME item (RFC 3550 6.5). Written by hand: werift-rtp's SDES
 * omits the terminating null octet when the items end on a 32-bit boundary (the RFC requires
 * at least one null octet, then padding to 32 bits).
 */
export function buildSdes(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8').subarray(0, 255);
  const items = 2 + text.length + 1; // type, length, text, at least one null
  const chunk = 4 + Math.ceil(items / 4) * 4;
  const b = Buffer.alloc(4 + chunk);
  b[0] = 0x80 | 1; // V=2, SC=1
  b[1] = 202;
  b.writeUInt16BE(chunk / 4, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b[8] = SDES_CNAME;
  b[9] = text.length;
  text.copy(b, 10);
  return b;
}

/** RTCP BYE (RFC 3550 6.6) for one SSRC with an optional reason. */
export function buildBye(ssrc: number, reason?: string): Buffer {
  const r = reason ? Buffer.from(reason, 'utf8').subarray(0, 255) : Buffer.alloc(0);
  const body = 4 + (r.length ? 1 + r.length : 0);
  const padded = Math.ceil(body / 4) * 4;
  const b = Buffer.alloc(4 + padded);
  b[0] = 0x80 | 1; // V=2, P=0, SC=1
  b[1] = 203;
  b.writeUInt16BE(padded / 4, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  if (r.length) {
    b[8] = r.length;
    r.copy(b, 9);
  }
  return b;
}

/** The compound packet sent on exit: SR + SDES + BYE. */
export function buildGoodbye(i: SenderReportInput, reason = 'rtpcast stopped'): Buffer {
  return Buffer.concat([buildSenderReport(i), buildBye(i.ssrc, reason)]);
}
