import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resampler } from '../../src/audio/resampler';
import { FormatConverter } from '../../src/audio/convert';
import { analyzeTone, dominantFrequency, phaseBreaks, rms } from '../../src/audio/analysis';
import { mixToMono } from '../../src/audio/wav';

function sine(rate: number, hz: number, seconds: number, channels = 1, amp = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = amp * Math.sin((2 * Math.PI * hz * i) / rate);
  return out;
}

/** Feeds a signal through in uneven chunks, as a pipe delivers it. */
function runChunked(r: { process(x: Float32Array): Float32Array; flush(): Float32Array }, x: Float32Array, channels: number): Float32Array {
  const parts: Float32Array[] = [];
  let i = 0;
  let k = 1;
  while (i < x.length / channels) {
    k = (k * 31 + 7) % 997;
    const n = Math.min(50 + k, x.length / channels - i);
    parts.push(r.process(x.subarray(i * channels, (i + n) * channels)));
    i += n;
  }
  parts.push(r.flush());
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

for (const [from, to] of [[44100, 48000], [48000, 44100], [16000, 48000], [96000, 48000]]) {
  test(`${from} -> ${to} Hz: pitch kept within 0.01%, no discontinuity at chunk borders, length exact`, () => {
    const x = sine(from, 870, 2);
    const y = runChunked(new Resampler(from, to, 1), x, 1);
    assert.ok(Math.abs(y.length - 2 * to) <= 2 * 24, `length ${y.length}`);
    const f = dominantFrequency(y, to);
    assert.ok(Math.abs(f - 870) / 870 < 1e-4, `frequency ${f}`);
    assert.equal(phaseBreaks(y, to, 870).count, 0);
    // level kept (passband gain 1)
    const mid = y.subarray(to * 0.5, to * 1.5);
    assert.ok(Math.abs(rms(mid) - 0.5 / Math.SQRT2) < 0.005, `rms ${rms(mid)}`);
  });
}

test('downsampling removes what the new rate cannot carry (no aliasing)', () => {
  // 30 kHz at 96 kHz would alias to 18 kHz at 48 kHz if not filtered
  const y = runChunked(new Resampler(96000, 48000, 1), sine(96000, 30000, 1), 1);
  const mid = y.subarray(4800, 43200);
  assert.ok(rms(mid) < 0.5 * 10 ** (-60 / 20), `leak ${20 * Math.log10(rms(mid) / 0.354)} dB`);
});

test('stereo stays stereo and channels stay apart', () => {
  const n = 44100;
  const x = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    x[2 * i] = 0.5 * Math.sin((2 * Math.PI * 630 * i) / 44100);
    x[2 * i + 1] = 0.5 * Math.sin((2 * Math.PI * 1030 * i) / 44100);
  }
  const y = runChunked(new Resampler(44100, 48000, 2), x, 2);
  const l = new Float32Array(y.length / 2);
  const r = new Float32Array(y.length / 2);
  for (let i = 0; i < l.length; i++) {
    l[i] = y[2 * i];
    r[i] = y[2 * i + 1];
  }
  assert.ok(Math.abs(dominantFrequency(l, 48000) - 630) < 0.1);
  assert.ok(Math.abs(dominantFrequency(r, 48000) - 1030) < 0.1);
});

test('format converter: mono 48 kHz source into a 44.1 kHz stereo stream keeps the pitch (the "slowed-down sound" failure)', () => {
  const c = new FormatConverter({ rate: 48000, channels: 1 }, { rate: 44100, channels: 2 });
  const y = runChunked(c, sine(48000, 730, 1.5), 1);
  const rep = analyzeTone({ rate: 44100, channels: 2, samples: y }, { expectHz: 730 });
  assert.ok(Math.abs(rep.frequencyHz - 730) / 730 < 0.005, `frequency ${rep.frequencyHz}`);
  assert.equal(rep.channels, 2);
  assert.equal(rep.phaseBreaks, 0);
  const mono = mixToMono(y, 2);
  assert.ok(mono.length > 0);
});
