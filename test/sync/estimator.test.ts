import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockEstimator } from '../../src/sync/estimator';
import { mulberry32 } from '../support/prng';

/**
 * A simulated pair of clocks: the sender's (Unix ns) and ours, ours `offsetMs` ahead and
 * `driftPpm` fast against true time; exchanges every `everyMs` with one-way delays of
 * `baseUs` plus jitter (exponential, mean `jitterUs`, each leg drawn on its own: asymmetric),
 * and now and then (`spikeP`) a leg delayed by `spikeMs` (a busy event loop, a queue).
 */
function simulate(o: { offsetMs: number; driftPpm: number; seconds: number; everyMs?: number; baseUs?: number; jitterUs?: number; spikeP?: number; spikeMs?: number; seed?: number }) {
  const rnd = mulberry32(o.seed ?? 1);
  const exp = (mean: number) => -Math.log(1 - rnd()) * mean;
  const senderEpoch = 1_790_000_000_000_000_000n; // sender clock at true 0
  const sender = (t: number) => senderEpoch + BigInt(Math.round(t));
  const local = (t: number) => BigInt(Math.round(5e12 + o.offsetMs * 1e6 + t * (1 + o.driftPpm * 1e-6)));
  const e = new ClockEstimator();
  const leg = () => (o.baseUs ?? 30) * 1e3 + exp((o.jitterUs ?? 100) * 1e3) + (rnd() < (o.spikeP ?? 0) ? (o.spikeMs ?? 0) * 1e6 * rnd() : 0);
  const every = (o.everyMs ?? 100) * 1e6;
  for (let t = 0; t < o.seconds * 1e9; t += every) {
    const t1 = t + leg();
    const t2 = t1 + 5000;
    const t3 = t2 + leg();
    e.add(local(t), sender(t1), sender(t2), local(t3));
  }
  const tEnd = o.seconds * 1e9;
  // the truth at the end: the sender's clock when ours reads local(tEnd)
  return { e, localEnd: local(tEnd), senderEnd: sender(tEnd), truthDrift: 1 / (1 + o.driftPpm * 1e-6) - 1 };
}

test('offset and drift from exchanges with asymmetric jitter: +50 ms / +100 ppm and -50 ms / -100 ppm', () => {
  for (const [offsetMs, driftPpm] of [[50, 100], [-50, -100], [0, 0], [3600_000, 40]]) {
    const s = simulate({ offsetMs, driftPpm, seconds: 60 });
    const err = Number(s.e.toSender(s.localEnd)! - s.senderEnd) / 1000;
    const est = s.e.estimate()!;
    assert.ok(Math.abs(err) < 20, `${offsetMs} ms/${driftPpm} ppm: the sender time is off by ${err.toFixed(1)} us`);
    assert.ok(Math.abs(est.drift - s.truthDrift) * 1e6 < 2, `${offsetMs} ms/${driftPpm} ppm: drift ${(est.drift * 1e6).toFixed(2)} ppm, truth ${(s.truthDrift * 1e6).toFixed(2)}`);
    // the inverse agrees with the forward map
    const back = s.e.toLocal(s.e.toSender(s.localEnd)!)!;
    assert.ok(Math.abs(Number(back - s.localEnd)) <= 2, `toLocal(toSender(x)) - x = ${back - s.localEnd} ns`);
  }
});

test('within the first seconds: drift not yet trusted, the offset already close', () => {
  const s = simulate({ offsetMs: 50, driftPpm: 100, seconds: 1.5 });
  const est = s.e.estimate()!;
  assert.equal(est.drift, 0, 'less than 2 s of exchanges: no drift yet');
  const err = Number(s.e.toSender(s.localEnd)! - s.senderEnd) / 1000;
  assert.ok(Math.abs(err) < 200, `off by ${err.toFixed(1)} us after 1.5 s`);
  const s5 = simulate({ offsetMs: 50, driftPpm: 100, seconds: 5 });
  const err5 = Number(s5.e.toSender(s5.localEnd)! - s5.senderEnd) / 1000;
  assert.ok(Math.abs(err5) < 50, `off by ${err5.toFixed(1)} us after 5 s`);
});

test('delay spikes on one leg (a busy event loop) are filtered out: the fastest exchange per bucket wins', () => {
  // a third of the legs delayed by up to 20 ms: the naive average would be off by milliseconds
  const s = simulate({ offsetMs: -50, driftPpm: -100, seconds: 60, spikeP: 0.33, spikeMs: 20, seed: 3 });
  const err = Number(s.e.toSender(s.localEnd)! - s.senderEnd) / 1000;
  assert.ok(Math.abs(err) < 50, `off by ${err.toFixed(1)} us with spikes`);
  assert.ok(Math.abs(s.e.estimate()!.drift - s.truthDrift) * 1e6 < 5);
});

test('a stall of 1.5 s (every request queued meanwhile, answered at once after it) leaves no trace', () => {
  const e = new ClockEstimator();
  const senderEpoch = 1_790_000_000_000_000_000n;
  const local = (t: number) => BigInt(Math.round(7e12 + 50e6 + t * (1 + 100e-6)));
  for (let t = 0; t < 60e9; t += 100e6) {
    // between 30 and 31.5 s the sender process was stopped: a request sent at t waited until 31.5 s
    const stalled = t >= 30e9 && t < 31.5e9;
    const t1 = stalled ? 31.5e9 + (t - 30e9) / 1000 : t + 60e3;
    e.add(local(t), senderEpoch + BigInt(Math.round(t1)), senderEpoch + BigInt(Math.round(t1 + 5e3)), local(t1 + 65e3));
    if (t >= 31.5e9 && t < 40e9) {
      const err = Number(e.toSender(local(t))! - (senderEpoch + BigInt(t))) / 1000;
      assert.ok(Math.abs(err) < 5, `${(t / 1e9).toFixed(1)} s, just after the stall: off by ${err.toFixed(1)} us`);
    }
  }
});

test('impossible exchanges (negative round trip: a forged or mangled reply) are refused and counted', () => {
  const e = new ClockEstimator();
  assert.equal(e.add(1000n, 5000n, 9000n, 2000n), false); // server held it 4 us, round trip 1 us
  assert.equal(e.add(2000n, 5000n, 5000n, 1000n), false); // arrived before it was sent
  assert.equal(e.impossible, 2);
  assert.equal(e.estimate(), undefined);
  assert.equal(e.toSender(0n), undefined);
  assert.equal(e.add(1000n, 5000n, 5100n, 2000n), true);
  assert.equal(e.estimate()!.offsetNs, (5000n - 1000n + (5100n - 2000n)) / 2n);
});

test('the window forgets: a clock that changed its drift is followed', () => {
  const e = new ClockEstimator({ windowSec: 30 });
  const senderEpoch = 1_790_000_000_000_000_000n;
  let local = 0;
  let t = 0;
  for (let i = 0; i < 1200; i++) {
    const ppm = i < 600 ? 100 : -100; // 60 s at +100 ppm, then -100
    local += 100e6 * (1 + ppm * 1e-6);
    t += 100e6;
    e.add(BigInt(Math.round(local)), senderEpoch + BigInt(t) + 40000n, senderEpoch + BigInt(t) + 45000n, BigInt(Math.round(local)) + 90000n);
  }
  assert.ok(Math.abs(e.estimate()!.drift * 1e6 - 100 / (1 - 1e-4)) < 1, `drift ${e.estimate()!.drift * 1e6} ppm after the change`);
});
