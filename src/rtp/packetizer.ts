import { randomBytes } from 'node:crypto';

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

  /**
   * Packs one payload covering `ticks` of the RTP clock: the 12-byte fixed header (RFC 3550 5.1,
   * no CSRC, no extension) written directly, one allocation per packet (this runs hundreds of
   * times a second; werift-rtp's RtpHeader/RtpPacket objects cost more than the header itself).
   */
  packetize(payload: Buffer, ticks: number): Buffer {
    const out = Buffer.allocUnsafe(12 + payload.length);
    this.writeHeader(out);
    payload.copy(out, 12);
    this.advance(ticks, payload.length);
    return out;
  }

  /** Packs a payload written in place by `fill(buf, 12)` into a packet of 12 + `bytes`. */
  packetizeInto(bytes: number, ticks: number, fill: (buf: Buffer, offset: number) => void): Buffer {
    const out = Buffer.allocUnsafe(12 + bytes);
    this.writeHeader(out);
    fill(out, 12);
    this.advance(ticks, bytes);
    return out;
  }

  /** Writes the header into the first 12 bytes of `packet`, whose payload (the rest) is already in place. */
  packetizeInPlace(packet: Buffer, ticks: number): Buffer {
    this.writeHeader(packet);
    this.advance(ticks, packet.length - 12);
    return packet;
  }

  /**
   * Accounts for `count` packets of `bytes` payload each that someone else builds from the header
   * returned (the first packet's; then sequence + 1 and timestamp + `ticks` per packet, marker on
   * the first only: L16FileRun), as if packetized here.
   */
  reserve(count: number, ticks: number, bytes: number): Buffer {
    const header = Buffer.allocUnsafe(12);
    this.writeHeader(header);
    this.markNext = false;
    this.seq = (this.seq + count) & 0xffff;
    this.ts = (this.ts + ((count * ticks) % 0x100000000)) >>> 0;
    this.packets += count;
    this.octets += count * bytes;
    return header;
  }

  private writeHeader(out: Buffer): void {
    out[0] = 0x80; // V=2, no padding, no extension, no CSRC
    out[1] = (this.markNext ? 0x80 : 0) | (this.payloadType & 0x7f);
    out.writeUInt16BE(this.seq, 2);
    out.writeUInt32BE(this.ts, 4);
    out.writeUInt32BE(this.start.ssrc >>> 0, 8);
  }

  private advance(ticks: number, bytes: number): void {
    this.markNext = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + ticks) >>> 0;
    this.packets++;
    this.octets += bytes;
  }
}
