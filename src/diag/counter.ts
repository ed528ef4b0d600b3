/**
 * PacketCounter: the accounting behind `rtpcast diag packets` (pure: no sockets, no timers; the
 * caller passes each datagram with its sender and arrival time). Kept apart from the socket code so
 * it is unit-testable and measurable on its own.
 *
 * Per sender (address:port) and SSRC: packets, payload type, codec guess, clock rate, the RFC 3550
 * statistics (RtpStreamStats: THE implementation, shared with `rtpcast play`), the estimated RTP
 * timestamp rate (ticks per second of arrival time), the relative-delay spread (for the latency
 * advice) and what was not RTP (RTCP, malformed RTP, raw PCM, unknown).
 *
 * Hot path (a confirmed stream): O(1), no allocation beyond the one BigInt subtraction per packet
 * that converting the arrival time needs (RtpStreamStats does a few more). The header is read by
 * readRtpHeader, which applies EXACTLY parseRtp's validation (same checks, same order, same error;
 * test/diag/packets.test.ts compares them on valid, mutated and random datagrams) without building
 * objects. So every datagram is fully validated and every malformed one is counted, with its reason:
 * nothing is sampled except the content analysis of non-RTP datagrams (classifyDatagram, which is
 * O(length)): the first 16 from each sender, then one in 32.
 *
 * An SSRC becomes a stream on its second packet with the same payload type and a sequence number
 * within 100 of the first (a random buffer, e.g. raw PCM that happens to pass the header checks,
 * never repeats a 32-bit SSRC). The packets seen before are then counted into the stream. A stream
 * whose clock rate is not known (dynamic payload type without an SDP) is observed for `probeSec`
 * (default 1 s) of arrival time: its codec is guessed (L16: payload bytes = 2 x channels x timestamp
 * step; Opus: the TOC's duration = timestamp step), its clock rate chosen (Opus 48000; otherwise the
 * measured timestamp rate snapped to a standard rate), and the held packets replayed into
 * RtpStreamStats in arrival order.
 *
 * Memory is bounded: at most `maxSenders` senders (64), `maxStreams` streams per sender (16), four
 * candidate SSRCs per sender holding at most four packets each, and a 16 KiB delay histogram per
 * stream. Datagrams beyond those limits are counted, not analysed.
 */
import { RtpStreamStats, type RtpArrival, type StreamStats } from '../rtp/stats';
import type { QualityCodec } from '../rtp/quality';
import { classifyDatagram, rawPcmRateGuesses, snapRate } from './classify';

export type RtpHeaderError = 'too-short' | 'not-version-2' | 'rtcp' | 'csrc-past-end' | 'extension-past-end' | 'bad-padding' | 'empty-payload';
export const RTP_HEADER_ERRORS: readonly RtpHeaderError[] = ['too-short', 'not-version-2', 'rtcp', 'csrc-past-end', 'extension-past-end', 'bad-padding', 'empty-payload'];

/** The fields readRtpHeader fills (one shared instance: read them before the next call). */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payloadOffset: number;
  payloadBytes: number;
}

/**
 * parseRtp's validation without allocating: returns -1 for a valid packet (fields in `h`), else the
 * index of the error in RTP_HEADER_ERRORS.
 */
export function readRtpHeader(buf: Uint8Array, h: RtpHeaderFields): number {
  const len = buf.length;
  if (len < 12) return 0;
  const b0 = buf[0];
  if (b0 >> 6 !== 2) return 1;
  const b1 = buf[1];
  if (b1 >= 200 && b1 <= 204) return 2;
  let off = 12 + (b0 & 0x0f) * 4;
  if (off > len) return 3;
  if (b0 & 0x10) {
    if (off + 4 > len) return 4;
    const end = off + 4 + ((buf[off + 2] << 8) | buf[off + 3]) * 4;
    if (end > len) return 4;
    off = end;
  }
  let end = len;
  if (b0 & 0x20) {
    const pad = buf[len - 1];
    if (pad === 0 || off + pad > len) return 5;
    end -= pad;
  }
  if (end <= off) return 6;
  h.marker = (b1 & 0x80) !== 0;
  h.payloadType = b1 & 0x7f;
  h.sequence = (buf[2] << 8) | buf[3];
  h.timestamp = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  h.ssrc = ((buf[8] << 24) | (buf[9] << 16) | (buf[10] << 8) | buf[11]) >>> 0;
  h.payloadOffset = off;
  h.payloadBytes = end - off;
  return -1;
}

/** Samples per channel at 48 kHz from an Opus TOC byte (and the next byte for code 3); 0 if malformed. Same as opusPacketSamples. */
export function opusTocSamples(toc: number, next: number, len: number): number {
  if (len < 1) return 0;
  const config = toc >> 3;
  let frame: number;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3];
  else if (config < 16) frame = [480, 960][config & 1];
  else frame = [120, 240, 480, 960][config & 3];
  const code = toc & 3;
  let count: number;
  if (code === 0) count = 1;
  else if (code === 1 || code === 2) count = 2;
  else {
    if (len < 2) return 0;
    count = next & 0x3f;
  }
  const total = frame * count;
  return count === 0 || total > 5760 ? 0 : total;
}

/** RFC 3551 static payload types: encoding, clock rate, channels. */
export const STATIC_PAYLOAD_TYPES: Readonly<Record<number, { encoding: string; clockRate: number; channels: number }>> = {
  0: { encoding: 'PCMU', clockRate: 8000, channels: 1 },
  3: { encoding: 'GSM', clockRate: 8000, channels: 1 },
  4: { encoding: 'G723', clockRate: 8000, channels: 1 },
  5: { encoding: 'DVI4', clockRate: 8000, channels: 1 },
  6: { encoding: 'DVI4', clockRate: 16000, channels: 1 },
  7: { encoding: 'LPC', clockRate: 8000, channels: 1 },
  8: { encoding: 'PCMA', clockRate: 8000, channels: 1 },
  9: { encoding: 'G722', clockRate: 8000, channels: 1 },
  10: { encoding: 'L16', clockRate: 44100, channels: 2 },
  11: { encoding: 'L16', clockRate: 44100, channels: 1 },
  12: { encoding: 'QCELP', clockRate: 8000, channels: 1 },
  13: { encoding: 'CN', clockRate: 8000, channels: 1 },
  14: { encoding: 'MPA', clockRate: 90000, channels: 1 },
  15: { encoding: 'G728', clockRate: 8000, channels: 1 },
  16: { encoding: 'DVI4', clockRate: 11025, channels: 1 },
  17: { encoding: 'DVI4', clockRate: 22050, channels: 1 },
  18: { encoding: 'G729', clockRate: 8000, channels: 1 },
};

export interface CodecGuess {
  encoding: string;
  clockRate: number;
  channels: number | null;
  /** how it was decided */
  how: 'sdp' | 'static payload type' | 'L16 by payload size and rate' | 'Opus TOC' | 'timestamp rate' | 'assumed';
}

export interface PacketCounterOptions {
  /** payload type -> what an SDP (or flags) says; overrides static types and guessing */
  payloadTypes?: Record<number, { encoding: string; clockRate: number; channels?: number }>;
  /** account only datagrams from this address; others are counted per address and ignored */
  source?: string;
  /** seconds of arrival time to observe a stream of unknown clock rate (default 1) */
  probeSec?: number;
  maxSenders?: number;
  maxStreams?: number;
}

export interface RawPcmSummary {
  datagrams: number;
  /** of the sampled ones */
  sampled: number;
  audioLike: number;
  silent: number;
  byteOrder: 's16le' | 's16be' | 'unknown';
  /** sampled datagrams per byte order */
  le: number;
  be: number;
  channels: 1 | 2 | null;
  identicalChannels: boolean;
  bytesPerSec: number | null;
  /** standard rate x channels that fit bytesPerSec */
  rateGuesses: { rate: number; channels: number }[];
  datagramBytes: { min: number; max: number };
}

export interface SenderSnapshot {
  address: string;
  port: number;
  datagrams: number;
  bytes: number;
  /** counted into a confirmed stream */
  rtp: number;
  rtcp: number;
  /** version 2 and not RTCP but failing a header check, by reason */
  malformed: number;
  malformedBy: Partial<Record<RtpHeaderError, number>>;
  /** not version 2, or version 2 RTCP-typed but not valid RTCP */
  notRtp: number;
  /** valid headers whose SSRC never repeated (held or given up) */
  unconfirmed: number;
  firstArrivalNs: bigint;
  lastArrivalNs: bigint;
  kind: 'rtp' | 'raw-pcm' | 'rtcp-only' | 'unknown' | 'mixed';
  rawPcm: RawPcmSummary | null;
  /** datagrams classified (sampled) as unknown */
  unknownSampled: number;
}

export interface StreamSnapshot {
  sender: string;
  address: string;
  port: number;
  ssrc: number;
  ssrcHex: string;
  payloadType: number;
  /** other payload types seen in this SSRC (e.g. comfort noise, DTMF) */
  otherPayloadTypes: number[];
  codec: CodecGuess;
  /** still observing to choose the clock rate (stats over the held packets so far) */
  probing: boolean;
  /** measured RTP timestamp ticks per second of arrival time */
  estimatedRateHz: number | null;
  /** packet duration from the timestamp step, ms */
  packetMs: number | null;
  /** p95 - min of the relative one-way delay, ms (null under 20 packets) */
  delaySpreadMs: number | null;
  /** RTCP sender reports seen for this SSRC (RTP port or RTP port + 1) */
  rtcpSenderReports: number;
  bye: boolean;
  stats: StreamStats;
}

export interface PacketSnapshot {
  datagrams: number;
  bytes: number;
  firstArrivalNs: bigint | null;
  lastArrivalNs: bigint | null;
  senders: SenderSnapshot[];
  streams: StreamSnapshot[];
  /** datagrams dropped by the `source` filter, per address */
  ignored: Record<string, number>;
  /** datagrams not analysed because of the sender/stream limits */
  overLimit: number;
  /** datagrams on the RTCP port (RTP port + 1) */
  rtcpPort: { datagrams: number; valid: number; senders: string[] };
}

interface Held {
  arrivalNs: bigint;
  sequence: number;
  timestamp: number;
  payloadType: number;
  marker: boolean;
  payloadBytes: number;
  toc: number;
  toc1: number;
}

interface Candidate {
  ssrc: number;
  payloadType: number;
  lastSeq: number;
  held: Held[];
  lastNs: bigint;
}

const HIST_BINS = 8192;
const HIST_BIN_MS = 0.5;
const HIST_ZERO = 2048; // relative delay 0 (the first packet) sits here: -1024 ms .. +3072 ms
const MAX_CANDIDATES = 4;
const MAX_HELD = 4;
const MAX_PENDING = 4096;

class Stream {
  readonly ssrcHex: string;
  readonly otherPts: number[] = [];
  codec: CodecGuess | null;
  stats: RtpStreamStats | null = null;
  pending: Held[] | null = null;
  // codec sniffing during the probe
  private sniffPrev: Held | null = null;
  private pairs = 0;
  private l16 = [0, 0, 0];
  private opus = 0;
  // timestamp rate and delay, relative to the epoch's first packet
  private t0Ms = 0;
  private refTs = 0;
  private refExt = 0;
  private maxExt = 0;
  private atMaxMs = 0;
  private started = false;
  private readonly hist = new Uint32Array(HIST_BINS);
  private histN = 0;
  private stepTs = 0;
  private lastSeq = -2;
  private lastTs = 0;

  constructor(
    readonly sender: SenderState,
    readonly ssrc: number,
    readonly payloadType: number,
    codec: CodecGuess | null,
    private readonly counter: PacketCounter,
  ) {
    this.ssrcHex = `0x${ssrc.toString(16).padStart(8, '0')}`;
    this.codec = codec;
    if (codec) this.stats = this.newStats(codec);
    else this.pending = [];
  }

  private newStats(c: CodecGuess): RtpStreamStats {
    const e = c.encoding.toLowerCase();
    const q: QualityCodec = e === 'opus' ? 'opus' : e === 'l16' ? 'l16' : 'other';
    return new RtpStreamStats(c.clockRate, { codec: q });
  }

  /** One packet (from the hot path or replayed). */
  add(a: RtpArrival, tMs: number, toc: number, toc1: number): void {
    if (a.payloadType !== this.payloadType && this.otherPts.length < 8 && !this.otherPts.includes(a.payloadType)) this.otherPts.push(a.payloadType);
    if (this.pending) {
      this.sniff(a, toc, toc1);
      this.pending.push({ arrivalNs: a.arrivalNs, sequence: a.sequence, timestamp: a.timestamp, payloadType: a.payloadType, marker: a.marker, payloadBytes: a.payloadBytes, toc, toc1 });
      const n = this.pending.length;
      if (n >= MAX_PENDING || (n >= 8 && Number(a.arrivalNs - this.pending[0].arrivalNs) >= this.counter.probeNs)) this.decide();
      return;
    }
    this.measure(a, tMs);
  }

  private measure(a: RtpArrival, tMs: number): void {
    const v = this.stats!.update(a);
    if (v === 'duplicate' || v === 'bad-sequence' || v === 'probation') return;
    const ts = a.timestamp;
    if (!this.started || v === 'resync') {
      this.started = true;
      this.t0Ms = tMs;
      this.refTs = ts;
      this.refExt = 0;
      this.maxExt = 0;
      this.atMaxMs = tMs;
    }
    const d = (ts - this.refTs) | 0;
    const ext = this.refExt + d;
    if (d > 0) {
      this.refTs = ts;
      this.refExt = ext;
    }
    // packet duration: the smallest timestamp step between consecutive sequence numbers
    if (a.sequence === ((this.lastSeq + 1) & 0xffff)) {
      const step = (ts - this.lastTs) | 0;
      if (step > 0 && step < this.codec!.clockRate && (this.stepTs === 0 || step < this.stepTs)) this.stepTs = step;
    }
    this.lastSeq = a.sequence;
    this.lastTs = ts;
    if (ext > this.maxExt) {
      this.maxExt = ext;
      this.atMaxMs = tMs;
    }
    const rel = tMs - this.t0Ms - (ext * 1000) / this.codec!.clockRate;
    let bin = Math.floor(rel / HIST_BIN_MS) + HIST_ZERO;
    if (bin < 0) bin = 0;
    else if (bin >= HIST_BINS) bin = HIST_BINS - 1;
    this.hist[bin]++;
    this.histN++;
  }

  private sniff(a: RtpArrival, toc: number, toc1: number): void {
    const p = this.sniffPrev;
    if (p && a.sequence === ((p.sequence + 1) & 0xffff) && a.payloadType === this.payloadType) {
      const step = (a.timestamp - p.timestamp) | 0;
      if (step > 0) {
        this.pairs++;
        for (const ch of [1, 2]) if (p.payloadBytes === step * 2 * ch) this.l16[ch]++;
        if (opusTocSamples(p.toc, p.toc1, p.payloadBytes) === step) this.opus++;
      }
    }
    if (p) {
      p.arrivalNs = a.arrivalNs; p.sequence = a.sequence; p.timestamp = a.timestamp; p.payloadType = a.payloadType;
      p.marker = a.marker; p.payloadBytes = a.payloadBytes; p.toc = toc; p.toc1 = toc1;
    } else {
      this.sniffPrev = { arrivalNs: a.arrivalNs, sequence: a.sequence, timestamp: a.timestamp, payloadType: a.payloadType, marker: a.marker, payloadBytes: a.payloadBytes, toc, toc1 };
    }
  }

  /** End the probe: choose codec and clock rate, replay the held packets. */
  decide(): void {
    const held = this.pending;
    if (!held) return;
    this.pending = null;
    let rateHz: number | null = null;
    if (held.length >= 2) {
      // the packet with the highest timestamp against the first, in arrival time
      let maxD = 0;
      let atNs = held[0].arrivalNs;
      for (const h of held) {
        const d = (h.timestamp - held[0].timestamp) | 0;
        if (d > maxD) { maxD = d; atNs = h.arrivalNs; }
      }
      const span = Number(atNs - held[0].arrivalNs) / 1e9;
      if (span > 0.05 && maxD > 0) rateHz = maxD / span;
    }
    const major = Math.max(1, this.pairs) * 0.8;
    let codec: CodecGuess;
    if (this.pairs >= 2 && (this.l16[1] >= major || this.l16[2] >= major)) {
      const ch = this.l16[2] >= major ? 2 : 1;
      const rate = rateHz ? snapRate(rateHz) ?? Math.round(rateHz) : 48000;
      codec = { encoding: 'L16', clockRate: rate, channels: ch, how: 'L16 by payload size and rate' };
    } else if (this.pairs >= 2 && this.opus >= major) {
      codec = { encoding: 'opus', clockRate: 48000, channels: null, how: 'Opus TOC' };
    } else if (rateHz) {
      codec = { encoding: 'unknown', clockRate: snapRate(rateHz) ?? Math.round(rateHz), channels: null, how: 'timestamp rate' };
    } else {
      codec = { encoding: 'unknown', clockRate: 48000, channels: null, how: 'assumed' };
    }
    this.codec = codec;
    this.stats = this.newStats(codec);
    this.sniffPrev = null;
    const a = this.counter.scratch;
    for (const h of held) {
      a.arrivalNs = h.arrivalNs; a.sequence = h.sequence; a.timestamp = h.timestamp; a.ssrc = this.ssrc;
      a.payloadType = h.payloadType; a.marker = h.marker; a.payloadBytes = h.payloadBytes;
      this.measure(a, this.counter.msOf(h.arrivalNs));
    }
  }

  estimatedRateHz(s: StreamStats): number | null {
    if (!this.codec) return null;
    if (s.driftPpm !== null) return this.codec.clockRate * (1 + s.driftPpm / 1e6);
    const span = (this.atMaxMs - this.t0Ms) / 1000;
    return span > 0.2 && this.maxExt > 0 ? this.maxExt / span : null;
  }

  delaySpreadMs(): number | null {
    if (this.histN < 20) return null;
    let min = -1;
    let acc = 0;
    const want = Math.floor(this.histN * 0.95) + 1;
    for (let i = 0; i < HIST_BINS; i++) {
      const c = this.hist[i];
      if (!c) continue;
      if (min < 0) min = i;
      acc += c;
      if (acc >= want) return (i - min) * HIST_BIN_MS;
    }
    return null;
  }

  packetMs(): number | null {
    return this.stepTs > 0 && this.codec ? (this.stepTs / this.codec.clockRate) * 1000 : null;
  }
}

class SenderState {
  datagrams = 0;
  bytes = 0;
  rtp = 0;
  rtcp = 0;
  malformed = 0;
  readonly malformedBy = new Uint32Array(7);
  notRtp = 0;
  unconfirmed = 0;
  firstNs: bigint;
  lastNs: bigint;
  readonly streams = new Map<number, Stream>();
  last: Stream | null = null;
  readonly candidates: Candidate[] = [];
  // content analysis of datagrams that are not (yet) in a stream
  nonStream = 0;
  nonStreamBytes = 0;
  nonStreamFirstNs: bigint | null = null;
  nonStreamLastNs: bigint | null = null;
  nonStreamFirstBytes = 0;
  sampled = 0;
  raw = 0;
  silent = 0;
  le = 0;
  be = 0;
  ch1 = 0;
  ch2 = 0;
  identical = 0;
  unknown = 0;
  minLen = Infinity;
  maxLen = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    now: bigint,
  ) {
    this.firstNs = now;
    this.lastNs = now;
  }
}

/**
 * Relative standard error of a measured timestamp rate (and of the drift, x 1e6 for ppm): a line
 * fitted through n arrivals over T seconds whose delays scatter by about the RFC 3550 jitter J has a
 * slope error of about J / (T sqrt(n / 12)); before the fit is ready (2 s), the end-point estimate
 * is off by up to the delay spread / T.
 */
export function rateUncertainty(s: StreamStats, delaySpreadMs: number | null): number {
  if (!(s.durationSec > 0) || s.packets < 3) return Infinity;
  if (s.driftPpm !== null) return Math.max(1e-6, s.jitterMs / 1000) / (s.durationSec * Math.sqrt(s.packets / 12));
  return Math.max(0.001, (delaySpreadMs ?? 4 * s.jitterMs) / 1000) / s.durationSec;
}

/** Strip the IPv4-mapped prefix, so ::ffff:127.0.0.1 and 127.0.0.1 are one sender. */
export function normalizeAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class PacketCounter {
  readonly probeNs: number;
  /** reused RtpArrival (RtpStreamStats copies what it keeps) */
  readonly scratch: RtpArrival = { arrivalNs: 0n, sequence: 0, timestamp: 0, ssrc: 0, payloadType: 0, marker: false, payloadBytes: 0 };
  private readonly h: RtpHeaderFields = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadBytes: 0 };
  private readonly senders = new Map<string, SenderState>();
  private lastSender: SenderState | null = null;
  private lastAddress = '';
  private lastPort = -1;
  private readonly maxSenders: number;
  private readonly maxStreams: number;
  private readonly source: string | undefined;
  private readonly pts: Record<number, { encoding: string; clockRate: number; channels?: number }>;
  private baseNs: bigint | null = null;
  private datagrams = 0;
  private bytes = 0;
  private firstNs: bigint | null = null;
  private lastNs: bigint | null = null;
  private readonly ignored = new Map<string, number>();
  private overLimit = 0;
  private readonly rtcpPort = { datagrams: 0, valid: 0, senders: new Set<string>() };
  /** SSRC -> sender reports seen (capped) */
  private readonly srBySsrc = new Map<number, number>();
  private readonly byeSsrcs = new Set<number>();

  constructor(o: PacketCounterOptions = {}) {
    this.probeNs = (o.probeSec ?? 1) * 1e9;
    this.maxSenders = o.maxSenders ?? 64;
    this.maxStreams = o.maxStreams ?? 16;
    this.source = o.source === undefined ? undefined : normalizeAddress(o.source);
    this.pts = o.payloadTypes ?? {};
  }

  /** ms since the first datagram (the time base of the delay histograms) */
  msOf(ns: bigint): number {
    return Number(ns - this.baseNs!) / 1e6;
  }

  get total(): number {
    return this.datagrams;
  }

  /** One datagram received on the RTP port. */
  add(buf: Uint8Array, rinfo: { address: string; port: number }, arrivalNs: bigint): void {
    let s: SenderState | null | undefined;
    if (rinfo.port === this.lastPort && rinfo.address === this.lastAddress) {
      s = this.lastSender;
    } else {
      s = this.lookup(rinfo.address, rinfo.port, arrivalNs);
      if (s === undefined) return; // ignored (source filter)
      this.lastSender = s;
      this.lastAddress = rinfo.address;
      this.lastPort = rinfo.port;
    }
    if (s === null) {
      // counted but over the sender limit
      if (this.baseNs === null) { this.baseNs = arrivalNs; this.firstNs = arrivalNs; }
      this.lastNs = arrivalNs;
      this.datagrams++;
      this.bytes += buf.length;
      this.overLimit++;
      return;
    }
    if (this.baseNs === null) { this.baseNs = arrivalNs; this.firstNs = arrivalNs; }
    this.lastNs = arrivalNs;
    this.datagrams++;
    this.bytes += buf.length;
    s.datagrams++;
    s.bytes += buf.length;
    s.lastNs = arrivalNs;
    const h = this.h;
    const err = readRtpHeader(buf, h);
    if (err === -1) {
      let st = s.last;
      if (st === null || st.ssrc !== h.ssrc) {
        st = s.streams.get(h.ssrc) ?? null;
        if (st) s.last = st;
      }
      if (st) {
        s.rtp++;
        const a = this.scratch;
        a.arrivalNs = arrivalNs; a.sequence = h.sequence; a.timestamp = h.timestamp; a.ssrc = h.ssrc;
        a.payloadType = h.payloadType; a.marker = h.marker; a.payloadBytes = h.payloadBytes;
        const off = h.payloadOffset;
        st.add(a, Number(arrivalNs - this.baseNs!) / 1e6, buf[off], h.payloadBytes > 1 ? buf[off + 1] : 0);
        return;
      }
      this.candidate(s, buf, arrivalNs);
      return;
    }
    if (err === 2 || (buf.length >= 4 && buf[0] >> 6 === 2 && buf[1] >= 192 && buf[1] <= 223)) {
      if (this.rtcp(buf)) {
        s.rtcp++;
        return;
      }
    }
    if (err >= 2) {
      // 'rtcp': RTCP packet type but not valid RTCP
      s.malformed++;
      s.malformedBy[err]++;
    } else if (err === 0 && buf.length >= 1 && buf[0] >> 6 === 2) {
      s.malformed++;
      s.malformedBy[0]++;
    } else {
      s.notRtp++;
    }
    this.nonStream(s, buf, arrivalNs);
  }

  /** One datagram received on the RTCP port (RTP port + 1). */
  addRtcpPort(buf: Uint8Array, rinfo: { address: string; port: number }): void {
    if (this.source !== undefined && normalizeAddress(rinfo.address) !== this.source) return;
    this.rtcpPort.datagrams++;
    if (this.rtcpPort.senders.size < 16) this.rtcpPort.senders.add(`${fmtAddr(normalizeAddress(rinfo.address))}:${rinfo.port}`);
    if (this.rtcp(buf)) this.rtcpPort.valid++;
  }

  private rtcp(buf: Uint8Array): boolean {
    // cheap validity walk (rtcpSummary allocates arrays; RTCP is a few packets a second)
    let off = 0;
    let n = 0;
    while (off + 4 <= buf.length) {
      if (buf[off] >> 6 !== 2) return false;
      const pt = buf[off + 1];
      const len = ((buf[off + 2] << 8) | buf[off + 3]) * 4 + 4;
      if (off + len > buf.length) return false;
      if (len >= 8) {
        const ssrc = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
        if (pt === 200 && this.srBySsrc.size < 256) this.srBySsrc.set(ssrc, (this.srBySsrc.get(ssrc) ?? 0) + 1);
        if (pt === 203 && (buf[off] & 0x1f) > 0 && this.byeSsrcs.size < 256) this.byeSsrcs.add(ssrc);
      }
      off += len;
      n++;
    }
    return off === buf.length && n > 0;
  }

  private lookup(address: string, port: number, now: bigint): SenderState | null | undefined {
    const addr = normalizeAddress(address);
    if (this.source !== undefined && addr !== this.source) {
      if (this.ignored.size < 64 || this.ignored.has(addr)) this.ignored.set(addr, (this.ignored.get(addr) ?? 0) + 1);
      return undefined;
    }
    const key = `${addr}|${port}`;
    let s = this.senders.get(key);
    if (!s) {
      if (this.senders.size >= this.maxSenders) return null;
      s = new SenderState(addr, port, now);
      this.senders.set(key, s);
    }
    return s;
  }

  private candidate(s: SenderState, buf: Uint8Array, now: bigint): void {
    const h = this.h;
    const off = h.payloadOffset;
    const held: Held = {
      arrivalNs: now, sequence: h.sequence, timestamp: h.timestamp, payloadType: h.payloadType, marker: h.marker,
      payloadBytes: h.payloadBytes, toc: buf[off], toc1: h.payloadBytes > 1 ? buf[off + 1] : 0,
    };
    let c = s.candidates.find((x) => x.ssrc === h.ssrc);
    if (c) {
      const d = (h.sequence - c.lastSeq) & 0xffff;
      const near = d !== 0 && (d <= 100 || d >= 65536 - 100);
      if (near && c.payloadType === h.payloadType && s.streams.size < this.maxStreams) {
        s.candidates.splice(s.candidates.indexOf(c), 1);
        const pt = c.payloadType;
        const st = new Stream(s, h.ssrc, pt, this.codecFor(pt), this);
        s.streams.set(h.ssrc, st);
        s.last = st;
        const a = this.scratch;
        for (const x of [...c.held, held]) {
          s.rtp++;
          a.arrivalNs = x.arrivalNs; a.sequence = x.sequence; a.timestamp = x.timestamp; a.ssrc = h.ssrc;
          a.payloadType = x.payloadType; a.marker = x.marker; a.payloadBytes = x.payloadBytes;
          st.add(a, this.msOf(x.arrivalNs), x.toc, x.toc1);
        }
        return;
      }
      if (s.streams.size >= this.maxStreams) this.overLimit++;
      c.lastSeq = h.sequence;
      c.lastNs = now;
      c.held.push(held);
      if (c.held.length > MAX_HELD) {
        c.held.shift();
        s.unconfirmed++;
      }
    } else {
      if (s.candidates.length >= MAX_CANDIDATES) {
        // give up the least recently seen candidate
        let oldest = 0;
        for (let i = 1; i < s.candidates.length; i++) if (s.candidates[i].lastNs < s.candidates[oldest].lastNs) oldest = i;
        s.unconfirmed += s.candidates[oldest].held.length;
        s.candidates.splice(oldest, 1);
      }
      c = { ssrc: h.ssrc, payloadType: h.payloadType, lastSeq: h.sequence, held: [held], lastNs: now };
      s.candidates.push(c);
    }
    this.nonStream(s, buf, now);
  }

  private nonStream(s: SenderState, buf: Uint8Array, now: bigint): void {
    const n = ++s.nonStream;
    if (s.nonStreamFirstNs === null) { s.nonStreamFirstNs = now; s.nonStreamFirstBytes = buf.length; }
    s.nonStreamLastNs = now;
    s.nonStreamBytes += buf.length;
    if (buf.length < s.minLen) s.minLen = buf.length;
    if (buf.length > s.maxLen) s.maxLen = buf.length;
    if (n > 16 && (n & 31) !== 0) return;
    s.sampled++;
    const c = classifyDatagram(buf);
    if (c.detail.kind === 'raw-pcm') {
      s.raw++;
      const p = c.detail.pcm;
      if (p.silent) s.silent++;
      if (p.byteOrder === 's16le') s.le++;
      else if (p.byteOrder === 's16be') s.be++;
      if (p.channels === 1) s.ch1++;
      else if (p.channels === 2) s.ch2++;
      if (p.identicalChannels) s.identical++;
    } else if (c.kind === 'unknown') {
      s.unknown++;
    }
  }

  private codecFor(pt: number): CodecGuess | null {
    const sdp = this.pts[pt];
    if (sdp) return { encoding: sdp.encoding, clockRate: sdp.clockRate, channels: sdp.channels ?? null, how: 'sdp' };
    const st = STATIC_PAYLOAD_TYPES[pt];
    if (st) return { ...st, how: 'static payload type' };
    return null;
  }

  /** Everything so far. Streams still probing are decided now (with what they have). */
  snapshot(o: { finish?: boolean } = {}): PacketSnapshot {
    const senders: SenderSnapshot[] = [];
    const streams: StreamSnapshot[] = [];
    for (const s of this.senders.values()) {
      for (const st of s.streams.values()) {
        if (o.finish && st.pending) st.decide();
        const probing = st.pending !== null;
        let stats: StreamStats;
        if (probing) {
          // a provisional view of the held packets at 48 kHz; replaced when the probe ends
          const tmp = new RtpStreamStats(48000);
          const a = { ...this.scratch };
          for (const h of st.pending!) tmp.update({ ...a, arrivalNs: h.arrivalNs, sequence: h.sequence, timestamp: h.timestamp, ssrc: st.ssrc, payloadType: h.payloadType, marker: h.marker, payloadBytes: h.payloadBytes });
          stats = tmp.snapshot();
        } else {
          stats = st.stats!.snapshot();
        }
        const sr = this.srBySsrc.get(st.ssrc) ?? 0;
        streams.push({
          sender: `${fmtAddr(s.address)}:${s.port}`,
          address: s.address,
          port: s.port,
          ssrc: st.ssrc,
          ssrcHex: st.ssrcHex,
          payloadType: st.payloadType,
          otherPayloadTypes: [...st.otherPts],
          codec: st.codec ?? { encoding: 'unknown', clockRate: 48000, channels: null, how: 'assumed' },
          probing,
          estimatedRateHz: probing ? null : st.estimatedRateHz(stats),
          packetMs: probing ? null : st.packetMs(),
          delaySpreadMs: probing ? null : st.delaySpreadMs(),
          rtcpSenderReports: sr,
          bye: this.byeSsrcs.has(st.ssrc),
          stats,
        });
      }
      const unconfirmedHeld = s.candidates.reduce((n, c) => n + c.held.length, 0);
      const unconfirmed = s.unconfirmed + unconfirmedHeld;
      const nonRtp = s.datagrams - s.rtp - s.rtcp;
      let rawPcm: RawPcmSummary | null = null;
      if (s.raw > 0 && s.raw * 2 >= s.sampled) {
        const span = s.nonStreamFirstNs !== null && s.nonStreamLastNs !== null ? Number(s.nonStreamLastNs - s.nonStreamFirstNs) / 1e9 : 0;
        const bytesPerSec = span > 0.2 ? (s.nonStreamBytes - s.nonStreamFirstBytes) / span : null;
        const byteOrder = s.le > s.be * 2 ? 's16le' : s.be > s.le * 2 ? 's16be' : 'unknown';
        const channels = s.ch2 > s.ch1 * 2 ? 2 : s.ch1 > s.ch2 * 2 ? 1 : null;
        rawPcm = {
          datagrams: s.nonStream, sampled: s.sampled, audioLike: s.raw, silent: s.silent, byteOrder, le: s.le, be: s.be, channels,
          identicalChannels: s.identical > 0 && s.identical * 2 >= s.raw - s.silent,
          bytesPerSec,
          rateGuesses: bytesPerSec ? rawPcmRateGuesses(bytesPerSec, channels) : [],
          datagramBytes: { min: s.minLen, max: s.maxLen },
        };
      }
      let kind: SenderSnapshot['kind'];
      if (s.rtp > 0 && s.rtp * 2 >= s.datagrams) kind = 'rtp';
      else if (rawPcm && nonRtp * 2 >= s.datagrams) kind = 'raw-pcm';
      else if (s.rtcp === s.datagrams) kind = 'rtcp-only';
      else if (s.rtp > 0 || s.rtcp > 0) kind = 'mixed';
      else kind = 'unknown';
      const malformedBy: SenderSnapshot['malformedBy'] = {};
      RTP_HEADER_ERRORS.forEach((e, i) => { if (s.malformedBy[i]) malformedBy[e] = s.malformedBy[i]; });
      senders.push({
        address: s.address, port: s.port, datagrams: s.datagrams, bytes: s.bytes, rtp: s.rtp, rtcp: s.rtcp,
        malformed: s.malformed, malformedBy, notRtp: s.notRtp, unconfirmed, firstArrivalNs: s.firstNs, lastArrivalNs: s.lastNs,
        kind, rawPcm, unknownSampled: s.unknown,
      });
    }
    streams.sort((a, b) => b.stats.packets - a.stats.packets);
    senders.sort((a, b) => b.datagrams - a.datagrams);
    return {
      datagrams: this.datagrams,
      bytes: this.bytes,
      firstArrivalNs: this.firstNs,
      lastArrivalNs: this.lastNs,
      senders,
      streams,
      ignored: Object.fromEntries(this.ignored),
      overLimit: this.overLimit,
      rtcpPort: { datagrams: this.rtcpPort.datagrams, valid: this.rtcpPort.valid, senders: [...this.rtcpPort.senders] },
    };
  }
}

/** [v6]:port style for IPv6 addresses. */
export function fmtAddr(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}
