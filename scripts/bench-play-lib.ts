/**
 * Pure helpers for scripts/bench-play.ts: the test signal (a tone on the left channel, a click
 * train on the right), click detection and indexing, the analysis of what a receiver played over a
 * window of media delimited by clicks, latency statistics, and parsers for what rtpcast play and
 * ffplay print. No I/O here.
 */
import { activeSpan, dominantFrequency, findGaps, phaseBreaks, rms } from '../src/audio/analysis';
import { percentileSorted } from './bench-lib';

export const RATE = 48000;
/** left channel: a steady tone (for gaps, phase breaks, frequency) */
export const TONE_HZ = 630;
export const TONE_PEAK_DBFS = -12;
/** right channel: a click train (for latency and for the media timeline) */
export const CLICK_FIRST_S = 0.25;
export const CLICK_PERIOD_S = 0.5;
export const CLICK_MS = 2;
/** a Hann-windowed 2 kHz burst: well below Opus's intensity-stereo bands, so nothing leaks into the tone */
export const CLICK_HZ = 2000;
export const CLICK_AMP = 0.9;
/** a click starts where |x| first exceeds this (the burst's envelope reaches it 16 samples in) */
export const ONSET_THRESHOLD = 0.2;
/**
 * Click k is moved (k mod 8) x 126 samples (2.625 ms) later than the 500 ms grid, so the clicks
 * fall at 8 different places inside the packets (spread over 1.6..19.4 ms into a 20 ms Opus packet,
 * over 0.3..3.7 ms into a 5 ms L16 packet): a sample late in a packet necessarily waits
 * longer after the packet's arrival than one early in it.
 */
export const CLICK_STAGGER = 126;

/** Sample index of click k's first sample. */
export function clickPos(k: number, rate = RATE): number {
  return Math.round((CLICK_FIRST_S + k * CLICK_PERIOD_S) * rate) + (k % 8) * Math.round((CLICK_STAGGER * rate) / RATE);
}

/** Interleaved stereo: L = TONE_HZ sine at TONE_PEAK_DBFS, R = a 2 ms click about every CLICK_PERIOD_S from CLICK_FIRST_S (see clickPos). */
export function benchSignal(seconds: number, rate = RATE): Float32Array {
  const frames = Math.round(seconds * rate);
  const out = new Float32Array(frames * 2);
  const amp = 10 ** (TONE_PEAK_DBFS / 20);
  const w = (2 * Math.PI * TONE_HZ) / rate;
  for (let i = 0; i < frames; i++) out[2 * i] = amp * Math.sin(w * (i % rate) + 2 * Math.PI * ((Math.floor(i / rate) * TONE_HZ) % 1));
  const len = Math.round((CLICK_MS / 1000) * rate);
  for (const c of clickStarts(seconds, rate)) {
    for (let k = 0; k < len && c + k < frames; k++) {
      const env = Math.sin((Math.PI * (k + 0.5)) / len) ** 2;
      out[2 * (c + k) + 1] = CLICK_AMP * env * Math.sin((2 * Math.PI * CLICK_HZ * k) / rate);
    }
  }
  return out;
}

/** Sample index of every click's first sample. */
export function clickStarts(seconds: number, rate = RATE): number[] {
  const out: number[] = [];
  const len = Math.round((CLICK_MS / 1000) * rate);
  for (let k = 0; ; k++) {
    const s = clickPos(k, rate);
    if (s + len > Math.round(seconds * rate)) return out;
    out.push(s);
  }
}

/** One channel of interleaved samples. */
export function channelOf(samples: Float32Array, channels: number, c: number): Float32Array {
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) out[f] = samples[f * channels + c];
  return out;
}

/**
 * Click onsets: the first sample above `threshold` (absolute) after at least `refractory`
 * samples with nothing above it (so a click, its codec ringing, or a concealment echoing it
 * within 100 ms counts once).
 */
export function detectOnsets(x: Float32Array, threshold = ONSET_THRESHOLD, refractory = Math.round(RATE * 0.1)): number[] {
  const out: number[] = [];
  let last = -Infinity;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) <= threshold) continue;
    if (i - last > refractory) out.push(i);
    last = i;
  }
  return out;
}

export interface IndexedClick {
  /** sample index in the receiver's output */
  o: number;
  /** which click of the input (0: the one at CLICK_FIRST_S) */
  k: number;
}

/**
 * Gives each detected onset the index of the input click it is: the first from `firstK`, then
 * each next one `round(distance / period)` further on. The distance between two clicks in the
 * output is about the period times the clicks between them (the stagger is under 19 ms), plus or
 * minus whatever audio the receiver dropped or inserted there; an onset more than a quarter period
 * off any multiple is not a click (a concealment artefact) and is skipped.
 */
export function indexClicks(onsets: number[], firstK: number, period = Math.round(CLICK_PERIOD_S * RATE)): { clicks: IndexedClick[]; skipped: number } {
  const clicks: IndexedClick[] = [];
  let skipped = 0;
  for (const o of onsets) {
    const prev = clicks[clicks.length - 1];
    if (!prev) {
      clicks.push({ o, k: firstK });
      continue;
    }
    const steps = Math.round((o - prev.o) / period);
    if (steps < 1 || Math.abs(o - prev.o - steps * period) > period / 4) {
      skipped++;
      continue;
    }
    clicks.push({ o, k: prev.k + steps });
  }
  return { clicks, skipped };
}

/** Index of the first detected click, from where it sits after the start of the tone. */
export function firstClickIndex(firstOnset: number, toneStart: number, rate = RATE): number {
  return Math.max(0, Math.round((firstOnset - toneStart - CLICK_FIRST_S * rate) / (CLICK_PERIOD_S * rate)));
}

export interface WindowReport {
  /** clicks that delimit the window (input click indices) */
  fromK: number;
  toK: number;
  /** media between them as sent, ms */
  mediaMs: number;
  /** output between them, ms */
  outputMs: number;
  /** outputMs - mediaMs: < 0 audio went missing (dropped, not replaced), > 0 audio was added (underrun concealment, stalls) */
  diffMs: number;
  /** clicks found in the window / clicks sent in it */
  clicksFound: number;
  clicksExpected: number;
  /** onsets that were not clicks (see indexClicks) */
  skippedOnsets: number;
  frequencyHz: number;
  levelDbfs: number;
  /** silences (10 ms windows under -40 dBFS) inside the window */
  gaps: number;
  gapsOver30: number;
  longestGapMs: number;
  silentMs: number;
  phaseBreaks: number;
}

/**
 * What a receiver played of the input clicks 0..maxK and the tone between them. `left` is the
 * tone channel and `right` the click channel of its output (any length, silence before and after
 * allowed). undefined when fewer than two clicks were found.
 */
export function analyzeWindow(left: Float32Array, right: Float32Array, maxK: number, rate = RATE): (WindowReport & { clicks: IndexedClick[] }) | undefined {
  const onsets = detectOnsets(right);
  if (onsets.length < 2) return undefined;
  const span = activeSpan(left, rate);
  const firstK = firstClickIndex(onsets[0], span ? span.start : 0, rate);
  const { clicks, skipped } = indexClicks(onsets, firstK);
  const inWin = clicks.filter((c) => c.k >= 0 && c.k <= maxK);
  if (inWin.length < 2) return undefined;
  const a = inWin[0];
  const b = inWin[inWin.length - 1];
  const seg = left.subarray(a.o, b.o);
  const g = findGaps(seg, rate);
  const over = g.gaps.filter((x) => x.durationMs > 30);
  const mediaMs = ((clickPos(b.k, rate) - clickPos(a.k, rate)) * 1000) / rate;
  const outputMs = ((b.o - a.o) * 1000) / rate;
  const freq = dominantFrequency(seg, rate);
  const lvl = rms(seg);
  return {
    fromK: a.k,
    toK: b.k,
    mediaMs,
    outputMs,
    diffMs: outputMs - mediaMs,
    clicksFound: inWin.length,
    clicksExpected: maxK + 1,
    skippedOnsets: skipped,
    frequencyHz: freq,
    levelDbfs: lvl > 0 ? 20 * Math.log10(lvl) : -Infinity,
    gaps: g.gaps.length,
    gapsOver30: over.length,
    longestGapMs: g.longestMs,
    silentMs: g.gaps.reduce((s, x) => s + x.durationMs, 0),
    phaseBreaks: phaseBreaks(seg, rate, TONE_HZ).count,
    clicks,
  };
}

export interface Spread {
  n: number;
  min: number;
  p50: number;
  p95: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  return { n: v.length, min: v.length ? v[0] : NaN, p50: percentileSorted(v, 50), p95: percentileSorted(v, 95), max: v.length ? v[v.length - 1] : NaN };
}

/** Index of the first chunk whose end (exclusive, in bytes) is past `byte`; -1 if none. */
export function chunkAt(ends: ArrayLike<number>, byte: number): number {
  let lo = 0;
  let hi = ends.length - 1;
  if (hi < 0 || ends[hi] <= byte) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ends[mid] > byte) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The player's figures from the last status line rtpcast play prints on stderr ("rtpcast play: stopped. ..."). */
export interface PlayLine {
  state: string;
  bufferedMs: number;
  targetMs: number;
  jitterMs: number;
  lossPct: number;
  fecMs: number;
  concealedMs: number;
  driftPpm: number;
}

export function parsePlayStopLine(stderr: string): PlayLine | undefined {
  const line = stderr.split('\n').reverse().find((l) => l.includes('rtpcast play: stopped.'));
  if (!line) return undefined;
  const num = (re: RegExp) => {
    const m = re.exec(line);
    return m ? Number(m[1]) : NaN;
  };
  const lat = /latency (\d+)\/(\d+) ms/.exec(line);
  const st = /stopped\.\s+\S+\s+(\w+)/.exec(line);
  return {
    state: st ? st[1] : '?',
    bufferedMs: lat ? Number(lat[1]) : NaN,
    targetMs: lat ? Number(lat[2]) : NaN,
    jitterMs: num(/jitter ([\d.]+) ms/),
    lossPct: num(/loss ([\d.]+)%/),
    fecMs: /fec (\d+) ms/.test(line) ? num(/fec (\d+) ms/) : 0,
    concealedMs: num(/concealed (\d+) ms/),
    driftPpm: num(/drift ([+-]?\d+) ppm/),
  };
}

/** ffplay's status line ("  12.34 M-A:  0.000 fd=   0 aq=   12KB ..."): the master clock's first and last values and the last audio queue size. */
export function parseFfplayStatus(stderr: string): { firstClock: number; lastClock: number; lines: number; lastAqKB: number } | undefined {
  const re = /(-?\d+\.\d+)\s+M-A:\s*-?[\d.]+\s+fd=\s*\d+\s+aq=\s*(\d+)KB/g;
  let first: number | undefined;
  let last = NaN;
  let aq = NaN;
  let n = 0;
  for (let m = re.exec(stderr); m; m = re.exec(stderr)) {
    const c = Number(m[1]);
    if (!Number.isFinite(c)) continue;
    first ??= c;
    last = c;
    aq = Number(m[2]);
    n++;
  }
  return first === undefined ? undefined : { firstClock: first, lastClock: last, lines: n, lastAqKB: aq };
}

/** RTP sequence numbers extended across wraps, in the order given. */
export function extendSequences(seqs: number[]): number[] {
  const out: number[] = [];
  let ext = 0;
  for (let i = 0; i < seqs.length; i++) {
    if (i === 0) ext = seqs[0];
    else {
      let d = (seqs[i] - (ext & 0xffff)) & 0xffff;
      if (d > 0x8000) d -= 0x10000;
      ext += d;
    }
    out.push(ext);
  }
  return out;
}
