import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { PipeRateDetector } from '../../../src/audio/sources/pipe-rate';
import { StdinSource } from '../../../src/audio/sources/stdin';
import { ManualClock } from '../../../src/rtp/clock';

const MS = 1_000_000n;

test('detector: a live producer (0.5 s backlog at once, then 10 ms chunks in real time) is live', () => {
  const d = new PipeRateDetector(48000);
  assert.equal(d.feed(24000, 0n), undefined);
  let v;
  for (let t = 10n; !v; t += 10n) v = d.feed(480, t * MS);
  assert.equal(v.live, true);
  assert.ok(Math.abs(v.ratio - 1) < 0.02, `ratio ${v.ratio}`);
});

test('detector: a producer 1.5x real time is not live; a pipe that floods is decided at once; an input that ends is a file', () => {
  const d = new PipeRateDetector(48000);
  let v;
  for (let t = 0n; !v; t += 10n) v = d.feed(720, t * MS);
  assert.equal(v.live, false);
  const f = new PipeRateDetector(48000);
  assert.equal(f.feed(65536 / 4, 0n), undefined);
  let w;
  for (let t = 1n; !w; t++) w = f.feed(65536 / 4, t * 100_000n);
  assert.equal(w.live, false, 'more than 2 s of audio ahead of the time elapsed');
  const e = new PipeRateDetector(48000);
  e.feed(4800, 0n);
  assert.equal(e.ended().live, false);
});

test('detector: a producer that stops after its backlog gives a verdict at the deadline (slow is live: it cannot run ahead)', () => {
  const d = new PipeRateDetector(48000);
  d.feed(24000, 0n);
  assert.equal(d.decide(1000n * MS), undefined);
  const v = d.decide(1250n * MS);
  assert.equal(v?.live, true);
});

function feedPcm(stream: PassThrough, clock: ManualClock, frames: number) {
  stream.write(Buffer.alloc(frames * 4)); // s16le stereo
  return new Promise((r) => setImmediate(r)).then(() => clock.advance(0));
}

test('StdinSource auto: a pipe in real time becomes a live source (source pacing, arrivals counted) with a notice', async () => {
  const clock = new ManualClock(0n);
  const stream = new PassThrough();
  const src = new StdinSource({ rate: 48000, channels: 2 }, 's16le', stream, { mode: 'auto', clock, isPipe: true });
  const opened = src.open();
  await feedPcm(stream, clock, 24000);
  for (let i = 0; i < 130; i++) {
    clock.advance(10n * MS);
    await feedPcm(stream, clock, 480);
  }
  await opened;
  assert.equal(src.pacing, 'source');
  assert.match(src.notice!, /live producer.*1\.00x.*the 1650 ms that piled up.*were dropped/);
  assert.equal(src.arrivedFrames, 24000 + 130 * 480);
  // decided at 1.25 s (0.5 s + 1.25 s received): the last 100 ms kept, then 5 more writes of 10 ms
  assert.equal(src.droppedAtStartMs, 1650);
  assert.equal(src.buffered, 4800 + 5 * 480);
  assert.equal(src.discard(1000), 1000);
  assert.equal(src.buffered, 4800 + 5 * 480 - 1000);
});

test('StdinSource auto: a file piped faster than real time keeps sender pacing and loses nothing', async () => {
  const clock = new ManualClock(0n);
  const stream = new PassThrough();
  const src = new StdinSource({ rate: 48000, channels: 2 }, 's16le', stream, { mode: 'auto', clock, isPipe: true });
  const opened = src.open();
  for (let i = 0; i < 20; i++) {
    clock.advance(1n * MS);
    await feedPcm(stream, clock, 16384);
  }
  await opened;
  assert.equal(src.pacing, 'sender');
  assert.match(src.notice!, /faster than real time.*--live/);
  assert.equal(src.arrivedFrames, undefined);
  stream.end();
  let total = 0;
  for (;;) {
    const c = src.read(100000);
    if (c === null) break;
    total += c.length / 2;
    if (c.length === 0) await new Promise((r) => setImmediate(r));
  }
  assert.equal(total, 20 * 16384, 'every frame');
});

test('StdinSource: --live and --no-live skip the measurement (--live drops the backlog but the newest 100 ms); not a pipe: paced', async () => {
  for (const [mode, pacing] of [['live', 'source'], ['paced', 'sender']] as const) {
    const stream = new PassThrough();
    const s = new StdinSource({ rate: 48000, channels: 2 }, 's16le', stream, { mode, isPipe: true });
    const opened = s.open();
    stream.write(Buffer.alloc(24000 * 4));
    await opened;
    assert.equal(s.pacing, pacing);
    if (mode === 'live') {
      assert.match(s.notice!, /the 400 ms that piled up before rtpcast read it were dropped/);
      assert.equal(s.buffered, 4800);
      assert.equal(s.droppedFrames, 19200);
    } else assert.equal(s.notice, undefined);
  }
  const s = new StdinSource({ rate: 48000, channels: 2 }, 's16le', new PassThrough(), { mode: 'auto', isPipe: false });
  await s.open();
  assert.equal(s.pacing, 'sender');
});

test('StdinSource auto: a producer that writes nothing at first (it waits for the SDP) does not hold the start up: paced, said', async () => {
  const stream = new PassThrough();
  const s = new StdinSource({ rate: 48000, channels: 2 }, 's16le', stream, { mode: 'auto', isPipe: true, firstByteMs: 50 });
  await s.open();
  assert.equal(s.pacing, 'sender');
  assert.match(s.notice!, /nothing arrived within 0.05 s to measure.*--live/);
});
