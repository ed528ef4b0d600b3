import type { Transport, TransportWarning } from './udp';
import { SRTP_SUITE, SrtpProtector, SrtpUnprotector, type MasterKey, type UnprotectError } from '../rtp/srtp';

/**
 * A Transport that sends every RTP packet as SRTP and every RTCP packet as SRTCP
 * (AES_CM_128_HMAC_SHA1_80) through another Transport. The sender above it is unchanged.
 */
export class SrtpTransport implements Transport {
  private readonly protector: SrtpProtector;
  /** packets that could not be protected (a broken packet from the caller: never sent in clear) */
  protectErrors = 0;

  constructor(
    private readonly inner: Transport,
    master: MasterKey,
  ) {
    this.protector = new SrtpProtector(master);
  }

  send(packet: Buffer): void {
    const p = this.protect(packet, false);
    if (p) this.inner.send(p);
  }

  sendRtcp(packet: Buffer): void {
    const p = this.protect(packet, true);
    if (p) this.inner.sendRtcp(p);
  }

  /** Protected now (in packet order, as SRTP's index needs), sent at `dueNs` by the inner transport's pacer. */
  sendAt(packet: Buffer, dueNs: bigint): void {
    const p = this.protect(packet, false);
    if (p) this.inner.sendAt ? this.inner.sendAt(p, dueNs) : this.inner.send(p);
  }

  sendRtcpAt(packet: Buffer, dueNs: bigint): void {
    const p = this.protect(packet, true);
    if (p) this.inner.sendRtcpAt ? this.inner.sendRtcpAt(p, dueNs) : this.inner.sendRtcp(p);
  }

  private protect(packet: Buffer, rtcp: boolean): Buffer | undefined {
    try {
      return rtcp ? this.protector.protectRtcp(packet) : this.protector.protectRtp(packet);
    } catch {
      this.protectErrors++;
      return undefined;
    }
  }

  localAddress(i: number): string {
    return this.inner.localAddress(i);
  }

  onWarning(fn: (w: TransportWarning) => void): void {
    this.inner.onWarning(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** What the SRTP receive side has seen (PlayStatus.srtp, the --json status events). */
export interface SrtpReceiveStats {
  suite: string;
  /** RTP packets that authenticated and were decrypted */
  rtp: number;
  /** SRTCP packets that authenticated and were decrypted */
  rtcp: number;
  /** packets (RTP and RTCP) whose tag did not match: wrong key, forged, or corrupted; dropped */
  authFailed: number;
  /** authenticated packets seen before (duplicates, replays) or older than the window; dropped */
  replayed: number;
  /** too short to be SRTP; dropped */
  malformed: number;
}

/** After this many failures with not one success, the key is most likely wrong. */
export const WRONG_KEY_AFTER = 25;

/**
 * The receive side of `rtpcast play`: unprotects what arrives, counts what is dropped and says,
 * once, what the failures most likely mean (a wrong or stale key; someone injecting).
 */
export class SrtpReceiveFilter {
  private readonly u: SrtpUnprotector;
  private warnedKey = false;
  private warnedInjection = false;
  readonly stats: SrtpReceiveStats = { suite: SRTP_SUITE, rtp: 0, rtcp: 0, authFailed: 0, replayed: 0, malformed: 0 };

  constructor(
    master: MasterKey,
    private readonly from: string,
    private readonly warn: (m: string) => void = () => {},
  ) {
    this.u = new SrtpUnprotector(master);
  }

  /** The RTP packet inside an SRTP datagram, or undefined (counted) when it is dropped. */
  rtp(msg: Uint8Array, sender: string): Buffer | undefined {
    const r = this.u.unprotectRtp(msg);
    if (r.ok) {
      this.stats.rtp++;
      return r.packet;
    }
    this.count(r.error, sender);
    return undefined;
  }

  /** The RTCP packet inside an SRTCP datagram, or undefined (counted). */
  rtcp(msg: Uint8Array, sender: string): Buffer | undefined {
    const r = this.u.unprotectRtcp(msg);
    if (r.ok) {
      this.stats.rtcp++;
      return r.packet;
    }
    this.count(r.error, sender);
    return undefined;
  }

  private count(e: UnprotectError, sender: string): void {
    if (e === 'replay') {
      this.stats.replayed++;
      return;
    }
    if (e === 'malformed') this.stats.malformed++;
    else this.stats.authFailed++;
    const bad = this.stats.authFailed + this.stats.malformed;
    if (this.stats.rtp + this.stats.rtcp === 0) {
      if (!this.warnedKey && bad >= WRONG_KEY_AFTER) {
        this.warnedKey = true;
        this.warn(
          `${bad} packets (from ${sender}) failed SRTP authentication and none passed: wrong key? The key in ${this.from} is not the one the sender uses ` +
            '(an SDP from an earlier run? rtpcast send --srtp makes a new key each run: copy the new SDP), or the sender does not use SRTP at all (then play its plain SDP)',
        );
      }
    } else if (!this.warnedInjection) {
      this.warnedInjection = true;
      this.warn(`a packet from ${sender} failed SRTP authentication while the stream authenticates: someone without the key is sending to this port, or packets are corrupted on the way; such packets are dropped and counted (never played)`);
    }
  }
}

/** The closing line about SRTP when something went wrong (pure); undefined when all was well. */
export function srtpSummary(s: SrtpReceiveStats): string | undefined {
  if (s.rtp === 0 && s.authFailed + s.malformed > 0) {
    return `SRTP: none of the ${s.authFailed + s.malformed} packets that arrived passed authentication: wrong key? (the SDP must be the one the sender wrote for this run); nothing was played`;
  }
  if (s.authFailed > 0) return `SRTP: ${s.authFailed} packets failed authentication and were dropped (never played); ${s.rtp} authenticated packets were played`;
  return undefined;
}
