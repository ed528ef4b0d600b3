import { createWriteStream, renameSync, unlinkSync, type WriteStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * play --timeline-out FILE: one line per output block, "OUTPUT_FRAME TRUE_NS RTP_TS":
 * the index of the block's first frame in the output (a WAV's sample frame), the TRUE
 * monotonic time it left (CLOCK_MONOTONIC, comparable between processes on one machine, and
 * free of --clock-offset-ms/--clock-drift-ppm), and the RTP timestamp (32-bit, fractional) of
 * the media played in that frame ("-" for silence), then what the controller saw (its state or
 * error in us, "jump", the sender-clock offset estimate). Two players' files compared tell how far
 * apart the same sample left them (timelineSkew).
 * Written to a temporary file next to FILE and renamed over it when play stops.
 */
export class TimelineWriter {
  private readonly tmp: string;
  private readonly out: WriteStream;
  private lines: string[] = [];
  private rate = 0;
  private headed = false;
  constructor(readonly path: string) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    this.out = createWriteStream(this.tmp, { flags: 'wx' });
    this.out.on('error', () => {
      /* reported at close */
    });
  }
  /** the stream's clock rate (written in the header before the first line) */
  setRate(clockRate: number): void {
    this.rate = clockRate;
  }
  add(frame: number, trueNs: bigint, rtpTs: number | undefined, note = ''): void {
    if (!this.headed) {
      this.headed = true;
      this.lines.push(`# rtpcast timeline v1 rate=${this.rate}`);
    }
    this.lines.push(`${frame} ${trueNs} ${rtpTs === undefined ? '-' : (((rtpTs % 2 ** 32) + 2 ** 32) % 2 ** 32).toFixed(3)}${note ? ' ' + note : ''}`);
    if (this.lines.length >= 500) this.flush();
  }
  private flush(): void {
    if (this.lines.length) this.out.write(this.lines.join('\n') + '\n');
    this.lines = [];
  }
  async close(): Promise<void> {
    if (!this.headed) this.lines.push(`# rtpcast timeline v1 rate=${this.rate}`);
    this.headed = true;
    this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    try {
      renameSync(this.tmp, this.path);
    } catch (e) {
      try {
        unlinkSync(this.tmp);
      } catch {
        /* gone */
      }
      throw e;
    }
  }
}

export interface TimelineEntry {
  frame: number;
  trueNs: bigint;
  /** unwrapped (continuous) timestamp, undefined for silence */
  ts: number | undefined;
  /** the rest of the line: the controller's state or error (us), "jump", the estimate */
  note?: string;
}

export function parseTimeline(text: string): { rate: number; entries: TimelineEntry[] } {
  const lines = text.split('\n');
  const m = /rate=(\d+)/.exec(lines[0] ?? '');
  if (!m) throw new Error('not an rtpcast timeline (no "# rtpcast timeline v1 rate=" header)');
  const entries: TimelineEntry[] = [];
  let prev: number | undefined;
  for (const l of lines.slice(1)) {
    if (!l) continue;
    const [f, t, r, ...rest] = l.split(' ');
    let ts: number | undefined;
    if (r !== '-') {
      const w = Number(r);
      // unwrap against the previous timestamp (blocks are 10 ms apart: never half a wrap)
      let d = w - (prev === undefined ? w : prev % 2 ** 32);
      if (d >= 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      ts = prev === undefined ? w : prev + d;
      prev = ts;
    }
    entries.push({ frame: Number(f), trueNs: BigInt(t), ts, ...(rest.length ? { note: rest.join(' ') } : {}) });
  }
  return { rate: Number(m[1]), entries };
}

/**
 * For every block of `a` that played audio (after `fromNs`, true time), when the same sample
 * left `b`: interpolated between the two blocks of `b` around it (skipped where `b` jumped or
 * was silent there). Returns (true time in a, a minus b in us). The two files' timestamps must
 * be of the same stream (same sender, same start).
 */
export function timelineSkew(a: TimelineEntry[], b: TimelineEntry[], rate: number, fromNs = 0n): { atNs: bigint; skewUs: number }[] {
  const out: { atNs: bigint; skewUs: number }[] = [];
  // b's blocks that played, each with whether the next block of b follows it directly
  const bb = b.map((e, i) => ({ ...e, next: b[i + 1] })).filter((e) => e.ts !== undefined);
  let j = 0;
  for (const e of a) {
    if (e.ts === undefined || e.trueNs < fromNs) continue;
    while (j + 1 < bb.length && bb[j + 1].ts! <= e.ts) j++;
    if (j + 1 >= bb.length) break;
    const p = bb[j];
    const q = bb[j + 1];
    if (!(p.ts! <= e.ts && e.ts < q.ts!)) continue;
    // p and q must be consecutive blocks of b (not the two sides of a silence)
    if (p.next?.frame !== q.frame) continue;
    // consecutive blocks of b, played continuously (no jump between them)
    const mediaStep = q.ts! - p.ts!;
    const frames = q.frame - p.frame;
    if (Math.abs(mediaStep - frames) > frames * 0.01) continue;
    const t = Number(p.trueNs) + ((e.ts - p.ts!) / mediaStep) * Number(q.trueNs - p.trueNs);
    out.push({ atNs: e.trueNs, skewUs: (Number(e.trueNs) - t) / 1000 });
  }
  return out;
}

/** p50/p95/p99/max of |skew| in us */
export function skewSummary(s: { skewUs: number }[]): { n: number; p50: number; p95: number; p99: number; max: number } {
  const v = s.map((x) => Math.abs(x.skewUs)).sort((p, q) => p - q);
  const q = (f: number) => (v.length ? v[Math.min(v.length - 1, Math.floor(f * v.length))] : NaN);
  return { n: v.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: v.length ? v[v.length - 1] : NaN };
}

/** one run of blocks over a skew limit (consecutive in a, at most `joinMs` apart), with what the two controllers saw around it */
export interface SkewExcursion {
  fromNs: bigint;
  toNs: bigint;
  blocks: number;
  maxUs: number;
  /** what the timelines show within `aroundMs` of it (jumps, silence, a large controller error), or 'unexplained' */
  explanation: string;
}

/**
 * Groups the blocks whose |skew| is at least `limitUs` into excursions and explains each from
 * the controllers' notes in both timelines around it: a player that jumped, played silence
 * (waiting / early / late: an underrun, the sender's stall), or steered a large error. A block
 * over the limit with none of these nearby is 'unexplained' (the estimator or the measurement).
 */
export function skewExcursions(
  skew: { atNs: bigint; skewUs: number }[],
  a: TimelineEntry[],
  b: TimelineEntry[],
  o: { limitUs?: number; joinMs?: number; aroundMs?: number } = {},
): SkewExcursion[] {
  const limit = o.limitUs ?? 1000;
  const join = BigInt(Math.round((o.joinMs ?? 100) * 1e6));
  const around = BigInt(Math.round((o.aroundMs ?? 100) * 1e6));
  const out: SkewExcursion[] = [];
  for (const x of skew) {
    if (Math.abs(x.skewUs) < limit) continue;
    const last = out[out.length - 1];
    if (last && x.atNs - last.toNs <= join) {
      last.toNs = x.atNs;
      last.blocks++;
      last.maxUs = Math.max(last.maxUs, Math.abs(x.skewUs));
    } else out.push({ fromNs: x.atNs, toNs: x.atNs, blocks: 1, maxUs: Math.abs(x.skewUs), explanation: '' });
  }
  const seen = (t: TimelineEntry[], from: bigint, to: bigint): string[] => {
    const what = new Set<string>();
    for (const e of t) {
      if (e.trueNs < from || e.trueNs > to) continue;
      const words = (e.note ?? '').split(' ');
      if (words.includes('jump')) what.add('jumped');
      if (['waiting', 'early', 'late'].includes(words[0])) what.add(`silent (${words[0]})`);
      const err = Number(words[0]);
      if (Number.isFinite(err) && Math.abs(err) >= limit) what.add(`steering a ${(err / 1000).toFixed(1)} ms error`);
    }
    return [...what];
  };
  for (const e of out) {
    const parts: string[] = [];
    const sa = seen(a, e.fromNs - around, e.toNs + around);
    const sb = seen(b, e.fromNs - around, e.toNs + around);
    if (sa.length) parts.push(`A ${sa.join(', ')}`);
    if (sb.length) parts.push(`B ${sb.join(', ')}`);
    e.explanation = parts.length ? parts.join('; ') : 'unexplained';
  }
  return out;
}
