import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { AudioSource } from '../audio/source';
import type { AudioEncoder } from '../codec/encoder';
import { FormatConverter } from '../audio/convert';
import { PcmFifo } from '../audio/fifo';
import { levels, type PcmFormat } from '../audio/pcm';
import type { StreamDescription } from '../stream/description';
import type { Transport } from '../transport/udp';
import type { Clock, WallClock } from './clock';
import { PacketSchedule } from './pacer';
import { RtpPacketizer, type RtpStartState } from './packetizer';
import { buildGoodbye, buildSenderReport, ntpFromUnixSeconds, type SenderReportInput } from './rtcp';

/** Something that calls `fn` at (or just after) a monotonic deadline: PreciseSleeper, or a test's. */
export interface Sleeper {
  until(deadlineNs: bigint, fn: () => void): void;
  cancel(): void;
}

export interface SenderStatus {
  elapsedSec: number;
  packets: number;
  octets: number;
  kbps: number;
  peakDb: number[];
  underruns: number;
  resyncs: number;
  sendErrors: number;
}

export interface SenderOptions {
  description: StreamDescription;
  source: AudioSource;
  sourceFormat: PcmFormat;
  encoder: AudioEncoder;
  transport: Transport;
  clock: Clock;
  wall: WallClock;
  sleeper: Sleeper;
  start: RtpStartState;
  /** stop after this much media time (seconds) */
  durationSec?: number;
  rtcpIntervalSec?: number;
  statusIntervalSec?: number;
  cname?: string;
}

export type StopReason = 'duration' | 'input-ended' | 'stopped' | 'error';

/**
 * The send loop: pull exactly one packet of PCM, encode, packetize, send, at the time media
 * time says (PacketSchedule), with RTCP SR every few seconds and a BYE at the end.
 * Events: 'status' (SenderStatus), 'warning' (string), 'end' (StopReason).
 */
export class RtpSender extends EventEmitter {
  readonly packetizer: RtpPacketizer;
  private readonly fifo: PcmFifo;
  private readonly converter: FormatConverter;
  private schedule: PacketSchedule | undefined;
  private sent = 0;
  private sourceEnded = false;
  private inSilence = false;
  private running = false;
  private underruns = 0;
  private monoStart = 0n;
  private wallStart = 0;
  private nextRtcpPacket = 0;
  private nextStatusPacket = 0;
  private statusOctets = 0;
  private statusPeak: number[];
  private readonly ticksPerPacket: number;
  private readonly cname: string;
  private ended: Promise<StopReason>;
  private resolveEnded!: (r: StopReason) => void;

  constructor(private readonly o: SenderOptions) {
    super();
    const d = o.description;
    this.packetizer = new RtpPacketizer(d.payloadType, o.start);
    this.fifo = new PcmFifo(d.channels);
    this.converter = new FormatConverter(o.sourceFormat, { rate: d.sampleRate, channels: d.channels });
    this.ticksPerPacket = (d.frameSamples * d.clockRate) / d.sampleRate;
    this.cname = o.cname ?? `rtpcast@${hostname()}`;
    this.statusPeak = new Array<number>(d.channels).fill(-Infinity);
    this.ended = new Promise((r) => (this.resolveEnded = r));
  }

  get packetsSent(): number {
    return this.sent;
  }

  /** Starts once the source has a first packet's worth of audio (no silence before real audio). */
  start(): Promise<StopReason> {
    this.running = true;
    this.o.source.onError((e) => {
      this.emit('warning', `the source failed: ${e.message}`);
      void this.stop('error');
    });
    const begin = () => {
      if (!this.running || this.schedule) return;
      if (!this.fill(this.o.description.frameSamples) && !this.sourceEnded) return; // wait for audio
      this.monoStart = this.o.clock.nowNs();
      this.wallStart = this.o.wall.unixSeconds();
      this.schedule = new PacketSchedule(this.o.description.frameSamples, this.o.description.sampleRate, this.monoStart);
      this.tick();
    };
    this.o.source.onReadable(begin);
    begin();
    return this.ended;
  }

  /** Tops up the stream FIFO from the source; true when `frames` are ready. */
  private fill(frames: number): boolean {
    while (this.fifo.frames < frames && !this.sourceEnded) {
      const chunk = this.o.source.read(Math.max(1024, frames));
      if (chunk === null) {
        this.sourceEnded = true;
        this.fifo.push(this.converter.flush());
        break;
      }
      if (chunk.length === 0) break;
      this.fifo.push(this.converter.process(chunk));
    }
    return this.fifo.frames >= frames;
  }

  private nextFrame(): Float32Array | 'ended' {
    const d = this.o.description;
    if (this.fill(d.frameSamples)) {
      if (this.inSilence) {
        this.inSilence = false;
        this.packetizer.markDiscontinuity();
      }
      return this.fifo.read(d.frameSamples)!;
    }
    if (this.sourceEnded) {
      if (this.fifo.frames === 0) return 'ended';
      const last = new Float32Array(d.frameSamples * d.channels);
      last.set(this.fifo.drain());
      return last;
    }
    // Underrun: the source is late. Send silence so receivers keep playing (VLC and ffmpeg stall
    // or resynchronise badly on gaps); the next real audio carries the marker bit.
    this.underruns++;
    this.inSilence = true;
    return new Float32Array(d.frameSamples * d.channels);
  }

  private tick = (): void => {
    if (!this.running || !this.schedule) return;
    const now = this.o.clock.nowNs();
    if (this.schedule.catchUp(this.sent, now)) this.emit('warning', 'rtpcast fell more than 200 ms behind (machine overloaded or suspended); continuing from now without a burst');
    while (this.running && this.schedule.dueNs(this.sent) <= now) {
      if (this.o.durationSec !== undefined && this.mediaSeconds() >= this.o.durationSec - 1e-9) {
        void this.stop('duration');
        return;
      }
      const frame = this.nextFrame();
      if (frame === 'ended') {
        void this.stop('input-ended');
        return;
      }
      this.sendFrame(frame);
    }
    if (this.running) this.o.sleeper.until(this.schedule.dueNs(this.sent), this.tick);
  };

  private mediaSeconds(): number {
    return (this.sent * this.o.description.frameSamples) / this.o.description.sampleRate;
  }

  private sendFrame(frame: Float32Array): void {
    const d = this.o.description;
    const payload = this.o.encoder.encode(frame);
    const packet = this.packetizer.packetize(payload, this.ticksPerPacket);
    this.o.transport.send(packet);
    this.sent++;
    this.statusOctets += payload.length;
    const lv = levels(frame, d.channels).peakDb;
    for (let c = 0; c < d.channels; c++) if (lv[c] > this.statusPeak[c]) this.statusPeak[c] = lv[c];
    const perSecond = d.sampleRate / d.frameSamples;
    if (this.sent >= this.nextRtcpPacket) {
      this.o.transport.sendRtcp(buildSenderReport(this.reportInput()));
      this.nextRtcpPacket = this.sent + Math.round((this.o.rtcpIntervalSec ?? 5) * perSecond);
    }
    if (this.sent >= this.nextStatusPacket) {
      this.emitStatus();
      this.nextStatusPacket = this.sent + Math.round((this.o.statusIntervalSec ?? 1) * perSecond);
    }
  }

  /** SR fields for "now": the next packet's timestamp and the wall time it is due (RFC 3550 6.4.1). */
  private reportInput(): SenderReportInput {
    const due = this.schedule ? this.schedule.dueNs(this.sent) : this.monoStart;
    const unix = this.wallStart + Number(due - this.monoStart) / 1e9;
    return {
      ssrc: this.packetizer.ssrc,
      ntp: ntpFromUnixSeconds(unix),
      rtpTimestamp: this.packetizer.nextTimestamp,
      packetCount: this.packetizer.packets,
      octetCount: this.packetizer.octets,
      cname: this.cname,
    };
  }

  status(): SenderStatus {
    return {
      elapsedSec: this.mediaSeconds(),
      packets: this.sent,
      octets: this.packetizer.octets,
      kbps: 0,
      peakDb: [...this.statusPeak],
      underruns: this.underruns,
      resyncs: this.schedule?.resyncs ?? 0,
      sendErrors: 0,
    };
  }

  private lastStatusSec = 0;
  private emitStatus(): void {
    const s = this.status();
    const dt = s.elapsedSec - this.lastStatusSec;
    s.kbps = dt > 0 ? (this.statusOctets * 8) / dt / 1000 : 0;
    this.lastStatusSec = s.elapsedSec;
    this.statusOctets = 0;
    this.statusPeak.fill(-Infinity);
    this.emit('status', s);
  }

  /** Stops: RTCP BYE to every destination, source closed. Idempotent. */
  async stop(reason: StopReason = 'stopped'): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.sleeper.cancel();
    if (this.sent > 0) this.o.transport.sendRtcp(buildGoodbye(this.reportInput()));
    this.emitStatus();
    await this.o.source.close();
    this.o.encoder.close();
    this.resolveEnded(reason);
  }
}
