import { randomBytes } from 'node:crypto';
import { RtpHeader, RtpPacket } from 'werift-rtp';

export interface RtpStartState {
  ssrc: number;
  sequence: number;
  timestamp: number;
}

/** Random SSRC, first sequence number and first timestamp (RFC 3550 5.1: start values must be random). */
export function randomStartState(rand: (bytes: number) => Buffer = randomBytes): RtpStartState {
  const b = rand(10);
  return { ssrc: b.readUInt32BE(0), sequence: b.readUInt16BE(4), timestamp: b.readUInt32BE(6) };
}

/**
 * Turns payloads into RTP packets: sequence +1 and timestamp + samples per packet, both wrapping,
 * marker on the first packet of a talkspurt (the first packet, and the first after a gap).
 */
export class RtpPacketizer {
  private seq: number;
  private ts: number;
  private markNext = true;
  packets = 0;
  octets = 0;

  constructor(
    readonly payloadType: number,
    readonly start: RtpStartState,
  ) {
    this.seq = start.sequence & 0xffff;
    this.ts = start.timestamp >>> 0;
  }

  get ssrc(): number {
    return this.start.ssrc;
  }
  /** timestamp the next packet will carry */
  get nextTimestamp(): number {
    return this.ts;
  }
  get nextSequence(): number {
    return this.seq;
  }

  /** The next packet after this call carries the marker bit (a new talkspurt begins). */
  markDiscontinuity(): void {
    this.markNext = true;
  }

  /** Skips `ticks` of media time without sending (the timestamp jumps, the sequence does not). */
  skip(ticks: number): void {
    this.ts = (this.ts + ticks) >>> 0;
    this.markNext = true;
  }

  /** Packs one payload covering `ticks` of the RTP clock. */
  packetize(payload: Buffer, ticks: number): Buffer {
    const header = new RtpHeader({
      payloadType: this.payloadType,
      sequenceNumber: this.seq,
      timestamp: this.ts,
      ssrc: this.start.ssrc,
      marker: this.markNext,
    });
    const out = new RtpPacket(header, payload).serialize();
    this.markNext = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + ticks) >>> 0;
    this.packets++;
    this.octets += payload.length;
    return out;
  }
}
