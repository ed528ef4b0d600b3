/**
 * The impairment scenario: rtpcast send (Opus, default settings: 128 kb/s stereo, 20 ms, in-band
 * FEC) -> a seeded UDP relay on loopback (test/support/relay.ts: 30 ms uniform jitter, 3% random
 * loss, 1% reordering) -> rtpcast play --out WAV --json --until-bye, 10 s of tone.
 *
 *   rtpcast send --tone 730 --dest 127.0.0.1:26000 --sdp s.sdp --duration 10
 *   relay 127.0.0.1:26000 (RTCP 26001, untouched) -> 127.0.0.1:26002 (26003)
 *   rtpcast play s.sdp --port 26002 --out out.wav --json --until-bye --duration 30
 *
 * Checks: no gap over 40 ms in what play wrote; audio made up by concealment (PLC + fade; not
 * FEC, which rebuilds the sender's own audio) under 3% of the tone; the tone within 0.5%; the
 * loss play measured (stream.lostPct) equal, within 0.5 percentage point, to the loss the relay's
 * plan gives for this seed, computed independently with planImpairments(); the playout latency
 * under the 100 ms goal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { config, makeWorkDir, removeWorkDir, requireProgram, sendTone, writeSdp } from '../support/peers';
import { Procs } from '../support/procs';
import { planImpairments, summarizePlan, UdpRelay, type ImpairmentOptions } from '../support/relay';
import { checkPlayedWav, concealedMs, playFinished, startPlay, statusEvents, warnings } from '../support/play-helpers';

const RELAY_PORT = 26000;
const PLAY_PORT = 26002;
const TONE_HZ = 730;
const TONE_SECONDS = 10;
const PACKET_MS = 20;
const SEED = 20_251_122;
const IMPAIR: ImpairmentOptions = { seed: SEED, jitterMs: 30, lossPct: 3, reorderPct: 1, packetIntervalMs: PACKET_MS };
const MAX_GAP_MS = 40;
const MAX_CONCEALED_FRACTION = 0.03;
const LOSS_TOLERANCE_PP = 0.5;
const LATENCY_GOAL_MS = 100;

test('rtpcast send Opus -> relay (30 ms jitter, 3% loss, 1% reordering, seeded) -> rtpcast play', { timeout: 90_000 }, async (t) => {
  requireProgram('ss');
  const cfg = config('opus-stereo'); // --codec opus --channels 2: the defaults, said explicitly
  const procs = new Procs();
  const dir = makeWorkDir('play-impairment');
  let relay: UdpRelay | undefined;
  let ok = false;
  try {
    const sdp = join(dir, 's.sdp');
    const out = join(dir, 'out.wav');
    // the SDP first, while nothing listens: the relay numbers packets from the first it receives,
    // so it must see only the real send
    await writeSdp(procs, cfg, TONE_HZ, [`127.0.0.1:${RELAY_PORT}`], sdp);
    relay = await UdpRelay.start({ listenPort: RELAY_PORT, forwardPort: PLAY_PORT, impair: IMPAIR });
    const play = await startPlay(procs, [sdp, '--port', String(PLAY_PORT), '--out', out, '--json', '--until-bye', '--duration', String(TONE_SECONDS + 20)], PLAY_PORT);
    const sender = await sendTone(procs, cfg, TONE_HZ, [`127.0.0.1:${RELAY_PORT}`], sdp, TONE_SECONDS);
    const stop = await playFinished(play, 15_000);
    await relay.close();
    const rs = relay.stats();
    const ev = relay.events;

    // --- the loss the relay planned, computed independently of the relay's own bookkeeping
    const plan = planImpairments(IMPAIR, rs.received, PACKET_MS);
    const planSummary = summarizePlan(plan);
    const mismatched = plan.filter((p, i) => p.drop !== (ev[i]?.fate === 'dropped')).map((p) => p.index);
    assert.deepEqual(mismatched, [], `the relay dropped other packets than its seeded plan says (indices ${mismatched.join(', ')})`);
    assert.equal(rs.dropped, planSummary.dropped);
    // the sender sends in order: relay index i is sequence number first + i
    const seqJumps = ev.filter((e, i) => i > 0 && e.seq !== ((ev[0].seq! + i) & 0xffff)).length;
    assert.equal(seqJumps, 0, 'the relay saw the RTP sequence numbers out of order or with holes: the sender lost packets itself');
    // what a receiver can know is lost: drops between the first and the last packet it got (a
    // packet dropped before the first or after the last one that arrived is invisible)
    const delivered = plan.filter((p) => !p.drop).map((p) => p.index);
    const firstIn = Math.min(...delivered);
    const lastIn = Math.max(...delivered);
    const visible = plan.filter((p) => p.index > firstIn && p.index < lastIn && p.drop).length;
    const plannedPct = (100 * visible) / (lastIn - firstIn + 1);

    const st = stop.stream;
    assert.ok(st, `play received nothing:\n${play.describe()}`);
    const check = checkPlayedWav(out, { hz: TONE_HZ, channels: 2, toneSeconds: TONE_SECONDS, maxGapMs: MAX_GAP_MS });
    const p = stop.player;
    const concealed = concealedMs(stop);
    const playing = statusEvents(play).filter((s) => s.player.state === 'playing');
    const buffered = playing.map((s) => s.player.bufferedMs).sort((a, b) => a - b);
    const targets = playing.map((s) => s.player.targetMs).sort((a, b) => a - b);
    const median = (xs: number[]) => (xs.length ? xs[Math.floor(xs.length / 2)] : NaN);
    const lastPlaying = playing[playing.length - 1];
    const timing = relay.timing();
    const ch = check.perChannel;

    const report = [
      `seed ${SEED}: relay received ${rs.received} RTP packets, dropped ${rs.dropped} (plan: ${planSummary.dropped}, ${planSummary.lossPct.toFixed(2)}% of all), reordered ${rs.reordered} (plan ${planSummary.reordered}), RTCP relayed ${rs.rtcp}`,
      `loss: planned ${plannedPct.toFixed(2)}% (${visible} of the ${lastIn - firstIn + 1} packets from the first to the last delivered), measured by play ${st.lostPct.toFixed(2)}% (${st.lost} of ${st.expected}; ${st.packets} received, ${st.reordered} reordered, ${st.duplicates} duplicates)`,
      `jitter: play measured ${st.jitterMs.toFixed(2)} ms (max ${st.maxJitterMs.toFixed(2)}), the plan's RFC 3550 estimate ${planSummary.rfc3550JitterMs.toFixed(2)} ms (mean |D| ${planSummary.meanAbsTransitDiffMs.toFixed(2)} ms); relay send lateness p50 ${timing.p50Us.toFixed(0)} us p99 ${timing.p99Us.toFixed(0)} us max ${timing.maxUs.toFixed(0)} us`,
      `concealment: plc ${p.concealedMs.plc.toFixed(1)} ms + fade ${p.concealedMs.fade.toFixed(1)} ms = ${concealed.toFixed(1)} ms (${((100 * concealed) / (TONE_SECONDS * 1000)).toFixed(2)}% of ${TONE_SECONDS} s); FEC rebuilt ${p.concealedMs.fec.toFixed(1)} ms; underruns ${p.underruns}, late ${p.late}, stalls ${p.stalls}`,
      `latency: buffered (actual) median ${median(buffered).toFixed(1)} ms [${buffered.map((x) => x.toFixed(0)).join(' ')}], target median ${median(targets).toFixed(1)} ms [${targets.map((x) => x.toFixed(0)).join(' ')}]; last playing status ${lastPlaying ? `${lastPlaying.player.bufferedMs.toFixed(1)}/${lastPlaying.player.targetMs.toFixed(1)} ms` : '-'}; stop ${p.bufferedMs.toFixed(1)}/${p.targetMs.toFixed(1)} ms (${p.state}); drift ${p.driftPpm} ppm`,
      `output: ${ch.map((c) => `${c.frequencyHz.toFixed(3)} Hz, active ${c.activeSeconds.toFixed(3)} s, longest gap ${c.longestGapMs.toFixed(1)} ms, ${c.gaps} gap(s), level ${c.levelDbfs.toFixed(2)} dBFS, ${c.phaseBreaks} phase breaks`).join(' | ')}`,
    ];
    for (const l of report) t.diagnostic(l);

    const f = [...check.failures];
    if (Math.abs(st.lostPct - plannedPct) > LOSS_TOLERANCE_PP) f.push(`play measured ${st.lostPct.toFixed(2)}% loss, the relay's plan for seed ${SEED} gives ${plannedPct.toFixed(2)}% (tolerance ${LOSS_TOLERANCE_PP} pp)`);
    if (concealed >= MAX_CONCEALED_FRACTION * TONE_SECONDS * 1000) f.push(`concealed (plc + fade) ${concealed.toFixed(1)} ms: not under ${(MAX_CONCEALED_FRACTION * 100).toFixed(0)}% of ${TONE_SECONDS} s`);
    if (!(median(buffered) < LATENCY_GOAL_MS)) f.push(`actual latency (bufferedMs while playing, median) ${median(buffered).toFixed(1)} ms: not under the ${LATENCY_GOAL_MS} ms goal`);
    if (!(median(targets) < LATENCY_GOAL_MS)) f.push(`target latency (median) ${median(targets).toFixed(1)} ms: not under the ${LATENCY_GOAL_MS} ms goal`);
    if (!warnings(play).some((w) => w.includes('goodbye'))) f.push("play never saw rtpcast's RTCP BYE through the relay");
    ok = f.length === 0;
    if (!ok) {
      assert.fail(
        [
          `impairment scenario: ${f.length} problem(s):`,
          ...f.map((x) => `  - ${x}`),
          ...report,
          `gaps: ${JSON.stringify(check.gaps)}`,
          `stop event: ${JSON.stringify(stop)}`,
          `files kept in ${dir}`,
          `--- rtpcast play ---\n${play.describe().split('\n').filter((l) => !l.includes('"event":"status"')).join('\n')}`,
          `--- rtpcast send ---\n${sender.describe()}`,
        ].join('\n'),
      );
    }
  } finally {
    await relay?.close();
    await procs.cleanup();
    if (ok) removeWorkDir(dir);
  }
});
