import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deinterleave, encodeWavS16, mixToMono, parseWav } from '../../src/audio/wav';

/** Builds a RIFF/WAVE file from raw chunks (id + payload), padding odd chunks. */
function riff(chunks: { id: string; data: Buffer; size?: number }[], magic = 'RIFF'): Buffer {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const head = Buffer.alloc(8);
    head.write(c.id, 0, 'latin1');
    head.writeUInt32LE(c.size ?? c.data.length, 4);
    parts.push(head, c.data);
    if (c.data.length % 2 === 1) parts.push(Buffer.alloc(1));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(12);
  head.write(magic, 0, 'latin1');
  head.writeUInt32LE(4 + body.length, 4);
  head.write('WAVE', 8, 'latin1');
  return Buffer.concat([head, body]);
}

/** A 16-byte fmt payload. */
function fmt(tag: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(tag, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  return b;
}

/** A 40-byte WAVE_FORMAT_EXTENSIBLE fmt payload with the given sub-format. */
function fmtExtensible(subFormat: number, channels: number, rate: number, bits: number): Buffer {
  const b = Buffer.alloc(40);
  fmt(0xfffe, channels, rate, bits).copy(b, 0);
  b.writeUInt16LE(22, 16); // cbSize
  b.writeUInt16LE(bits, 18); // valid bits
  b.writeUInt32LE(channels === 2 ? 3 : 4, 20); // channel mask
  b.writeUInt16LE(subFormat, 24);
  // rest of KSDATAFORMAT_SUBTYPE GUID: -0000-0010-8000-00aa00389b71
  Buffer.from([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]).copy(b, 26);
  return b;
}

function int16Bytes(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b;
}

test('encodeWavS16 writes a canonical 44-byte header', () => {
  const wav = encodeWavS16(new Float32Array([0, 0.5, -0.5, 1]), 8000, 2);
  assert.equal(wav.length, 44 + 8);
  assert.equal(wav.toString('latin1', 0, 4), 'RIFF');
  assert.equal(wav.readUInt32LE(4), 36 + 8);
  assert.equal(wav.toString('latin1', 8, 16), 'WAVEfmt ');
  assert.equal(wav.readUInt32LE(16), 16);
  assert.equal(wav.readUInt16LE(20), 1);
  assert.equal(wav.readUInt16LE(22), 2);
  assert.equal(wav.readUInt32LE(24), 8000);
  assert.equal(wav.readUInt32LE(28), 32000);
  assert.equal(wav.readUInt16LE(32), 4);
  assert.equal(wav.readUInt16LE(34), 16);
  assert.equal(wav.toString('latin1', 36, 40), 'data');
  assert.equal(wav.readUInt32LE(40), 8);
  assert.deepEqual([0, 1, 2, 3].map((i) => wav.readInt16LE(44 + i * 2)), [0, 16384, -16384, 32767]);
});

test('encodeWavS16 rounds and clips to int16', () => {
  const wav = encodeWavS16(new Float32Array([2, -2, 1.4 / 32768, -1.6 / 32768, NaN]), 8000, 1);
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => wav.readInt16LE(44 + i * 2)), [32767, -32768, 1, -2, 0]);
});

test('mono round trip is exact for 16-bit values', () => {
  const src = new Float32Array(1000);
  for (let i = 0; i < src.length; i++) src[i] = Math.round(Math.sin(i / 7) * 30000) / 32768;
  const pcm = parseWav(encodeWavS16(src, 44100, 1));
  assert.equal(pcm.rate, 44100);
  assert.equal(pcm.channels, 1);
  assert.deepEqual(pcm.samples, src);
});

test('stereo round trip keeps interleaving', () => {
  const src = new Float32Array([0.25, -0.25, 0.5, -0.5, 0.75, -0.75]);
  const pcm = parseWav(encodeWavS16(src, 48000, 2));
  assert.equal(pcm.channels, 2);
  assert.deepEqual(pcm.samples, src);
  const [left, right] = deinterleave(pcm.samples, 2);
  assert.deepEqual(left, new Float32Array([0.25, 0.5, 0.75]));
  assert.deepEqual(right, new Float32Array([-0.25, -0.5, -0.75]));
  assert.deepEqual(mixToMono(new Float32Array([1, 0, 0.5, 0.5, -1, 0]), 2), new Float32Array([0.5, 0.5, -0.5]));
});

test('24-bit PCM built by hand', () => {
  // 0x400000 = +0.5, 0xC00000 = -0.5, 0x7FFFFF ~ +1, 0x800000 = -1
  const data = Buffer.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x80]);
  const pcm = parseWav(riff([{ id: 'fmt ', data: fmt(1, 2, 96000, 24) }, { id: 'data', data }]));
  assert.equal(pcm.rate, 96000);
  assert.equal(pcm.channels, 2);
  assert.deepEqual(Array.from(pcm.samples), [0.5, -0.5, 8388607 / 8388608, -1].map(Math.fround));
});

test('8-bit unsigned and 32-bit integer PCM', () => {
  const pcm8 = parseWav(riff([{ id: 'fmt ', data: fmt(1, 1, 8000, 8) }, { id: 'data', data: Buffer.from([128, 192, 0]) }]));
  assert.deepEqual(Array.from(pcm8.samples), [0, 0.5, -1]);
  const d32 = Buffer.alloc(8);
  d32.writeInt32LE(0x40000000, 0);
  d32.writeInt32LE(-0x80000000, 4);
  const pcm32 = parseWav(riff([{ id: 'fmt ', data: fmt(1, 1, 8000, 32) }, { id: 'data', data: d32 }]));
  assert.deepEqual(Array.from(pcm32.samples), [0.5, -1]);
});

test('IEEE float 32 and 64 built by hand', () => {
  const f32 = Buffer.alloc(12);
  [0.25, -0.75, 1.5].forEach((v, i) => f32.writeFloatLE(v, i * 4));
  const a = parseWav(riff([{ id: 'fmt ', data: fmt(3, 1, 22050, 32) }, { id: 'data', data: f32 }]));
  assert.equal(a.rate, 22050);
  assert.deepEqual(Array.from(a.samples), [0.25, -0.75, 1.5]);
  const f64 = Buffer.alloc(16);
  [0.125, -0.5].forEach((v, i) => f64.writeDoubleLE(v, i * 8));
  const b = parseWav(riff([{ id: 'fmt ', data: fmt(3, 2, 44100, 64) }, { id: 'data', data: f64 }]));
  assert.equal(b.channels, 2);
  assert.deepEqual(Array.from(b.samples), [0.125, -0.5]);
});

test('WAVE_FORMAT_EXTENSIBLE with PCM and float sub-formats', () => {
  const pcm = parseWav(riff([{ id: 'fmt ', data: fmtExtensible(1, 2, 48000, 16) }, { id: 'data', data: int16Bytes([16384, -8192]) }]));
  assert.equal(pcm.channels, 2);
  assert.equal(pcm.rate, 48000);
  assert.deepEqual(Array.from(pcm.samples), [0.5, -0.25]);
  const f32 = Buffer.alloc(8);
  f32.writeFloatLE(-0.5, 0);
  f32.writeFloatLE(0.75, 4);
  const flt = parseWav(riff([{ id: 'fmt ', data: fmtExtensible(3, 1, 16000, 32) }, { id: 'data', data: f32 }]));
  assert.deepEqual(Array.from(flt.samples), [-0.5, 0.75]);
  assert.throws(
    () => parseWav(riff([{ id: 'fmt ', data: fmtExtensible(0x55, 1, 16000, 16) }, { id: 'data', data: int16Bytes([1]) }])),
    /unsupported WAV format tag 0x0055 \(only PCM and IEEE float\)/,
  );
});

test('streaming data sizes read to the end of the buffer, whole frames only', () => {
  // stereo 16-bit: 3 full frames + 2 stray bytes of an unfinished frame
  const data = Buffer.concat([int16Bytes([100, -100, 200, -200, 300, -300]), Buffer.from([1, 2])]);
  for (const size of [0xffffffff, 0, 1000000]) {
    const wav = riff([{ id: 'fmt ', data: fmt(1, 2, 48000, 16) }, { id: 'data', data, size }]);
    wav.writeUInt32LE(0xffffffff, 4); // RIFF size unknown too
    const pcm = parseWav(wav);
    assert.equal(pcm.samples.length, 6, `data size 0x${size.toString(16)}`);
    assert.deepEqual(Array.from(pcm.samples), [100, -100, 200, -200, 300, -300].map((v) => v / 32768));
  }
});

test('RF64 header with ds64 data size', () => {
  const ds64 = Buffer.alloc(28);
  ds64.writeUInt32LE(4, 8); // data size low: 2 samples
  const wav = riff(
    [
      { id: 'ds64', data: ds64 },
      { id: 'fmt ', data: fmt(1, 1, 8000, 16) },
      { id: 'data', data: int16Bytes([1000, 2000]), size: 0xffffffff },
    ],
    'RF64',
  );
  assert.deepEqual(Array.from(parseWav(wav).samples), [1000 / 32768, 2000 / 32768]);
});

test('skips an odd-sized unknown chunk (with its pad byte) before data', () => {
  const wav = riff([
    { id: 'fmt ', data: fmt(1, 1, 8000, 16) },
    { id: 'LIST', data: Buffer.from('odd') },
    { id: 'junk', data: Buffer.alloc(0) },
    { id: 'data', data: int16Bytes([-16384, 8192]) },
  ]);
  assert.deepEqual(Array.from(parseWav(wav).samples), [-0.5, 0.25]);
});

test('data before fmt is still accepted when sizes are known', () => {
  const wav = riff([
    { id: 'data', data: int16Bytes([8192]) },
    { id: 'fmt ', data: fmt(1, 1, 8000, 16) },
  ]);
  assert.deepEqual(Array.from(parseWav(wav).samples), [0.25]);
});

test('clear errors for bad input', () => {
  assert.throws(() => parseWav(Buffer.from('hello')), /not a RIFF\/WAVE file/);
  assert.throws(() => parseWav(Buffer.from('ID3\x04 some mp3 data here', 'latin1')), /not a RIFF\/WAVE file/);
  assert.throws(() => parseWav(riff([{ id: 'fmt ', data: fmt(1, 1, 8000, 16) }])), /no data chunk/);
  assert.throws(() => parseWav(riff([{ id: 'data', data: int16Bytes([1]) }])), /no fmt chunk/);
  assert.throws(
    () => parseWav(riff([{ id: 'fmt ', data: fmt(0x55, 1, 8000, 16) }, { id: 'data', data: int16Bytes([1]) }])),
    /unsupported WAV format tag 0x0055 \(only PCM and IEEE float\)/,
  );
  assert.throws(
    () => parseWav(riff([{ id: 'fmt ', data: fmt(1, 1, 8000, 12) }, { id: 'data', data: int16Bytes([1]) }])),
    /unsupported WAV PCM bit depth 12/,
  );
  assert.throws(
    () => parseWav(riff([{ id: 'fmt ', data: fmt(3, 1, 8000, 16) }, { id: 'data', data: int16Bytes([1]) }])),
    /unsupported WAV float bit depth 16/,
  );
  assert.throws(
    () => parseWav(riff([{ id: 'fmt ', data: fmt(1, 0, 8000, 16) }, { id: 'data', data: int16Bytes([1]) }])),
    /invalid WAV channel count 0/,
  );
  assert.throws(() => parseWav(riff([{ id: 'fmt ', data: Buffer.alloc(8) }, { id: 'data', data: int16Bytes([1]) }])), /fmt chunk too short/);
});
