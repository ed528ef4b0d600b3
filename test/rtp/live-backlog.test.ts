import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpSender } from '../../src/rtp/sender';
import { BacklogTrimmer } from '../../src/rtp/backlog';
import { ManualClock } from '../../src/rtp/clock';
import { createEncoder } from '../../src/codec/encoder';
import { describeStream } from '../../src/stream/description';
import type { AudioSource } from '../../src/audio/source';
import { RecordingTransport, JumpingSleeper } from '../support/fakes';

/**
 * A live producer on a pipe (parec | rtpcast): it runs on its own clock, writes `chunkMs` at a
 * time, and had already written `backlogMs` when rtpcast started reading. It records, for every
 * frame rtpcast reads, how long ago the producer wrote it: the latency stdin adds.
 */
class LiveProducer implements AudioSource {
  readonly label = 'fake live stdin';
  readonly pacing = 'source' as const;
  consumed = 0;
  discarded = 0;
  /** [read time (ns), latency of the first frame read (ms)] */
  latencies: [bigint, number][] = [];
  constructor(
    private readonly clock: ManualClock,
    private readonly t0: bigint,
    private readonly rate: number,
    private readonly backlog: number,
    private readonly chunk: number,
  ) {}
  get arrivedFrames(): number {
    const t = this.clock.nowNs() - this.t0;
    const live = Math.floor((Number(t) / 1e9) * this.rate);
    return this.backlog + Math.floor(live / this.chunk) * this.chunk;
  }
  /** when frame k was written */
  private writtenNs(k: number): bigint {
    if (k < this.backlog) return this.t0;
    const chunks = Math.floor((k - this.backlog) / this.chunk) + 1;
    return this.t0 + BigInt(Math.ceil(((chunks * this.chunk) / this.rate) * 1e9));
  }
  get buffered(): number {
    return this.arrivedFrames - this.consumed;
  }
  async open() {
    return { rate: this.rate, channels: 2 };
  }
  read(frames: number): Float32Array {
    const n = Math.min(frames, this.buffered);
    if (n > 0) this.latencies.push([this.clock.nowNs(), Number(this.clock.nowNs() - this.writtenNs(this.consumed)) / 1e6]);
    this.consumed += n;
    return new Float32Array(n * 2).fill(0.1);
  }
  discard(frames: number): number {
    const n = Math.min(frames, this.buffered);
    this.consumed += n;
    this.discarded += n;
    return n;
  }
  readable: (() => void) | undefined;
  onReadable(fn: () => void) {
    this.readable = fn;
  }
  onError() {}
  async close() {}
}

async function run(backlogMs: number, chunkMs: number, stallAtSec?: number, stallMs = 0) {
  const d = describeStream({ codec: 'opus' }, []);
  const clock = new ManualClock(0n);
  const src = new LiveProducer(clock, 0n, 48000, (backlogMs * 48000) / 1000, (chunkMs * 48000) / 1000);
  const transport = new RecordingTransport(clock);
  let stalled = false;
  // rtpcast is held up once (a GC pause, a loaded machine): it wakes `stallMs` late
  const late = (deadline: bigint) => (stallAtSec !== undefined && !stalled && deadline > BigInt(stallAtSec * 1e9) ? ((stalled = true), BigInt(stallMs * 1e6)) : 0n);
  const sender = new RtpSender({
    description: d, source: src, sourceFormat: { rate: 48000, channels: 2 }, encoder: createEncoder(d), transport, clock,
    wall: { unixSeconds: () => 0 }, sleeper: new JumpingSleeper(clock, late), start: { ssrc: 1, sequence: 0, timestamp: 0 }, durationSec: 20,
  });
  const warnings: string[] = [];
  sender.on('warning', (m: string) => warnings.push(m));
  const started = sender.start();
  for (let i = 0; i < 40 && transport.rtp.length === 0; i++) {
    clock.advance(5_000_000);
    src.readable?.();
    await new Promise((r) => setImmediate(r));
  }
  await started;
  return { src, sender, warnings, transport };
}

const after = (src: LiveProducer, sec: number) => src.latencies.filter(([t]) => t > BigInt(sec * 1e9)).map(([, l]) => l);

test('a live producer with 0.5 s already in the pipe: the backlog is dropped within a second, latency stays low, the drop is counted and said', async () => {
  const { src, sender, warnings } = await run(500, 10);
  const lat = after(src, 1);
  assert.ok(Math.max(...lat) < 100, `latency after the first second: max ${Math.max(...lat).toFixed(1)} ms`);
  const st = sender.status();
  assert.equal(st.underruns, 0, 'no silence inserted');
  // what was dropped is what had piled up, less the target (~50 ms) and slack
  assert.ok(st.droppedMs! >= 400 && st.droppedMs! <= 500, `dropped ${st.droppedMs} ms`);
  assert.equal(Math.round((src.discarded / 48000) * 1000) <= st.droppedMs!, true);
  assert.ok(warnings.some((w) => /piled up beyond the \d+ ms target.*dropped it/.test(w)), warnings.join('\n'));
});

test('rtpcast held up 400 ms mid-stream: what piled up meanwhile is dropped, the latency comes back down', async () => {
  const { src, sender } = await run(0, 10, 8, 400);
  const before = src.latencies.filter(([t]) => t > 1_000_000_000n && t < 8_000_000_000n).map(([, l]) => l);
  assert.ok(Math.max(...before) < 100, `before the stall: max ${Math.max(...before).toFixed(1)} ms`);
  const lat = after(src, 10);
  assert.ok(Math.max(...lat) < 100, `latency 2 s after the stall: max ${Math.max(...lat).toFixed(1)} ms`);
  assert.ok(sender.status().droppedMs! >= 250, `dropped ${sender.status().droppedMs} ms`);
});

test('a producer that writes 200 ms at a time, in real time, loses nothing (its burst is not a backlog)', async () => {
  const { src, sender } = await run(0, 200);
  assert.equal(sender.status().droppedMs, 0);
  assert.equal(src.discarded, 0);
});

test('trimmer: measures the level before each arrival, over a window of at least two gaps', () => {
  const t = new BacklogTrimmer(2400, 1440, 500_000_000);
  // arrivals every 10 ms with 20000 frames (~417 ms) standing: dropped at the end of the first window
  let drop = 0;
  for (let i = 0; i <= 50 && drop === 0; i++) drop = t.arrived(20000, BigInt(i) * 10_000_000n);
  assert.equal(drop, 20000 - 2400);
  // a bursty producer: 1 s chunks; before each chunk the level is low, the window grows to two gaps
  const b = new BacklogTrimmer(2400, 1440, 500_000_000);
  const drops: number[] = [];
  for (let i = 0; i < 10; i++) drops.push(b.arrived(1000, BigInt(i) * 1_000_000_000n));
  assert.deepEqual(drops, new Array(10).fill(0));
  assert.equal(b.windowNs >= 1_000_000_000, true, `window ${b.windowNs}`);
  // within the slack: nothing dropped
  const s = new BacklogTrimmer(2400, 1440, 500_000_000);
  for (let i = 0; i <= 100; i++) assert.equal(s.arrived(2400 + 1400, BigInt(i) * 10_000_000n), 0);
});
