/**
 * A small UDP relay that impairs RTP on loopback, for tests and benchmarks on machines without
 * kernel netem. It listens on host:A (RTP) and host:A+1 (RTCP) and forwards every datagram to
 * host:B (B+1 for RTCP) after applying a seeded impairment schedule to the RTP port.
 *
 *   sender ──▶ 127.0.0.1:A ──[loss, bursts, outages, delay+jitter, reordering, duplicates]──▶ 127.0.0.1:B
 *   sender ──▶ 127.0.0.1:A+1 ──────────────[untouched, or a fixed delay]────────────────────▶ 127.0.0.1:B+1
 *   datagrams from B (B+1) back to A (A+1) go back, untouched, to the last sender seen there.
 *
 * Network only on loopback: every address must be in 127.0.0.0/8 or ::1 (start() throws otherwise).
 *
 * The schedule (planImpairments, ImpairmentPlanner) is deterministic: the random draws for packet i
 * are a pure function of (seed, i), one independent stream per impairment (test/support/prng.ts), so
 * turning jitter on does not change which packets are lost. The only state carried from packet to
 * packet is the Gilbert-Elliott channel state and the order-preservation clamp described below.
 * "Packet i" is the i-th datagram the relay receives on its RTP port (0-based), not the RTP sequence.
 *
 * Model, per packet i arriving at arrivalMs (relative to packet 0; in the plan, i * packetIntervalMs):
 * - Gilbert-Elliott: the state starts Good and moves before each packet's decision (Good→Bad with
 *   pGoodToBad, Bad→Good with pBadToGood); in Bad a packet is lost with lossInBad (default 1), so
 *   the mean loss burst is 1/pBadToGood and the long-run fraction in Bad is pGB/(pGB+pBG).
 * - lossPct: independent loss on top, in both states. outageMs: everything arriving in
 *   [atMs, atMs+durationMs) is lost.
 * - Jitter is UNIFORM: the raw delay is delayMs + jitterMs * U[0,1). (Mean jitterMs/2, standard
 *   deviation jitterMs/√12; for independent delays the RFC 3550 interarrival jitter would tend to
 *   E|Di − Di−1| = jitterMs/3, less when order is preserved: use summarizePlan() for the value this
 *   very plan produces.)
 * - Order preservation (allowReorderByJitter false, the default): a packet never leaves before the
 *   previous in-order packet, so its delay is max(raw delay, previous in-order send time − arrival).
 *   With allowReorderByJitter true, each packet leaves at arrival + raw delay, and jitter reorders.
 * - reorderPct: a reordered packet leaves reorderDelayMs after the time it would otherwise have left,
 *   and does not hold back the packets after it, so they overtake it. The default hold is
 *   (2 × packetIntervalMs if the options give it, else 15 ms) + jitterMs: the jitter term guarantees
 *   that the next in-order packet overtakes it even when that one drew the largest jitter.
 * - duplicatePct: the packet is sent twice, the copy 1 ms after the first.
 * - A lost packet is neither duplicated nor reordered (drop wins) and does not move the clamp.
 *
 * Plan vs relay: the relay takes the same decisions, packet by packet, from the same code
 * (ImpairmentPlanner); only the arrival times differ. The plan assumes packet i arrives at exactly
 * i × packetIntervalMs; the relay uses the real arrival times, so for the order clamp and the outage
 * windows a sender that is x ms late moves the affected packets by up to x ms from the plan (losses,
 * duplicates, reordering and the jitter draws never change).
 *
 * Timing: each send is scheduled at an absolute monotonic time with PreciseTimerQueue (setTimeout for
 * the bulk, then Atomics.wait for the last ~1.5 ms, like src/rtp/pacer.ts PreciseSleeper, but in
 * slices of at most 0.2 ms with a turn of the event loop between them, so that datagrams arriving
 * meanwhile — at this relay or at a sender/receiver in the same process — are still time-stamped
 * within ~0.2 ms; the final 80 µs are a busy-wait). Sends due at equal or increasing times leave in
 * the order they were scheduled. The sockets resolve addresses synchronously, so a datagram leaves
 * inside socket.send() rather than on the next tick. What no user-space scheduler can fix: on a
 * machine whose CPUs are saturated, a thread waking from any sleep may wait milliseconds for a CPU.
 *
 * Memory: `events` keeps one RelayEvent per RTP datagram received (about 200 bytes each), all of
 * them by default since tests are short; pass maxEvents to cap it (counters in stats() keep
 * counting) and onEvent to stream them instead (the CLI does).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { hashUniform } from './prng';

export interface ImpairmentOptions {
  seed: number;
  /** base one-way delay, ms (default 0) */
  delayMs?: number;
  /** extra delay per packet, UNIFORM in [0, jitterMs) ms (default 0) */
  jitterMs?: number;
  /** independent random loss, percent (default 0) */
  lossPct?: number;
  /** Gilbert-Elliott bursts: transition probabilities per packet; lossInBad default 1 */
  burst?: { pGoodToBad: number; pBadToGood: number; lossInBad?: number };
  /** percent of packets held back by reorderDelayMs so later ones overtake them (default 0) */
  reorderPct?: number;
  /** hold for reordered packets, ms; default (packetIntervalMs ? 2 × packetIntervalMs : 15) + jitterMs */
  reorderDelayMs?: number;
  /** the sender's packet interval, ms: only used for the default reorderDelayMs */
  packetIntervalMs?: number;
  /** percent of packets sent twice, the copy 1 ms later (default 0) */
  duplicatePct?: number;
  /** drop everything arriving in these windows, ms relative to the first packet's arrival */
  outageMs?: { atMs: number; durationMs: number }[];
  /** default false: order is preserved unless a packet is reordered explicitly; true: jitter can reorder */
  allowReorderByJitter?: boolean;
}

/** The decision for one packet (see the model in the file comment). */
export interface PlannedPacket {
  index: number;
  drop: boolean;
  /** total delay of the (first) copy, ms, after the order clamp and the reorder hold; 0 when dropped */
  delayMs: number;
  duplicate: boolean;
  reorder: boolean;
  /** arrival at the relay, ms after packet 0 (the plan assumes index × packetIntervalMs) */
  arrivalMs: number;
  /** arrivalMs + delayMs: when the first copy leaves; a duplicate's copy leaves 1 ms later */
  sendAtMs: number;
  /** delayMs option + this packet's jitter draw, before the clamp and the hold */
  rawDelayMs: number;
  /** why it was dropped */
  cause?: 'outage' | 'burst' | 'loss';
  /** Gilbert-Elliott state for this packet */
  bad: boolean;
}

export interface RelayEvent {
  index: number;
  receivedNs: bigint;
  /** dropped > reordered > duplicated > forwarded; see also the duplicate and reorder flags */
  fate: 'forwarded' | 'dropped' | 'duplicated' | 'reordered';
  /** planned delay of the first copy (due time − receivedNs); 0 when dropped */
  delayNs: bigint;
  /** RTP sequence number and timestamp, if the datagram parses as RTP */
  seq?: number;
  ts?: number;
  size: number;
  duplicate: boolean;
  reorder: boolean;
  cause?: 'outage' | 'burst' | 'loss';
  /** when the first copy was actually handed to the kernel (undefined if dropped or discarded by close()) */
  sentNs?: bigint;
  /** when the duplicate copy was actually handed to the kernel */
  copySentNs?: bigint;
}

export interface RelayStats {
  /** RTP datagrams received from the sender */
  received: number;
  /** of those, forwarded at least once (including reordered and duplicated ones) */
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** datagrams actually sent towards the receiver on the RTP port (copies included) */
  sent: number;
  /** scheduled sends not yet done */
  pending: number;
  /** scheduled sends cancelled by close() */
  discarded: number;
  /** RTCP datagrams forwarded sender → receiver */
  rtcp: number;
  /** datagrams relayed back from the receiver (RTP or RTCP port) to the sender */
  reverse: number;
  /** socket errors seen (the relay keeps going) */
  errors: number;
}

export const SEND_COPY_GAP_MS = 1;

// one independent random stream per decision
const S_LOSS = 1;
const S_GILBERT = 2;
const S_BAD_LOSS = 3;
const S_JITTER = 4;
const S_REORDER = 5;
const S_DUPLICATE = 6;

function checkPct(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!Number.isFinite(x) || x < 0 || x > 100) throw new RangeError(`${name} must be in [0, 100], got ${v}`);
  return x;
}
function checkProb(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`${name} must be in [0, 1], got ${v}`);
  return v;
}
function checkMs(name: string, v: number | undefined): number {
  const x = v ?? 0;
  if (!Number.isFinite(x) || x < 0) throw new RangeError(`${name} must be a non-negative number of ms, got ${v}`);
  return x;
}

/** The hold applied to reordered packets, ms (see ImpairmentOptions.reorderDelayMs). */
export function resolveReorderDelayMs(o: ImpairmentOptions): number {
  if (o.reorderDelayMs !== undefined) return checkMs('reorderDelayMs', o.reorderDelayMs);
  const base = o.packetIntervalMs !== undefined && o.packetIntervalMs > 0 ? 2 * o.packetIntervalMs : 15;
  return base + (o.jitterMs ?? 0);
}

/**
 * The impairment decisions, packet by packet, in arrival order. The relay feeds it real arrival
 * times; planImpairments feeds it index × interval. Same code, so plan and relay cannot disagree on
 * anything but the arrival times.
 */
export class ImpairmentPlanner {
  private index = 0;
  private bad = false;
  private lastInOrderMs = -Infinity;
  private readonly seed: number;
  private readonly delay: number;
  private readonly jitter: number;
  private readonly loss: number;
  private readonly reorder: number;
  private readonly dup: number;
  private readonly hold: number;
  private readonly burst?: { pGoodToBad: number; pBadToGood: number; lossInBad: number };
  private readonly outages: { atMs: number; durationMs: number }[];
  private readonly keepOrder: boolean;

  constructor(o: ImpairmentOptions) {
    if (!Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${o.seed}`);
    this.seed = o.seed;
    this.delay = checkMs('delayMs', o.delayMs);
    this.jitter = checkMs('jitterMs', o.jitterMs);
    this.loss = checkPct('lossPct', o.lossPct) / 100;
    this.reorder = checkPct('reorderPct', o.reorderPct) / 100;
    this.dup = checkPct('duplicatePct', o.duplicatePct) / 100;
    this.hold = resolveReorderDelayMs(o);
    if (o.burst) {
      this.burst = {
        pGoodToBad: checkProb('burst.pGoodToBad', o.burst.pGoodToBad),
        pBadToGood: checkProb('burst.pBadToGood', o.burst.pBadToGood),
        lossInBad: checkProb('burst.lossInBad', o.burst.lossInBad ?? 1),
      };
    }
    this.outages = (o.outageMs ?? []).map((w, k) => ({
      atMs: checkMs(`outageMs[${k}].atMs`, w.atMs),
      durationMs: checkMs(`outageMs[${k}].durationMs`, w.durationMs),
    }));
    this.keepOrder = !o.allowReorderByJitter;
  }

  /** The decision for the next packet, which arrived arrivalMs after packet 0. */
  next(arrivalMs: number): PlannedPacket {
    const i = this.index++;
    const u = (stream: number) => hashUniform(this.seed, i, stream);
    // every draw is made whether used or not: the draws for i depend only on (seed, i)
    const uGilbert = u(S_GILBERT);
    const uBadLoss = u(S_BAD_LOSS);
    const uLoss = u(S_LOSS);
    const uJitter = u(S_JITTER);
    const uReorder = u(S_REORDER);
    const uDup = u(S_DUPLICATE);
    if (this.burst) {
      if (this.bad) {
        if (uGilbert < this.burst.pBadToGood) this.bad = false;
      } else if (uGilbert < this.burst.pGoodToBad) this.bad = true;
    }
    const bad = this.bad;
    const rawDelayMs = this.delay + this.jitter * uJitter;
    let cause: PlannedPacket['cause'];
    if (this.outages.some((w) => arrivalMs >= w.atMs && arrivalMs < w.atMs + w.durationMs)) cause = 'outage';
    else if (bad && uBadLoss < this.burst!.lossInBad) cause = 'burst';
    else if (uLoss < this.loss) cause = 'loss';
    if (cause) {
      return { index: i, drop: true, delayMs: 0, duplicate: false, reorder: false, arrivalMs, sendAtMs: arrivalMs, rawDelayMs, cause, bad };
    }
    const reorder = uReorder < this.reorder;
    const duplicate = uDup < this.dup;
    let sendAtMs = arrivalMs + rawDelayMs;
    if (this.keepOrder) sendAtMs = Math.max(sendAtMs, this.lastInOrderMs);
    if (reorder) sendAtMs += this.hold;
    else if (this.keepOrder) this.lastInOrderMs = sendAtMs;
    return { index: i, drop: false, delayMs: sendAtMs - arrivalMs, duplicate, reorder, arrivalMs, sendAtMs, rawDelayMs, bad };
  }
}

/**
 * Pure: the fate and delay of packets 0..count-1 if they arrive every packetIntervalMs. Exported so
 * tests can know in advance which packets are lost and what delay each gets.
 */
export function planImpairments(o: ImpairmentOptions, count: number, packetIntervalMs: number): PlannedPacket[] {
  const p = new ImpairmentPlanner(o);
  const out: PlannedPacket[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = p.next(i * packetIntervalMs);
  return out;
}

/**
 * What a receiver should measure for a plan, computed independently of any socket: loss, mean
 * delay, and the RFC 3550 interarrival jitter (J += (|D| − J)/16 over the delivered first copies in
 * arrival order; D is the difference of consecutive transit times), in ms. Duplicate copies are
 * left out, as a receiver discards them.
 */
export function summarizePlan(plan: PlannedPacket[]) {
  const delivered = plan.filter((p) => !p.drop);
  const n = plan.length;
  const dropped = n - delivered.length;
  const byArrival = [...delivered].sort((a, b) => a.sendAtMs - b.sendAtMs || a.index - b.index);
  let j = 0;
  let sumAbsD = 0;
  for (let k = 1; k < byArrival.length; k++) {
    const d = byArrival[k].delayMs - byArrival[k - 1].delayMs;
    j += (Math.abs(d) - j) / 16;
    sumAbsD += Math.abs(d);
  }
  let inversions = 0;
  let maxIndex = -1;
  for (const p of byArrival) {
    if (p.index < maxIndex) inversions++;
    else maxIndex = p.index;
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return {
    count: n,
    dropped,
    lossPct: n ? (100 * dropped) / n : 0,
    duplicated: delivered.filter((p) => p.duplicate).length,
    reordered: delivered.filter((p) => p.reorder).length,
    /** packets that arrive after a higher index did */
    lateArrivals: inversions,
    meanDelayMs: mean(delivered.map((p) => p.delayMs)),
    /** the RFC 3550 estimate after the last packet (an average over roughly the last 16 packets) */
    rfc3550JitterMs: j,
    /** mean |D| over the whole plan: what the RFC 3550 estimate tracks, without its short memory */
    meanAbsTransitDiffMs: byArrival.length > 1 ? sumAbsD / (byArrival.length - 1) : 0,
  };
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopbackAddress(a: string): boolean {
  if (isIPv4(a)) return a.startsWith('127.');
  if (isIPv6(a)) {
    const l = a.toLowerCase();
    if (l === '::1' || l === '0:0:0:0:0:0:0:1') return true;
    const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(l);
    return !!m && m[1].startsWith('127.');
  }
  return false;
}

function loopbackOnly(a: string | undefined, fallback: string): string {
  const x = a === undefined || a === 'localhost' ? fallback : a;
  if (!isLoopbackAddress(x)) throw new Error(`relay: ${x} is not a loopback address (127.0.0.0/8 or ::1 only)`);
  return x;
}

/** RTP sequence number and timestamp if the datagram looks like RTP v2 (RTCP types 200-204 excluded). */
export function parseRtpSeq(b: Uint8Array): { seq: number; ts: number } | undefined {
  if (b.length < 12 || b[0] >> 6 !== 2) return undefined;
  if (b[1] >= 200 && b[1] <= 204) return undefined; // RTCP multiplexed on the RTP port
  return { seq: (b[2] << 8) | b[3], ts: ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0 };
}

interface Timed {
  due: bigint;
  order: number;
  fn: () => void;
}

/**
 * Runs callbacks at absolute monotonic times (process.hrtime.bigint()), accurate to well under a
 * millisecond: a setTimeout until ~1.5 ms before the earliest deadline, then Atomics.wait (a futex
 * sleep, not a spin) in slices of at most `sliceNs`, with a turn of the event loop (setImmediate)
 * between slices so socket reads are not held up for longer than one slice. The last slice ends
 * `spinNs` (80 µs) before the deadline, the rest is a busy-wait on the monotonic clock (a futex
 * wake-up is late by the kernel's timer slack, ~50 µs), and the callback runs right after it. Callbacks due at the same time run in the order
 * they were added.
 */
export class PreciseTimerQueue {
  private readonly cell = new Int32Array(new SharedArrayBuffer(4));
  private heap: Timed[] = [];
  private order = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    private readonly fineNs = 1_500_000n,
    private readonly sliceNs = 200_000n,
    /** the last stretch is a busy-wait: a futex sleep overshoots by the timer slack (~50 µs) */
    private readonly spinNs = 80_000n,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  add(due: bigint, fn: () => void): void {
    if (this.closed) throw new Error('PreciseTimerQueue: closed');
    const item = { due, order: this.order++, fn };
    this.push(item);
    if (this.heap[0] === item && this.immediate === undefined) this.arm();
  }

  /** Cancels everything; returns how many callbacks were dropped. The queue stays usable. */
  clear(): number {
    const n = this.heap.length;
    this.heap = [];
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    return n;
  }

  /** clear() and refuse further add(). */
  close(): number {
    this.closed = true;
    return this.clear();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    const top = this.heap[0];
    if (!top) return;
    const left = top.due - process.hrtime.bigint();
    // a timer under 1 ms would be a 1 ms timer: cheaper to start the fine phase at once
    const ms = Math.floor(Number(left - this.fineNs) / 1e6);
    if (ms >= 1) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fine();
      }, ms);
    } else {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.fine();
      });
    }
  }

  private fine(): void {
    const entered = process.hrtime.bigint();
    let fired = false;
    for (;;) {
      const top = this.heap[0];
      if (!top) return;
      const now = process.hrtime.bigint();
      const left = top.due - now;
      if (left <= 0n) {
        this.pop();
        fired = true;
        try {
          top.fn();
        } catch (e) {
          // a failing callback must not stop the others
          queueMicrotask(() => {
            throw e;
          });
        }
        continue;
      }
      if (left >= this.fineNs + 1_000_000n) return this.arm(); // the coarse timer fired early
      if (left <= this.spinNs) {
        // performance.now() allocates nothing, unlike hrtime.bigint()
        const until = performance.now() + Number(left) / 1e6;
        while (performance.now() < until) {
          /* spin: at most spinNs */
        }
        continue;
      }
      // after a send, or after a slice, let the event loop run (a receiver in this thread time-stamps)
      if (fired || now - entered >= this.sliceNs) return this.arm();
      const sleep = left - this.spinNs;
      const wait = sleep < this.sliceNs ? sleep : this.sliceNs;
      Atomics.wait(this.cell, 0, 0, Number(wait) / 1e6);
      if (wait === this.sliceNs && sleep > wait) return this.arm();
    }
  }

  private less(a: Timed, b: Timed): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }
  private push(x: Timed): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  private pop(): Timed | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * dgram resolves even an IP literal through dns.lookup, which answers on process.nextTick: the
 * datagram would only leave when the current callback returns (after any Atomics.wait still to
 * come in it). Our destinations are always loopback IP literals, so answer synchronously and the
 * send happens inside socket.send().
 */
const syncLookup = (address: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void): void =>
  cb(null, address, isIPv6(address) ? 6 : 4);

/** A UDP socket whose send() to an IP literal goes out at once (see syncLookup). */
export function createLoopbackSocket(host: string): Socket {
  loopbackOnly(host, host);
  return createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', lookup: syncLookup as never });
}

function bindUdp(host: string, port: number): Promise<Socket> {
  const s = createLoopbackSocket(host);
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      s.close();
      reject(e);
    };
    s.once('error', onError);
    s.bind({ port, address: host, exclusive: true }, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}

/**
 * Binds two UDP sockets on host:P and host:P+1 (RTP and RTCP). With port 0, P is chosen by the
 * system (retrying until P+1 is free too).
 */
export async function bindUdpPair(host: string, port = 0): Promise<{ port: number; rtp: Socket; rtcp: Socket }> {
  loopbackOnly(host, host);
  if (port !== 0) {
    const rtp = await bindUdp(host, port);
    try {
      return { port, rtp, rtcp: await bindUdp(host, port + 1) };
    } catch (e) {
      rtp.close();
      throw e;
    }
  }
  for (let attempt = 0; attempt < 64; attempt++) {
    const rtp = await bindUdp(host, 0);
    const p = rtp.address().port;
    if (p < 65535) {
      try {
        return { port: p, rtp, rtcp: await bindUdp(host, p + 1) };
      } catch {
        /* taken: try another */
      }
    }
    rtp.close();
  }
  throw new Error(`relay: no free port pair on ${host}`);
}

function closeSocket(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      s.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export interface RelayStartOptions {
  /** RTP port to listen on (RTCP on +1); 0: pick a free pair (see UdpRelay.listenPort) */
  listenPort: number;
  /** where to forward RTP (RTCP to +1) */
  forwardPort: number;
  /** listening address, loopback only (default 127.0.0.1) */
  host?: string;
  /** forwarding address, loopback only (default: host) */
  forwardHost?: string;
  impair: ImpairmentOptions;
  /** default true: also relay port+1 → forward+1, without impairment */
  rtcp?: boolean;
  /** delay RTCP by this many ms (default 0: forwarded at once) */
  rtcpDelayMs?: number;
  /** keep at most this many events in `events` (default: all) */
  maxEvents?: number;
  /** called once per RTP datagram when its fate is settled (dropped, or all its copies sent) */
  onEvent?: (e: RelayEvent) => void;
}

export class UdpRelay {
  /** one per RTP datagram received, in arrival order (up to maxEvents) */
  readonly events: RelayEvent[] = [];
  readonly host: string;
  readonly forwardHost: string;
  readonly listenPort: number;
  readonly forwardPort: number;
  /** hrtime of the first RTP datagram: time zero of the schedule and of outage windows */
  firstNs: bigint | undefined;
  lastError: Error | undefined;

  private readonly planner: ImpairmentPlanner;
  private readonly queue = new PreciseTimerQueue();
  private readonly counts: RelayStats = {
    received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0, sent: 0, pending: 0, discarded: 0, rtcp: 0, reverse: 0, errors: 0,
  };
  private rtpPeer: RemoteInfo | undefined;
  private rtcpPeer: RemoteInfo | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly o: RelayStartOptions,
    host: string,
    forwardHost: string,
    port: number,
    private readonly rtpSock: Socket,
    private readonly rtcpSock: Socket | undefined,
  ) {
    this.host = host;
    this.forwardHost = forwardHost;
    this.listenPort = port;
    this.forwardPort = o.forwardPort;
    this.planner = new ImpairmentPlanner(o.impair);
    rtpSock.on('message', (m, r) => this.onRtp(m, r));
    rtpSock.on('error', (e) => this.onError(e));
    if (rtcpSock) {
      rtcpSock.on('message', (m, r) => this.onRtcp(m, r));
      rtcpSock.on('error', (e) => this.onError(e));
    }
  }

  static async start(o: RelayStartOptions): Promise<UdpRelay> {
    const host = loopbackOnly(o.host, '127.0.0.1');
    const forwardHost = loopbackOnly(o.forwardHost, host === '::1' ? '::1' : '127.0.0.1');
    if (isIPv6(host) !== isIPv6(forwardHost)) throw new Error('relay: host and forwardHost must be the same IP family');
    if (!Number.isInteger(o.forwardPort) || o.forwardPort < 1 || o.forwardPort > 65534) throw new RangeError(`relay: bad forwardPort ${o.forwardPort}`);
    new ImpairmentPlanner(o.impair); // validate the options before binding anything
    const rtcp = o.rtcp ?? true;
    let relay: UdpRelay;
    if (rtcp) {
      const pair = await bindUdpPair(host, o.listenPort);
      relay = new UdpRelay(o, host, forwardHost, pair.port, pair.rtp, pair.rtcp);
    } else {
      const s = await bindUdp(host, o.listenPort);
      relay = new UdpRelay(o, host, forwardHost, s.address().port, s, undefined);
    }
    await relay.warmUp();
    return relay;
  }

  /**
   * Runs the planner and the timer path a few times (~10 ms) so the first real packets do not pay
   * for lazy compilation: without this the first one or two sends are 1-2 ms late.
   */
  private async warmUp(): Promise<void> {
    const p = new ImpairmentPlanner(this.o.impair);
    for (let i = 0; i < 256; i++) p.next(i * 5);
    parseRtpSeq(Buffer.alloc(12));
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      const n = 8;
      let done = 0;
      for (let k = 1; k <= n; k++) this.queue.add(t + BigInt(k) * 1_200_000n, () => ++done === n && resolve());
    });
  }

  /** RTCP listening port (listenPort + 1), undefined when RTCP is not relayed */
  get rtcpPort(): number | undefined {
    return this.rtcpSock ? this.listenPort + 1 : undefined;
  }

  stats(): RelayStats {
    return { ...this.counts, pending: this.queue.size };
  }

  /**
   * How late the sends were against their planned times (actual − due), µs, over the stored events'
   * first copies and duplicate copies: what "accurate to well under 1 ms" means for this relay.
   */
  timing(): { n: number; p50Us: number; p99Us: number; maxUs: number; minUs: number } {
    const xs: number[] = [];
    for (const e of this.events) {
      if (e.sentNs === undefined) continue;
      const due = e.receivedNs + e.delayNs;
      xs.push(Number(e.sentNs - due) / 1e3);
      if (e.copySentNs !== undefined) xs.push(Number(e.copySentNs - due) / 1e3 - SEND_COPY_GAP_MS * 1e3);
    }
    xs.sort((a, b) => a - b);
    const pct = (p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))] : NaN);
    return { n: xs.length, p50Us: pct(50), p99Us: pct(99), maxUs: xs.length ? xs[xs.length - 1] : NaN, minUs: xs.length ? xs[0] : NaN };
  }

  /** Stops every timer (pending sends are discarded) and closes the sockets. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.counts.discarded += this.queue.close();
      const socks = [this.rtpSock, this.rtcpSock].filter((s): s is Socket => !!s);
      this.closing = Promise.all(socks.map(closeSocket)).then(() => undefined);
    }
    return this.closing;
  }

  private onError(e: Error): void {
    this.counts.errors++;
    this.lastError = e;
  }

  private send(sock: Socket, msg: Buffer, port: number, address: string): void {
    if (this.closing) return;
    try {
      sock.send(msg, port, address);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  private isFromForward(r: RemoteInfo, port: number): boolean {
    return r.port === port && r.address === this.forwardHost;
  }

  private settle(e: RelayEvent): void {
    this.o.onEvent?.(e);
  }

  private onRtp(msg: Buffer, r: RemoteInfo): void {
    const now = process.hrtime.bigint();
    if (this.closing) return;
    if (this.isFromForward(r, this.forwardPort)) {
      // the receiver talking back (symmetric RTP): untouched, to the last sender
      if (this.rtpPeer) {
        this.counts.reverse++;
        this.send(this.rtpSock, msg, this.rtpPeer.port, this.rtpPeer.address);
      }
      return;
    }
    this.rtpPeer = r;
    if (this.firstNs === undefined) this.firstNs = now;
    const first = this.firstNs;
    const p = this.planner.next(Number(now - first) / 1e6);
    const rtp = parseRtpSeq(msg);
    const ev: RelayEvent = {
      index: p.index,
      receivedNs: now,
      fate: p.drop ? 'dropped' : p.reorder ? 'reordered' : p.duplicate ? 'duplicated' : 'forwarded',
      delayNs: 0n,
      size: msg.length,
      duplicate: p.duplicate,
      reorder: p.reorder,
      ...(rtp ? { seq: rtp.seq, ts: rtp.ts } : {}),
      ...(p.cause ? { cause: p.cause } : {}),
    };
    this.counts.received++;
    if (this.o.maxEvents === undefined || this.events.length < this.o.maxEvents) this.events.push(ev);
    if (p.drop) {
      this.counts.dropped++;
      this.settle(ev);
      return;
    }
    this.counts.forwarded++;
    if (p.reorder) this.counts.reordered++;
    if (p.duplicate) this.counts.duplicated++;
    const due = first + BigInt(Math.round(p.sendAtMs * 1e6));
    ev.delayNs = due - now;
    this.queue.add(due, () => {
      ev.sentNs = process.hrtime.bigint(); // handed to the kernel now (on loopback, send() also delivers)
      this.send(this.rtpSock, msg, this.forwardPort, this.forwardHost);
      this.counts.sent++;
      if (!p.duplicate) this.settle(ev);
    });
    if (p.duplicate) {
      this.queue.add(due + BigInt(SEND_COPY_GAP_MS * 1e6), () => {
        ev.copySentNs = process.hrtime.bigint();
        this.send(this.rtpSock, msg, this.forwardPort, this.forwardHost);
        this.counts.sent++;
        this.settle(ev);
      });
    }
  }

  private onRtcp(msg: Buffer, r: RemoteInfo): void {
    const sock = this.rtcpSock!;
    if (this.closing) return;
    if (this.isFromForward(r, this.forwardPort + 1)) {
      if (this.rtcpPeer) {
        this.counts.reverse++;
        this.send(sock, msg, this.rtcpPeer.port, this.rtcpPeer.address);
      }
      return;
    }
    this.rtcpPeer = r;
    this.counts.rtcp++;
    const d = this.o.rtcpDelayMs ?? 0;
    if (d > 0) {
      const due = process.hrtime.bigint() + BigInt(Math.round(d * 1e6));
      this.queue.add(due, () => this.send(sock, msg, this.forwardPort + 1, this.forwardHost));
    } else {
      this.send(sock, msg, this.forwardPort + 1, this.forwardHost);
    }
  }
}
