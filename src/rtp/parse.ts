/** A validated RTP packet (RFC 3550 5.1): header fields and the payload without padding. */
export interface RtpPacketView {
  version: 2;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** header extension profile and data, if present */
  extension?: { profile: number; data: Uint8Array };
  payload: Uint8Array;
}

export type RtpParseError =
  | 'too-short'
  | 'not-version-2'
  | 'rtcp'
  | 'csrc-past-end'
  | 'extension-past-end'
  | 'bad-padding'
  | 'empty-payload';

/**
 * Parses and validates one datagram as RTP. Never throws and never reads past the end: every
 * length in the header is checked against the datagram (CSRC count, extension length, padding).
 * RTCP (payload types 72-76 with the marker bit, i.e. packet types 200-204) is told apart.
 */
export function parseRtp(buf: Uint8Array): { ok: true; packet: RtpPacketView } | { ok: false; error: RtpParseError } {
  if (buf.length < 12) return { ok: false, error: 'too-short' };
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return { ok: false, error: 'not-version-2' };
  const b1 = buf[1];
  if (b1 >= 200 && b1 <= 204) return { ok: false, error: 'rtcp' };
  const cc = b0 & 0x0f;
  let off = 12 + cc * 4;
  if (off > buf.length) return { ok: false, error: 'csrc-past-end' };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(dv.getUint32(12 + i * 4));
  let extension: RtpPacketView['extension'];
  if (b0 & 0x10) {
    if (off + 4 > buf.length) return { ok: false, error: 'extension-past-end' };
    const profile = dv.getUint16(off);
    const words = dv.getUint16(off + 2);
    const end = off + 4 + words * 4;
    if (end > buf.length) return { ok: false, error: 'extension-past-end' };
    extension = { profile, data: buf.subarray(off + 4, end) };
    off = end;
  }
  let end = buf.length;
  if (b0 & 0x20) {
    const pad = buf[buf.length - 1];
    if (pad === 0 || off + pad > buf.length) return { ok: false, error: 'bad-padding' };
    end -= pad;
  }
  if (end <= off) return { ok: false, error: 'empty-payload' };
  return {
    ok: true,
    packet: {
      version: 2,
      marker: (b1 & 0x80) !== 0,
      payloadType: b1 & 0x7f,
      sequence: dv.getUint16(2),
      timestamp: dv.getUint32(4),
      ssrc: dv.getUint32(8),
      csrcs,
      extension,
      payload: buf.subarray(off, end),
    },
  };
}

/** RTCP packet types in a compound packet, and whether it says BYE for `ssrc`. Never throws. */
export function rtcpSummary(buf: Uint8Array): { types: number[]; byeSsrcs: number[]; valid: boolean } {
  const types: number[] = [];
  const byeSsrcs: number[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    if (buf[off] >> 6 !== 2) return { types, byeSsrcs, valid: false };
    const pt = buf[off + 1];
    const len = ((buf[off + 2] << 8) | buf[off + 3]) * 4 + 4;
    if (off + len > buf.length) return { types, byeSsrcs, valid: false };
    types.push(pt);
    if (pt === 203) {
      const sc = buf[off] & 0x1f;
      for (let i = 0; i < sc && off + 8 + i * 4 <= off + len; i++) {
        const p = off + 4 + i * 4;
        byeSsrcs.push(((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0);
      }
    }
    off += len;
  }
  return { types, byeSsrcs, valid: off === buf.length && types.length > 0 };
}
