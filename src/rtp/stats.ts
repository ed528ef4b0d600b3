/**
 * RTP receive statistics for one stream (one SSRC): THE implementation shared by `rtpcast play`
 * and `rtpcast diag packets`. Pure: no sockets, no timers; the caller passes each packet's arrival
 * time (bigint ns from a monotonic clock) and keeps one instance per SSRC. Memory is bounded
 * (running sums, one bitmap window), so it can run for days.
 *
 * Semantics (what every number means):
 * - Sequence validation is RFC 3550 A.1 (`init_seq`/`update_seq`): a source is valid after
 *   `probation` (MIN_SEQUENTIAL, 2) packets in sequence; `maxDropout` (3000) and `maxMisorder`
 *   (100) split the 16-bit sequence space into in-order (ahead by < maxDropout), late (behind by
 *   < maxMisorder) and bad (everything else); two sequential bad packets mean the sender restarted
 *   (resync). Sequence wraps are counted in `cycles`.
 *   Deviation from A.1, on purpose: the packets that proved the source valid (the probation run)
 *   and the first packet after a restart are COUNTED once validation succeeds, instead of being
 *   dropped from the statistics. So a clean 1000-packet stream reports expected = packets = 1000.
 * - Loss is RFC 3550 A.3: `expected = extended_max - base_seq + 1`, `lost = expected - packets`,
 *   summed over sequence epochs (a resync starts a new epoch, so a sender restart's jump in sequence
 *   numbers is not loss). `packets` counts every valid arrival INCLUDING duplicates, exactly like
 *   A.3's `received`, so `lost` goes negative when duplicates outnumber losses (reported as
 *   computed; `lostPct` is clamped at 0). `packets - duplicates` is the number of distinct packets.
 * - Duplicate: a valid packet whose sequence number was already received (tracked in a bitmap of
 *   the last >= 1024 sequence numbers). It counts in `packets` and `duplicates` and nothing else
 *   (no bytes, markers, timing, arrival deltas).
 * - Reordered: a packet that arrived after a higher sequence number (late by < maxMisorder) and is
 *   not a duplicate. It counts everywhere (bytes, jitter, ...), in arrival order.
 * - Jitter is RFC 3550 A.8 in timestamp units, `J += (|D| - J)/16`, over non-duplicate packets in
 *   arrival order; `maxJitterMs` is the largest value J took (Wireshark's "max jitter").
 * - Skew: deviation of an arrival from the ideal timeline `a0 + (ts - ts0)/clockRate` anchored at
 *   the epoch's first packet; `maxSkewMs` is the largest |deviation|.
 * - Drift: least-squares line of arrival seconds against media seconds (unwrapped timestamp /
 *   clockRate) over the epoch; with slope s = d(arrival)/d(media), `driftPpm = (1/s - 1) * 1e6` =
 *   how much faster than real time (by OUR clock) the sender produces media. POSITIVE = the sender's
 *   media clock runs fast (media seconds advance faster than arrival seconds: our buffer fills);
 *   negative = it runs slow (our buffer drains). Arrival is the fitted variable because only it
 *   carries jitter, so the fit is unbiased. null until the epoch spans >= 2 s of media time.
 *   Reset on resync (a new sender has a new clock).
 * - Burst/gap: RFC 3611 4.7.2 with Gmin = 16 over the received/lost pattern in sequence order
 *   (see BurstGapTracker). Only network loss is known here (no jitter-buffer discards). A sequence
 *   number is classified once it can no longer arrive (maxMisorder behind the highest); a snapshot
 *   classifies the still-open tail on a copy, assuming Gmin received packets follow (RFC 3611).
 */
import { estimateQuality, QualityCodec, QualityEstimate } from './quality';

export interface RtpArrival {
  /** Arrival time, ns, from a monotonic clock. */
  arrivalNs: bigint;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payloadType: number;
  marker: boolean;
  payloadBytes: number;
}

export type ArrivalVerdict = 'ok' | 'probation' | 'duplicate' | 'reordered' | 'resync' | 'bad-sequence';

export interface BurstGapStats {
  /** RFC 3611 Gmin: a loss-free run this long ends a burst. */
  gmin: number;
  /** Fraction (0-1) of the packets in burst periods that were lost. */
  burstDensity: number;
  /** Fraction (0-1) of the packets in gap periods that were lost. */
  gapDensity: number;
  /** Mean burst duration (packets x packet time), ms; 0 without bursts. */
  burstDurationMs: number;
  /** Mean gap duration, ms (the whole stream when there is no burst). */
  gapDurationMs: number;
  bursts: number;
  /** G.107 BurstR = 1/(p+q) of the 2-state Markov (Gilbert) loss model: 1 = random, > 1 = bursty. */
  burstR: number;
}

export interface StreamStats {
  ssrc: number | null;
  payloadType: number | null;
  clockRate: number;
  /** Valid packets received, duplicates included (RFC 3550 A.3 `received`). */
  packets: number;
  expected: number;
  /** expected - packets; negative when duplicates outnumber losses. */
  lost: number;
  /** max(0, lost) / expected * 100. */
  lostPct: number;
  duplicates: number;
  reordered: number;
  resyncs: number;
  /** Sequence-number wraps in the current epoch. */
  cycles: number;
  /** RFC 3550 extended highest sequence number (cycles << 16 | max_seq) of the current epoch. */
  extendedMaxSeq: number | null;
  jitterTs: number;
  jitterMs: number;
  maxJitterMs: number;
  arrivalDeltaMs: { min: number | null; mean: number | null; max: number | null };
  maxSkewMs: number;
  driftPpm: number | null;
  /** Payload bits received after the first packet / (last - first arrival). */
  bitrateKbps: number;
  markers: number;
  firstArrivalNs: bigint | null;
  lastArrivalNs: bigint | null;
  durationSec: number;
  burst: BurstGapStats;
  /** E-model estimate from the unique loss, BurstR and jitter (see quality.ts). */
  quality: QualityEstimate;
}

export interface RtpStreamStatsOptions {
  /** RFC 3550 MIN_SEQUENTIAL. Default 2. */
  probation?: number;
  /** RFC 3550 MAX_DROPOUT. Default 3000. */
  maxDropout?: number;
  /** RFC 3550 MAX_MISORDER. Default 100. */
  maxMisorder?: number;
  /** Codec for the quality estimate. Default: 'l16' for static PT 10/11, else 'other'. */
  codec?: QualityCodec;
}

const RTP_SEQ_MOD = 65536;
/** RFC 3611 4.7.2: "A Gmin value of 16 is RECOMMENDED". */
export const GMIN = 16;
/** Media time an epoch must span before drift is reported. */
const MIN_DRIFT_SPAN_SEC = 2;
const MIN_WINDOW = 1024;

/**
 * RFC 3611 4.7.2 burst/gap classification of a received(1)/lost(0) pattern, one slot per sequence
 * number. Losses separated by fewer than Gmin received packets form a cluster. A cluster with two
 * or more losses is a BURST, spanning its first to its last loss (the received packets in between
 * included). Everything else is GAP, including an isolated loss (one with >= Gmin received on both
 * sides: RFC 3611's "any lost packets within the gap must be preceded and followed by at least Gmin
 * packets that were received"). The stream is assumed to be preceded and followed by Gmin received
 * packets. Gap periods are the maximal runs of gap slots (before, between and after bursts).
 * It also counts the loss transitions for the Gilbert model's p and q (G.107 BurstR).
 */
class BurstGapTracker {
  burstSlots = 0;
  burstLost = 0;
  bursts = 0;
  gapSlots = 0;
  gapLost = 0;
  gapRuns = 0;
  /** Losses in the open cluster (0 = none open). */
  private clusterLosses = 0;
  /** Slots from the open cluster's first loss to its last loss. */
  private clusterSpan = 0;
  /** Received slots since the open cluster's last loss. */
  private recvRun = 0;
  /** Slots of the gap run not yet closed. */
  private gapOpen = 0;
  private prev = -1; // -1 none, 0 lost, 1 received
  private rr = 0;
  private rl = 0;
  private lr = 0;
  private ll = 0;

  constructor(private readonly gmin: number) {}

  slot(received: boolean): void {
    if (this.prev === 1) { if (received) this.rr++; else this.rl++; }
    else if (this.prev === 0) { if (received) this.lr++; else this.ll++; }
    this.prev = received ? 1 : 0;
    if (received) {
      if (this.clusterLosses === 0) { this.gapOpen++; return; }
      if (++this.recvRun >= this.gmin) this.closeCluster();
    } else if (this.clusterLosses === 0) {
      this.clusterLosses = 1;
      this.clusterSpan = 1;
      this.recvRun = 0;
    } else {
      this.clusterSpan += this.recvRun + 1;
      this.clusterLosses++;
      this.recvRun = 0;
    }
  }

  private closeCluster(): void {
    if (this.clusterLosses >= 2) {
      this.bursts++;
      this.burstSlots += this.clusterSpan;
      this.burstLost += this.clusterLosses;
      if (this.gapOpen > 0) { this.gapRuns++; this.gapSlots += this.gapOpen; }
      this.gapOpen = this.recvRun;
    } else {
      this.gapLost++;
      this.gapOpen += this.clusterSpan + this.recvRun;
    }
    this.clusterLosses = 0;
    this.clusterSpan = 0;
    this.recvRun = 0;
  }

  clone(): BurstGapTracker {
    return Object.assign(new BurstGapTracker(this.gmin), this);
  }

  /** Close everything (destructive: call on a clone). */
  finish(ptimeMs: number): BurstGapStats {
    if (this.clusterLosses > 0) this.closeCluster();
    if (this.gapOpen > 0) { this.gapRuns++; this.gapSlots += this.gapOpen; this.gapOpen = 0; }
    const p = this.rr + this.rl > 0 ? this.rl / (this.rr + this.rl) : 0;
    const q = this.lr + this.ll > 0 ? this.lr / (this.lr + this.ll) : 0;
    const lossSeen = this.rl + this.ll > 0 && this.lr + this.ll > 0;
    return {
      gmin: this.gmin,
      burstDensity: this.burstSlots > 0 ? this.burstLost / this.burstSlots : 0,
      gapDensity: this.gapSlots > 0 ? this.gapLost / this.gapSlots : 0,
      burstDurationMs: this.bursts > 0 ? (this.burstSlots / this.bursts) * ptimeMs : 0,
      gapDurationMs: this.gapRuns > 0 ? (this.gapSlots / this.gapRuns) * ptimeMs : 0,
      bursts: this.bursts,
      burstR: lossSeen && p + q > 0 ? 1 / (p + q) : 1,
    };
  }

  /** Lost fraction over all classified slots (distinct packets; duplicates cannot hide loss). Call after finish(). */
  lossFraction(): number {
    const slots = this.burstSlots + this.gapSlots;
    return slots > 0 ? (this.burstLost + this.gapLost) / slots : 0;
  }
}

export class RtpStreamStats {
  readonly clockRate: number;
  private readonly probationLen: number;
  private readonly maxDropout: number;
  private readonly maxMisorder: number;
  private readonly codec: QualityCodec | undefined;
  /** Received-bit per extended sequence number, indexed modulo `win` (a power of two). */
  private readonly bits: Uint32Array;
  private readonly win: number;

  // RFC 3550 A.1 state. Extended sequence numbers are offset by 2^16 so late ones stay >= 0.
  private started = false;
  private probation = 0;
  private pending: RtpArrival[] = [];
  private maxSeq = 0;
  private badSeq = RTP_SEQ_MOD + 1;
  private badArrival: RtpArrival | null = null;
  private epochActive = false;
  private base = 0;
  private extMax = 0;
  private received = 0;
  private priorExpected = 0;
  private priorReceived = 0;
  private duplicates = 0;
  private reordered = 0;
  private resyncs = 0;

  // RFC 3611 burst/gap
  private burst = new BurstGapTracker(GMIN);
  private nextClassify = 0;

  // per packet
  private ssrc: number | null = null;
  private payloadType: number | null = null;
  private markers = 0;
  private bytes = 0;
  private firstBytes = 0;
  private firstArrivalNs: bigint | null = null;
  private lastArrivalNs: bigint | null = null;
  private deltas = 0;
  private deltaMinMs = Infinity;
  private deltaMaxMs = -Infinity;

  // timing, restarted with each epoch
  private tsInit = false;
  private lastTs = 0;
  private extTs = 0;
  private tsAtMax = 0;
  private anchorNs = 0;
  private prevTransit: number | null = null;
  private lastPtimeSec = 0;
  private jitter = 0;
  private maxJitter = 0;
  private maxSkewSec = 0;
  // drift: Welford running means / co-moments of x = media s, y = arrival s - media s
  private n = 0;
  private mx = 0;
  private my = 0;
  private cxx = 0;
  private cxy = 0;
  private xMin = Infinity;
  private xMax = -Infinity;

  constructor(clockRate: number, opts: RtpStreamStatsOptions = {}) {
    if (!(Number.isFinite(clockRate) && clockRate > 0)) throw new RangeError(`clock rate must be > 0, got ${clockRate}`);
    const probation = Math.floor(opts.probation ?? 2);
    const maxDropout = Math.floor(opts.maxDropout ?? 3000);
    const maxMisorder = Math.floor(opts.maxMisorder ?? 100);
    if (!(maxDropout >= 1 && maxMisorder >= 1 && maxDropout + maxMisorder <= RTP_SEQ_MOD)) {
      throw new RangeError(`need maxDropout >= 1, maxMisorder >= 1, maxDropout + maxMisorder <= 65536 (got ${maxDropout}, ${maxMisorder})`);
    }
    this.clockRate = clockRate;
    this.probationLen = Math.max(1, Number.isFinite(probation) ? probation : 2);
    this.maxDropout = maxDropout;
    this.maxMisorder = maxMisorder;
    this.codec = opts.codec;
    let w = MIN_WINDOW;
    while (w < maxMisorder + 1) w *= 2;
    this.win = w;
    this.bits = new Uint32Array(w / 32);
  }

  /** Account one arrival; returns what A.1 made of it. */
  update(a: RtpArrival): ArrivalVerdict {
    const seq = a.sequence & 0xffff;
    if (!this.started) {
      this.started = true;
      this.probation = this.probationLen;
      this.maxSeq = (seq - 1) & 0xffff;
    }
    if (this.probation > 0) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        this.pending.push({ ...a }); // copies: a caller may reuse its packet object
        if (this.probation === 0) {
          const run = this.pending;
          this.pending = [];
          this.startEpoch(run[0].sequence & 0xffff);
          for (const p of run) this.accept(p);
          return 'ok';
        }
      } else {
        this.probation = this.probationLen - 1;
        this.maxSeq = seq;
        this.pending = [{ ...a }];
      }
      return 'probation';
    }
    return this.accept(a);
  }

  /** A.1 `update_seq` for a validated source. */
  private accept(a: RtpArrival): ArrivalVerdict {
    const seq = a.sequence & 0xffff;
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (udelta < this.maxDropout) {
      this.received++;
      if (udelta === 0) { this.duplicates++; return 'duplicate'; }
      this.advance(this.extMax + udelta);
      this.maxSeq = seq;
      this.measure(a);
      this.tsAtMax = this.extTs;
      return 'ok';
    }
    if (udelta <= RTP_SEQ_MOD - this.maxMisorder) {
      if (seq === this.badSeq && this.badArrival !== null) {
        // two sequential packets far from the old sequence: the sender restarted
        const first = this.badArrival;
        this.resyncs++;
        this.startEpoch(first.sequence & 0xffff);
        this.accept(first);
        this.accept(a);
        return 'resync';
      }
      this.badSeq = (seq + 1) & 0xffff;
      this.badArrival = { ...a };
      return 'bad-sequence';
    }
    // behind the highest by less than maxMisorder
    this.received++;
    const ext = this.extMax - (RTP_SEQ_MOD - udelta);
    if (this.getBit(ext)) { this.duplicates++; return 'duplicate'; }
    this.setBit(ext);
    this.reordered++;
    this.measure(a);
    return 'reordered';
  }

  /** A.1 `init_seq`, keeping the totals of the epoch it ends. */
  private startEpoch(seq: number): void {
    if (this.epochActive) {
      this.classifyUpTo(this.extMax);
      const p = this.epochPtimeSec();
      if (p > 0) this.lastPtimeSec = p;
      this.priorExpected += this.extMax - this.base + 1;
      this.priorReceived += this.received;
    }
    this.epochActive = true;
    this.base = seq + RTP_SEQ_MOD;
    this.extMax = this.base - 1;
    this.maxSeq = (seq - 1) & 0xffff;
    this.received = 0;
    this.bits.fill(0);
    this.nextClassify = this.base;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.badArrival = null;
    this.tsInit = false;
    this.tsAtMax = 0;
    this.prevTransit = null;
    this.n = this.mx = this.my = this.cxx = this.cxy = 0;
    this.xMin = Infinity;
    this.xMax = -Infinity;
  }

  private advance(ext: number): void {
    this.classifyUpTo(ext - this.maxMisorder);
    if (ext - this.extMax >= this.win) this.bits.fill(0);
    else for (let s = this.extMax + 1; s <= ext; s++) this.clearBit(s);
    this.extMax = ext;
    this.setBit(ext);
  }

  /** Feed sequence numbers up to `limit` (they can no longer arrive) to the burst tracker. */
  private classifyUpTo(limit: number): void {
    for (; this.nextClassify <= limit; this.nextClassify++) {
      const s = this.nextClassify;
      this.burst.slot(s <= this.extMax && this.getBit(s));
    }
  }

  private measure(a: RtpArrival): void {
    this.ssrc = a.ssrc >>> 0;
    this.payloadType = a.payloadType;
    if (a.marker) this.markers++;
    this.bytes += a.payloadBytes;
    const t = a.arrivalNs;
    if (this.firstArrivalNs === null) {
      this.firstArrivalNs = t;
      this.firstBytes = a.payloadBytes;
    } else if (this.lastArrivalNs !== null) {
      const d = Number(t - this.lastArrivalNs) / 1e6;
      this.deltas++;
      if (d < this.deltaMinMs) this.deltaMinMs = d;
      if (d > this.deltaMaxMs) this.deltaMaxMs = d;
    }
    this.lastArrivalNs = t;

    const relNs = Number(t - this.firstArrivalNs);
    const ts = a.timestamp >>> 0;
    if (!this.tsInit) {
      this.tsInit = true;
      this.lastTs = ts;
      this.extTs = 0;
      this.anchorNs = relNs;
    } else {
      this.extTs += (ts - this.lastTs) | 0; // signed 32-bit difference unwraps the timestamp
      this.lastTs = ts;
    }
    // RFC 3550 A.8: transit = arrival (timestamp units) - timestamp, both relative to the anchor
    const transit = ((relNs - this.anchorNs) * this.clockRate) / 1e9 - this.extTs;
    if (this.prevTransit !== null) {
      const d = Math.abs(transit - this.prevTransit);
      this.jitter += (d - this.jitter) / 16;
      if (this.jitter > this.maxJitter) this.maxJitter = this.jitter;
    }
    this.prevTransit = transit;

    const skew = transit / this.clockRate; // arrival - ideal arrival, s
    if (Math.abs(skew) > this.maxSkewSec) this.maxSkewSec = Math.abs(skew);
    const x = this.extTs / this.clockRate;
    this.n++;
    const dx = x - this.mx;
    this.mx += dx / this.n;
    this.my += (skew - this.my) / this.n;
    this.cxx += dx * (x - this.mx);
    this.cxy += dx * (skew - this.my);
    if (x < this.xMin) this.xMin = x;
    if (x > this.xMax) this.xMax = x;
  }

  private epochPtimeSec(): number {
    const span = this.extMax - this.base;
    return span > 0 && this.tsAtMax > 0 ? this.tsAtMax / span / this.clockRate : 0;
  }

  private getBit(s: number): boolean {
    const i = s % this.win;
    return (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }

  private setBit(s: number): void {
    const i = s % this.win;
    this.bits[i >>> 5] |= 1 << (i & 31);
  }

  private clearBit(s: number): void {
    const i = s % this.win;
    this.bits[i >>> 5] &= ~(1 << (i & 31));
  }

  /** Everything measured so far. Does not change the state. */
  snapshot(): StreamStats {
    const expected = this.epochActive ? this.priorExpected + this.extMax - this.base + 1 : 0;
    const packets = this.priorReceived + this.received;
    const lost = expected - packets;
    const tracker = this.burst.clone();
    if (this.epochActive) for (let s = this.nextClassify; s <= this.extMax; s++) tracker.slot(this.getBit(s));
    const ptimeSec = this.epochPtimeSec() || this.lastPtimeSec;
    const burst = tracker.finish(ptimeSec * 1000);
    const uniqueLossPct = tracker.lossFraction() * 100;
    const jitterMs = (this.jitter / this.clockRate) * 1000;
    const first = this.firstArrivalNs;
    const last = this.lastArrivalNs;
    const durationSec = first !== null && last !== null ? Number(last - first) / 1e9 : 0;
    const b = this.cxx > 0 ? this.cxy / this.cxx : 0;
    const driftReady = this.n >= 3 && this.xMax - this.xMin >= MIN_DRIFT_SPAN_SEC && this.cxx > 0;
    const pt = this.payloadType;
    const codec = this.codec ?? (pt === 10 || pt === 11 ? 'l16' : 'other');
    return {
      ssrc: this.ssrc,
      payloadType: pt,
      clockRate: this.clockRate,
      packets,
      expected,
      lost,
      lostPct: expected > 0 ? (Math.max(0, lost) / expected) * 100 : 0,
      duplicates: this.duplicates,
      reordered: this.reordered,
      resyncs: this.resyncs,
      cycles: this.epochActive ? Math.floor(this.extMax / RTP_SEQ_MOD) - 1 : 0,
      extendedMaxSeq: this.epochActive ? this.extMax - RTP_SEQ_MOD : null,
      jitterTs: this.jitter,
      jitterMs,
      maxJitterMs: (this.maxJitter / this.clockRate) * 1000,
      arrivalDeltaMs: this.deltas > 0 && first !== null && last !== null
        ? { min: this.deltaMinMs, mean: Number(last - first) / 1e6 / this.deltas, max: this.deltaMaxMs }
        : { min: null, mean: null, max: null },
      maxSkewMs: this.maxSkewSec * 1000,
      driftPpm: driftReady ? (1 / (1 + b) - 1) * 1e6 : null,
      bitrateKbps: durationSec > 0 ? ((this.bytes - this.firstBytes) * 8) / durationSec / 1000 : 0,
      markers: this.markers,
      firstArrivalNs: first,
      lastArrivalNs: last,
      durationSec,
      burst,
      quality: estimateQuality({ lossPct: uniqueLossPct, burstR: burst.burstR, jitterMs, codec }),
    };
  }
}
