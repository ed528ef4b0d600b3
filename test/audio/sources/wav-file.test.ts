import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WavFileSource, wavLayout } from '../../../src/audio/sources/wav-file';
import { encodeWavS16, parseWav } from '../../../src/audio/wav';
import { L16Encoder } from '../../../src/codec/l16';
import { mulberry32 } from '../../support/prng';

/** A RIFF chunk: id, little-endian size, body, pad byte when the size is odd. */
function chunk(id: string, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body, body.length & 1 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function riff(chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WAVE', 'latin1'), ...chunks]);
  const h = Buffer.alloc(8);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

function fmtBody(tag: number, channels: number, rate: number, bits: number, extensibleSubTag?: number): Buffer {
  const b = Buffer.alloc(extensibleSubTag === undefined ? 16 : 40);
  b.writeUInt16LE(extensibleSubTag === undefined ? tag : 0xfffe, 0);
  b.writeUInt16LE(channels, 2);
  b.writeUInt32LE(rate, 4);
  b.writeUInt32LE((rate * channels * bits) / 8, 8);
  b.writeUInt16LE((channels * bits) / 8, 12);
  b.writeUInt16LE(bits, 14);
  if (extensibleSubTag !== undefined) {
    b.writeUInt16LE(22, 16); // cbSize
    b.writeUInt16LE(bits, 18); // valid bits
    b.writeUInt32LE(3, 20); // channel mask FL|FR
    b.writeUInt16LE(extensibleSubTag, 24);
    Buffer.from('000000001000800000aa00389b71', 'hex').copy(b, 26); // rest of the KSDATAFORMAT GUID
  }
  return b;
}

/** Random int16 PCM, interleaved, little-endian, including both extremes. */
function randomS16(frames: number, channels: number, seed: number): Buffer {
  const r = mulberry32(seed);
  const b = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames * channels; i++) b.writeInt16LE(Math.floor(r() * 65536) - 32768, i * 2);
  b.writeInt16LE(-32768, 0);
  b.writeInt16LE(32767, 2);
  return b;
}

/** Everything the source delivers, read the way the sender reads it (1024 frames at a time). */
async function readAll(path: string, rate: number, channels: number): Promise<Float32Array> {
  const src = WavFileSource.probe(path, { rate, channels });
  assert.ok(src, `${path} should be read directly`);
  assert.deepEqual(await src.open(), { rate, channels });
  const parts: Float32Array[] = [];
  for (;;) {
    const c = src.read(1024);
    if (c === null) break;
    assert.ok(c.length > 0 && c.length % channels === 0, 'whole frames only');
    parts.push(c);
  }
  assert.equal(src.read(1024), null, 'stays ended');
  await src.close();
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtpcast-wavsrc-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  's16 WAV read directly: the L16 payloads are the file\'s samples byte for byte (big-endian)',
  withDir(async (dir) => {
    const pcm = randomS16(48000 + 77, 2, 1); // not a whole number of reads or packets
    const path = join(dir, 'in.wav');
    writeFileSync(path, riff([chunk('fmt ', fmtBody(1, 2, 48000, 16)), chunk('data', pcm)]));
    const samples = await readAll(path, 48000, 2);
    assert.equal(samples.length, pcm.length / 2);
    const l16 = new L16Encoder().encode(samples);
    assert.ok(l16.equals(Buffer.from(pcm).swap16()), 'L16 = the WAV samples, byte-swapped');
  }),
);

test(
  'extensible header, odd-sized chunks before and after data, LIST chunk: same samples as parseWav',
  withDir(async (dir) => {
    const pcm = randomS16(4801, 1, 2);
    const path = join(dir, 'odd.wav');
    const file = riff([chunk('JUNK', Buffer.alloc(27, 1)), chunk('fmt ', fmtBody(1, 1, 48000, 16, 1)), chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00odd!\x00', 'latin1')), chunk('data', pcm), chunk('id3 ', Buffer.alloc(13, 7))]);
    writeFileSync(path, file);
    const layout = wavLayout(file, file.length)!;
    assert.equal(layout.encoding, 's16');
    assert.equal(layout.dataBytes, pcm.length, 'the chunk after data is not audio');
    const samples = await readAll(path, 48000, 1);
    assert.deepEqual(samples, parseWav(file).samples);
    assert.ok(new L16Encoder().encode(samples).equals(Buffer.from(pcm).swap16()));
  }),
);

test(
  '24-bit, 32-bit integer and 32-bit float WAV: same samples as parseWav',
  withDir(async (dir) => {
    const r = mulberry32(3);
    const frames = 3000;
    const cases: [string, number, number, (b: Buffer, i: number) => void][] = [
      ['s24', 1, 24, (b, i) => b.writeIntLE(Math.floor(r() * 2 ** 24) - 2 ** 23, i * 3, 3)],
      ['s32', 1, 32, (b, i) => b.writeInt32LE(Math.floor(r() * 2 ** 32) - 2 ** 31, i * 4)],
      ['f32', 3, 32, (b, i) => b.writeFloatLE(r() * 2 - 1, i * 4)],
    ];
    for (const [name, tag, bits, put] of cases) {
      const data = Buffer.alloc((frames * 2 * bits) / 8);
      for (let i = 0; i < frames * 2; i++) put(data, i);
      const file = riff([chunk('fmt ', fmtBody(tag, 2, 44100, bits)), chunk('data', data)]);
      const path = join(dir, `${name}.wav`);
      writeFileSync(path, file);
      assert.equal(wavLayout(file, file.length)!.encoding, name);
      assert.deepEqual(await readAll(path, 44100, 2), parseWav(file).samples, name);
    }
  }),
);

test('a streaming writer\'s placeholder data size means "to the end of the file" (partial frame dropped)', () => {
  const pcm = randomS16(100, 2, 4);
  for (const size of [0, 0xffffffff, 10_000_000]) {
    const file = riff([chunk('fmt ', fmtBody(1, 2, 48000, 16)), chunk('data', pcm)]);
    file.writeUInt32LE(size, 12 + 8 + 16 + 4);
    const withTail = Buffer.concat([file, Buffer.alloc(3)]);
    assert.equal(wavLayout(withTail, withTail.length)!.dataBytes, pcm.length + 0, `size ${size}`);
  }
});

test('anything else is left to ffmpeg: other rate or channels, 8-bit, 64-bit float, compressed, RF64, not a WAV', () => {
  const ok = riff([chunk('fmt ', fmtBody(1, 2, 48000, 16)), chunk('data', randomS16(10, 2, 5))]);
  assert.ok(wavLayout(ok, ok.length));
  const no = (b: Buffer) => assert.equal(wavLayout(b, b.length), undefined);
  no(riff([chunk('fmt ', fmtBody(1, 2, 48000, 8)), chunk('data', Buffer.alloc(20))]));
  no(riff([chunk('fmt ', fmtBody(3, 2, 48000, 64)), chunk('data', Buffer.alloc(32))]));
  no(riff([chunk('fmt ', fmtBody(0x55, 2, 48000, 16)), chunk('data', Buffer.alloc(20))])); // MP3 in WAV
  no(riff([chunk('fmt ', fmtBody(1, 2, 48000, 16, 0x55)), chunk('data', Buffer.alloc(20))]));
  no(riff([chunk('data', Buffer.alloc(20)), chunk('fmt ', fmtBody(1, 2, 48000, 16))])); // data before fmt
  no(Buffer.concat([Buffer.from('RF64', 'latin1'), ok.subarray(4)]));
  no(Buffer.from('ID3\x03 not a wav at all', 'latin1'));
  no(ok.subarray(0, 30)); // header cut short
});

test(
  'probe: the direct path only for the stream\'s rate and channels; missing files go to ffmpeg (which reports them)',
  withDir(async (dir) => {
    const path = join(dir, 'a.wav');
    writeFileSync(path, encodeWavS16(new Float32Array(960), 48000, 2));
    assert.ok(WavFileSource.probe(path, { rate: 48000, channels: 2 }));
    assert.equal(WavFileSource.probe(path, { rate: 44100, channels: 2 }), undefined);
    assert.equal(WavFileSource.probe(path, { rate: 48000, channels: 1 }), undefined);
    assert.equal(WavFileSource.probe(join(dir, 'missing.wav'), { rate: 48000, channels: 2 }), undefined);
    assert.equal(WavFileSource.probe(dir, { rate: 48000, channels: 2 }), undefined);
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, encodeWavS16(new Float32Array(0), 48000, 2));
    assert.equal(WavFileSource.probe(empty, { rate: 48000, channels: 2 }), undefined, 'no audio: ffmpeg\'s path says "contains no audio"');
  }),
);

test(
  'probe: a data chunk behind 200 KB of metadata (cover art) is still found (the first look covers 64 KiB, the second 1 MiB)',
  withDir(async (dir) => {
    const pcm = randomS16(480, 2, 9);
    const file = riff([chunk('fmt ', fmtBody(1, 2, 48000, 16)), chunk('LIST', Buffer.alloc(200_000, 0x41)), chunk('data', pcm)]);
    const path = join(dir, 'art.wav');
    writeFileSync(path, file);
    const src = WavFileSource.probe(path, { rate: 48000, channels: 2 });
    assert.ok(src, 'found behind the metadata');
    assert.equal(src.layout.dataOffset, file.length - pcm.length);
    await src.close();
  }),
);
