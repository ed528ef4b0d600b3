import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSchedule, PreciseSleeper, packetsDue } from '../../src/rtp/pacer';
import { ManualClock } from '../../src/rtp/clock';

test('over 10 simulated minutes the packet count matches media time exactly (44.1 kHz, 220-sample packets)', () => {
  const rate = 44100;
  const frame = 220; // 4.98866 ms: not a whole number of microseconds
  const s = new PacketSchedule(frame, rate, 1_000_000n);
  let sent = 0;
  // wake up at irregular times, like a real event loop (every 0.7-9.3 ms)
  let t = 1_000_000n;
  let step = 0;
  const end = 1_000_000n + 600n * 1_000_000_000n;
  while (t < end) {
    sent += packetsDue(s, sent, t);
    step = (step * 7919 + 13) % 8600;
    t += BigInt(700_000 + step * 1000);
  }
  sent += packetsDue(s, sent, end);
  // packets due by 600 s: n with n*220/44100 <= 600, i.e. floor(600*44100/220) + 1
  assert.equal(sent, Math.floor((600 * rate) / frame) + 1);
  // and the last due time is exact to the nanosecond: no accumulated rounding
  assert.equal(s.dueNs(120_272), 1_000_000n + (120_272n * 220n * 1_000_000_000n) / 44100n);
});

test('a sender that falls more than 200 ms behind re-anchors instead of bursting', () => {
  const s = new PacketSchedule(960, 48000, 0n);
  assert.equal(s.catchUp(10, s.dueNs(10) + 150_000_000n), false);
  assert.equal(packetsDue(s, 10, s.dueNs(10) + 150_000_000n), 8); // 150 ms late: catch up (7.5 -> 8 packets)
  const now = s.dueNs(20) + 5_000_000_000n; // suspended for 5 s
  assert.equal(s.catchUp(20, now), true);
  assert.equal(s.resyncs, 1);
  assert.equal(packetsDue(s, 20, now), 1, 'only the packet due now, no burst of 250');
  assert.equal(s.dueNs(21) - s.dueNs(20), 20_000_000n);
});

const turn = () => new Promise<void>((r) => setImmediate(r));

test('PreciseSleeper: the callback runs after one event-loop turn, never inside until(), and cancel stops it', async () => {
  const clock = new ManualClock(1_000_000_000n);
  const sleeper = new PreciseSleeper(clock);
  const calls: string[] = [];
  sleeper.until(999_000_000n, () => calls.push('past'));
  assert.equal(calls.length, 0, 'not synchronous: the event loop gets its turn first');
  await turn();
  assert.deepEqual(calls, ['past']);
  sleeper.until(1_000_000_000n, () => calls.push('cancelled'));
  sleeper.cancel();
  await turn();
  await turn();
  assert.deepEqual(calls, ['past']);
  // a new until() replaces a pending one (one callback per packet, never two)
  sleeper.until(1_000_000_000n, () => calls.push('replaced'));
  sleeper.until(1_000_000_000n, () => calls.push('kept'));
  await turn();
  await turn();
  assert.deepEqual(calls, ['past', 'kept']);
});

test('PreciseSleeper: a far deadline goes through a timer first (the loop is never held long), then fires once', async () => {
  const clock = new ManualClock(0n);
  // 12 ms block limit and 10 ms margin: a deadline 14 ms away arms a 4 ms timer
  const sleeper = new PreciseSleeper(clock, 12_000_000n, 10_000_000n);
  let calls = 0;
  sleeper.until(14_000_000n, () => calls++);
  await turn();
  await turn();
  assert.equal(calls, 0, 'still waiting on the timer');
  clock.set(14_000_000n); // the fake time reaches the deadline; the timer's re-check then fires at once
  await new Promise((r) => setTimeout(r, 30));
  await turn();
  assert.equal(calls, 1);
  sleeper.until(100_000_000n, () => calls++);
  sleeper.cancel();
  clock.set(200_000_000n);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 1, 'cancel clears the timer too');
});

test('PreciseSleeper with turnEveryNs: packets due within the turn interval run in a row without a turn, then the loop turns again', async () => {
  const clock = new ManualClock(0n);
  const sleeper = new PreciseSleeper(clock, 25_000_000n, 10_000_000n, 20_000_000n);
  const afterTurn: number[] = [];
  let insideUntil = false;
  // a 5 ms sender: each callback moves the fake clock to its deadline and asks for the next packet
  let n = 0;
  const tick = () => {
    if (!insideUntil) afterTurn.push(n); // called from the event loop, not from within until()
    n++;
    if (n < 10) {
      const due = BigInt(n) * 5_000_000n;
      clock.set(due); // the deadline has come (no real sleeping in a unit test)
      insideUntil = true;
      sleeper.until(due, tick);
      insideUntil = false;
    }
  };
  sleeper.until(0n, tick);
  assert.equal(n, 0, 'the first packet waits for a turn');
  for (let i = 0; i < 10 && n < 10; i++) await turn();
  assert.equal(n, 10);
  // turns at 0, 20 and 40 ms: the packets due less than 20 ms after a turn go in a row
  assert.deepEqual(afterTurn, [0, 4, 8]);
});

test('PreciseSleeper without turnEveryNs (live sources): a turn before every packet', async () => {
  const clock = new ManualClock(0n);
  const sleeper = new PreciseSleeper(clock);
  let insideUntil = false;
  let n = 0;
  let fromUntil = 0;
  const tick = () => {
    if (insideUntil) fromUntil++;
    n++;
    if (n < 5) {
      clock.advance(5_000_000n);
      insideUntil = true;
      sleeper.until(clock.nowNs(), tick);
      insideUntil = false;
    }
  };
  sleeper.until(0n, tick);
  for (let i = 0; i < 5; i++) {
    const before = n;
    await turn();
    assert.equal(n - before, 1, 'one packet per turn');
  }
  assert.equal(fromUntil, 0);
});

test('PacketSchedule.dueNs is the exact integer formula (start + floor(n * frameSamples * 1e9 / rate)) for every rate and packet size, up to 2^40 packets', () => {
  let r = 7;
  const rnd = () => (r = (r * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const [frameSamples, rate] of [[240, 48000], [441, 44100], [960, 48000], [120, 8000], [1, 192000], [2879, 96000], [7, 44100]] as const) {
    const start = 987_654_321_012n;
    const s = new PacketSchedule(frameSamples, rate, start);
    for (let i = 0; i < 2000; i++) {
      const n = i < 1000 ? i : Math.floor(rnd() * 2 ** (10 + (i % 31)));
      const want = start + (BigInt(n) * BigInt(frameSamples) * 1_000_000_000n) / BigInt(rate);
      assert.equal(s.dueNs(n), want, `${frameSamples}/${rate} packet ${n}`);
      assert.equal(s.dueNs(n), want, 'asked twice');
    }
    // after a shift the cached answer is not reused
    s.dueNs(5);
    s.shift(3n);
    assert.equal(s.dueNs(5), start + 3n + (5n * BigInt(frameSamples) * 1_000_000_000n) / BigInt(rate));
  }
});
