import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activeSpan,
  analyzeTone,
  dominantFrequency,
  findGaps,
  goertzelPower,
  phaseBreaks,
  rms,
} from '../../src/audio/analysis';

/** A sine of `seconds` at `freq`, amplitude `amp`, with an arbitrary start phase. */
function sine(freq: number, rate: number, seconds: number, amp = 0.5, phase = 0.7): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate + phase);
  return out;
}

/** Rounds to the 16-bit grid, like a s16 WAV or L16 stream. */
function quantize16(x: Float32Array): Float32Array {
  return x.map((v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))) / 32768);
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic uniform noise in -1..1 (LCG). */
function noise(length: number, seed = 12345): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

test('rms and goertzelPower give physical numbers', () => {
  const x = sine(1000, 48000, 0.1, 0.5);
  assert.ok(Math.abs(rms(x) - 0.5 / Math.SQRT2) < 1e-4);
  assert.equal(rms(x, 10, 10), 0);
  assert.ok(Math.abs(goertzelPower(x, 48000, 1000) - 0.125) < 1e-3);
  assert.ok(goertzelPower(x, 48000, 1500) < 1e-6);
  assert.ok(Math.abs(goertzelPower(x, 48000, 1000, 0, 480) - 0.125) < 1e-3);
});

test('dominantFrequency within 0.3 Hz for test tones at several rates', () => {
  for (const rate of [8000, 16000, 44100, 48000]) {
    for (const freq of [630, 730, 870, 1030]) {
      const got = dominantFrequency(quantize16(sine(freq, rate, 1)), rate);
      assert.ok(Math.abs(got - freq) < 0.3, `${freq} Hz at ${rate}: got ${got}`);
    }
  }
});

test('dominantFrequency phase-slope refinement reaches 0.001 Hz on clean tones', () => {
  for (const [rate, freq] of [[8000, 630], [44100, 870], [48000, 1030]]) {
    const got = dominantFrequency(sine(freq, rate, 1), rate);
    assert.ok(Math.abs(got - freq) < 0.001, `${freq} Hz at ${rate}: got ${got}`);
  }
});

test('dominantFrequency ignores leading and trailing silence', () => {
  const rate = 44100;
  const x = concat(new Float32Array(0.3 * rate), sine(630, rate, 0.7), new Float32Array(0.2 * rate));
  const got = dominantFrequency(x, rate);
  assert.ok(Math.abs(got - 630) < 0.3, `got ${got}`);
});

test('dominantFrequency honours minHz/maxHz and silence', () => {
  const rate = 48000;
  const x = sine(440, rate, 0.6, 0.5);
  const small = sine(3000, rate, 0.6, 0.1);
  for (let i = 0; i < x.length; i++) x[i] += small[i];
  assert.ok(Math.abs(dominantFrequency(x, rate) - 440) < 0.3);
  assert.ok(Math.abs(dominantFrequency(x, rate, { minHz: 1000 }) - 3000) < 0.3);
  assert.ok(Math.abs(dominantFrequency(sine(5000, 16000, 0.5), 16000, { maxHz: 30000 }) - 5000) < 0.3);
  assert.equal(dominantFrequency(new Float32Array(8000), 8000), 0);
});

test('activeSpan finds the tone within one window', () => {
  const rate = 48000;
  const x = concat(new Float32Array(0.3 * rate), sine(630, rate, 1.0), new Float32Array(0.2 * rate));
  const span = activeSpan(x, rate);
  assert.ok(span);
  assert.ok(Math.abs(span.seconds - 1.0) <= 0.01, `seconds ${span.seconds}`);
  assert.ok(Math.abs(span.start - 0.3 * rate) <= 480, `start ${span.start}`);
  assert.ok(Math.abs(span.end - 1.3 * rate) <= 480, `end ${span.end}`);
  assert.equal(activeSpan(new Float32Array(4800), rate), null);
  // a -50 dBFS tone is below the default -40 dBFS threshold but not below -60
  assert.equal(activeSpan(sine(630, rate, 0.2, 0.0045), rate), null);
  assert.ok(activeSpan(sine(630, rate, 0.2, 0.0045), rate, { thresholdDb: -60 }));
});

test('findGaps finds a 25 ms hole at the right place', () => {
  const rate = 48000;
  const x = quantize16(sine(630, rate, 1));
  const holeStart = Math.round(0.5037 * rate);
  x.fill(0, holeStart, holeStart + Math.round(0.025 * rate));
  const { gaps, longestMs } = findGaps(x, rate);
  assert.equal(gaps.length, 1);
  assert.ok(Math.abs(gaps[0].startSec - 0.5037) < 0.001, `start ${gaps[0].startSec}`);
  assert.ok(Math.abs(gaps[0].durationMs - 25) < 1, `duration ${gaps[0].durationMs}`);
  assert.equal(longestMs, gaps[0].durationMs);
});

test('findGaps reports nothing for a clean tone with silence around it', () => {
  const rate = 44100;
  const x = concat(new Float32Array(0.25 * rate), sine(630, rate, 1), new Float32Array(0.25 * rate));
  assert.deepEqual(findGaps(x, rate), { gaps: [], longestMs: 0 });
});

test('phaseBreaks: none for a clean 16-bit tone, found for splices and repeats', () => {
  const rate = 48000;
  const freq = 630;
  const clean = quantize16(sine(freq, rate, 1.2));
  const ok = phaseBreaks(clean, rate, freq);
  assert.equal(ok.count, 0);
  assert.ok(ok.worst < 0.01, `clean worst ${ok.worst}`);

  const cut = Math.round(0.02 * rate);
  for (const at of [0.5, 0.6213]) {
    const pos = Math.round(at * rate);
    const spliced = concat(clean.subarray(0, pos), clean.subarray(pos + cut));
    const s = phaseBreaks(spliced, rate, freq);
    assert.ok(s.count >= 1, `splice at ${at}: worst ${s.worst}`);
    assert.ok(Math.abs(s.positionsSec[0] - at) < 0.002, `splice at ${at}: found ${s.positionsSec}`);

    const repeated = concat(clean.subarray(0, pos), clean.subarray(pos - cut, pos), clean.subarray(pos));
    const r = phaseBreaks(repeated, rate, freq);
    assert.ok(r.count >= 1, `repeat at ${at}: worst ${r.worst}`);
    assert.ok(Math.abs(r.positionsSec[0] - at) < 0.002, `repeat at ${at}: found ${r.positionsSec}`);
  }
});

test('phaseBreaks catches a 20 ms splice wherever it falls in the cycle', () => {
  for (const rate of [8000, 48000]) {
    const clean = quantize16(sine(630, rate, 1));
    const cut = Math.round(0.02 * rate);
    const period = rate / 630;
    // 40 positions spread over one period, including value-continuous splices
    for (let k = 0; k < 40; k++) {
      const pos = Math.round(0.4 * rate + (k * period) / 40);
      const spliced = concat(clean.subarray(0, pos), clean.subarray(pos + cut));
      const res = phaseBreaks(spliced, rate, 630);
      assert.equal(res.count, 1, `rate ${rate} offset ${k}/40: worst ${res.worst}`);
      assert.ok(res.worst > 1, `rate ${rate} offset ${k}/40: worst ${res.worst}`);
      assert.ok(Math.abs(res.positionsSec[0] - pos / rate) < 0.001, `rate ${rate} offset ${k}/40`);
    }
  }
});

test('phaseBreaks counts separate breaks and honours the threshold option', () => {
  const rate = 48000;
  const clean = quantize16(sine(630, rate, 1));
  const x = concat(clean.subarray(0, 12000), clean.subarray(12500, 30000), clean.subarray(30700));
  const res = phaseBreaks(x, rate, 630);
  assert.equal(res.count, 2);
  assert.ok(Math.abs(res.positionsSec[0] - 12000 / rate) < 0.001);
  assert.ok(Math.abs(res.positionsSec[1] - 29500 / rate) < 0.001);
  assert.equal(phaseBreaks(x, rate, 630, { threshold: 5 }).count, 0);
});

test('phaseBreaks: none for a clean tone with -50 dBFS white noise', () => {
  const rate = 48000;
  const x = sine(630, rate, 1);
  const n = noise(x.length);
  const noiseRms = Math.pow(10, -50 / 20);
  const scale = noiseRms / rms(n);
  for (let i = 0; i < x.length; i++) x[i] += n[i] * scale;
  const res = phaseBreaks(quantize16(x), rate, 630);
  assert.equal(res.count, 0, `worst ${res.worst}`);
  assert.ok(res.worst > 0.005, 'noise must be visible in the residual');
});

test('analyzeTone on stereo tones reports channels and level', () => {
  const rate = 48000;
  const stereo = (amp: number) => {
    const mono = sine(630, rate, 1, amp);
    const inter = new Float32Array(mono.length * 2);
    for (let i = 0; i < mono.length; i++) inter[2 * i] = inter[2 * i + 1] = mono[i];
    return { rate, channels: 2, samples: inter };
  };
  const full = analyzeTone(stereo(1));
  assert.equal(full.channels, 2);
  assert.equal(full.rate, rate);
  assert.ok(Math.abs(full.levelDbfs - -3.01) < 0.2, `full level ${full.levelDbfs}`);
  assert.ok(Math.abs(full.frequencyHz - 630) < 0.3);
  assert.ok(Math.abs(full.seconds - 1) < 1e-9);
  assert.ok(Math.abs(full.activeSeconds - 1) <= 0.01);
  assert.equal(full.gaps, 0);
  assert.equal(full.longestGapMs, 0);
  assert.equal(full.phaseBreaks, 0);

  const half = analyzeTone(stereo(0.5), { expectHz: 630 });
  assert.ok(Math.abs(half.levelDbfs - -9.03) < 0.2, `half level ${half.levelDbfs}`);

  const silent = analyzeTone({ rate, channels: 2, samples: new Float32Array(9600) });
  assert.equal(silent.activeSeconds, 0);
  assert.equal(silent.frequencyHz, 0);
  assert.equal(silent.levelDbfs, -Infinity);
});
