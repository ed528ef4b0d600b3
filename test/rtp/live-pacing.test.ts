import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpSender } from '../../src/rtp/sender';
import { LevelServo } from '../../src/rtp/pacer';
import { ManualClock } from '../../src/rtp/clock';
import { createEncoder } from '../../src/codec/encoder';
import { describeStream } from '../../src/stream/description';
import type { AudioSource } from '../../src/audio/source';
import { RecordingTransport, JumpingSleeper } from '../support/fakes';

/** A capture device whose clock runs `ppm` off ours, delivering 10 ms chunks, as parec does. */
class DriftingDevice implements AudioSource {
  readonly label = 'fake device';
  readonly pacing = 'source' as const;
  private consumed = 0;
  constructor(
    private readonly clock: ManualClock,
    private readonly t0: bigint,
    private readonly rate: number,
    private readonly ppm: number,
  ) {}
  private produced(): number {
    const sec = Number(this.clock.nowNs() - this.t0) / 1e9;
    const frames = Math.floor(sec * this.rate * (1 + this.ppm / 1e6));
    const chunk = this.rate / 100;
    return Math.floor(frames / chunk) * chunk; // whole 10 ms chunks only
  }
  get buffered(): number {
    return this.produced() - this.consumed;
  }
  async open() {
    return { rate: this.rate, channels: 2 };
  }
  read(frames: number): Float32Array {
    const n = Math.min(frames, this.buffered);
    this.consumed += n;
    return new Float32Array(n * 2).fill(0.1);
  }
  readable: (() => void) | undefined;
  onReadable(fn: () => void) {
    this.readable = fn;
  }
  onError() {}
  async close() {}
}

for (const ppm of [+100, -100, +1000]) {
  test(`a capture clock ${ppm > 0 ? '+' : ''}${ppm} ppm off ours: 10 simulated minutes, buffer bounded, no silence inserted`, async () => {
    const d = describeStream({ codec: 'l16', rate: 48000 }, []);
    const clock = new ManualClock(0n);
    const dev = new DriftingDevice(clock, 0n, 48000, ppm);
    const transport = new RecordingTransport(clock);
    // the sleeper also lets device time pass when the sender waits for the cushion
    const sender = new RtpSender({
      description: d, source: dev, sourceFormat: { rate: 48000, channels: 2 }, encoder: createEncoder(d), transport, clock,
      wall: { unixSeconds: () => 0 }, sleeper: new JumpingSleeper(clock), start: { ssrc: 1, sequence: 0, timestamp: 0 }, durationSec: 600,
    });
    const levels: number[] = [];
    sender.on('status', (s) => levels.push(s.bufferedMs ?? -1));
    const started = sender.start();
    // before the first packet the sender waits for a cushion of captured audio: let the device run
    for (let i = 0; i < 40 && transport.rtp.length === 0; i++) {
      clock.advance(5_000_000);
      dev.readable?.();
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(transport.rtp.length > 0, 'the sender started once the cushion was captured');
    assert.equal(await started, 'duration');
    const st = sender.status();
    assert.equal(st.underruns, 0, 'no silence was inserted');
    assert.equal(transport.rtp.length, 120000);
    const late = levels.slice(60); // after the first minute
    assert.ok(Math.max(...late) < 80 && Math.min(...late) > 10, `buffer stayed between 10 and 80 ms: ${Math.min(...late)}..${Math.max(...late)}`);
    // packets leave at the device's rate, not ours: measured over the last 9 minutes
    const from = transport.rtp[12000];
    const to = transport.rtp[transport.rtp.length - 1];
    const nominalNs = ((transport.rtp.length - 1 - 12000) * 240 * 1e9) / 48000;
    const measuredPpm = (nominalNs / Number(to.at - from.at) - 1) * 1e6;
    assert.ok(Math.abs(measuredPpm - ppm) < 5, `departures at ${measuredPpm.toFixed(1)} ppm for a device at ${ppm} ppm`);
    // and the displayed correction says so (smoothed; the 10 ms capture chunks make it wobble)
    assert.ok(Math.abs((st.clockPpm ?? 0) - ppm) < 200, `shown correction ${st.clockPpm} ppm for ${ppm} ppm`);
  });
}

test('servo: proportional, averaged over a second, bounded', () => {
  const s = new LevelServo(1440, 48000, 10, 2000);
  assert.equal(s.update(1440 + 4800, 0n), 0n);
  // 4800 frames (100 ms) too many: drain over 10 s -> 1% -> clamped at 2000 ppm -> 2 ms earlier per second
  assert.equal(s.update(1440 + 4800, 1_000_000_000n), -2_000_000n);
  assert.equal(s.ppm, 200, 'display smoothing: a tenth of the way per second');
  const t = new LevelServo(1440, 48000, 10, 2000);
  t.update(1440 + 48, 0n);
  // 48 frames (1 ms) too many -> 100 ppm -> 100 us per second
  assert.equal(t.update(1440 + 48, 1_000_000_000n), -100_000n);
});

test('10 s of silence from the source gives one warning that names the source and the command to list sources', async () => {
  const d = describeStream({ codec: 'opus' }, []);
  const clock = new ManualClock(0n);
  const silent: AudioSource = {
    label: 'monitor of Speakers', pacing: 'sender', open: async () => ({ rate: 48000, channels: 2 }),
    read: (n) => new Float32Array(n * 2), onReadable() {}, onError() {}, close: async () => undefined,
  };
  const sender = new RtpSender({
    description: d, source: silent, sourceFormat: { rate: 48000, channels: 2 }, encoder: createEncoder(d), transport: new RecordingTransport(clock), clock,
    wall: { unixSeconds: () => 0 }, sleeper: new JumpingSleeper(clock), start: { ssrc: 1, sequence: 0, timestamp: 0 }, durationSec: 25,
  });
  const warnings: { at: number; m: string }[] = [];
  sender.on('warning', (m: string) => warnings.push({ at: sender.packetsSent, m }));
  await sender.start();
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].at, 500, 'after exactly 10 s (500 packets of 20 ms)');
  assert.match(warnings[0].m, /no sound from monitor of Speakers for 10 s.*rtpcast devices --level/);
});
