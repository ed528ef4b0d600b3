import type { Transport, TransportWarning } from './udp';

/** Something that takes a copy of every RTP packet the sender sends (the browser listeners of --web). */
export interface PacketSink {
  send(packet: Buffer): void;
}

/**
 * A Transport that hands every outgoing RTP packet to the wire transport (UDP, possibly SRTP) and
 * to extra sinks. The packet is the sender's plain RTP: each sink does its own protection. RTCP goes
 * to the wire only (a sink that speaks RTCP, like a WebRTC connection, makes its own reports).
 * A sink that throws never stops the wire.
 */
export class TeeTransport implements Transport {
  sinkErrors = 0;

  constructor(
    private readonly wire: Transport,
    private readonly sinks: PacketSink[],
  ) {}

  send(packet: Buffer): void {
    this.wire.send(packet);
    for (const s of this.sinks) {
      try {
        s.send(packet);
      } catch {
        this.sinkErrors++;
      }
    }
  }

  sendRtcp(packet: Buffer): void {
    this.wire.sendRtcp(packet);
  }

  localAddress(i: number): string {
    return this.wire.localAddress(i);
  }

  onWarning(fn: (w: TransportWarning) => void): void {
    this.wire.onWarning(fn);
  }

  close(): Promise<void> {
    return this.wire.close();
  }
}
