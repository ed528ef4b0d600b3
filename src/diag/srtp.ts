/**
 * SRTP in `rtpcast diag packets`. SRTP keeps the RTP header in clear, so the stream statistics
 * work unchanged; what diag must not do is misread it:
 * - SRTCP on port + 1 is RTCP followed by 14 octets (E flag | SRTCP index, 80-bit tag), which the
 *   plain RTCP check calls "not RTCP" (and then "the sender's port is off by one", "no sender
 *   reports"). Here it is recognised by that shape and reported as what it is. Without a key this
 *   is the only sign of SRTP (the RTP header is in clear): it needs one RTCP interval (rtpcast
 *   sends one every 5 s, diag listens 5 s by default).
 * - With --sdp carrying a=crypto, each RTP packet is authenticated with the SDP's key, so
 *   "wrong key" and "someone else sends here" are told apart from a healthy stream.
 */
import { parseSdpStream } from '../sdp/parse';
import { selectCrypto } from '../sdp/crypto';
import { masterKeyFrom, SRTCP_OVERHEAD, SRTP_SUITE, SrtpUnprotector } from '../rtp/srtp';
import type { Finding } from './report';

const ID = 'packets';

/** A compound RTCP packet followed by exactly the SRTCP trailer (no MKI), starting with SR or RR. */
export function srtcpShaped(buf: Uint8Array): boolean {
  if (buf.length < 8 + SRTCP_OVERHEAD || buf[0] >> 6 !== 2 || (buf[1] !== 200 && buf[1] !== 201)) return false;
  // only the first packet is in clear (the rest is encrypted): its length must leave room for the trailer
  const len = ((buf[2] << 8) | buf[3]) * 4 + 4;
  return len <= buf.length - SRTCP_OVERHEAD && (buf.length - SRTCP_OVERHEAD) % 4 === 0;
}

export interface SrtpSnapshot {
  /** the SDP carries a key (and its check ran) */
  keyed: boolean;
  /** the SDP says RTP/SAVP or has a=crypto */
  sdpSaysSrtp: boolean;
  /** datagrams on port + 1 shaped like SRTCP */
  srtcpShaped: number;
  rtpAuthenticated: number;
  rtpAuthFailed: number;
  rtpReplayed: number;
  rtcpAuthenticated: number;
  keyError?: string;
}

export class SrtpSniffer {
  private readonly u?: SrtpUnprotector;
  private readonly s: SrtpSnapshot = { keyed: false, sdpSaysSrtp: false, srtcpShaped: 0, rtpAuthenticated: 0, rtpAuthFailed: 0, rtpReplayed: 0, rtcpAuthenticated: 0 };

  constructor(sdp?: string) {
    if (!sdp) return;
    try {
      const st = parseSdpStream(sdp);
      this.s.sdpSaysSrtp = st.crypto.length > 0 || /SAVP/i.test(st.protocol);
      if (st.crypto.length) {
        this.u = new SrtpUnprotector(masterKeyFrom(selectCrypto(st.crypto).keyAndSalt));
        this.s.keyed = true;
      }
    } catch (e) {
      // an unreadable SDP is reported by capturePackets; an unusable key here
      if (this.s.sdpSaysSrtp) this.s.keyError = (e as Error).message;
    }
  }

  /** A datagram on the RTP port (only looked at with a key). */
  rtp(msg: Uint8Array): void {
    if (!this.u || msg.length < 2 || (msg[1] >= 200 && msg[1] <= 204)) return;
    const r = this.u.unprotectRtp(msg);
    if (r.ok) this.s.rtpAuthenticated++;
    else if (r.error === 'replay') this.s.rtpReplayed++;
    else this.s.rtpAuthFailed++;
  }

  /** A datagram on the RTCP port. */
  rtcp(msg: Uint8Array): void {
    if (!srtcpShaped(msg)) return;
    this.s.srtcpShaped++;
    if (this.u?.unprotectRtcp(msg).ok) this.s.rtcpAuthenticated++;
  }

  snapshot(): SrtpSnapshot {
    return { ...this.s };
  }
}

/**
 * Rewrites the packet findings for SRTP (pure): drops the "not RTCP on port + 1" readings that
 * SRTCP explains, and adds what is known about the SRTP stream.
 */
export function srtpFindings(findings: Finding[], s: SrtpSnapshot, ctx: { port: number; rtcpPortDatagrams: number; rtcpPortValid: number; rtpDatagrams: number }): Finding[] {
  const out = [...findings];
  const notRtcp = ctx.rtcpPortDatagrams - ctx.rtcpPortValid;
  const explained = s.srtcpShaped > 0 && s.srtcpShaped >= notRtcp;
  const rtcpPort = ctx.port + 1;
  if (explained) {
    for (let i = out.length - 1; i >= 0; i--) {
      const f = out[i];
      if (f.id === `${ID}.rtcp-port-other` || f.id === `${ID}.no-rtcp` || (f.id === `${ID}.wrong-port` && f.title.startsWith(`traffic arrives on port ${rtcpPort} instead`))) out.splice(i, 1);
    }
  }
  const howToPlay = 'a player needs the key from the sender\'s SDP (a=crypto): rtpcast play stream.sdp, or ffplay -protocol_whitelist file,udp,rtp,srtp -i stream.sdp';
  if (s.keyError) {
    out.push({ id: `${ID}.srtp-key`, severity: 'problem', title: 'the SDP asks for SRTP with a key rtpcast cannot use', detail: s.keyError });
  }
  if (s.keyed) {
    const total = s.rtpAuthenticated + s.rtpAuthFailed + s.rtpReplayed;
    if (total === 0) {
      // nothing on the RTP port: the silence findings say why
    } else if (s.rtpAuthenticated === 0) {
      out.push({
        id: `${ID}.srtp-wrong-key`, severity: 'problem',
        title: `none of the ${s.rtpAuthFailed} RTP packets authenticated with the SDP's SRTP key: wrong key?`,
        detail: 'The key in the SDP is not the sender\'s (rtpcast send --srtp makes a new key each run: the SDP must be from this run), or the sender does not use SRTP.',
        fix: 'copy the SDP the sender wrote for this run again (scp), and play that one',
      });
    } else {
      out.push({
        id: `${ID}.srtp`, severity: 'ok',
        title: `SRTP ${SRTP_SUITE}: ${s.rtpAuthenticated} RTP packets authenticated with the SDP's key${s.rtcpAuthenticated ? `, ${s.rtcpAuthenticated} SRTCP` : ''}`,
        detail: 'The header is in clear (the statistics above are exact); the audio is encrypted and authenticated.',
      });
      if (s.rtpAuthFailed) {
        out.push({
          id: `${ID}.srtp-forged`, severity: 'warn',
          title: `${s.rtpAuthFailed} packets on the port failed SRTP authentication while the stream authenticates`,
          detail: 'Someone without the key sends to this port, or packets are corrupted on the way. A player drops them (rtpcast play counts them).',
          fix: 'find the other sender (the statistics above list every sender and SSRC); rtpcast play --source ADDRESS keeps only the real one',
        });
      }
      if (s.rtpReplayed) out.push({ id: `${ID}.srtp-replayed`, severity: 'info', title: `${s.rtpReplayed} authenticated packets arrived twice (duplicates or replays; dropped by an SRTP receiver)` });
    }
  } else if (s.srtcpShaped > 0) {
    out.push({
      id: `${ID}.srtp-detected`, severity: ctx.rtpDatagrams > 0 ? 'info' : 'problem',
      title: ctx.rtpDatagrams > 0
        ? `the stream is SRTP: its RTCP on port ${rtcpPort} is SRTCP (${s.srtcpShaped} packets ending in an SRTCP index and authentication tag)`
        : `SRTCP arrives on port ${rtcpPort} (${s.srtcpShaped} packets) but no SRTP on ${ctx.port}`,
      detail: ctx.rtpDatagrams > 0
        ? `The audio is encrypted: the header statistics above are right, the payload cannot be checked without the key. ${howToPlay}`
        : 'the sender runs and reaches this machine, but its audio goes elsewhere or is blocked',
      fix: ctx.rtpDatagrams > 0 ? 'run again with --sdp stream.sdp (the sender\'s SDP) to check that its key authenticates the packets' : undefined,
    });
  } else if (s.sdpSaysSrtp && ctx.rtpDatagrams > 0) {
    out.push({ id: `${ID}.srtp-unchecked`, severity: 'info', title: 'the SDP says SRTP, but has no key to check the packets with' });
  }
  return out;
}
