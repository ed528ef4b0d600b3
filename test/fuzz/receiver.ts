/**
 * What `rtpcast play` does with one datagram, without the socket: the body of runPlay's
 * `sock.on('message')` handler (src/session/play.ts) over the same parts (parseRtp, the payload
 * type check, the sender lock with restart following, RtpStreamStats, Player.push), with the
 * output pulled at real-time pace by the caller (Player.read), as the sink timer does.
 *
 * runPlay keeps that handler inside a closure over its socket; this mirror follows it line for
 * line so the fuzzer drives the real parser, statistics, jitter buffer and decoders. If the
 * handler changes, change this too (or, better, export the handler from play.ts and use it here).
 */
import { L16Decoder, OpusDecoder, type AudioDecoder } from '../../src/codec/decoder';
import { Player } from '../../src/player/player';
import { parseRtp } from '../../src/rtp/parse';
import { RtpStreamStats } from '../../src/rtp/stats';

export interface ReceiverSpec {
  codec: 'l16' | 'opus';
  payloadType: number;
  clockRate: number;
  channels: number;
  latencyMs?: number;
}

export class ReceiverHarness {
  readonly player: Player;
  private readonly decoder: AudioDecoder;
  stats: RtpStreamStats;
  private lock: { address: string; port: number; ssrc: number; lastNs: bigint; bye: boolean } | undefined;
  readonly dropped = { malformed: 0, wrongPt: 0, rtcp: 0, others: 0 };
  warnings = 0;

  constructor(readonly spec: ReceiverSpec) {
    this.decoder = spec.codec === 'opus' ? new OpusDecoder(spec.channels) : new L16Decoder(spec.channels, spec.clockRate);
    this.player = new Player(this.decoder, { clockRate: spec.clockRate, channels: spec.channels, latencyMs: spec.latencyMs });
    this.stats = new RtpStreamStats(spec.clockRate, { codec: spec.codec });
  }

  /** One datagram from `rinfo` at `now` (ns). */
  datagram(msg: Uint8Array, rinfo: { address: string; port: number }, now: bigint): void {
    const parsed = parseRtp(msg);
    if (!parsed.ok) {
      if (parsed.error === 'rtcp') this.dropped.rtcp++;
      else this.dropped.malformed++;
      return;
    }
    const pkt = parsed.packet;
    if (pkt.payloadType !== this.spec.payloadType) {
      this.dropped.wrongPt++;
      return;
    }
    if (!this.lock) this.lock = { address: rinfo.address, port: rinfo.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
    const lock = this.lock;
    if (pkt.ssrc !== lock.ssrc || rinfo.address !== lock.address) {
      const quiet = now - lock.lastNs > 250_000_000n || lock.bye;
      if (quiet) {
        this.warnings++;
        this.lock = { address: rinfo.address, port: rinfo.port, ssrc: pkt.ssrc, lastNs: now, bye: false };
        this.player.resync();
        this.stats = new RtpStreamStats(this.spec.clockRate, { codec: this.spec.codec });
      } else {
        this.dropped.others++;
        return;
      }
    }
    this.lock!.lastNs = now;
    this.stats.update({ arrivalNs: now, sequence: pkt.sequence, timestamp: pkt.timestamp, ssrc: pkt.ssrc, payloadType: pkt.payloadType, marker: pkt.marker, payloadBytes: pkt.payload.length });
    if (this.player.push(pkt.timestamp, pkt.payload, now) === 'malformed') this.dropped.malformed++;
  }

  /** An RTCP BYE for the locked SSRC (the RTCP socket's handler). */
  bye(ssrc: number): void {
    if (this.lock && ssrc === this.lock.ssrc) {
      this.lock.bye = true;
      this.player.senderEnded();
    }
  }

  close(): void {
    this.decoder.close();
  }
}
