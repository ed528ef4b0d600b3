/**
 * Pure helpers for scripts/bench-capture.ts: the click train the "application" plays, click
 * detection in received audio, matching received clicks to written ones (latency), the packet
 * dump format of the receiver, and /proc process-tree CPU bookkeeping. No I/O here.
 */
import { mulberry32, percentileSorted } from './bench-lib';

// ---------------------------------------------------------------------------------------------
// Click train

export interface ClickTrainSpec {
  rate: number;
  channels: number;
  /** frames between clicks (500 ms at 48 kHz: 24000) */
  periodFrames: number;
  /** frames per click (a short rectangular pulse) */
  widthFrames: number;
  /** pulse amplitude, int16 */
  amplitude: number;
  seed: number;
}

export const CLICK_TRAIN: ClickTrainSpec = { rate: 48000, channels: 2, periodFrames: 24000, widthFrames: 8, amplitude: 32000, seed: 0xc11c };

/**
 * Polarity (+1 / -1) of each click, from a seeded PRNG: the pattern identifies which written
 * click a received one is, whatever the latency (a 500 ms period alone would be ambiguous
 * beyond 500 ms).
 */
export function clickPolarities(count: number, seed: number): Int8Array {
  const rnd = mulberry32(seed);
  const out = new Int8Array(count);
  for (let i = 0; i < count; i++) out[i] = rnd() < 0.5 ? -1 : 1;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Click detection in received audio

export interface DetectedClick {
  /** arrival time of the packet carrying the click's onset + the onset's offset in it, ns */
  ns: number;
  /** arrival of that packet, ns */
  packetNs: number;
  /** onset offset inside the packet's audio, frames */
  offsetFrames: number;
  /** onset position in the whole received audio (frames decoded before it) */
  pos: number;
  /** sign of the largest sample in the pulse */
  polarity: number;
  /** largest |sample| in the pulse (0..1) */
  peak: number;
}

/**
 * Streaming onset detector over consecutive packets of decoded audio (interleaved float). An
 * onset is the first sample with |x| >= threshold after at least `minQuietFrames` below it; its
 * polarity is the sign of the largest sample in the `polarityFrames` that follow (which may lie in
 * the next packet).
 */
export class ClickDetector {
  readonly clicks: DetectedClick[] = [];
  private quiet = 0;
  private frames = 0;
  private pending: { click: DetectedClick; left: number; best: number } | undefined;

  constructor(
    readonly rate: number,
    readonly channels: number,
    readonly threshold = 0.25,
    readonly minQuietFrames = Math.round(rate * 0.2),
    readonly polarityFrames = Math.round(rate * 0.001),
  ) {
    this.quiet = minQuietFrames; // the stream may start right before a click
  }

  /** One packet's audio, arriving at `arrivalNs`. */
  push(pcm: Float32Array, arrivalNs: number): void {
    const ch = this.channels;
    const frames = Math.floor(pcm.length / ch);
    for (let f = 0; f < frames; f++) {
      let v = 0;
      for (let c = 0; c < ch; c++) {
        const x = pcm[f * ch + c];
        if (Math.abs(x) > Math.abs(v)) v = x;
      }
      const a = Math.abs(v);
      const p = this.pending;
      if (p) {
        if (a > Math.abs(p.best)) p.best = v;
        if (--p.left <= 0) this.finish();
      }
      if (a >= this.threshold) {
        if (this.quiet >= this.minQuietFrames && !this.pending) {
          const click: DetectedClick = { ns: arrivalNs + (f / this.rate) * 1e9, packetNs: arrivalNs, offsetFrames: f, pos: this.frames + f, polarity: 0, peak: 0 };
          this.pending = { click, left: this.polarityFrames, best: v };
        }
        this.quiet = 0;
      } else {
        this.quiet++;
      }
    }
    this.frames += frames;
  }

  private finish(): void {
    const p = this.pending!;
    p.click.polarity = p.best < 0 ? -1 : 1;
    p.click.peak = Math.abs(p.best);
    this.clicks.push(p.click);
    this.pending = undefined;
  }

  /** Call after the last packet. */
  end(): DetectedClick[] {
    if (this.pending) this.finish();
    return this.clicks;
  }
}

/** The payload of an RTP packet (after CSRCs and the header extension, before padding); undefined if malformed. */
export function rtpPayload(b: Buffer): Buffer | undefined {
  if (b.length < 12 || b[0] >> 6 !== 2) return undefined;
  let off = 12 + 4 * (b[0] & 0x0f);
  if (b[0] & 0x10) {
    if (b.length < off + 4) return undefined;
    off += 4 + 4 * ((b[off + 2] << 8) | b[off + 3]);
  }
  const end = b[0] & 0x20 ? b.length - b[b.length - 1] : b.length;
  return end >= off ? b.subarray(off, end) : undefined;
}

/** Big-endian int16 PCM (RTP L16) to float. */
export function decodeL16(payload: Uint8Array): Float32Array {
  const n = payload.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (payload[2 * i] << 8) | payload[2 * i + 1];
    out[i] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Matching received clicks to written ones

export interface WrittenClick {
  /** index in the click train */
  k: number;
  /** monotonic ns right after the write that handed the click's chunk to PulseAudio returned */
  ns: number;
  /** when PulseAudio will play it: ns + the stream's playback latency reported right then - the rest of the chunk */
  playNs: number;
  polarity: number;
}

export interface ClickMatch {
  /** per received click: latency in ms (NaN when it maps outside the written list) */
  latencyMs: number[];
  /** per received click: the index into \`written\` it is (-1 when outside the list) */
  writtenIndex: number[];
  /** index into `written` of the first received click */
  base: number;
  /** share of matched clicks whose polarity agrees (1 = a certain match; ~0.5 = chance) */
  agreement: number;
  matched: number;
}

/**
 * Which written click each received click is. Received clicks are numbered by their position in
 * the received audio (round((pos_i - pos_0) / period)): a missing click does not shift the rest,
 * and a burst of packets (a sender catching up) does not merge them. The offset of that numbering
 * against the written list is the one whose polarity pattern agrees best (ties: the smallest
 * positive median latency).
 */
export function matchClicks(written: WrittenClick[], received: { ns: number; pos: number; polarity: number }[], periodFrames: number): ClickMatch {
  const none: ClickMatch = { latencyMs: received.map(() => NaN), writtenIndex: received.map(() => -1), base: -1, agreement: NaN, matched: 0 };
  if (!written.length || !received.length) return none;
  const byK = new Map(written.map((w, i) => [w.k, i]));
  const rel = received.map((r) => Math.round((r.pos - received[0].pos) / periodFrames));
  let best: { base: number; agree: number; matched: number; median: number } | undefined;
  for (let base = 0; base < written.length; base++) {
    let agree = 0;
    let matched = 0;
    const lat: number[] = [];
    for (let i = 0; i < received.length; i++) {
      const wi = byK.get(written[base].k + rel[i]);
      if (wi === undefined) continue;
      matched++;
      if (written[wi].polarity === received[i].polarity) agree++;
      lat.push(received[i].ns - written[wi].ns);
    }
    if (matched < Math.min(received.length, 3)) continue;
    lat.sort((a, b) => a - b);
    const med = lat[lat.length >> 1];
    if (!(med > 0)) continue;
    const score = agree / matched;
    if (!best || score > best.agree + 1e-9 || (Math.abs(score - best.agree) <= 1e-9 && med < best.median)) best = { base, agree: score, matched, median: med };
  }
  if (!best) return none;
  const writtenIndex = received.map((_, i) => byK.get(written[best!.base].k + rel[i]) ?? -1);
  const latencyMs = received.map((r, i) => (writtenIndex[i] < 0 ? NaN : (r.ns - written[writtenIndex[i]].ns) / 1e6));
  return { latencyMs, writtenIndex, base: best.base, agreement: best.agree, matched: best.matched };
}

export interface LatencyStats {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

export function latencyStats(valuesMs: number[]): LatencyStats {
  const a = Float64Array.from(valuesMs.filter((v) => Number.isFinite(v))).sort();
  return { n: a.length, p50: percentileSorted(a, 50), p95: percentileSorted(a, 95), min: a.length ? a[0] : NaN, max: a.length ? a[a.length - 1] : NaN };
}

// ---------------------------------------------------------------------------------------------
// Receiver dump: per packet [f64 LE arrival ns][u16 LE length][packet bytes]

export function encodeDumpRecord(arrivalNs: number, packet: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(10 + packet.length);
  b.writeDoubleLE(arrivalNs, 0);
  b.writeUInt16LE(packet.length, 8);
  b.set(packet, 10);
  return b;
}

export function* decodeDump(buf: Buffer): Generator<{ arrivalNs: number; packet: Buffer }> {
  let off = 0;
  while (off + 10 <= buf.length) {
    const arrivalNs = buf.readDoubleLE(off);
    const len = buf.readUInt16LE(off + 8);
    if (off + 10 + len > buf.length) return;
    yield { arrivalNs, packet: buf.subarray(off + 10, off + 10 + len) };
    off += 10 + len;
  }
}

// ---------------------------------------------------------------------------------------------
// Process tree CPU from /proc (to check GNU time's total and catch processes it cannot see)

/** pid, comm, state, ppid, CPU ticks (utime + stime) and start time from /proc/<pid>/stat. */
export function parseStatLine(text: string): { pid: number; comm: string; state: string; ppid: number; ticks: number; start: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] is field 3 (state)
  if (f.length < 20) return undefined;
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: f[0], ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: Number(f[19]) };
}

export interface TreeProc {
  pid: number;
  start: number;
  comm: string;
  ppid: number;
  /** last sampled utime + stime, ticks */
  ticks: number;
  /** still running after the top process ended: its parent was gone, so GNU time never saw it */
  orphan: boolean;
  exited: boolean;
}

/** Accumulates samples of a process tree (keyed by pid + start time, so a reused pid is a new entry). */
export class TreeLedger {
  readonly procs = new Map<string, TreeProc>();

  update(s: { pid: number; comm: string; ppid: number; ticks: number; start: number }): void {
    const key = `${s.pid}:${s.start}`;
    const p = this.procs.get(key);
    if (p) {
      p.ticks = Math.max(p.ticks, s.ticks);
      p.ppid = s.ppid;
    } else this.procs.set(key, { pid: s.pid, start: s.start, comm: s.comm, ppid: s.ppid, ticks: s.ticks, orphan: false, exited: false });
  }

  /** Sum of ticks by a predicate. */
  sum(pred: (p: TreeProc) => boolean): number {
    let t = 0;
    for (const p of this.procs.values()) if (pred(p)) t += p.ticks;
    return t;
  }
}

/** Per-repetition differences a(rep) - b(rep), for the repetitions both have. */
export function pairedDiffs(a: Map<number, number>, b: Map<number, number>): number[] {
  const out: number[] = [];
  for (const [rep, v] of a) {
    const w = b.get(rep);
    if (w !== undefined && Number.isFinite(v) && Number.isFinite(w)) out.push(v - w);
  }
  return out;
}
