/**
 * Pure helpers for scripts/bench-send.ts: RTP header parsing, pacing statistics, /proc and
 * GNU time parsing, table rendering and the docs section rewrite. No I/O here.
 */

/** The fields of an RTP packet the benchmark needs (RFC 3550 5.1). */
export interface RtpHeaderInfo {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** payload bytes: after CSRCs and the header extension, before padding */
  payloadBytes: number;
}

/** Parses an RTP header; undefined for anything that is not RTP version 2 or is truncated. */
export function parseRtpHeader(b: Uint8Array): RtpHeaderInfo | undefined {
  if (b.length < 12 || b[0] >> 6 !== 2) return undefined;
  const cc = b[0] & 0x0f;
  let off = 12 + 4 * cc;
  if (b[0] & 0x10) {
    if (b.length < off + 4) return undefined;
    off += 4 + 4 * ((b[off + 2] << 8) | b[off + 3]);
  }
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  if (end < off) return undefined;
  return {
    payloadType: b[1] & 0x7f,
    marker: (b[1] & 0x80) !== 0,
    sequence: (b[2] << 8) | b[3],
    timestamp: ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0,
    ssrc: ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0,
    payloadBytes: end - off,
  };
}

/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sorted[Math.min(n, rank) - 1];
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export interface DevStats {
  p50: number;
  p99: number;
  max: number;
  /** how many values the statistics are over */
  n: number;
}

/** p50 / p99 / max of absolute values. */
export function absStats(values: ArrayLike<number>): DevStats {
  const a = Float64Array.from(values as ArrayLike<number>, (x) => Math.abs(x)).sort();
  return { p50: percentileSorted(a, 50), p99: percentileSorted(a, 99), max: a.length ? a[a.length - 1] : NaN, n: a.length };
}

/** Differences of 32-bit RTP timestamps, unwrapped: cumulative media position in clock ticks. */
export function unwrapTimestamps(ts: ArrayLike<number>): number[] {
  const out: number[] = [];
  let acc = 0;
  for (let i = 0; i < ts.length; i++) {
    if (i > 0) {
      let d = (ts[i] - ts[i - 1]) >>> 0;
      if (d > 0x80000000) d -= 0x100000000; // a step backwards (reordering)
      acc += d;
    }
    out.push(acc);
  }
  return out;
}

/** Least-squares line y = a + b x. */
export function fitLine(x: ArrayLike<number>, y: ArrayLike<number>): { a: number; b: number } {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    sxx += dx * dx;
    sxy += dx * (y[i] - my);
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return { a: my - b * mx, b };
}

export interface PacingResult {
  packets: number;
  /** |actual inter-arrival - nominal (RTP timestamp step / clock rate)| in ms, per packet after the first */
  interval: DevStats;
  /** |arrival - best-fit line over media time| in ms (arrival_i ~ t0 + k * mediaTime_i) */
  schedule: DevStats;
  /** fitted slope - 1, in parts per million (0: the sender's clock matches the media clock) */
  slopePpm: number;
  /** media time covered: first packet's start to last packet's end, seconds */
  mediaSec: number;
  /** wall time from first to last arrival, seconds */
  spanSec: number;
}

/**
 * Pacing statistics from arrival times (ns, any origin) and RTP timestamps. The nominal spacing
 * of packet i is the RTP timestamp step from packet i-1 (for L16 this equals the previous
 * payload's duration; for 20 ms Opus it is 960 ticks). `lastPacketTicks` is the duration of the
 * last packet (for mediaSec).
 */
export function analyzePacing(arrivalNs: ArrayLike<number>, timestamps: ArrayLike<number>, clockRate: number, lastPacketTicks: number): PacingResult {
  const n = arrivalNs.length;
  const media = unwrapTimestamps(timestamps);
  const t0 = n ? arrivalNs[0] : 0;
  const xs = media.map((m) => (m / clockRate) * 1e3); // ms of media
  const ys: number[] = [];
  for (let i = 0; i < n; i++) ys.push((arrivalNs[i] - t0) / 1e6); // ms of wall time
  const iv: number[] = [];
  for (let i = 1; i < n; i++) iv.push(ys[i] - ys[i - 1] - (xs[i] - xs[i - 1]));
  const { a, b } = fitLine(xs, ys);
  const res: number[] = [];
  for (let i = 0; i < n; i++) res.push(ys[i] - (a + b * xs[i]));
  return {
    packets: n,
    interval: absStats(iv),
    schedule: absStats(res),
    slopePpm: n > 1 ? (b - 1) * 1e6 : NaN,
    mediaSec: n ? (media[n - 1] + lastPacketTicks) / clockRate : 0,
    spanSec: n ? (arrivalNs[n - 1] - t0) / 1e9 : 0,
  };
}

/** Sequence-number accounting: packets lost (never seen) and seen out of order. */
export function sequenceCheck(seqs: ArrayLike<number>): { expected: number; lost: number; outOfOrder: number } {
  if (seqs.length === 0) return { expected: 0, lost: 0, outOfOrder: 0 };
  let ext = seqs[0];
  let maxExt = ext;
  let minExt = ext;
  let ooo = 0;
  const seen = new Set<number>([ext]);
  for (let i = 1; i < seqs.length; i++) {
    let d = (seqs[i] - (ext & 0xffff)) & 0xffff;
    if (d > 0x8000) d -= 0x10000;
    ext += d;
    if (ext < maxExt) ooo++;
    maxExt = Math.max(maxExt, ext);
    minExt = Math.min(minExt, ext);
    seen.add(ext);
  }
  const expected = maxExt - minExt + 1;
  return { expected, lost: expected - seen.size, outOfOrder: ooo };
}

/** "960 B x 12000" for uniform sizes, else "min..max (median M)". */
export function describeSizes(sizes: ArrayLike<number>): { text: string; min: number; max: number; median: number; mean: number } {
  const a = Float64Array.from(sizes as ArrayLike<number>).sort();
  if (a.length === 0) return { text: 'none', min: NaN, max: NaN, median: NaN, mean: NaN };
  const min = a[0];
  const max = a[a.length - 1];
  const med = median(Array.from(a));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const counts = new Map<number, number>();
  for (const v of a) counts.set(v, (counts.get(v) ?? 0) + 1);
  let text: string;
  if (counts.size === 1) text = `${min} B all`;
  else if (counts.size <= 3) text = [...counts].map(([s, c]) => `${s} B x${c}`).join(', ');
  else text = `${min}-${max} B (median ${med}, mean ${mean.toFixed(0)})`;
  return { text, min, max, median: med, mean };
}

/** /proc/<pid>/stat: user/system ticks of the process and of its waited-for children. */
export function parseProcStat(text: string): { utime: number; stime: number; cutime: number; cstime: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // after ") ": field 3 (state) is index 0, so field k is index k - 3
  const f = text.slice(close + 2).trim().split(/\s+/);
  if (f.length < 15) return undefined;
  return { utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
}

/** The output of GNU time with -f '%U %S %e' (its last line; a "Command exited..." line may precede it). */
export function parseGnuTime(text: string): { user: number; sys: number; elapsed: number } | undefined {
  const lines = text.trim().split('\n').filter(Boolean);
  const last = lines[lines.length - 1];
  const m = last ? /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(last.trim()) : null;
  if (!m) return undefined;
  return { user: Number(m[1]), sys: Number(m[2]), elapsed: Number(m[3]) };
}

/** Replaces the text between two marker lines (kept); appends the section when the markers are missing. */
export function replaceSection(doc: string, start: string, end: string, body: string): string {
  const i = doc.indexOf(start);
  const j = i >= 0 ? doc.indexOf(end, i + start.length) : -1;
  const section = `${start}\n${body.trim()}\n${end}`;
  if (i < 0 || j < 0) return `${doc.trimEnd()}\n\n${section}\n`;
  return doc.slice(0, i) + section + doc.slice(j + end.length);
}

/** A plain-text table, columns padded (for the terminal). */
export function textTable(head: string[], rows: string[][]): string {
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(w[c]) : v.padStart(w[c]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(head: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `|${head.map((_, c) => (c === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** Milliseconds with a precision that suits the magnitude. */
export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 10 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(1);
}

/** A deterministic PRNG (mulberry32) in [0, 1): the benchmark input is the same every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Interleaved stereo test signal: a tone per channel (440 / 660 Hz, -12 dBFS) plus noise at -26 dBFS. */
export function testSignal(seconds: number, rate: number): Float32Array {
  const frames = Math.round(seconds * rate);
  const out = new Float32Array(frames * 2);
  const rnd = mulberry32(0x5eed);
  const wl = (2 * Math.PI * 440) / rate;
  const wr = (2 * Math.PI * 660) / rate;
  for (let i = 0; i < frames; i++) {
    out[2 * i] = 0.25 * Math.sin(wl * i) + 0.05 * (rnd() * 2 - 1);
    out[2 * i + 1] = 0.25 * Math.sin(wr * i) + 0.05 * (rnd() * 2 - 1);
  }
  return out;
}
