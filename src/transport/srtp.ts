import type { Transport, TransportWarning } from './udp';
import { SrtpProtector, type MasterKey } from '../rtp/srtp';

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
    let p: Buffer;
    try {
      p = this.protector.protectRtp(packet);
    } catch {
      this.protectErrors++;
      return;
    }
    this.inner.send(p);
  }

  sendRtcp(packet: Buffer): void {
    let p: Buffer;
    try {
      p = this.protector.protectRtcp(packet);
    } catch {
      this.protectErrors++;
      return;
    }
    this.inner.sendRtcp(p);
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
