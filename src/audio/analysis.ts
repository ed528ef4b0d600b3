/**
 * Signal analysis helpers for test tones (pure functions on mono
 * Float32Array signals, full scale = 1.0). Used by the interop tests to check
 * what a receiver actually played, and by diagnostics.
 *
 * Level convention: dBFS is the RMS relative to 1.0, so a full-scale sine is
 * -3.01 dBFS.
 */
import { DecodedPcm, mixToMono } from './wav';

const DEFAULT_WINDOW_MS = 10;
const DEFAULT_THRESHOLD_DB = -40;

/**
 * Default phase-break threshold, as |residual| / peak amplitude (see
 * phaseBreaks for the residual).
 *
 * For a pure sine of amplitude A the residual is 0. Quantisation to 16 bits
 * leaves white noise of 1/(32768*sqrt(12)) rms, which the residual filter
 * amplifies by about 2 -> peaks near 1e-4 / A, i.e. ~1e-3 even for a
 * -20 dBFS tone. A phase jump of phi gives a residual of
 * 2A*sin(phi/2)*cos(theta), theta being the phase around the jump; the stride
 * makes the largest one over the jump have |cos| >= 0.71, so a dropped or
 * repeated 20 ms of a 630 Hz tone (phi = 0.6 cycle = 216 deg) reads 1.35..1.9.
 * White noise at amplitude ratio s (noise rms / A) reads about 2*s rms, so
 * -50 dBFS noise on a -9 dBFS tone peaks near 0.05, and Opus at 64-128 kb/s
 * on a clean tone (tens of dB better than that) stays far below too.
 * 0.25 thus sits far above quantisation and codec noise, and catches any
 * phase jump of more than about 2*asin(0.25 / (2 * 0.71)) = 20 deg wherever it
 * falls (15 deg where it falls best).
 */
export const DEFAULT_PHASE_BREAK_THRESHOLD = 0.25;

/** Phase-break hits closer than this are one break. */
const BREAK_MERGE_MS = 5;

function dbToAmplitude(db: number): number {
  return Math.pow(10, db / 20);
}

function windowSamples(rate: number, windowMs: number): number {
  return Math.max(1, Math.round((rate * windowMs) / 1000));
}

/** Root mean square of x[start..end) (0 for an empty range). */
export function rms(x: Float32Array, start = 0, end = x.length): number {
  const s = Math.max(0, start);
  const e = Math.min(x.length, end);
  if (e <= s) return 0;
  let sum = 0;
  for (let i = s; i < e; i++) sum += x[i] * x[i];
  return Math.sqrt(sum / (e - s));
}

/**
 * Power of the component at `freq` in x[start..end), via the Goertzel
 * recurrence (freq need not fall on a DFT bin). Normalised as mean power:
 * a sine of amplitude A at exactly `freq` over whole cycles gives A^2 / 2,
 * comparable with rms()^2.
 */
export function goertzelPower(x: Float32Array, rate: number, freq: number, start = 0, end = x.length): number {
  const s = Math.max(0, start);
  const e = Math.min(x.length, end);
  const n = e - s;
  if (n <= 0) return 0;
  const coeff = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0;
  let s2 = 0;
  for (let i = s; i < e; i++) {
    const s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * mag2) / (n * n);
}

/** RMS-above-threshold flag for each consecutive window of W samples. */
function loudWindows(x: Float32Array, w: number, thresholdDb: number): boolean[] {
  const limit = dbToAmplitude(thresholdDb);
  const flags: boolean[] = [];
  for (let s = 0; s < x.length; s += w) flags.push(rms(x, s, s + w) > limit);
  return flags;
}

/**
 * Span from the first to the last window (default 10 ms, consecutive and
 * non-overlapping) whose RMS exceeds the threshold (default -40 dBFS).
 * Sample indices, end exclusive; null when every window is below it.
 */
export function activeSpan(
  x: Float32Array,
  rate: number,
  opts: { windowMs?: number; thresholdDb?: number } = {},
): { start: number; end: number; seconds: number } | null {
  const w = windowSamples(rate, opts.windowMs ?? DEFAULT_WINDOW_MS);
  const flags = loudWindows(x, w, opts.thresholdDb ?? DEFAULT_THRESHOLD_DB);
  const first = flags.indexOf(true);
  if (first < 0) return null;
  const last = flags.lastIndexOf(true);
  const start = first * w;
  const end = Math.min(x.length, (last + 1) * w);
  return { start, end, seconds: (end - start) / rate };
}

/**
 * Silent runs of windows strictly inside the active span (drop-outs in the
 * middle of a tone). Adjacent silent windows merge into one gap, whose edges
 * are then refined to the sample: the gap is extended into the neighbouring
 * windows while |x| stays below the peak of a sine at the threshold level.
 * A gap must contain at least one whole silent window to be seen (shorter
 * holes are what phaseBreaks() is for).
 */
export function findGaps(
  x: Float32Array,
  rate: number,
  opts: { windowMs?: number; thresholdDb?: number } = {},
): { gaps: { startSec: number; durationMs: number }[]; longestMs: number } {
  const thresholdDb = opts.thresholdDb ?? DEFAULT_THRESHOLD_DB;
  const w = windowSamples(rate, opts.windowMs ?? DEFAULT_WINDOW_MS);
  const flags = loudWindows(x, w, thresholdDb);
  const first = flags.indexOf(true);
  const last = flags.lastIndexOf(true);
  const peakLimit = dbToAmplitude(thresholdDb) * Math.SQRT2;
  const gaps: { startSec: number; durationMs: number }[] = [];
  let longestMs = 0;
  for (let i = first + 1; first >= 0 && i < last; i++) {
    if (flags[i]) continue;
    let j = i;
    while (j + 1 < last && !flags[j + 1]) j++;
    let start = i * w;
    let end = (j + 1) * w;
    const minStart = (i - 1) * w;
    const maxEnd = Math.min(x.length, (j + 2) * w);
    while (start > minStart && Math.abs(x[start - 1]) <= peakLimit) start--;
    while (end < maxEnd && Math.abs(x[end]) <= peakLimit) end++;
    const durationMs = ((end - start) / rate) * 1000;
    gaps.push({ startSec: start / rate, durationMs });
    longestMs = Math.max(longestMs, durationMs);
    i = j;
  }
  return { gaps, longestMs };
}

/** In-place iterative radix-2 complex FFT (length must be a power of two). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j |= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

function hann(i: number, n: number): number {
  return 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
}

/** Coarse peak: Hann-windowed, 2x zero-padded FFT + Gaussian interpolation. */
function coarsePeakHz(x: Float32Array, start: number, end: number, rate: number, minHz: number, maxHz: number): number {
  const len = Math.min(end - start, 32768);
  if (len < 4) return 0;
  const from = start + ((end - start - len) >> 1);
  let size = 1;
  while (size < len) size <<= 1;
  size *= 2;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  let mean = 0;
  for (let i = 0; i < len; i++) mean += x[from + i];
  mean /= len;
  for (let i = 0; i < len; i++) re[i] = (x[from + i] - mean) * hann(i, len);
  fft(re, im);
  const binHz = rate / size;
  const kMin = Math.max(1, Math.ceil(minHz / binHz));
  const kMax = Math.min(size / 2 - 1, Math.floor(maxHz / binHz));
  const power = (k: number) => re[k] * re[k] + im[k] * im[k];
  let best = -1;
  let bestPower = 0;
  for (let k = kMin; k <= kMax; k++) {
    const p = power(k);
    if (p > bestPower) {
      bestPower = p;
      best = k;
    }
  }
  if (best < 0) return 0;
  let delta = 0;
  if (best > 1 && best < size / 2 - 1) {
    const a = Math.log(power(best - 1) + 1e-300);
    const b = Math.log(bestPower);
    const c = Math.log(power(best + 1) + 1e-300);
    const den = a - 2 * b + c;
    if (den < 0) delta = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den));
  }
  return (best + delta) * binHz;
}

/**
 * Phase-slope refinement around f0: the span is cut into blocks of L samples
 * (>= 50 ms and >= 6 periods), each block is correlated with a Hann-windowed
 * complex exponential at f0 (phase referenced to the span start), and the
 * phase advance between consecutive blocks equals (w - w0) * L. Advances are
 * combined by a magnitude-weighted median, then a weighted mean of those
 * within 0.25 rad of it, so silent blocks and an odd phase break do not bias
 * the result. Unambiguous while |f - f0| < rate / (2L) (10 Hz for 50 ms).
 */
function refinePhaseSlope(x: Float32Array, start: number, end: number, rate: number, f0: number): number {
  const span = end - start;
  let len = Math.max(Math.round(0.05 * rate), Math.ceil((6 * rate) / f0));
  if (span < 2 * len) len = Math.floor(span / 2);
  if (len < 16) return f0;
  const blocks = Math.floor(span / len);
  const w0 = (2 * Math.PI * f0) / rate;
  const win = new Float64Array(len);
  for (let i = 0; i < len; i++) win[i] = hann(i, len);
  const cr = new Float64Array(blocks);
  const ci = new Float64Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let sr = 0;
    let si = 0;
    for (let i = 0; i < len; i++) {
      const n = b * len + i;
      const v = x[start + n] * win[i];
      sr += v * Math.cos(w0 * n);
      si -= v * Math.sin(w0 * n);
    }
    cr[b] = sr;
    ci[b] = si;
  }
  const steps: { d: number; weight: number }[] = [];
  for (let b = 0; b + 1 < blocks; b++) {
    // arg(c[b+1] * conj(c[b]))
    const pr = cr[b + 1] * cr[b] + ci[b + 1] * ci[b];
    const pi = ci[b + 1] * cr[b] - cr[b + 1] * ci[b];
    const weight = Math.hypot(pr, pi);
    if (weight > 0) steps.push({ d: Math.atan2(pi, pr), weight });
  }
  if (steps.length === 0) return f0;
  const sorted = [...steps].sort((p, q) => p.d - q.d);
  const total = sorted.reduce((s, p) => s + p.weight, 0);
  let acc = 0;
  let median = sorted[0].d;
  for (const p of sorted) {
    acc += p.weight;
    if (acc >= total / 2) {
      median = p.d;
      break;
    }
  }
  let sum = 0;
  let weights = 0;
  for (const p of steps) {
    if (Math.abs(p.d - median) <= 0.25) {
      sum += p.d * p.weight;
      weights += p.weight;
    }
  }
  const dw = sum / weights / len;
  return f0 + (dw * rate) / (2 * Math.PI);
}

/**
 * Frequency of the strongest sinusoid in the active span of x (the whole
 * signal if it is entirely below -40 dBFS), in Hz; 0 for a silent signal.
 *
 * Method: a Hann-windowed FFT of up to 32768 samples from the middle of the
 * span finds the peak within [minHz, maxHz] (default 20..20000, maxHz clamped
 * to rate/2) to a fraction of a bin via Gaussian (log-parabolic)
 * interpolation; two passes of a block phase-slope estimate over the whole
 * span then refine it. A clean 1 s tone comes out within ~0.001 Hz.
 */
export function dominantFrequency(x: Float32Array, rate: number, opts: { minHz?: number; maxHz?: number } = {}): number {
  const minHz = Math.max(0, opts.minHz ?? 20);
  const maxHz = Math.min(rate / 2, opts.maxHz ?? 20000);
  const span = activeSpan(x, rate) ?? { start: 0, end: x.length };
  let f = coarsePeakHz(x, span.start, span.end, rate, minHz, maxHz);
  if (f <= 0) return 0;
  for (let pass = 0; pass < 2; pass++) f = refinePhaseSlope(x, span.start, span.end, rate, f);
  return f;
}

/**
 * Counts phase discontinuities (splices, dropped or repeated stretches) in a
 * sine of known frequency. A sine obeys x[n] = 2cos(w)x[n-1] - x[n-2], and
 * more generally x[n] = 2cos(d*w)x[n-d] - x[n-2d] for any stride d. The
 * residual r[n] = x[n] - 2cos(d*w)x[n-d] + x[n-2d] is divided by the peak
 * amplitude of the active span (its RMS * sqrt 2).
 *
 * Stride: d = about 1/8 period (1 when the tone is above rate/8, which is the
 * plain recurrence). With d = 1 a jump of phi shows up in only ~2 samples as
 * 2*sin(phi/2)*cos(phase at the jump), which is near 0 when the splice
 * happens to be value-continuous (~6% of positions for a 20 ms splice of
 * 630 Hz at 48 kHz go unseen). With d = 1/8 period the jump shows up in every
 * residual whose 2d-sample span straddles it, a quarter period, so the
 * largest one is at least cos(pi/4) = 0.71 of 2*sin(phi/2). Costs: noise gain
 * 2 (d = 1: up to 2.45), and a frequency error of rel (fraction) leaves
 * ~1.1*rel of residual (10% off still reads 0.11 < 0.25).
 *
 * Only samples inside the active span, one window (10 ms) plus 2d away from
 * its edges (the tone's own onset and end), are examined. Hits closer than
 * 5 ms are one break; a break's position is its largest residual minus d
 * (the centre of the span it covers), within 1/8 period of the jump. `worst`
 * is the largest normalised residual examined. Default threshold: see
 * DEFAULT_PHASE_BREAK_THRESHOLD.
 */
export function phaseBreaks(
  x: Float32Array,
  rate: number,
  freq: number,
  opts: { threshold?: number } = {},
): { count: number; worst: number; positionsSec: number[] } {
  const threshold = opts.threshold ?? DEFAULT_PHASE_BREAK_THRESHOLD;
  const none = { count: 0, worst: 0, positionsSec: [] as number[] };
  const span = activeSpan(x, rate);
  if (!span || !(freq > 0)) return none;
  const amplitude = rms(x, span.start, span.end) * Math.SQRT2;
  if (amplitude === 0) return none;
  const d = Math.max(1, Math.round(rate / (8 * freq)));
  const edge = windowSamples(rate, DEFAULT_WINDOW_MS);
  const from = span.start + edge + 2 * d;
  const to = span.end - edge;
  const c = 2 * Math.cos((2 * Math.PI * freq * d) / rate);
  const merge = Math.round((rate * BREAK_MERGE_MS) / 1000);
  const peaks: number[] = [];
  let worst = 0;
  let lastHit = -Infinity;
  let peakValue = 0;
  for (let n = from; n < to; n++) {
    const r = Math.abs(x[n] - c * x[n - d] + x[n - 2 * d]) / amplitude;
    if (r > worst) worst = r;
    if (r <= threshold) continue;
    if (n - lastHit >= merge) {
      peaks.push(n);
      peakValue = r;
    } else if (r > peakValue) {
      peaks[peaks.length - 1] = n;
      peakValue = r;
    }
    lastHit = n;
  }
  return { count: peaks.length, worst, positionsSec: peaks.map((n) => (n - d) / rate) };
}

/** Summary of a test tone as received. */
export interface ToneReport {
  rate: number;
  channels: number;
  /** Total duration. */
  seconds: number;
  /** Duration of the active span (0 if silent). */
  activeSeconds: number;
  /** Dominant frequency, 0 if silent. */
  frequencyHz: number;
  /** RMS of the active span in dBFS (-Infinity if silent). */
  levelDbfs: number;
  longestGapMs: number;
  gaps: number;
  phaseBreaks: number;
}

/**
 * Analyses a (possibly multichannel) test tone on its mono mix. Phase breaks
 * are measured at `expectHz` when given, else at the measured frequency.
 */
export function analyzeTone(pcm: DecodedPcm, opts: { expectHz?: number } = {}): ToneReport {
  const mono = mixToMono(pcm.samples, pcm.channels);
  const span = activeSpan(mono, pcm.rate);
  const frequencyHz = dominantFrequency(mono, pcm.rate);
  const gapInfo = findGaps(mono, pcm.rate);
  const breaks = phaseBreaks(mono, pcm.rate, opts.expectHz ?? frequencyHz);
  return {
    rate: pcm.rate,
    channels: pcm.channels,
    seconds: mono.length / pcm.rate,
    activeSeconds: span ? span.seconds : 0,
    frequencyHz,
    levelDbfs: span ? 20 * Math.log10(rms(mono, span.start, span.end)) : -Infinity,
    longestGapMs: gapInfo.longestMs,
    gaps: gapInfo.gaps.length,
    phaseBreaks: breaks.count,
  };
}
