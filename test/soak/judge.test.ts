/**
 * The soak's pass criteria (scripts/soak.ts judgeLatency, judgeRss) on made-up runs: what they must
 * pass (excursions an underrun or a stall explains) and what they must fail (a stuck buffer, a
 * wandering one, a leak). The real 2-minute run is test/interop/soak.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXPLAIN_SEC, judgeLatency, judgeRss, type LatencySample } from '../../scripts/soak';

/** a run of `sec` status events, on target (33 ms) unless `at` says otherwise */
function run(sec: number, at: (t: number, s: LatencySample) => void = () => {}): LatencySample[] {
  const out: LatencySample[] = [];
  let c = { underruns: 0, stalls: 0, resyncs: 0, lost: 0 };
  for (let t = 1; t <= sec; t++) {
    const s: LatencySample = { elapsedSec: t, state: 'playing', bufferedMs: 33 + ((t * 7) % 5) / 10, targetMs: 33, ...c };
    at(t, s);
    c = { underruns: s.underruns, stalls: s.stalls, resyncs: s.resyncs, lost: s.lost };
    out.push(s);
  }
  return out;
}

test('soak latency: on target throughout passes, 100% on target', () => {
  const v = judgeLatency(run(120));
  assert.equal(v.pass, true, v.failure ?? '');
  assert.equal(v.onTargetFraction, 1);
  assert.equal(v.samples, 61); // 60 s to 120 s
});

test('soak latency: an excursion that follows an underrun and drains passes; the same excursion with no underrun fails', () => {
  // 25 ms above the target at 80 s, draining 4 ms a second (the player's fast slew)
  const excursion = (withUnderrun: boolean) => (t: number, s: LatencySample) => {
    if (withUnderrun && t === 80) s.underruns++;
    if (t >= 80 && t < 86) s.bufferedMs = 33 + 25 - 4 * (t - 80);
  };
  const ok = judgeLatency(run(120, excursion(true)));
  assert.equal(ok.pass, true, ok.failure ?? '');
  assert.equal(ok.offTarget, 5);
  assert.equal(ok.offTargetExplained, 5);
  assert.deepEqual(ok.underrunTimesSec, [80]);
  const bad = judgeLatency(run(120, excursion(false)));
  assert.equal(bad.pass, false);
  assert.equal(bad.unexplainedCount, 5);
  assert.match(bad.failure!, /no underrun, stall or loss to explain/);
});

test('soak latency: a stuck buffer (off target long after the underrun that raised it) fails', () => {
  const v = judgeLatency(run(120, (t, s) => {
    if (t === 62) s.underruns++;
    if (t >= 62) s.bufferedMs = 33 + 20; // never drained
  }));
  assert.equal(v.pass, false);
  // explained for EXPLAIN_SEC.underrun after the underrun, not after
  assert.equal(v.offTargetExplained, EXPLAIN_SEC.underrun + 1);
  assert.equal(v.unexplainedCount, 120 - 62 - EXPLAIN_SEC.underrun);
});

test('soak latency: underruns every few seconds explain every excursion but still fail when off target most of the time', () => {
  const v = judgeLatency(run(120, (t, s) => {
    if (t % 5 === 0) s.underruns++;
    s.bufferedMs = 33 + 12;
  }));
  assert.equal(v.unexplainedCount, 0);
  assert.equal(v.pass, false);
  assert.match(v.failure!, /on target only 0\.0% of the time/);
});

test('soak latency: a stall explains longer (the target follows it through the delay window)', () => {
  const v = judgeLatency(run(150, (t, s) => {
    if (t === 70) s.stalls++;
    if (t >= 70 && t < 70 + EXPLAIN_SEC.stall) s.targetMs = 300;
  }));
  assert.equal(v.pass, true, v.failure ?? '');
  assert.deepEqual(v.stallTimesSec, [70]);
});

test('soak latency: no status while playing after the first minute fails', () => {
  const v = judgeLatency(run(120, (_t, s) => (s.state = 'buffering')));
  assert.equal(v.pass, false);
});

test('soak RSS: growth over 10% after the first minute fails (a leak), a drop does not', () => {
  const flat = judgeRss('play', Array.from({ length: 25 }, (_, i) => [i * 5, 70000 + (i % 3) * 100] as [number, number]));
  assert.ok(flat.maxDeviationPct < 1);
  const leak = judgeRss('play', Array.from({ length: 25 }, (_, i) => [i * 5, 70000 + Math.max(0, i * 5 - 60) * 200] as [number, number]));
  assert.ok(leak.maxDeviationPct > 10, `${leak.maxDeviationPct}`);
  const drop = judgeRss('play', Array.from({ length: 25 }, (_, i) => [i * 5, i * 5 >= 90 ? 60000 : 70000] as [number, number]));
  assert.equal(drop.maxDeviationPct, 0);
  assert.ok(drop.maxDropPct > 14);
});
