import { parse } from 'sdp-transform';
import { isMulticast } from '../transport/destination';

/** What a receiver needs from an SDP's first audio stream. */
export interface SdpStream {
  address: string;
  family: 4 | 6;
  multicast: boolean;
  /** IPv4 multicast only: c=IN IP4 ADDR/TTL */
  ttl?: number;
  /** c= ADDR/TTL/N (IPv4) or ADDR/N (IPv6, which has no TTL): N consecutive addresses */
  addressCount?: number;
  port: number;
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels: number;
  ptimeMs?: number;
  fmtp: Record<string, string>;
  /** m= transport profile: RTP/AVP, or RTP/SAVP for SRTP */
  protocol: string;
  /** the values of the m= section's a=crypto lines (SRTP keys, RFC 4568), in order */
  crypto: string[];
}

export class SdpError extends Error {
  constructor(
    message: string,
    readonly line?: number,
    readonly rule?: string,
  ) {
    super(line ? `line ${line}: ${message}` : message);
    this.name = 'SdpError';
  }
}

const STATIC: Record<number, { encoding: string; clockRate: number; channels: number }> = {
  0: { encoding: 'PCMU', clockRate: 8000, channels: 1 },
  8: { encoding: 'PCMA', clockRate: 8000, channels: 1 },
  10: { encoding: 'L16', clockRate: 44100, channels: 2 },
  11: { encoding: 'L16', clockRate: 44100, channels: 1 },
};

function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

function lineOf(text: string, prefix: string): number | undefined {
  const i = text.split(/\r?\n/).findIndex((l) => l.startsWith(prefix));
  return i >= 0 ? i + 1 : undefined;
}

/** The values of the lines starting with `prefix` in the first media section starting with `mPrefix`. */
function mediaLines(text: string, mPrefix: string, prefix: string): string[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(mPrefix));
  if (start < 0) return [];
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && !lines[i].startsWith('m='); i++) if (lines[i].startsWith(prefix)) out.push(lines[i].slice(prefix.length).trim());
  return out;
}

/** Parses the first audio m= section. Errors name the line and the rule broken. */
export function parseSdpStream(text: string): SdpStream {
  // a UTF-8 byte order mark (Windows editors' "UTF-8 with BOM") is not part of "v=0"
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!/^v=0\s*$/m.test(text.split(/\r?\n/)[0] ?? '')) throw new SdpError('an SDP starts with "v=0"', 1, 'RFC 4566 5');
  const s = parse(text);
  const m = s.media.find((x) => x.type === 'audio');
  if (!m) throw new SdpError('no m=audio line', undefined, 'RFC 4566 5.14');
  const mLine = lineOf(text, 'm=audio');
  const ptText = String(m.payloads ?? '').trim().split(/\s+/)[0];
  const pt = /^\d{1,3}$/.test(ptText) ? Number(ptText) : NaN;
  if (!Number.isInteger(pt)) throw new SdpError('m=audio has no payload type', mLine, 'RFC 4566 5.14');
  if (pt > 127) throw new SdpError(`m=audio payload type ${pt} is out of range`, mLine, 'RFC 3550 5.1: payload types are 0-127');
  // 0 disables the stream (RFC 3264 5.1); rtpcast cannot listen on it either
  if (!isPort(m.port)) throw new SdpError(`m=audio port "${m.port}" is not a UDP port (1-65535)`, mLine, 'RFC 4566 5.14');
  const conn = m.connection ?? s.connection;
  if (!conn) throw new SdpError('no c= line (session or media level)', undefined, 'RFC 4566 5.7');
  if (typeof conn.ip !== 'string' || !conn.ip) throw new SdpError('the c= line has no address (c=IN IP4 ADDRESS)', lineOf(text, 'c='), 'RFC 4566 5.7');
  // RFC 4566 5.7: IP4 ADDR[/TTL[/N]]; IP6 ADDR[/N] (no TTL in IPv6)
  const [address, ...slash] = conn.ip.split('/');
  const v6 = conn.version === 6;
  const ttlText = v6 ? undefined : slash[0];
  const countText = v6 ? slash[0] : slash[1];
  const map = (m.rtp ?? []).find((r) => r.payload === pt);
  let encoding: string, clockRate: number, channels: number;
  if (map) {
    encoding = String(map.codec ?? ''); // sdp-transform makes an all-digit name a number
    clockRate = map.rate ?? 0;
    channels = Number(map.encoding ?? 1);
  } else if (STATIC[pt]) {
    ({ encoding, clockRate, channels } = STATIC[pt]);
  } else {
    throw new SdpError(`dynamic payload type ${pt} has no a=rtpmap`, mLine, 'RFC 4566 6 / RFC 3551 3: dynamic payload types must be mapped');
  }
  if (map) {
    // a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]: both numbers, else the stream is unplayable
    const rl = lineOf(text, `a=rtpmap:${pt}`);
    if (!Number.isInteger(clockRate) || clockRate < 1000 || clockRate > 768000) throw new SdpError(`a=rtpmap for payload type ${pt} has no usable clock rate ("${map.rate ?? ''}")`, rl, 'RFC 4566 6: a=rtpmap:<pt> <encoding>/<clock rate>');
    if (!Number.isInteger(channels) || channels < 1 || channels > 255) throw new SdpError(`a=rtpmap for payload type ${pt} has an invalid channel count ("${map.encoding}")`, rl, 'RFC 4566 6 / RFC 3551 4.1: channels is a number, 1 if omitted');
  }
  const fmtp: Record<string, string> = {};
  for (const f of m.fmtp ?? []) {
    if (f.payload !== pt) continue;
    for (const kv of String(f.config ?? '').split(';')) {
      const [k, v] = kv.split('=').map((x) => x.trim());
      if (k) fmtp[k] = v ?? '';
    }
  }
  if (encoding.toLowerCase() === 'opus') channels = fmtp.stereo === '1' || fmtp['sprop-stereo'] === '1' ? 2 : 1;
  return {
    address,
    family: conn.version === 6 ? 6 : 4,
    multicast: isMulticast(address),
    ttl: ttlText ? Number(ttlText) : undefined,
    ...(countText ? { addressCount: Number(countText) } : {}),
    port: m.port,
    payloadType: pt,
    encoding,
    clockRate,
    channels,
    ptimeMs: typeof m.ptime === 'number' && m.ptime > 0 ? m.ptime : undefined,
    fmtp,
    protocol: m.protocol,
    crypto: mediaLines(text, 'm=audio', 'a=crypto:'),
  };
}
