/**
 * The native pacer (native/pacer) against real peers: ffmpeg decodes the natively paced stream as
 * the tone sent (frequency, duration, gaps, phase, level: the shared checks of runInterop), and a
 * receiver's kernel timestamps (SO_TIMESTAMPNS: on loopback, the sender's departure time) show
 * p99 deviations under 1 ms for 5 ms L16 and 20 ms Opus packets.
 *
 * A VM whose host deschedules it wakes no thread on time, however it is scheduled: during each
 * measurement test/support/timer-probe.c (compiled here) sleeps to the same period with the
 * pacer's default scheduling and reports how late the machine itself woke it. When that floor is over
 * 0.5 ms at p99, the pacer is held to the floor instead of to 1 ms: its schedule p99 within
 * 0.5 ms of the probe's, its interval p99 (two departures) within 2x + 0.5 ms. A pacer that bursts
 * or runs on the event loop still fails (it is ms off on a machine whose probe says 0.3 ms).
 * The addon must be built (npm ci does it; or: cd native/pacer && node install.js).
 */
import { describe, test, before, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram } from '../../src/os/programs';
import assert from 'node:assert/strict';
import { config, FFMPEG, runInterop, RTPCAST_CLI, TONE_PEAK_DBFS } from '../support/peers';
import { Procs } from '../support/procs';
import { startKernelStamps } from '../support/kernel-stamps';
import { loadPacerAddon } from '../../src/rtp/native-pacer';
import { encodeWavS16 } from '../../src/audio/wav';
import { analyzePacing, sequenceCheck } from '../../scripts/bench-lib';

// ports 33150-33199 (this test's own range)
const BASE = 33150;

function requireNativePacer(): void {
  const r = loadPacerAddon();
  if (!r.addon) assert.fail(`the native pacer is not available: ${r.error}. Build it: cd native/pacer && node install.js (needs python3, make, a C compiler; Debian: sudo apt install python3 make g++)`);
}

/** `seconds` of a 48 kHz stereo 16-bit WAV: the same sine at peak `amp` on both channels. */
function writeToneWav(path: string, hz: number, amp: number, seconds: number): void {
  const tone = new Float32Array(48000 * seconds * 2);
  for (let i = 0; i < tone.length / 2; i++) tone[2 * i] = tone[2 * i + 1] = amp * Math.sin((2 * Math.PI * hz * i) / 48000);
  writeFileSync(path, encodeWavS16(tone, 48000, 2));
}

/** test/support/timer-probe.c in the source tree (this file runs from dist/test/interop) */
const PROBE_SOURCE = join(__dirname, '..', '..', '..', 'test', 'support', 'timer-probe.c');

interface Probe {
  shortSlice: number;
  wakeups: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  over1ms: number;
}

function buildProbe(dir: string): string {
  const gcc = findProgram('gcc');
  if (!gcc) assert.fail('gcc not found: the timer probe is compiled at test time (sudo apt-get install gcc libc6-dev)');
  const bin = join(dir, 'timer-probe');
  const r = spawnSync(gcc, ['-O2', '-Wall', '-o', bin, PROBE_SOURCE], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) assert.fail(`gcc could not build ${PROBE_SOURCE} (is libc6-dev installed?):\n${r.stderr}`);
  return bin;
}

interface Measured {
  pacer: { pacer: string; reason?: string };
  /** the pacer read the WAV itself (L16 file runs) */
  fileRuns: boolean;
  lateness?: { p50Ms: number; p99Ms: number; maxMs: number; over1ms: number };
  packets: number;
  intervalP99: number;
  scheduleP99: number;
  intervalMax: number;
  lost: number;
  /** the machine's own timer lateness during the measurement */
  probe: Probe;
}

/** Sends `seconds` of tone to the kernel-timestamp receiver and measures the departures. */
async function measure(probeBin: string, codecArgs: string[], port: number, seconds: number, tickRate: number, ticksPerPacket: number): Promise<Measured> {
  const procs = new Procs();
  try {
    const rx = await startKernelStamps(procs, port, seconds + 20);
    const periodUs = Math.round((ticksPerPacket / tickRate) * 1e6);
    const probeRun = procs.run([probeBin, String(seconds), String(periodUs)], (seconds + 20) * 1000);
    const source = codecArgs.includes('--input') ? [] : ['--tone', '870'];
    const send = await procs.run([process.execPath, RTPCAST_CLI, 'send', ...source, ...codecArgs, '--dest', `127.0.0.1:${port}`, '--duration', String(seconds), '--json'], (seconds + 20) * 1000);
    assert.equal(send.exit?.code, 0, send.describe());
    const events = send.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const start = events.find((e) => e.event === 'start')!;
    const stop = events.find((e) => e.event === 'stop')!;
    const data = await rx.stop();
    const probed = await probeRun;
    assert.equal(probed.exit?.code, 0, probed.describe());
    const probe = JSON.parse(probed.stdout) as Probe;
    const p = analyzePacing(data.kernelNs, data.timestamps, tickRate, ticksPerPacket);
    return {
      pacer: start.pacer as Measured['pacer'],
      fileRuns: (start.pacer as { fileRuns?: boolean }).fileRuns === true,
      lateness: stop.lateness as Measured['lateness'],
      packets: data.kernelNs.length,
      intervalP99: p.interval.p99,
      scheduleP99: p.schedule.p99,
      intervalMax: p.interval.max,
      lost: sequenceCheck(data.sequences).lost,
      probe,
    };
  } finally {
    await procs.cleanup();
  }
}

describe('interop: the native pacer', () => {
  let dir = '';
  let probeBin = '';
  let wav = '';
  before(() => {
    requireNativePacer();
    dir = mkdtempSync(join(tmpdir(), 'rtpcast-pacer-'));
    probeBin = buildProbe(dir);
    // 10 s of 48 kHz stereo 16-bit tone: sent as L16, the pacer reads it itself (file runs)
    wav = join(dir, 'tone.wav');
    writeToneWav(wav, 870, 0.25, 10);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('ffmpeg decodes the natively paced L16 48 kHz stereo stream (5 ms packets) as the tone sent', { timeout: 60_000 }, async (t) => {
    await runInterop(t, FFMPEG, config('l16-48k-stereo'), BASE);
  });

  test('ffmpeg decodes the natively paced Opus stereo stream as the tone sent', { timeout: 60_000 }, async (t) => {
    await runInterop(t, FFMPEG, config('opus-stereo'), BASE + 2);
  });

  // A file ffmpeg decodes for us arrives in pipe-sized chunks, behind the pacer's 1 s lookahead at
  // the start: the sender must wait for it, not fill the gap with silence (it put 85-100 ms of
  // silence at the start of every such file until 2026-12-06). The tone's gap and phase checks
  // catch any silence or lost samples.
  for (const c of [{ id: 'opus-stereo', port: BASE + 4 }, { id: 'l16-48k-stereo', port: BASE + 6 }] as const) {
    test(`ffmpeg decodes a natively paced ${c.id} stream of an ffmpeg-decoded FLAC as the tone in it: no silence at the start`, { timeout: 60_000 }, async (t) => {
      FFMPEG.require();
      const cfg = config(c.id);
      const flac = join(dir, `tone-${c.id}.flac`);
      writeToneWav(join(dir, 'flac-src.wav'), cfg.hz, 10 ** (TONE_PEAK_DBFS / 20), 6);
      const conv = spawnSync(findProgram('ffmpeg')!, ['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'flac-src.wav'), flac], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(conv.status, 0, `ffmpeg could not write the FLAC: ${conv.stderr}`);
      // runInterop asserts the tone ffmpeg received (frequency, duration, gaps, phase, level)
      await runInterop(t, FFMPEG, cfg, c.port, { sendFlags: ['--input', flac] });
    });
  }

  for (const c of [
    { name: 'L16 5 ms', args: () => ['--codec', 'l16', '--rate', '48000', '--channels', '2'], ticks: 240, perSec: 200, port: BASE + 10, fileRuns: false },
    { name: 'L16 5 ms read from a WAV by the pacer (file runs)', args: () => ['--input', wav, '--codec', 'l16', '--rate', '48000', '--channels', '2'], ticks: 240, perSec: 200, port: BASE + 14, fileRuns: true },
    { name: 'Opus 20 ms', args: () => ['--codec', 'opus'], ticks: 960, perSec: 50, port: BASE + 12, fileRuns: false },
  ]) {
    test(`${c.name}: departures (kernel timestamps at a loopback receiver) within 1 ms at p99`, { timeout: 120_000 }, async (t) => {
      const seconds = 10;
      // One measurement can meet a burst of load from elsewhere on a shared machine: up to three
      // attempts, all logged; the test fails if none meets the goal (or, on a machine whose own
      // timers were late, the floor the probe measured beside it).
      const tries: Measured[] = [];
      for (let i = 0; i < 3; i++) {
        const m = await measure(probeBin, c.args(), c.port + 8 * i, seconds, 48000, c.ticks);
        tries.push(m);
        t.diagnostic(`attempt ${i + 1}: ${JSON.stringify(m)}`);
        assert.equal(m.pacer.pacer, 'native', `rtpcast used the JS pacer: ${m.pacer.reason}`);
        assert.equal(m.fileRuns, c.fileRuns, c.fileRuns ? 'the pacer read the WAV itself' : 'packets built by Node');
        assert.equal(m.packets, seconds * c.perSec, 'every packet arrived');
        assert.equal(m.lost, 0);
        assert.ok(m.lateness && m.lateness.maxMs >= 0, 'the stop event reports the pacer\'s lateness');
        if (m.intervalP99 < 1 && m.scheduleP99 < 1) return;
        const floor = m.probe.p99Ms;
        if (floor > 0.5 && m.scheduleP99 <= floor + 0.5 && m.intervalP99 <= 2 * floor + 0.5) {
          t.diagnostic(`the machine's own timers were late (probe p99 ${floor} ms, ${m.probe.over1ms} wake-ups over 1 ms): the pacer was held to that floor and kept to it`);
          return;
        }
      }
      assert.fail(`p99 deviation not under 1 ms (nor within the machine's measured floor) in ${tries.length} attempts: ${tries.map((m) => `interval ${m.intervalP99.toFixed(3)} ms, schedule ${m.scheduleP99.toFixed(3)} ms, probe p99 ${m.probe.p99Ms} ms`).join('; ')}`);
    });
  }
});
