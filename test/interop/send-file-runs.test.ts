/**
 * L16 file runs: for a 16-bit WAV sent as L16, the native pacer (native/pacer) reads the file
 * itself and Node builds no packet (src/transport/udp.ts, L16FileRun).
 *
 * 1. The C code against the contract: runs pushed to the real addon, sent on a real UDP socket to
 *    a loopback receiver, must arrive byte for byte as test/support/l16-run.ts (the reference
 *    model) says: samples swapped to big-endian, sequence and timestamp wrapping, the marker on
 *    the first packet only, the last packet padded with silence, a failed read sent as silence
 *    and counted, the level meter and the silence count, and a drop that sends nothing more.
 * 2. The whole path: `rtpcast send --input tone.wav` decoded by real ffmpeg from the SDP is the
 *    tone in the file (frequency, duration, level, gaps), and the start event says file runs.
 * The addon must be built (npm ci does it; or: cd native/pacer && node install.js).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPacerAddon, NativePacer, socketFd } from '../../src/rtp/native-pacer';
import type { L16FileRun } from '../../src/transport/udp';
import { encodeWavS16 } from '../../src/audio/wav';
import { expandL16FileRun } from '../support/l16-run';
import { assertTone, checkTone, FFMPEG, readSdp, RTPCAST_CLI, startReceiver, summary, testPort, type StreamConfig } from '../support/peers';
import { Procs } from '../support/procs';

// ports 34650-34699 (this file's own range)
const BASE = testPort(34650);

function addon() {
  const r = loadPacerAddon();
  if (!r.addon) assert.fail(`the native pacer is not available: ${r.error}. Build it: cd native/pacer && node install.js (needs python3, make, a C compiler; Debian: sudo apt install python3 make g++)`);
  if (!r.addon.pushRun) assert.fail('the native pacer was built before file runs: rebuild it (cd native/pacer && node install.js)');
  return r.addon;
}

/** A loopback receiver and a sending socket connected to it, with a pacer over that socket. */
async function rig(port: number) {
  const rx = createSocket('udp4');
  const got: Buffer[] = [];
  rx.on('message', (m) => got.push(Buffer.from(m)));
  await new Promise<void>((r) => rx.bind(port, '127.0.0.1', r));
  const tx = createSocket('udp4');
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => tx.connect(port, '127.0.0.1', r));
  const errors: string[] = [];
  const pacer = new NativePacer(addon(), [socketFd(tx)!], [], (_g, _i, e) => errors.push(String(e.code)));
  const close = async () => {
    pacer.close();
    await Promise.all([new Promise<void>((r) => tx.close(() => r())), new Promise<void>((r) => (rx as Socket).close(() => r()))]);
  };
  return { got, pacer, errors, close };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

function header(marker: boolean, seq: number, ts: number, ssrc: number, pt = 96): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | pt;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(ts, 4);
  h.writeUInt32BE(ssrc, 8);
  return h;
}

describe('interop: L16 file runs (the native pacer reads the WAV itself)', () => {
  let dir = '';
  before(() => {
    addon();
    dir = mkdtempSync(join(tmpdir(), 'rtpcast-runs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the addon sends runs byte for byte as the contract says: swap, wrap, marker, padding, meter, silence count', { timeout: 30_000 }, async () => {
    // stereo 16-bit samples: left full-scale extremes and a ramp, right quiet; 10.5 packets of 240 frames
    const frames = 240 * 10 + 120;
    const pcm = Buffer.alloc(frames * 4);
    for (let i = 0; i < frames; i++) {
      pcm.writeInt16LE(i === 7 ? -32768 : i === 8 ? 32767 : (i * 97) % 20000 - 10000, i * 4);
      pcm.writeInt16LE(i % 2 ? 5 : -5, i * 4 + 2);
    }
    const path = join(dir, 'raw.pcm');
    writeFileSync(path, Buffer.concat([Buffer.alloc(44, 0xee), pcm])); // 44 bytes of "header" not to be sent
    const fd = openSync(path, 'r');
    const r = await rig(BASE);
    try {
      const base = { fd, end: 44 + pcm.length, payload: 960, frame: 240, rate: 48000, ticks: 240, channels: 2, silence: 32.768 };
      const now = r.pacer.addonNow();
      // two runs: the first crosses the sequence and timestamp wrap, the second ends past the data (padded)
      const a: L16FileRun = { ...base, header: header(true, 65534, 0xfffffe00, 0xcafebabe), anchorNs: now + 20_000_000n, first: 0, offset: 44, count: 6 };
      const b: L16FileRun = { ...base, header: header(false, 4, (0xfffffe00 + 6 * 240) >>> 0, 0xcafebabe), anchorNs: now + 20_000_000n, first: 6, offset: 44 + 6 * 960, count: 5 };
      assert.ok(r.pacer.pushRun(a) && r.pacer.pushRun(b));
      const want = [...expandL16FileRun(a), ...expandL16FileRun(b)];
      assert.ok(await until(() => r.got.length >= want.length, 5000), `${r.got.length} of ${want.length} packets arrived`);
      want.forEach((w, i) => assert.ok(r.got[i].equals(w.packet), `packet ${i} differs:\n got ${r.got[i].subarray(0, 24).toString('hex')}\nwant ${w.packet.subarray(0, 24).toString('hex')}`));
      // spot checks of the contract itself (so the model cannot drift with the C code)
      assert.equal(r.got[0][1], 0x80 | 96, 'marker on the first packet');
      assert.ok(r.got.slice(1).every((p) => (p[1] & 0x80) === 0), 'no marker after it');
      assert.deepEqual(r.got.map((p) => p.readUInt16BE(2)), [65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
      assert.equal(r.got[2].readUInt32BE(4), (0xfffffe00 + 2 * 240) >>> 0);
      assert.equal(r.got[0].readInt16BE(12 + 7 * 4), -32768, 'big-endian on the wire');
      assert.equal(r.got[0].readInt16BE(12 + 8 * 4), 32767);
      assert.ok(r.got[10].subarray(12 + 120 * 4).every((x) => x === 0), 'the last packet padded with silence');
      assert.ok(r.got[10].subarray(12, 12 + 120 * 4).some((x) => x !== 0), 'but its first half is audio');
      const st = r.pacer.poll();
      assert.equal(st.sent, 11);
      assert.equal(st.queued, 0);
      assert.deepEqual(st.runPeaks, [1, 5 / 32768], 'per-channel peaks (|-32768| is full scale)');
      assert.equal(st.runSilentPackets, 0);
      assert.equal(st.runReadErrors, 0);
      assert.deepEqual(r.pacer.poll().runPeaks, [], 'the meter restarts after each poll');
      assert.deepEqual(r.errors, []);
    } finally {
      await r.close();
      closeSync(fd);
    }
  });

  test('three channels: each sample\'s peak goes to its own channel (the thread counts channels round, no division)', { timeout: 30_000 }, async () => {
    // 3 packets of 240 frames, 3 channels: |peaks| 1000, 2000 (negative) and 3000 at different frames
    const frames = 240 * 3;
    const pcm = Buffer.alloc(frames * 6);
    for (let i = 0; i < frames; i++) {
      pcm.writeInt16LE(i === 100 ? 1000 : 10, i * 6);
      pcm.writeInt16LE(i === 301 ? -2000 : -20, i * 6 + 2);
      pcm.writeInt16LE(i === 602 ? 3000 : 30, i * 6 + 4);
    }
    const path = join(dir, 'three.pcm');
    writeFileSync(path, pcm);
    const fd = openSync(path, 'r');
    const r = await rig(BASE + 6);
    try {
      const run: L16FileRun = { fd, end: pcm.length, payload: 1440, frame: 240, rate: 48000, ticks: 240, channels: 3, silence: 32.768, header: header(true, 1, 0, 0x01020304), anchorNs: r.pacer.addonNow() + 20_000_000n, first: 0, offset: 0, count: 3 };
      assert.ok(r.pacer.pushRun(run));
      const want = expandL16FileRun(run);
      assert.ok(await until(() => r.got.length >= want.length, 5000), `${r.got.length} of ${want.length} packets arrived`);
      want.forEach((w, i) => assert.ok(r.got[i].equals(w.packet), `packet ${i} differs`));
      assert.equal(r.got[1].readInt16BE(12 + (301 - 240) * 6 + 2), -2000, 'big-endian, channel 2 of frame 301');
      const st = r.pacer.poll();
      assert.deepEqual(st.runPeaks, [1000 / 32768, 2000 / 32768, 3000 / 32768], 'per-channel peaks');
      assert.deepEqual(r.errors, []);
    } finally {
      await r.close();
      closeSync(fd);
    }
  });

  test('runs over a file larger than the thread\'s read-ahead (64 KiB): every byte in place across refills and from run to run', { timeout: 30_000 }, async () => {
    // 300 packets of 960 bytes (288 KB, 4.4 read-aheads; 65536 is no multiple of 960, so packets straddle refills)
    const data = Buffer.alloc(300 * 960);
    // no short period (a byte-wide generator repeats every 256 bytes and would hide a misplaced copy)
    let x = 7;
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = x >>> 24;
    }
    const path = join(dir, 'big.pcm');
    writeFileSync(path, data);
    const fd = openSync(path, 'r');
    const r = await rig(BASE + 4);
    try {
      const now = r.pacer.addonNow();
      const runs: L16FileRun[] = [0, 1, 2].map((i) => ({
        fd, end: data.length, payload: 960, frame: 240, rate: 48000, ticks: 240, channels: 2, silence: 32.768,
        header: header(i === 0, i * 100, i * 100 * 240, 9), anchorNs: now + 10_000_000n, first: i * 100, offset: i * 100 * 960, count: 100,
      }));
      for (const run of runs) assert.ok(r.pacer.pushRun(run));
      const want = runs.flatMap((run) => expandL16FileRun(run));
      assert.ok(await until(() => r.got.length >= want.length, 10_000), `${r.got.length} of ${want.length} packets arrived`);
      want.forEach((w, i) => assert.ok(r.got[i].equals(w.packet), `packet ${i} differs`));
      assert.equal(r.pacer.poll().runReadErrors, 0);
    } finally {
      await r.close();
      closeSync(fd);
    }
  });

  test('silence is counted, a failed read goes out as silence and is counted, a drop sends nothing more', { timeout: 30_000 }, async () => {
    const path = join(dir, 'quiet.pcm');
    writeFileSync(path, Buffer.alloc(960 * 4)); // 4 packets of digital silence
    const fd = openSync(path, 'r');
    const dirFd = openSync(dir, 'r'); // pread on a directory fails (EISDIR)
    const r = await rig(BASE + 2);
    try {
      const base = { end: 960 * 4, payload: 960, frame: 240, rate: 48000, ticks: 240, channels: 2, silence: 32.768 };
      const now = r.pacer.addonNow();
      r.pacer.pushRun({ ...base, fd, offset: 0, count: 4, header: header(true, 1, 1, 1), anchorNs: now + 10_000_000n, first: 0 });
      assert.ok(await until(() => r.got.length >= 4, 5000));
      let st = r.pacer.poll();
      assert.equal(st.runSilentPackets, 4);
      assert.deepEqual(st.runPeaks, []);
      r.pacer.pushRun({ ...base, fd: dirFd, offset: 0, count: 2, header: header(false, 5, 961, 1), anchorNs: now + 10_000_000n, first: 4 });
      assert.ok(await until(() => r.got.length >= 6, 5000));
      st = r.pacer.poll();
      assert.equal(st.runReadErrors, 2);
      assert.equal(st.runReadError, 'EISDIR');
      assert.ok(r.got.slice(4).every((p) => p.length === 972 && p.subarray(12).every((x) => x === 0)), 'sent as silence, full size');
      // a run a minute ahead, dropped: none of it leaves
      r.pacer.pushRun({ ...base, fd, offset: 0, count: 4, header: header(false, 7, 1441, 1), anchorNs: now + 60_000_000_000n, first: 0 });
      assert.equal(r.pacer.poll().queued, 4);
      assert.equal(r.pacer.drop(), 4);
      await new Promise((res) => setTimeout(res, 100));
      st = r.pacer.poll();
      assert.equal(st.queued, 0);
      assert.equal(st.dropped, 4);
      assert.equal(r.got.length, 6);
    } finally {
      await r.close();
      closeSync(fd);
      closeSync(dirFd);
    }
  });

  test('rtpcast send --input tone.wav (L16): ffmpeg decodes the file\'s tone from the SDP; the start event says file runs', { timeout: 60_000 }, async (t) => {
    const procs = new Procs();
    try {
      const seconds = 3;
      const hz = 870;
      const n = 48000 * seconds;
      const tone = new Float32Array(n * 2);
      for (let i = 0; i < n; i++) tone[2 * i] = tone[2 * i + 1] = 0.25 * Math.sin((2 * Math.PI * hz * i) / 48000);
      const wav = join(dir, 'tone.wav');
      writeFileSync(wav, encodeWavS16(tone, 48000, 2));
      const port = BASE + 10;
      const cfg: StreamConfig = { id: 'l16-48k-stereo-file', label: 'L16 48 kHz stereo from a WAV', args: [], codec: 'l16', channels: 2, expectPt: 96, hz };
      const sdpPath = join(dir, 's.sdp');
      const out = join(dir, 'out.wav');
      const argv = [process.execPath, RTPCAST_CLI, 'send', '--input', wav, '--codec', 'l16', '--rate', '48000', '--channels', '2', '--dest', `127.0.0.1:${port}`, '--sdp', sdpPath, '--json'];
      const first = await procs.run([...argv, '--duration', '0.01'], 20_000);
      assert.equal(first.exit?.code, 0, first.describe());
      const { stream, text } = readSdp(sdpPath, cfg);
      const rec = await startReceiver(procs, FFMPEG, { sdpPath, sdp: stream, out, sendSeconds: seconds, printed: [] });
      const send = await procs.run(argv, 30_000);
      assert.equal(send.exit?.code, 0, send.describe());
      const start = send.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; pacer?: { pacer: string; fileRuns?: boolean } }).find((e) => e.event === 'start');
      assert.deepEqual(start?.pacer, { pacer: 'native', fileRuns: true }, 'the native pacer read the file');
      await FFMPEG.finish(rec, { sdpPath, sdp: stream, out, sendSeconds: seconds, printed: [] });
      const check = checkTone(out, { hz, sendSeconds: seconds, sentChannels: 2, channels: [2] });
      t.diagnostic(`ffmpeg <- file runs: ${summary(check)}`);
      assertTone(check, 'ffmpeg receiving L16 read from the WAV by the native pacer', { receiver: rec, sender: send, sdpText: text });
    } finally {
      await procs.cleanup();
    }
  });
});
