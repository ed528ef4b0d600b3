import { write, type SessionDescription } from 'sdp-transform';
import type { StreamDescription } from '../stream/description';
import type { Destination } from '../transport/destination';

export interface SdpContext {
  /** the sender's address as the receiver sees it (o= line) */
  originAddress: string;
  /** o= session id and version; any stable number (the SSRC is used) */
  sessionId: number;
  /** a=tool value */
  tool?: string;
  /** SRTP: the a=crypto value (src/sdp/crypto.ts); the profile becomes RTP/SAVP */
  crypto?: string;
}

/** RTP encoding name as written in a=rtpmap (case as peers write it). */
export function encodingName(d: Pick<StreamDescription, 'codec'>): string {
  return d.codec === 'opus' ? 'opus' : 'L16';
}

/** a=fmtp for Opus (RFC 7587 7): stereo signalled here, never in the rtpmap's channel count. */
export function opusFmtp(d: Pick<StreamDescription, 'channels' | 'fec'>): string {
  const st = d.channels === 2 ? 1 : 0;
  return `stereo=${st}; sprop-stereo=${st}; useinbandfec=${d.fec ? 1 : 0}`;
}

function cryptoLine(value: string): { id: number; suite: string; config: string } {
  const [id, suite, config] = value.split(' ');
  return { id: Number(id), suite, config };
}

/**
 * The SDP a receiver of `dest` needs, generated from the one stream description. Opus is always
 * `opus/48000/2` in the rtpmap (RFC 7587), mono or stereo; L16 names its real rate and channels,
 * static payload types included, because several players look only at the rtpmap.
 */
export function buildSdp(d: StreamDescription, dest: Destination, ctx: SdpContext): string {
  const ipVer = dest.family;
  const originVer = ctx.originAddress.includes(':') ? 6 : 4;
  const cAddr = dest.multicast && ipVer === 4 ? `${dest.address}/${d.ttl}` : dest.address;
  const rtpmap =
    d.codec === 'opus'
      ? { payload: d.payloadType, codec: 'opus', rate: 48000, encoding: 2 }
      : { payload: d.payloadType, codec: 'L16', rate: d.sampleRate, encoding: d.channels };
  const session: SessionDescription = {
    version: 0,
    origin: { username: '-', sessionId: ctx.sessionId, sessionVersion: ctx.sessionId, netType: 'IN', ipVer: originVer, address: ctx.originAddress },
    name: d.name,
    connection: { version: ipVer, ip: cAddr },
    timing: { start: 0, stop: 0 },
    media: [
      {
        type: 'audio',
        port: dest.port,
        protocol: ctx.crypto ? 'RTP/SAVP' : 'RTP/AVP',
        payloads: String(d.payloadType),
        rtp: [rtpmap as never],
        fmtp: d.codec === 'opus' ? [{ payload: d.payloadType, config: opusFmtp(d) }] : [],
        ptime: d.ptimeMs,
        direction: 'recvonly',
        ...(ctx.crypto ? { crypto: [cryptoLine(ctx.crypto)] } : {}),
      },
    ],
  };
  // sdp-transform has no a=tool: it goes with the session attributes, after t= and before m=
  const tool = (ctx.tool ?? 'rtpcast').replace(/[\r\n]+/g, ' ');
  const text = write(session);
  const m = text.indexOf('\r\nm=');
  return m < 0 ? `${text}a=tool:${tool}\r\n` : `${text.slice(0, m)}\r\na=tool:${tool}${text.slice(m)}`;
}
