import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { AudioSource } from '../audio/source';
import type { AudioEncoder } from '../codec/encoder';
import { FormatConverter } from '../audio/convert';
import { PcmFifo } from '../audio/fifo';
import type { PcmFormat } from '../audio/pcm';
import type { StreamDescription } from '../stream/description';
import type { Transport } from '../transport/udp';
import type { Clock, WallClock } from './clock';
import { LevelServo, PacketSchedule, planBatch } from './pacer';
import type { DepartureStats } from './native-pacer';
import { BacklogTrimmer } from './backlog';
import { RtpPacketizer, type RtpStartState } from './packetizer';
import { buildGoodbye, buildSenderReport, ntpFromUnixSeconds, type SenderReportInput } from './rtcp';

/** Something that calls `fn` at (or just after) a monotonic deadline: PreciseSleeper, or a test's. */
export interface Sleeper {
  until(deadlineNs: bigint, fn: () => void): void;
  cancel(): void;
}

/**
 * A pacer that sends packets at their due time from elsewhere (the native thread behind
 * transport.sendAt): the sender builds packets up to `lookaheadNs` ahead and wakes about every
 * `periodNs` instead of once per packet.
 */
export interface PacedQueue {
  readonly lookaheadNs: bigint;
  readonly periodNs: bigint;
  /** what has left so far (and send errors, which it reports itself) */
  poll(): DepartureStats;
  /** resolves when every queued packet has left */
  drain(): Promise<void>;
  /** discards what is queued */
  drop(): number;
  /** the pacer reads L16 file runs itself (Transport.sendFileRunAt); the sender then builds no packets */
  readonly fileRuns?: boolean;
  /**
   * A longer lookahead and period for a sender nobody watches (no 'status' listener: --quiet, or
   * stderr not a terminal, and no --json). Statuses are emitted as packets are built, so a batch
   * of several seconds would bunch them up (and only the first would carry the pacer's level
   * meter); with nobody reading them the main thread can sleep seconds at a time.
   */
  readonly unwatched?: { readonly lookaheadNs: bigint; readonly periodNs: bigint };
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
  /** live sources: correction applied to follow the capture device's clock, in ppm */
  clockPpm?: number;
  /** live sources: audio captured and waiting, in ms */
  bufferedMs?: number;
  /** live sources that can fall behind (stdin): audio dropped because it piled up beyond the target, in ms */
  droppedMs?: number;
  /** native pacer: how late packets left after their due time, so far (the pacing thread's clock) */
  lateness?: { p50Ms: number; p99Ms: number; maxMs: number; over1ms: number; scheduling: string };
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
  /** send through a native pacer (transport.sendAt) instead of waking per packet; not for live sources */
  queue?: PacedQueue;
  start: RtpStartState;
  /** stop after this much media time (seconds) */
  durationSec?: number;
  rtcpIntervalSec?: number;
  statusIntervalSec?: number;
  cname?: string;
  /** live sources: how much captured audio to hold before sending (default 30 ms) */
  cushionMs?: number;
  /** warn after this many seconds below -60 dBFS (default 10) */
  silenceWarnSec?: number;
  /** live sources with arrivedFrames: how far the standing level may exceed the target before the excess is dropped (default 30 ms) */
  backlogSlackMs?: number;
}

/** -60 dBFS: below this a packet counts as silent (linear peak, full scale 1) */
const SILENCE_PEAK = 10 ** (-60 / 20);
/**
 * Batches built ahead for the native pacer: a packet whose audio the source (a file decoder) has
 * not delivered yet waits, and becomes silence (an underrun) only when it is due within this.
 * Before, the start of an ffmpeg-decoded file became silence: 85-100 ms at a 250 ms lookahead, 0.86 s at 1 s.
 */
const SILENCE_DEADLINE_NS = 20_000_000n;

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
  /** linear peak per channel since the last status (dBFS only when a status is emitted) */
  private statusPeak: Float64Array;
  private readonly ticksPerPacket: number;
  private readonly cname: string;
  private readonly live: boolean;
  /**
   * L16 from 16-bit PCM already in the stream's format (a plain s16 WAV): the source copies each
   * packet's samples into the packet and the encoder swaps their bytes in place (no float round
   * trip, no FIFO). Same packets, byte for byte, as the float path (unit-tested).
   */
  private readonly direct: boolean;
  /**
   * The direct path handed to a native pacer that reads the file itself (PacedQueue.fileRuns):
   * the sender queues runs of packets (L16FileRun) and builds none; the pacer reports their peaks.
   */
  private readonly fileRuns: boolean;
  /** --duration in packets: the first packet index not sent */
  private readonly maxPackets: number | undefined;
  private readErrorWarned = false;
  /** the direct path's packet buffer when the hand-over copies it */
  private scratch: Buffer | undefined;
  private readonly servo: LevelServo | undefined;
  private readonly trimmer: BacklogTrimmer | undefined;
  private lastArrived: number | undefined;
  /** stream frames dropped by the trimmer */
  private droppedFrames = 0;
  private waitedNs = 0n;
  /** a native-pacer batch stopped short: the source (a file decoder) had not delivered yet */
  private starved = false;
  private silentPackets = 0;
  private silenceWarned = false;
  /** native pacer: what has left (updated at each wake-up) and the payload sizes still queued */
  private departed: DepartureStats | undefined;
  private queuedPayload: number[] = [];
  private queuedHead = 0;
  private queuedOctets = 0;
  /** native pacer, after a stop that dropped the queue: what was built but never left */
  private unsent = { packets: 0, octets: 0 };
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
    this.statusPeak = new Float64Array(d.channels);
    this.ended = new Promise((r) => (this.resolveEnded = r));
    this.live = o.source.pacing === 'source';
    this.direct = !this.live && !!o.source.readS16LE && !!o.encoder.encodeS16LEInPlace && this.converter.passthrough;
    this.fileRuns = this.direct && !!o.source.takeS16LERange && !!o.transport.sendFileRunAt && !!o.queue?.fileRuns;
    this.maxPackets = o.durationSec === undefined ? undefined : packetsFor(o.durationSec, d.frameSamples, d.sampleRate);
    const cushion = Math.round(((o.cushionMs ?? 30) / 1000) * d.sampleRate) + d.frameSamples;
    this.servo = this.live ? new LevelServo(cushion, d.sampleRate) : undefined;
    if (this.live && o.source.arrivedFrames !== undefined && o.source.discard) {
      this.trimmer = new BacklogTrimmer(cushion, Math.round(((o.backlogSlackMs ?? 30) / 1000) * d.sampleRate));
      this.droppedFrames = ((o.source.droppedFrames ?? 0) * d.sampleRate) / o.sourceFormat.rate;
    }
  }

  /**
   * A live producer that got ahead of us (what it wrote before we read, or while we were held up)
   * would otherwise stay ahead for good: measure the level just before each arrival and drop what
   * stands above the target (BacklogTrimmer), oldest first, counted and reported.
   */
  private trimBacklog(now: bigint): void {
    const src = this.o.source;
    const arrived = src.arrivedFrames;
    if (!this.trimmer || arrived === undefined) return;
    const ratio = this.o.description.sampleRate / this.o.sourceFormat.rate;
    const fresh = arrived - (this.lastArrived ?? arrived);
    this.lastArrived = arrived;
    if (fresh <= 0) return;
    const drop = this.trimmer.arrived(this.level() - fresh * ratio, now);
    if (drop <= 0) return;
    const fromFifo = Math.min(drop, this.fifo.frames);
    if (fromFifo > 0) this.fifo.read(fromFifo);
    const fromSource = Math.floor((drop - fromFifo) / ratio);
    const gone = fromFifo + (fromSource > 0 ? src.discard!(fromSource) * ratio : 0);
    this.droppedFrames += gone;
    this.packetizer.markDiscontinuity();
    const ms = (f: number) => Math.round((f / this.o.description.sampleRate) * 1000);
    this.emit('warning', `${ms(gone)} ms of audio from ${src.label} had piled up beyond the ${ms(this.trimmer.targetFrames)} ms target (written before rtpcast read it, or while rtpcast was held up): dropped it to keep the delay low (${ms(this.droppedFrames)} ms dropped so far; a file piped in is not a live producer: send it whole with --no-live)`);
  }

  /** Frames captured and not yet sent (sender FIFO + the source's own buffer), in stream frames. */
  private level(): number {
    const src = this.o.source.buffered ?? 0;
    return this.fifo.frames + (src * this.o.description.sampleRate) / this.o.sourceFormat.rate;
  }

  /** the native pacer reads the file itself (L16FileRun): no packet is built here */
  get usesFileRuns(): boolean {
    return this.fileRuns;
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
      if (this.starved && this.running) {
        // a batch waits for the decoder (tickBatch): it has delivered, build on
        this.o.sleeper.cancel();
        this.tick();
        return;
      }
      if (!this.running || this.schedule) return;
      // wait for audio (live sources: for the cushion that absorbs capture jitter)
      const need = this.servo ? this.servo.targetFrames : this.o.description.frameSamples;
      // the direct path reads a file synchronously: nothing to wait for (and nothing may go through the FIFO)
      if (!this.direct && !this.fill(this.o.description.frameSamples) && !this.sourceEnded) return;
      if (this.servo && this.level() < need && !this.sourceEnded) return;
      this.lastArrived = this.o.source.arrivedFrames;
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

  /**
   * `aheadNs`: how long before its due time this packet is built (the native pacer's batches).
   * A file decoder that has not caught up with a lookahead is not late: 'wait' until the packet
   * is due within SILENCE_DEADLINE_NS, silence only then.
   */
  private nextFrame(aheadNs?: bigint): Float32Array | 'ended' | 'wait' {
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
    // A live device a little behind our clock: wait for it (up to 100 ms) rather than insert silence.
    if (this.live && this.waitedNs < 100_000_000n) return 'wait';
    if (aheadNs !== undefined && aheadNs > SILENCE_DEADLINE_NS) return 'wait';
    // Underrun: the source is late. Send silence so receivers keep playing (VLC and ffmpeg stall
    // or resynchronise badly on gaps); the next real audio carries the marker bit.
    this.underruns++;
    this.inSilence = true;
    return new Float32Array(d.frameSamples * d.channels);
  }

  private tick = (): void => {
    if (this.o.queue && !this.live) {
      this.tickBatch(this.o.queue);
      return;
    }
    if (!this.running || !this.schedule) return;
    const now = this.o.clock.nowNs();
    this.trimBacklog(now);
    if (this.schedule.catchUp(this.sent, now)) {
      this.emit('warning', 'rtpcast fell more than 200 ms behind (machine overloaded or suspended); continuing from now without a burst');
      // media time now maps to a later wall time: a sender report says so at once, BEFORE the
      // next packet, so that its timestamp is exactly the first one on the new schedule (play
      // --sync players keep the old mapping for the timestamps before it: src/sync/playout.ts)
      this.o.transport.sendRtcp(buildSenderReport(this.reportInput()));
      const d = this.o.description;
      this.nextRtcpPacket = this.sent + Math.round((this.o.rtcpIntervalSec ?? 5) * (d.sampleRate / d.frameSamples));
    }
    while (this.running && this.schedule.dueNs(this.sent) <= now) {
      if (this.o.durationSec !== undefined && this.mediaSeconds() >= this.o.durationSec - 1e-9) {
        void this.stop('duration');
        return;
      }
      const r = this.sendNext();
      if (r === 'ended') {
        void this.stop('input-ended');
        return;
      }
      if (r === 'wait') {
        this.schedule.shift(2_000_000n);
        this.waitedNs += 2_000_000n;
        break;
      }
      this.waitedNs = 0n;
      if (this.servo) this.schedule.shift(this.servo.update(this.level(), now));
    }
    if (this.running) this.o.sleeper.until(this.schedule.dueNs(this.sent), this.tick);
  };

  /**
   * Native pacer: build every packet due within the lookahead, hand each to transport.sendAt with
   * its due time, and sleep (a plain timer) until the queue needs more. The schedule, the 200 ms
   * catch-up and the stop conditions are the per-packet loop's.
   */
  private tickBatch(q: PacedQueue): void {
    if (!this.running || !this.schedule) return;
    this.starved = false;
    const now = this.o.clock.nowNs();
    this.updateDeparted(q);
    if (this.schedule.catchUp(this.sent, now)) {
      this.emit('warning', 'rtpcast fell more than 200 ms behind (machine overloaded or suspended); continuing from now without a burst');
      this.nextRtcpPacket = this.sent;
    }
    const w = this.batchWindow(q);
    const plan = planBatch(this.schedule, this.sent, now, w.lookaheadNs, w.periodNs);
    if (this.fileRuns) this.sendRuns(plan.count);
    else {
      for (let i = 0; i < plan.count && this.running; i++) {
        if (this.o.durationSec !== undefined && this.mediaSeconds() >= this.o.durationSec - 1e-9) {
          void this.stop('duration');
          return;
        }
        const r = this.sendNext(this.schedule.dueNs(this.sent), now);
        if (r === 'ended') {
          void this.stop('input-ended');
          return;
        }
        if (r === 'wait') {
          // the decoder is behind the lookahead: go on when it delivers (onReadable), or send
          // silence for the packet when it falls due
          this.starved = true;
          this.o.sleeper.until(this.schedule.dueNs(this.sent) - SILENCE_DEADLINE_NS, this.tick);
          return;
        }
      }
    }
    if (this.running) this.o.sleeper.until(planBatch(this.schedule, this.sent, this.o.clock.nowNs(), w.lookaheadNs, w.periodNs).wakeNs, this.tick);
  }

  /** The queue's lookahead and period: its longer 'unwatched' pair when no one listens to 'status'. */
  private batchWindow(q: PacedQueue): { lookaheadNs: bigint; periodNs: bigint } {
    return q.unwatched && this.listenerCount('status') === 0 ? q.unwatched : q;
  }

  /**
   * File runs: `count` packets handed over as runs of the file (L16FileRun), cut where a sender
   * report or a status follows a packet, so both come exactly where the per-packet loop puts them.
   * Same packets, reports and stop points as the per-packet direct path (unit-tested).
   */
  private sendRuns(count: number): void {
    const d = this.o.description;
    const schedule = this.schedule!;
    const payload = d.frameSamples * d.channels * 2;
    let left = count;
    while (left > 0 && this.running) {
      let n = Math.min(left, Math.max(1, this.nextRtcpPacket - this.sent), Math.max(1, this.nextStatusPacket - this.sent));
      if (this.maxPackets !== undefined) {
        if (this.sent >= this.maxPackets) {
          void this.stop('duration');
          return;
        }
        n = Math.min(n, this.maxPackets - this.sent);
      }
      const range = this.o.source.takeS16LERange!(n * d.frameSamples);
      if (!range) {
        this.sourceEnded = true;
        void this.stop('input-ended');
        return;
      }
      // the last packet of the file may be short: the pacer pads it with silence
      const packets = Math.ceil(range.bytes / payload);
      const { anchorNs, k } = schedule.position(this.sent);
      const header = this.packetizer.reserve(packets, this.ticksPerPacket, payload);
      const run = { header, anchorNs, first: k, fd: range.fd, offset: range.offset, end: range.end, count: packets, payload, frame: d.frameSamples, rate: d.sampleRate, ticks: this.ticksPerPacket, channels: d.channels, silence: SILENCE_PEAK * 32768 };
      if (!this.o.transport.sendFileRunAt!(run)) throw new Error('the transport refused a file run its pacer offered to take');
      for (let i = 0; i < packets; i++) this.queuedPayload.push(payload);
      this.queuedOctets += packets * payload;
      this.sent += packets;
      this.statusOctets += packets * payload;
      left -= packets;
      this.reportsAfter(schedule.dueNs(this.sent - 1));
    }
  }

  /** File runs: the pacer's meter and silence count, and its read errors (the packet went out silent). */
  private foldRunLevels(d: DepartureStats): void {
    const peaks = d.runPeaks ?? [];
    for (let c = 0; c < peaks.length && c < this.statusPeak.length; c++) if (peaks[c] > this.statusPeak[c]) this.statusPeak[c] = peaks[c];
    const silent = d.runSilentPackets ?? 0;
    if (silent < this.silentPackets) this.silenceWarned = false;
    this.silentPackets = silent;
    this.checkSilence();
    if ((d.runReadErrors ?? 0) > 0 && !this.readErrorWarned) {
      this.readErrorWarned = true;
      this.emit('warning', `reading ${this.o.source.label} failed (${d.runReadError ?? 'an error'}): ${d.runReadErrors} packet(s) went out as silence; is the file on a disk that went away?`);
    }
  }

  private updateDeparted(q: PacedQueue): void {
    const d = q.poll();
    // payload octets of the packets that left since the last look (their sizes were queued in order)
    let left = d.sent - (this.departed?.sent ?? 0);
    while (left-- > 0 && this.queuedHead < this.queuedPayload.length) this.queuedOctets -= this.queuedPayload[this.queuedHead++];
    if (this.queuedHead > 1024) {
      this.queuedPayload = this.queuedPayload.slice(this.queuedHead);
      this.queuedHead = 0;
    }
    this.departed = d;
    if (this.fileRuns) this.foldRunLevels(d);
  }

  private mediaSeconds(): number {
    return (this.sent * this.o.description.frameSamples) / this.o.description.sampleRate;
  }

  /** Packets that have left: with the native pacer, those its thread has sent (as of the last wake-up). */
  private get packetsOut(): number {
    return this.departed ? Math.min(this.departed.sent, this.sent) : this.sent;
  }

  /**
   * Builds the next packet (the direct path or the float one) and sends it, or hands it over for
   * `dueNs` (`nowNs`: when it is built): 'ended' at the end of the input (nothing sent), 'wait'
   * when a live source is a little behind, or a decoder behind a batch's lookahead (nothing sent).
   */
  private sendNext(dueNs?: bigint, nowNs?: bigint): 'sent' | 'ended' | 'wait' {
    if (this.direct) return this.sendDirect(dueNs) ? 'sent' : 'ended';
    const frame = this.nextFrame(dueNs !== undefined && nowNs !== undefined ? dueNs - nowNs : undefined);
    if (frame === 'ended' || frame === 'wait') return frame;
    this.sendFrame(frame, dueNs);
    return 'sent';
  }

  /**
   * The direct path's packet: the source's 16-bit samples read into the packet, their peak taken,
   * their bytes swapped to L16 in place, the header written. False once the input has ended (the
   * last packet of a file is padded with silence, as the float path pads it). A source with
   * nothing now (not a file's case) gets a silent packet, counted as an underrun, as nextFrame does.
   */
  private sendDirect(dueNs?: bigint): boolean {
    const d = this.o.description;
    const bytes = d.frameSamples * d.channels * 2;
    // a paced hand-over copies the packet (Transport.sendAt): one buffer serves every packet then
    const reuse = dueNs !== undefined && !!this.o.transport.sendAt;
    const packet = reuse ? (this.scratch ??= Buffer.allocUnsafeSlow(12 + bytes)) : Buffer.allocUnsafe(12 + bytes);
    const got = this.sourceEnded ? null : this.o.source.readS16LE!(d.frameSamples, packet, 12);
    if (got === null) {
      this.sourceEnded = true;
      return false;
    }
    if (got < d.frameSamples) packet.fill(0, 12 + got * d.channels * 2);
    if (got === 0) {
      this.underruns++;
      this.inSilence = true;
    } else if (this.inSilence) {
      this.inSilence = false;
      this.packetizer.markDiscontinuity();
    }
    const peak = this.trackPeakS16LE(packet, 12, got * d.channels);
    this.o.encoder.encodeS16LEInPlace!(packet, 12, bytes);
    this.dispatch(this.packetizer.packetizeInPlace(packet, this.ticksPerPacket), peak, dueNs);
    return true;
  }

  /** `dueNs`: the native pacer sends it then (transport.sendAt); undefined: now. */
  private sendFrame(frame: Float32Array, dueNs?: bigint): void {
    const enc = this.o.encoder;
    let packet: Buffer;
    if (enc.encodeInto && enc.payloadBytes) {
      packet = this.packetizer.packetizeInto(enc.payloadBytes(frame), this.ticksPerPacket, (b, off) => enc.encodeInto!(frame, b, off));
    } else {
      packet = this.packetizer.packetize(enc.encode(frame), this.ticksPerPacket);
    }
    this.dispatch(packet, this.trackPeak(frame), dueNs);
  }

  /** Sends (or queues for `dueNs`) a built packet; meter, silence watch, RTCP and status follow it. `peak`: the packet's, linear. */
  private dispatch(packet: Buffer, peak: number, dueNs?: bigint): void {
    if (dueNs !== undefined && this.o.transport.sendAt) {
      this.o.transport.sendAt(packet, dueNs);
      this.queuedPayload.push(packet.length - 12);
      this.queuedOctets += packet.length - 12;
    } else {
      this.o.transport.send(packet);
    }
    this.sent++;
    this.statusOctets += packet.length - 12;
    this.watchSilence(peak);
    this.reportsAfter(dueNs);
  }

  /** A sender report and a status where they fall due after the packet just sent (or queued for `dueNs`). */
  private reportsAfter(dueNs?: bigint): void {
    const d = this.o.description;
    const perSecond = d.sampleRate / d.frameSamples;
    if (this.sent >= this.nextRtcpPacket) {
      // paced: right after the packet it follows, so the report never overtakes the stream
      if (dueNs !== undefined && this.o.transport.sendRtcpAt) this.o.transport.sendRtcpAt(buildSenderReport(this.reportInput()), dueNs);
      else this.o.transport.sendRtcp(buildSenderReport(this.reportInput()));
      this.nextRtcpPacket = this.sent + Math.round((this.o.rtcpIntervalSec ?? 5) * perSecond);
    }
    if (this.sent >= this.nextStatusPacket) {
      this.emitStatus();
      this.nextStatusPacket = this.sent + Math.round((this.o.statusIntervalSec ?? 1) * perSecond);
    }
  }

  /**
   * Folds the frame's per-channel peak into the status meter and returns the frame's peak over all
   * channels, linear. Runs for every packet, so no allocation, no logarithm, no RMS (the meter
   * shows peaks only; dBFS is computed when a status is emitted).
   */
  private trackPeak(frame: Float32Array): number {
    const ch = this.o.description.channels;
    const peak = this.statusPeak;
    let all = 0;
    for (let c = 0; c < ch; c++) {
      let p = 0;
      for (let i = c; i < frame.length; i += ch) {
        const v = frame[i];
        if (v > p) p = v;
        else if (-v > p) p = -v;
      }
      if (p > peak[c]) peak[c] = p;
      if (p > all) all = p;
    }
    return all;
  }

  /**
   * trackPeak for `samples` 16-bit little-endian samples at `buf[offset]` (the direct path, before
   * the byte swap). Reads the bytes themselves: no typed-array view (an allocation per packet).
   */
  private trackPeakS16LE(buf: Buffer, offset: number, samples: number): number {
    const ch = this.o.description.channels;
    const peak = this.statusPeak;
    const step = 2 * ch;
    const end = offset + 2 * samples;
    let all = 0;
    for (let c = 0; c < ch; c++) {
      let p = 0;
      for (let i = offset + 2 * c; i < end; i += step) {
        const x = ((buf[i] | (buf[i + 1] << 8)) << 16) >> 16;
        if (x > p) p = x;
        else if (-x > p) p = -x;
      }
      const lin = p / 32768;
      if (lin > peak[c]) peak[c] = lin;
      if (lin > all) all = lin;
    }
    return all;
  }

  /** Long silence on the source usually means the wrong source or a muted application: say so once. */
  private watchSilence(peak: number): void {
    if (peak > SILENCE_PEAK) {
      this.silentPackets = 0;
      this.silenceWarned = false;
      return;
    }
    this.silentPackets++;
    this.checkSilence();
  }

  private checkSilence(): void {
    const d = this.o.description;
    const limit = this.o.silenceWarnSec ?? 10;
    if (!this.silenceWarned && (this.silentPackets * d.frameSamples) / d.sampleRate >= limit) {
      this.silenceWarned = true;
      this.emit('warning', `no sound from ${this.o.source.label} for ${limit} s (below -60 dBFS): is anything playing? is the application or the source muted? is it the right source? list sources with levels: rtpcast devices --level`);
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
      packetCount: this.packetizer.packets - this.unsent.packets,
      octetCount: this.packetizer.octets - this.unsent.octets,
      cname: this.cname,
    };
  }

  status(): SenderStatus {
    const d = this.departed;
    return {
      elapsedSec: (this.packetsOut * this.o.description.frameSamples) / this.o.description.sampleRate,
      packets: this.packetsOut,
      octets: this.packetizer.octets - (d ? this.queuedOctets : 0),
      kbps: 0,
      peakDb: Array.from(this.statusPeak, (p) => (p > 0 ? 20 * Math.log10(p) : -Infinity)),
      underruns: this.underruns,
      resyncs: this.schedule?.resyncs ?? 0,
      sendErrors: 0,
      ...(this.servo ? { clockPpm: Math.round(this.servo.ppm), bufferedMs: Math.round((this.level() / this.o.description.sampleRate) * 1000) } : {}),
      ...(this.trimmer ? { droppedMs: Math.round((this.droppedFrames / this.o.description.sampleRate) * 1000) } : {}),
      ...(d ? { lateness: { p50Ms: d.lateP50Ms, p99Ms: d.lateP99Ms, maxMs: d.lateMaxMs, over1ms: d.lateOver1ms, scheduling: d.scheduling } } : {}),
    };
  }

  private lastStatusSec = 0;
  private emitStatus(): void {
    const s = this.status();
    // the octets counted are those of the packets built (with the native pacer, up to a batch ahead of those sent)
    const built = this.mediaSeconds();
    const dt = built - this.lastStatusSec;
    s.kbps = dt > 0 ? (this.statusOctets * 8) / dt / 1000 : 0;
    this.lastStatusSec = built;
    this.statusOctets = 0;
    this.statusPeak.fill(0);
    this.emit('status', s);
  }

  /**
   * Stops: RTCP BYE to every destination, source closed. Idempotent. With the native pacer, the
   * end of the duration or of the input lets the queued packets leave first (the BYE follows the
   * last one, as without it); a stop (Ctrl-C, source error) drops them and says BYE at once.
   */
  async stop(reason: StopReason = 'stopped'): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.sleeper.cancel();
    const q = this.o.queue && !this.live ? this.o.queue : undefined;
    if (q) {
      if (reason === 'duration' || reason === 'input-ended') await q.drain();
      else q.drop();
      // dropped packets never left: their sizes stay in queuedOctets, so the status counts what did,
      // and so does the BYE's report
      this.updateDeparted(q);
      this.unsent = { packets: this.sent - this.packetsOut, octets: this.queuedOctets };
    }
    if (this.sent > 0) this.o.transport.sendRtcp(buildGoodbye(this.reportInput()));
    this.emitStatus();
    await this.o.source.close();
    this.o.encoder.close();
    this.resolveEnded(reason);
  }
}

/** --duration in packets: the smallest n whose media time n * frame / rate reaches `seconds` (within 1 ns, as the per-packet check). */
export function packetsFor(seconds: number, frameSamples: number, sampleRate: number): number {
  let n = Math.max(0, Math.ceil(((seconds - 1e-9) * sampleRate) / frameSamples));
  while (n > 0 && ((n - 1) * frameSamples) / sampleRate >= seconds - 1e-9) n--;
  while ((n * frameSamples) / sampleRate < seconds - 1e-9) n++;
  return n;
}
