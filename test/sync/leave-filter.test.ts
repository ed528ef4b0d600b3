import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaveFilter } from '../../src/sync/leave-filter';
import { mulberry32 } from '../support/prng';

test('exact leave times (the timer outputs) pass unchanged', () => {
  const f = new LeaveFilter(48000);
  for (let k = 0; k < 1000; k++) {
    const t = 5_000_000_000n + BigInt(Math.round(k * 10_000_000));
    assert.ok(Math.abs(Number(f.next(t, 480) - t)) <= 1, `block ${k}`);
  }
});

test('a device reporting its latency with +-3 ms of jitter, its clock 100 ppm fast: the line is found within 0.4 ms', () => {
  const rnd = mulberry32(9);
  const f = new LeaveFilter(48000);
  let worst = 0;
  let naive = 0;
  for (let k = 0; k < 3000; k++) {
    const truth = 1e12 + k * 20e6 * (1 - 100e-6); // 20 ms pulls of a card running 100 ppm fast
    const measured = truth + (rnd() * 2 - 1) * 3e6;
    const out = Number(f.next(BigInt(Math.round(measured)), 960));
    if (k > 1000) {
      worst = Math.max(worst, Math.abs(out - truth));
      naive = Math.max(naive, Math.abs(measured - truth));
    }
  }
  assert.ok(naive > 2.5e6, 'the measurement is that noisy');
  assert.ok(worst < 0.4e6, `smoothed leave times up to ${(worst / 1e6).toFixed(3)} ms off the line`);
});

test('a jump of the leave times (the output stalled and restarted) restarts the line at once', () => {
  const f = new LeaveFilter(48000);
  for (let k = 0; k < 100; k++) f.next(BigInt(1e12 + k * 10e6), 480);
  const after = BigInt(1e12 + 100 * 10e6 + 500e6);
  assert.equal(f.next(after, 480), after);
});
