/**
 * The CI version of the long run (scripts/soak.ts, `npm run soak` runs an hour): `rtpcast send`
 * -> `rtpcast play` on loopback for 2 minutes, with the same pass criteria (judged by the pure
 * functions of scripts/soak.ts, whose failing cases test/soak/judge.test.ts pins):
 *   - play's latency (its --json status `bufferedMs`) within 5 ms of its target after the first
 *     minute, except after an underrun or a stall that play counted (the machine starving the
 *     sender or the player) for as long as the player needs to drain what it added, and on target
 *     a quarter of the time at least;
 *   - the RSS of both processes at most 10% above its value at one minute;
 *   - no gap in the decoded output that play's counters do not explain, and the tone's pitch.
 * Ports 33900-33901.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from '../../scripts/soak';
import { requireProgram } from '../support/peers';

test('soak: rtpcast send -> rtpcast play for 2 minutes, latency on target, memory flat, no unexplained gap', { timeout: 200_000 }, async (t) => {
  requireProgram('ss');
  const r = await runSoak({ minutes: 2, codec: 'opus', port: 33900, hz: 1000, rssEverySec: 5, log: (l) => t.diagnostic(l) });
  t.diagnostic(`latency: ${r.latency.samples} samples after 1 min, on target ${(r.latency.onTargetFraction * 100).toFixed(1)}%, max |buffered - target| ${r.latency.maxDeviationMs.toFixed(2)} ms, target ${r.latency.targetMin.toFixed(1)}-${r.latency.targetMax.toFixed(1)} ms; off target ${r.latency.offTarget} (explained ${r.latency.offTargetExplained}); underruns at ${r.latency.underrunTimesSec.join(', ')} s, stalls at ${r.latency.stallTimesSec.join(', ')} s`);
  t.diagnostic(`machine: the soak's 10 ms timer > 20 ms late ${r.machineStalls.over20ms} times, > 100 ms ${r.machineStalls.over100ms} times (worst ${r.machineStalls.worstMs} ms)`);
  for (const x of r.rss) t.diagnostic(`RSS ${x.name}: ${x.atOneMinuteKb} kB at 1 min, end ${x.endKb} kB, max deviation ${x.maxDeviationPct.toFixed(1)}%`);
  t.diagnostic(`output ${r.audio.seconds.toFixed(1)} s, gaps ${r.audio.gaps.length} (unexplained ${r.audio.unexplainedGaps}), play ${JSON.stringify(r.play)}`);
  t.diagnostic(`machine load: mean ${r.load.mean.toFixed(1)}, max ${r.load.max.toFixed(1)} on ${r.load.cpus} CPUs`);
  for (const x of r.incidents) t.diagnostic(`incident at ${x.atSec.toFixed(0)} s: ${x.what}; target ${x.targetMs.toFixed(1)} ms, buffered ${x.bufferedMs.toFixed(1)} ms, load ${x.load1.toFixed(1)}`);
  assert.ok(r.statusEvents >= 100, `only ${r.statusEvents} status events from play`);
  assert.deepEqual(r.failures, [], 'soak criteria');
  assert.ok(r.pass.all);
});
