/**
 * A real producer on a real pipe into `rtpcast send --input -` (the README's parec recipe), a
 * UDP socket on loopback timestamping every packet on the wire (same monotonic clock as the
 * producer: both run in this process).
 *
 * - live: the producer writes a 997 Hz tone (left) and a frame counter (right, frame/16) in
 *   real time, 10 ms at a time, after 0.5 s written at once (what parec has ready when rtpcast
 *   starts); it stalls 300 ms and then writes what it owes at once (as parec does after a
 *   hiccup); then rtpcast itself is stopped for 300 ms (SIGSTOP: a loaded machine). Without
 *   --live, rtpcast must detect the producer as live (notice), keep the write-to-wire latency
 *   under 100 ms after the first second (except shortly after each stall) and count what it drops.
 * - file: 5 s of tone written as fast as the pipe takes it: detected as faster than real time,
 *   every sample sent (duration within 3 %), paced (not sent in a burst), nothing dropped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { RTPCAST_CLI, testPort } from '../support/peers';
import { sleep } from '../support/procs';
import { dominantFrequency } from '../../src/audio/analysis';

const RATE = 48000;
const HZ = 997;

/** frames [from, from+n) as s16le stereo: tone left, frame/16 right */
function pcm(from: number, n: number): Buffer {
  const b = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const f = from + i;
    b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * HZ * f) / RATE)), i * 4);
    b.writeInt16LE((f >> 4) & 0x7fff, i * 4 + 2);
  }
  return b;
}

interface Arrival {
  atNs: bigint;
  payload: Buffer;
}

async function withRtpcast(port: number, extra: string[], body: (stdin: NodeJS.WritableStream, child: ReturnType<typeof spawn>, packets: Arrival[]) => Promise<void>) {
  const sock = createSocket('udp4');
  const packets: Arrival[] = [];
  sock.on('message', (m) => {
    if (m.length > 12 && (m[1] & 0x7f) === 96) packets.push({ atNs: process.hrtime.bigint(), payload: m.subarray(12) });
  });
  await new Promise<void>((r) => sock.bind(port, '127.0.0.1', r));
  const child = spawn(process.execPath, [RTPCAST_CLI, 'send', '--input', '-', '--input-rate', String(RATE), '--codec', 'l16', '--rate', String(RATE), '--pt', '96', '--dest', `127.0.0.1:${port}`, '--json', ...extra], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (err += b));
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await body(child.stdin!, child, packets);
    child.stdin!.end();
    await Promise.race([exited, sleep(15_000)]);
    assert.notEqual(child.exitCode, null, `rtpcast did not stop when stdin ended\n${err}`);
    assert.equal(child.exitCode, 0, err);
    return { events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>), packets, err };
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    sock.close();
  }
}

/** Runs the live producer into rtpcast (flags `extra`) and measures what reached the wire. */
async function liveRun(port: number, extra: string[]) {
  const writes: { frame: number; atNs: bigint }[] = [];
  let t0 = 0n;
  let stallAtNs = 0n;
  let stopAtNs = 0n;
  const { events, packets } = await withRtpcast(port, extra, async (stdin, child) => {
    let written = 0;
    const write = (n: number) => {
      writes.push({ frame: written, atNs: process.hrtime.bigint() });
      stdin.write(pcm(written, n));
      written += n;
    };
    write(RATE / 2); // the backlog: 0.5 s at once, before rtpcast reads
    t0 = process.hrtime.bigint();
    const due = () => RATE / 2 + Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * RATE);
    let stalled = false;
    await new Promise<void>((done) => {
      const iv = setInterval(() => {
        const el = Number(process.hrtime.bigint() - t0) / 1e9;
        if (el >= 4 && el < 4.3) {
          if (!stalled) stallAtNs = process.hrtime.bigint();
          stalled = true; // the producer stalls; then writes what it owes at once
          return;
        }
        if (el >= 7 && stopAtNs === 0n) {
          stopAtNs = process.hrtime.bigint();
          const signal = (sig: NodeJS.Signals) => {
            if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, sig);
          };
          signal('SIGSTOP');
          setTimeout(() => signal('SIGCONT'), 300);
        }
        if (el >= 12) {
          clearInterval(iv);
          done();
          return;
        }
        const n = due() - written;
        if (n >= 480) write(n - (n % 480));
      }, 5);
    });
  });
  // latency of each packet: its first frame (from the counter) back to when the producer wrote it
  const writtenAt = (f: number) => {
    let lo = 0;
    for (let hi = writes.length - 1; lo < hi; ) {
      const mid = (lo + hi + 1) >> 1;
      if (writes[mid].frame <= f) lo = mid;
      else hi = mid - 1;
    }
    return writes[lo].atNs;
  };
  const lat: { atNs: bigint; ms: number }[] = [];
  const left: number[] = [];
  let base = 0;
  let prev = -1;
  for (const p of packets) {
    const c = p.payload.readInt16BE(2);
    if (p.payload.every((b) => b === 0)) continue; // silence sent while the producer stalled
    if (prev >= 0 && c < prev - 16384) base += 32768;
    prev = c;
    lat.push({ atNs: p.atNs, ms: Number(p.atNs - writtenAt((base + c) * 16)) / 1e6 });
    // the tone over the second before the producer's stall (steady, no drop expected there)
    if (p.atNs >= stallAtNs - 1_000_000_000n && p.atNs < stallAtNs) for (let i = 0; i < p.payload.length; i += 4) left.push(p.payload.readInt16BE(i) / 32768);
  }
  assert.ok(packets.length > 0, 'packets arrived');
  // the first second of sending (rtpcast measured the pipe for a second before it started, so
  // that much more piled up; it is dropped within the trimmer's first window)
  const first = packets[0].atNs + 1_000_000_000n;
  const recovering = (t: bigint) => t < first || (t >= stallAtNs && t < stallAtNs + 1_800_000_000n) || (t >= stopAtNs && t < stopAtNs + 1_800_000_000n);
  const steady = lat.filter((l) => !recovering(l.atNs)).map((l) => l.ms).sort((a, b) => a - b);
  const q = (p: number) => steady[Math.min(steady.length - 1, Math.floor(p * steady.length))];
  const stop = events.find((e) => e.event === 'stop') as { droppedMs?: number; underruns: number } | undefined;
  const start = events.find((e) => e.event === 'start') as { notes: string[] } | undefined;
  const line = `${extra.join(' ') || 'auto'}: ${lat.length} packets, steady write-to-wire latency p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${steady[steady.length - 1].toFixed(1)} ms; first second max ${Math.max(...lat.filter((l) => l.atNs < first).map((l) => l.ms)).toFixed(0)} ms; dropped ${stop?.droppedMs ?? '-'} ms, underruns ${stop?.underruns}`;
  console.log(line);
  return { steady, q, stop, start, left };
}

test('interop: a live producer piped into rtpcast send: detected, latency bounded after backlog and stalls, tone right, drops counted', { timeout: 60_000 }, async () => {
  const { steady, q, stop, start, left } = await liveRun(testPort(35010), []);
  assert.ok(start?.notes.some((n) => /live producer/.test(n)), `notice that stdin is live: ${JSON.stringify(start?.notes)}`);
  assert.ok(steady.length > 500, `enough packets measured: ${steady.length}`);
  assert.ok(q(0.99) < 100, `p99 write-to-wire latency ${q(0.99).toFixed(1)} ms (< 100 ms)`);
  assert.ok(steady[steady.length - 1] < 150, `max steady latency ${steady[steady.length - 1].toFixed(1)} ms`);
  // the backlog (0.5 s, Node's start-up, the measuring second), the producer's 0.3 s stall and
  // rtpcast's 0.3 s stop: dropped, said and counted
  const atStart = /the (\d+) ms that piled up/.exec(start!.notes.join(' '));
  assert.ok(atStart && Number(atStart[1]) >= 1500, `the notice says what was dropped at the start: ${start!.notes.join(' ')}`);
  assert.ok((stop?.droppedMs ?? 0) >= Number(atStart[1]) + 400, `dropped ${stop?.droppedMs} ms (counted, with the start)`);
  assert.ok(left.length > RATE / 2, `tone samples before the stall: ${left.length}`);
  const hz = dominantFrequency(Float32Array.from(left), RATE);
  assert.ok(Math.abs(hz - HZ) < 1, `tone at ${hz.toFixed(2)} Hz`);
});

test('interop: the same producer with --live (the README recipe): no measuring second, the backlog dropped at once, latency bounded', { timeout: 60_000 }, async () => {
  const { steady, q, stop, start } = await liveRun(testPort(35040), ['--live']);
  const atStart = /the (\d+) ms that piled up/.exec(start!.notes.join(' '));
  assert.ok(atStart && Number(atStart[1]) >= 400, `the notice says the backlog was dropped: ${start!.notes.join(' ')}`);
  assert.ok(steady.length > 500, `enough packets measured: ${steady.length}`);
  assert.ok(q(0.99) < 100, `p99 write-to-wire latency ${q(0.99).toFixed(1)} ms (< 100 ms)`);
  assert.ok(steady[steady.length - 1] < 150, `max steady latency ${steady[steady.length - 1].toFixed(1)} ms`);
  assert.ok((stop?.droppedMs ?? 0) >= Number(atStart[1]) + 400, `dropped ${stop?.droppedMs} ms (the backlog, both stalls; counted)`);
});

test('interop: the same producer with --no-live (paced like a file, the old behaviour) keeps what piled up: the latency the fix removes', { timeout: 60_000 }, async () => {
  const { q, stop } = await liveRun(testPort(35030), ['--no-live']);
  assert.equal(stop?.droppedMs, undefined, 'paced: nothing dropped');
  assert.ok(q(0.5) > 300, `paced, the 0.5 s backlog stays: p50 ${q(0.5).toFixed(1)} ms`);
});

test('interop: a file piped into rtpcast send: detected as faster than real time, every sample sent, paced', { timeout: 60_000 }, async () => {
  const SEC = 5;
  const { events, packets } = await withRtpcast(testPort(35020), [], async (stdin) => {
    stdin.write(pcm(0, RATE * SEC));
  });
  const start = events.find((e) => e.event === 'start') as { notes: string[] } | undefined;
  assert.ok(start?.notes.some((n) => /faster than real time/.test(n)), `notice: ${JSON.stringify(start?.notes)}`);
  const stop = events.find((e) => e.event === 'stop') as { droppedMs?: number; elapsedSec: number } | undefined;
  assert.equal(stop?.droppedMs, undefined, 'sender pacing: nothing is dropped');
  const frames = packets.reduce((s, p) => s + p.payload.length / 4, 0);
  const spanSec = Number(packets[packets.length - 1].atNs - packets[0].atNs) / 1e9;
  console.log(`piped file: ${frames} frames received (${(frames / RATE).toFixed(3)} s) over ${spanSec.toFixed(2)} s on the wire`);
  assert.ok(Math.abs(frames / RATE - SEC) / SEC < 0.03, `received ${(frames / RATE).toFixed(3)} s of ${SEC} s`);
  assert.ok(Math.abs(spanSec - SEC) / SEC < 0.05, `paced in real time: ${spanSec.toFixed(2)} s on the wire`);
  // and in order: the counter runs on without a jump
  let prev = -1;
  for (const p of packets) {
    const c = p.payload.readInt16BE(2);
    assert.ok(prev < 0 || c >= prev, 'no frames skipped or reordered');
    prev = c;
  }
});
