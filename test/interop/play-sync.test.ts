/**
 * Several rooms in step (issue #7): one real `rtpcast send` (white noise, L16) and two real
 * `rtpcast play --sync` processes whose clocks are made wrong on purpose, +50 ms / +100 ppm and
 * -50 ms / -100 ppm (--clock-offset-ms, --clock-drift-ppm: the player, its time-sync exchanges
 * and its output pacing all run on that clock). Each player logs when every output block left,
 * by the TRUE monotonic clock (--timeline-out), and records what it played (WAV).
 *
 * Checked, after the first 5 s:
 * - from the timelines: the same RTP sample left both players within 1 ms (every block compared);
 * - from the audio itself: at a true instant every second, the two recordings cross-correlated
 *   over 20 ms of noise line up within 1 ms, and agree with the timelines (so the timelines'
 *   RTP accounting is what was really played);
 * - each player saw the clock it was given (offset 100 ms apart, drift -+100 ppm against the sender).
 * The ten-minute run with the distribution is scripts/bench-sync.ts (docs/BENCHMARKS.md).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeWorkDir, removeWorkDir } from '../support/peers';
import { Procs } from '../support/procs';
import { audioLagFrames, pairSkew, runSyncExperiment, skewSummary } from '../support/sync-run';

const SECONDS = 30;
const SETTLE_SEC = 5;
const BASE_PORT = 31100;

const procs = new Procs();
const first0 = (p: { timeline: { ts: number | undefined; trueNs: bigint }[] }) => p.timeline.find((e) => e.ts !== undefined)!.trueNs;
const dir = makeWorkDir('play-sync');
after(async () => {
  await procs.cleanup();
  removeWorkDir(dir);
});

test(`two play --sync players, clocks +50 ms/+100 ppm and -50 ms/-100 ppm: the same sample leaves both within 1 ms after ${SETTLE_SEC} s (${SECONDS} s)`, { timeout: (SECONDS + 60) * 1000 }, async () => {
  const run = await runSyncExperiment(procs, {
    dir, seconds: SECONDS, basePort: BASE_PORT, wav: true,
    players: [{ offsetMs: 50, driftPpm: 100 }, { offsetMs: -50, driftPpm: -100 }],
  });
  const [a, b] = run.players;
  // the injected clocks are what the players measured (sender minus player: -50 ms and +50 ms apart, drifts -100 and +100 ppm)
  const ya = a.stop.sync!;
  const yb = b.stop.sync!;
  assert.equal(ya.state, 'locked', JSON.stringify(ya));
  assert.equal(yb.state, 'locked', JSON.stringify(yb));
  // 100 ms apart at the start, plus 2 x 100 ppm of the time the players ran (their clocks start when they do)
  const ran = Number(a.stop.elapsedSec);
  const apart = 100 + 0.2 * ran;
  assert.ok(Math.abs(yb.offsetMs! - ya.offsetMs! - apart) < 3, `offsets ${ya.offsetMs} / ${yb.offsetMs}: ${(yb.offsetMs! - ya.offsetMs!).toFixed(2)} ms apart, not about ${apart.toFixed(1)}`);
  assert.ok(Math.abs(ya.driftPpm! + 100) < 10 && Math.abs(yb.driftPpm! - 100) < 10, `drifts ${ya.driftPpm} / ${yb.driftPpm} ppm, injected -100 / +100`);

  const skew = pairSkew(a, b, SETTLE_SEC);
  const blocksAfter = (SECONDS - SETTLE_SEC - 2) * 100;
  assert.ok(skew.length >= blocksAfter * 0.9, `only ${skew.length} blocks compared (expected about ${blocksAfter}): did playout stop or jump?`);
  const sum = skewSummary(skew);
  const worst = skew.reduce((m, x) => (Math.abs(x.skewUs) > Math.abs(m.skewUs) ? x : m), skew[0]);
  assert.ok(sum.max < 1000, `skew after ${SETTLE_SEC} s: p50 ${sum.p50.toFixed(0)} us, p99 ${sum.p99.toFixed(0)} us, max ${sum.max.toFixed(0)} us (at ${worst.atSec.toFixed(1)} s): over 1 ms`);
  // after the start, a player jumps only when the stream broke: the sender fell behind (a hiccup
  // of this shared machine, which it reports) or the player underran
  const hiccups = run.senderResyncs;
  for (const [name, p] of [['A', a], ['B', b]] as const) {
    const settle = first0(p) + BigInt(SETTLE_SEC) * 1_000_000_000n;
    const late = p.timeline.filter((e) => e.trueNs >= settle && / jump/.test(` ${e.note ?? ''}`)).length;
    const underruns = (p.stop.player as { underruns: number }).underruns;
    assert.ok(late <= hiccups + underruns, `player ${name} jumped ${late} times after ${SETTLE_SEC} s with ${hiccups} sender hiccups and ${underruns} underruns`);
  }

  // the audio: cross-correlation of the two recordings at true instants, once a second
  const first = a.timeline.find((e) => e.ts !== undefined)!;
  let checked = 0;
  const lags: string[] = [];
  for (let s = SETTLE_SEC; s < SECONDS - 3; s++) {
    const at = first.trueNs + BigInt(s) * 1_000_000_000n;
    const lag = audioLagFrames(a, b, at);
    if (lag === undefined) continue;
    checked++;
    const near = skew.reduce((m, x) => (Math.abs(x.atSec - s) < Math.abs(m.atSec - s) ? x : m), skew[0]);
    lags.push(`${s}s:${lag}`);
    assert.ok(Math.abs(lag) < 48, `at ${s} s the recordings are ${lag} frames (${((lag / 48000) * 1e6).toFixed(0)} us) apart: over 1 ms`);
    // the timelines claim a skew; the audio must show the same, to within 2 frames (42 us)
    assert.ok(Math.abs(lag - (near.skewUs * 48000) / 1e6) <= 2, `at ${s} s the audio lag is ${lag} frames, the timelines say ${((near.skewUs * 48000) / 1e6).toFixed(1)}`);
  }
  assert.ok(checked >= SECONDS - SETTLE_SEC - 5, `only ${checked} instants could be compared in the recordings (${lags.join(' ')})`);
  console.log(`play-sync: ${skew.length} blocks, skew p50 ${sum.p50.toFixed(1)} us, p95 ${sum.p95.toFixed(1)}, p99 ${sum.p99.toFixed(1)}, max ${sum.max.toFixed(1)}; audio lags (frames) ${lags.join(' ')}`);
});
