import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtpSender, type SenderStatus } from '../../src/rtp/sender';
import { ManualClock } from '../../src/rtp/clock';
import { WavFileSource } from '../../src/audio/sources/wav-file';
import { encodeWavS16 } from '../../src/audio/wav';
import { createEncoder } from '../../src/codec/encoder';
import { describeStream } from '../../src/stream/description';
import type { AudioSource } from '../../src/audio/source';
import { JumpingSleeper, ManualPacedQueue, PacedRecordingTransport, RecordingTransport } from '../support/fakes';

const dest = [{ host: '127.0.0.1', address: '127.0.0.1', family: 4 as const, port: 5004, multicast: false }];

/**
 * A 16-bit WAV whose samples cover the whole range (both extremes, zero, odd values) and end in
 * the middle of a packet: 1.3 s + 77 frames at 48 kHz, channels different from each other.
 */
function wavFile(dir: string, channels: number): { path: string; frames: number } {
  const frames = Math.round(48000 * 1.3) + 77;
  const samples = new Float32Array(frames * channels);
  let r = 12345;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      r = (r * 1103515245 + 12345) % 2147483648;
      // an integer in -32768..32767 as the float read back from the file: v / 32768
      const v = i === 10 ? -32768 : i === 11 ? 32767 : c === 0 ? Math.round(Math.sin(i / 7) * 20000) : (r % 65536) - 32768;
      samples[i * channels + c] = v / 32768;
    }
  }
  const path = join(dir, `in-${channels}.wav`);
  writeFileSync(path, encodeWavS16(samples, 48000, channels));
  return { path, frames };
}

/** The same file without the direct path: read() only (the float round trip). */
function floatOnly(src: WavFileSource): AudioSource {
  return { label: src.label, pacing: src.pacing, open: () => src.open(), read: (n) => src.read(n), onReadable: () => {}, onError: () => {}, close: () => src.close() };
}

/** Counts which of the two reads the sender used. */
function spy(src: WavFileSource) {
  const calls = { read: 0, s16: 0 };
  const read = src.read.bind(src);
  const s16 = src.readS16LE!.bind(src);
  src.read = (n) => (calls.read++, read(n));
  src.readS16LE = (n, out, off) => (calls.s16++, s16(n, out, off));
  return calls;
}

async function run(source: AudioSource, channels: number, paced: boolean, durationSec?: number, o: { fileRuns?: boolean; silenceWarnSec?: number; warnings?: string[] } = {}) {
  const d = describeStream({ codec: 'l16', rate: 48000, channels }, dest);
  const clock = new ManualClock(5_000_000_000n);
  const queue = o.fileRuns ? new ManualPacedQueue(clock, 1_000_000_000n, 500_000_000n, { fileRuns: true }) : new ManualPacedQueue(clock);
  const transport = paced ? new PacedRecordingTransport(clock, queue) : new RecordingTransport(clock);
  const sender = new RtpSender({
    description: d, source, sourceFormat: await source.open(), encoder: createEncoder(d), transport, clock,
    wall: { unixSeconds: () => 1_700_000_000 }, sleeper: new JumpingSleeper(clock), start: { ssrc: 0x11223344, sequence: 65500, timestamp: 4294960000 },
    durationSec, statusIntervalSec: 0.25, ...(paced ? { queue } : {}), ...(o.silenceWarnSec ? { silenceWarnSec: o.silenceWarnSec } : {}),
  });
  sender.on('warning', (m: string) => o.warnings?.push(m));
  const statuses: SenderStatus[] = [];
  sender.on('status', (s: SenderStatus) => statuses.push(s));
  const reason = await sender.start();
  const rtp = paced ? queue.departedRtp : transport.rtp;
  const rtcp = paced ? [...queue.departedRtcp, ...transport.rtcp] : transport.rtcp;
  return { reason, rtp, rtcp, statuses, d, queue };
}

for (const channels of [2, 1]) {
  for (const paced of [false, true]) {
    test(`direct L16 path (${channels === 2 ? 'stereo' : 'mono'}, ${paced ? 'native-pacer batches' : 'per-packet loop'}): the same packets, reports and meter as the float path, byte for byte`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rtpcast-direct-'));
      try {
        const { path, frames } = wavFile(dir, channels);
        const fmt = { rate: 48000, channels };
        const direct = WavFileSource.probe(path, fmt)!;
        const calls = spy(direct);
        const a = await run(direct, channels, paced);
        assert.ok(calls.s16 > 0 && calls.read === 0, `the direct path was used: ${JSON.stringify(calls)}`);
        const b = await run(floatOnly(WavFileSource.probe(path, fmt)!), channels, paced);
        assert.equal(a.reason, 'input-ended');
        assert.equal(b.reason, 'input-ended');
        // every frame sent, the last packet padded with silence
        const perPacket = a.d.frameSamples;
        assert.equal(a.rtp.length, Math.ceil(frames / perPacket));
        assert.equal(a.rtp.length, b.rtp.length);
        a.rtp.forEach((x, i) => {
          assert.ok(x.packet.equals(b.rtp[i].packet), `packet ${i} differs`);
          assert.equal(x.at, b.rtp[i].at, `packet ${i} departure`);
        });
        // L16 is big-endian: the file's -32768 at frame 10 is 0x8000 on the wire
        const p0 = a.rtp[0].packet;
        assert.equal(p0.readInt16BE(12 + 10 * channels * 2), -32768);
        assert.equal(p0.readInt16BE(12 + 11 * channels * 2), 32767);
        const tail = a.rtp.at(-1)!.packet.subarray(12 + (frames % perPacket) * channels * 2);
        assert.ok(tail.length > 0 && tail.every((x) => x === 0), 'the padding of the last packet is silence');
        assert.equal(a.rtcp.length, b.rtcp.length);
        a.rtcp.forEach((x, i) => assert.ok(x.packet.equals(b.rtcp[i].packet), `RTCP ${i} differs`));
        assert.deepEqual(a.statuses.map((s) => s.peakDb), b.statuses.map((s) => s.peakDb), 'the level meter');
        assert.ok(a.statuses.some((s) => s.peakDb[0] === 0), 'full scale reads 0 dBFS');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

test('direct L16 path: --duration cuts it at the same packet, and a 24-bit WAV keeps the float path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-direct-'));
  try {
    const { path } = wavFile(dir, 2);
    const fmt = { rate: 48000, channels: 2 };
    const a = await run(WavFileSource.probe(path, fmt)!, 2, true, 0.5);
    const b = await run(floatOnly(WavFileSource.probe(path, fmt)!), 2, true, 0.5);
    assert.equal(a.reason, 'duration');
    assert.equal(a.rtp.length, 100);
    assert.ok(a.rtp.every((x, i) => x.packet.equals(b.rtp[i].packet)));
    // 24-bit: WavFileSource reads it, but not as raw 16-bit
    const wav24 = Buffer.from(encodeWavS16(new Float32Array(960), 48000, 2));
    wav24.writeUInt16LE(24, 34); // bits per sample, block align and byte rate: a 24-bit stereo header
    wav24.writeUInt16LE(6, 32);
    wav24.writeUInt32LE(48000 * 6, 28);
    writeFileSync(join(dir, 'w24.wav'), wav24);
    const w24 = WavFileSource.probe(join(dir, 'w24.wav'), fmt);
    assert.ok(w24, 'rtpcast reads the 24-bit WAV itself');
    assert.equal(w24.readS16LE, undefined, 'but not as raw 16-bit samples');
    await w24.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The sender's takeS16LERange calls (file runs), beside the spy's. */
function spyRanges(src: WavFileSource) {
  const calls = { ranges: 0 };
  const take = src.takeS16LERange!.bind(src);
  src.takeS16LERange = (n) => (calls.ranges++, take(n));
  return calls;
}

const maxPeak = (st: SenderStatus[], c: number) => Math.max(...st.map((s) => s.peakDb[c]));

for (const channels of [2, 1]) {
  test(`L16 file runs (${channels === 2 ? 'stereo' : 'mono'}, the native pacer reads the file): the same packets, departures and reports as the per-packet direct path`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rtpcast-runs-'));
    try {
      const { path, frames } = wavFile(dir, channels);
      const fmt = { rate: 48000, channels };
      const src = WavFileSource.probe(path, fmt)!;
      const calls = spy(src);
      const ranges = spyRanges(src);
      const a = await run(src, channels, true, undefined, { fileRuns: true });
      assert.ok(ranges.ranges > 0 && calls.s16 === 0 && calls.read === 0, `only file runs were used: ${JSON.stringify({ ...calls, ...ranges })}`);
      const b = await run(WavFileSource.probe(path, fmt)!, channels, true);
      assert.equal(a.reason, 'input-ended');
      assert.equal(a.rtp.length, Math.ceil(frames / a.d.frameSamples));
      assert.equal(a.rtp.length, b.rtp.length);
      a.rtp.forEach((x, i) => {
        assert.ok(x.packet.equals(b.rtp[i].packet), `packet ${i} differs`);
        assert.equal(x.at, b.rtp[i].at, `packet ${i} departure`);
      });
      assert.equal(a.rtcp.length, b.rtcp.length);
      a.rtcp.forEach((x, i) => {
        assert.ok(x.packet.equals(b.rtcp[i].packet), `RTCP ${i} differs`);
        assert.equal(x.at, b.rtcp[i].at, `RTCP ${i} leaves right after the same packet`);
      });
      // runs are cut where a report or a status falls: a report never waits for the end of a run
      assert.ok(a.queue.runs.length > 1);
      assert.equal(a.statuses.length, b.statuses.length, 'a status at the same packets');
      // the meter comes from the pacer (what has left) in coarser steps: the same extremes
      for (let c = 0; c < channels; c++) assert.equal(maxPeak(a.statuses, c), maxPeak(b.statuses, c), `channel ${c} peak`);
      assert.ok(a.statuses.some((s) => s.peakDb[0] === 0), 'full scale reads 0 dBFS');
      // the sender woke about twice a second, not twenty times
      const wakes = a.queue.polls.length;
      assert.ok(wakes < b.queue.polls.length / 4, `${wakes} wake-ups against ${b.queue.polls.length}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('L16 file runs: --duration stops at the same packet, and a silent file is reported as silent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-runs-'));
  try {
    const { path } = wavFile(dir, 2);
    const fmt = { rate: 48000, channels: 2 };
    for (const dur of [0.5, 0.0051, 1.2999]) {
      const a = await run(WavFileSource.probe(path, fmt)!, 2, true, dur, { fileRuns: true });
      const b = await run(WavFileSource.probe(path, fmt)!, 2, true, dur);
      assert.equal(a.reason, 'duration');
      assert.equal(a.rtp.length, b.rtp.length, `--duration ${dur}`);
      assert.ok(a.rtp.every((x, i) => x.packet.equals(b.rtp[i].packet)));
    }
    assert.equal((await run(WavFileSource.probe(path, fmt)!, 2, true, 0.5, { fileRuns: true })).rtp.length, 100);
    // 2 s of silence: the warning after 1 s, as the per-packet path gives it
    const silent = join(dir, 'silent.wav');
    writeFileSync(silent, encodeWavS16(new Float32Array(96000 * 2), 48000, 2));
    for (const fileRuns of [true, false]) {
      const warnings: string[] = [];
      const r = await run(WavFileSource.probe(silent, fmt)!, 2, true, undefined, { fileRuns, silenceWarnSec: 1, warnings });
      assert.equal(r.reason, 'input-ended');
      assert.equal(warnings.filter((w) => /no sound from/.test(w)).length, 1, `${fileRuns ? 'runs' : 'per packet'}: ${JSON.stringify(warnings)}`);
      assert.ok(r.statuses.every((s) => s.peakDb.every((p) => p === -Infinity)), 'the meter reads silence');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
