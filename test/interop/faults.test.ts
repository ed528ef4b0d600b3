/**
 * Faults, through the CLI, with real processes on loopback (and a private PulseAudio daemon):
 * what `rtpcast play` and `rtpcast send` do when the other side starts late, restarts, the network
 * goes away, or the captured source disappears; and that nothing is left behind afterwards
 * (processes, sockets, temporary files, null sinks, moved streams).
 *
 * The list of fault cases (some are covered elsewhere and only referenced here):
 *  1. receiver started before the sender, audio on stdout (--out -)            here
 *     (the same with --out file.wav and the sender's SDP: play-senders.test.ts "rtpcast play <- rtpcast send")
 *  2. sender killed and restarted mid-stream (new SSRC, sequence, timestamp)   here
 *     (restart after an RTCP BYE: player.test.ts / play-senders.test.ts --until-bye)
 *  3. a 10 s network outage (relay blackhole): playback resumes within 200 ms of the packets
 *     returning, with no burst of old audio                                      here
 *  4. the captured application's null sink removed under `send --source app:` here
 *     (the application itself crashing mid-capture: capture-pulse.test.ts "the application crashes mid-capture";
 *      rtpcast SIGKILLed while capturing: capture-pulse.test.ts "killed with SIGKILL")
 * Every case ends by checking that nothing is left behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyzeTone, findGaps, goertzelPower } from '../../src/audio/analysis';
import { mixToMono, parseWav } from '../../src/audio/wav';
import { makeWorkDir, removeWorkDir, requireProgram, RTPCAST_CLI } from '../support/peers';
import { playEvents, startPlay, stopEvent, warnings, type PlayStartJson, type PlayStatusJson } from '../support/play-helpers';
import { assertUdpPortFree, Procs, sleep } from '../support/procs';
import { eventually, PulseDaemon } from '../support/pulse';
import { UdpRelay } from '../support/relay';

let nextPort = 36500;
const port = () => (nextPort += 4);

function sendArgv(hz: number, dest: string, seconds: number, extra: string[] = []): string[] {
  return [process.execPath, RTPCAST_CLI, 'send', '--tone', String(hz), '--codec', 'opus', '--channels', '1', '--dest', dest, '--duration', String(seconds), ...extra];
}

/** Processes still in process group `pgid` (a program started by Procs leads its own group). */
function groupMembers(pgid: number): string {
  const r = spawnSync('pgrep', ['-a', '-g', String(pgid)], { encoding: 'utf8' });
  return r.stdout.trim();
}

/** Nothing left behind: the ports closed, no process left in the groups, no partial files in `dir`. */
async function assertNothingLeft(o: { ports: number[]; groups: number[]; dir?: string }): Promise<void> {
  for (const p of o.ports) {
    assert.ok(await eventually(() => { assertUdpPortFree(p); return true; }, 3000), `UDP port ${p} still bound`);
  }
  for (const g of o.groups) assert.ok(await eventually(() => groupMembers(g) === '', 3000), `processes left in group ${g}:\n${groupMembers(g)}`);
  if (o.dir) {
    const left = readdirSync(o.dir).filter((f) => f.includes('.partial-'));
    assert.deepEqual(left, [], 'temporary recording files left');
  }
}

/** s16le mono PCM -> float */
function s16le(b: Buffer): Float32Array {
  const out = new Float32Array(b.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i) / 32768;
  return out;
}

/** 10 ms windows: which of two tones dominates each (or none: silence). */
function toneTimeline(x: Float32Array, rate: number, a: number, b: number): ('a' | 'b' | '-')[] {
  const w = rate / 100;
  const out: ('a' | 'b' | '-')[] = [];
  for (let s = 0; s + w <= x.length; s += w) {
    const pa = goertzelPower(x, rate, a, s, s + w);
    const pb = goertzelPower(x, rate, b, s, s + w);
    out.push(Math.max(pa, pb) < 1e-4 ? '-' : pa > pb ? 'a' : 'b');
  }
  return out;
}

test('1. play started before the sender, raw PCM on stdout (--out -): the whole tone, no gap; nothing left behind', { timeout: 40_000 }, async () => {
  requireProgram('ss');
  const p = port();
  const procs = new Procs();
  assertUdpPortFree(p);
  // not through Procs: stdout is binary audio here
  const play = spawn(process.execPath, [RTPCAST_CLI, 'play', '--port', String(p), '--codec', 'opus', '--channels', '1', '--out', '-'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const chunks: Buffer[] = [];
  let err = '';
  play.stdout.on('data', (b: Buffer) => chunks.push(b));
  play.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => play.once('exit', (c) => r(c)));
  try {
    const until = Date.now() + 10_000;
    while (!spawnSync('ss', ['-H', '-u', '-l', '-n', `sport = :${p}`], { encoding: 'utf8' }).stdout.trim()) {
      assert.ok(Date.now() < until && play.exitCode === null, `play did not bind ${p}: ${err}`);
      await sleep(50);
    }
    await sleep(1000); // the receiver waits: nothing arrives for a second
    const sender = await procs.run(sendArgv(730, `127.0.0.1:${p}`, 3, ['--quiet']), 20_000);
    assert.equal(sender.exit?.code, 0, sender.describe());
    await sleep(700);
    play.kill('SIGINT');
    assert.equal(await Promise.race([exited, sleep(5000).then(() => 'timeout')]), 0, `play did not exit cleanly: ${err}`);
    const x = s16le(Buffer.concat(chunks));
    const r = analyzeTone({ rate: 48000, channels: 1, samples: x }, { expectHz: 730 });
    const gaps = findGaps(x, 48000);
    assert.ok(Math.abs(r.frequencyHz - 730) < 730 * 0.005, `frequency ${r.frequencyHz} Hz`);
    assert.ok(Math.abs(r.activeSeconds - 3) < 0.09, `${r.activeSeconds} s of tone for 3 s sent`);
    assert.ok(gaps.longestMs <= 30, `gaps: ${JSON.stringify(gaps.gaps)}`);
    // silence (not noise, not a burst) before the sender started: the first second is silent
    assert.ok(goertzelPower(x, 48000, 730, 0, 48000 * 0.9) < 1e-6, 'sound before the sender started');
    await assertNothingLeft({ ports: [p, p + 1], groups: [play.pid!, sender.pid] });
  } finally {
    if (play.exitCode === null) process.kill(-play.pid!, 'SIGKILL');
    await procs.cleanup();
  }
});

test('2. the sender killed (SIGKILL, no BYE) and restarted mid-stream: play follows the new SSRC, no old audio after the new', { timeout: 60_000 }, async (t) => {
  requireProgram('ss');
  const p = port();
  const procs = new Procs();
  const dir = makeWorkDir('faults-restart');
  let ok = false;
  try {
    const out = join(dir, 'out.wav');
    const play = await startPlay(procs, ['--port', String(p), '--codec', 'opus', '--channels', '1', '--out', out, '--json'], p);
    const a = procs.start(sendArgv(630, `127.0.0.1:${p}`, 30, ['--quiet']));
    assert.ok(await eventually(() => playEvents(play).some((e) => e.event === 'status' && ((e as PlayStatusJson).stream?.durationSec ?? 0) >= 2), 15_000), `sender A never reached play:\n${play.describe()}`);
    a.signal('SIGKILL');
    await a.waitExit(5000);
    const b = await procs.run(sendArgv(1030, `127.0.0.1:${p}`, 3, ['--quiet']), 20_000);
    assert.equal(b.exit?.code, 0, b.describe());
    await sleep(500);
    await play.stop('SIGINT', 5000);
    assert.equal(play.exit?.code, 0, play.describe());
    const stop = stopEvent(play);
    assert.ok(stop, 'no stop event');
    assert.ok(warnings(play).some((w) => w.includes('the sender changed')), `no "sender changed" warning:\n${warnings(play).join('\n')}`);
    assert.ok(stop.player.resyncs >= 1, `resyncs ${stop.player.resyncs}`);
    const pcm = parseWav(readFileSync(out));
    const mono = mixToMono(pcm.samples, pcm.channels);
    const tl = toneTimeline(mono, pcm.rate, 630, 1030);
    const lastA = tl.lastIndexOf('a');
    // B's start: the first of 5 windows of B in a row. The concealment of A's tail (up to stallMs
    // of PLC as A's packets stop) decays with a smeared spectrum, and one of its 10 ms windows can
    // lean to 1030 Hz (seen: 'b' at 0.09 rms among 'a' windows, 200 ms before B's packets came)
    const firstB = tl.findIndex((_, i) => tl.slice(i, i + 5).every((x) => x === 'b'));
    const bWindows = tl.filter((x) => x === 'b').length;
    const aWindows = tl.filter((x) => x === 'a').length;
    t.diagnostic(`A (630 Hz) ${aWindows * 10} ms, ends at ${(lastA / 100).toFixed(2)} s; B (1030 Hz) ${bWindows * 10} ms from ${(firstB / 100).toFixed(2)} s; resyncs ${stop.player.resyncs}`);
    assert.ok(aWindows >= 190, `only ${aWindows * 10} ms of sender A`);
    assert.ok(firstB > lastA, 'sender A audio after sender B began (old audio played late)');
    // The issue allows 200 ms to resume after a restart: up to 200 ms of B's start may be spent
    // re-locking and refilling the buffer; nothing beyond 3000 ms (+ one 10 ms window) may appear.
    assert.ok(bWindows >= 280 && bWindows <= 310, `${bWindows * 10} ms of sender B, 3000 ms sent (at most 200 ms may go to the resync)`);
    const bPart = mono.subarray(firstB * (pcm.rate / 100));
    assert.ok(findGaps(bPart, pcm.rate).longestMs <= 30, 'gap inside the restarted stream');
    await assertNothingLeft({ ports: [p, p + 1], groups: [play.pid, a.pid, b.pid], dir });
    ok = true;
  } finally {
    await procs.cleanup();
    if (ok) removeWorkDir(dir);
  }
});

test('3. a 10 s network outage: playback resumes within 200 ms of the packets returning, no burst of old audio', { timeout: 60_000 }, async (t) => {
  requireProgram('ss');
  const p = port();
  const procs = new Procs();
  const dir = makeWorkDir('faults-outage');
  let relay: UdpRelay | undefined;
  let ok = false;
  try {
    const out = join(dir, 'out.wav');
    const OUTAGE_MS = 10_000;
    let dropping = false;
    let returnedWall: number | undefined;
    let lastWall = 0;
    let firstWall: number | undefined;
    relay = await UdpRelay.start({
      listenPort: 0, forwardPort: p, impair: { seed: 6, outageMs: [{ atMs: 2000, durationMs: OUTAGE_MS }] },
      onEvent: (e) => {
        const now = Date.now();
        if (e.fate === 'dropped') dropping = true;
        else {
          firstWall ??= now;
          if (dropping && returnedWall === undefined) returnedWall = now;
          lastWall = now;
        }
      },
    });
    const play = await startPlay(procs, ['--port', String(p), '--codec', 'opus', '--channels', '1', '--out', out, '--json'], p);
    const startWall = Date.parse(playEvents(play).find((e): e is PlayStartJson => e.event === 'start')!.time);
    const sender = await procs.run(sendArgv(870, `127.0.0.1:${relay.listenPort}`, 15, ['--quiet']), 40_000);
    assert.equal(sender.exit?.code, 0, sender.describe());
    await sleep(500);
    await play.stop('SIGINT', 5000);
    assert.equal(play.exit?.code, 0, play.describe());
    const stop = stopEvent(play)!;
    assert.ok(returnedWall && firstWall, `the relay saw no outage (${JSON.stringify(relay.stats())})`);
    const pcm = parseWav(readFileSync(out));
    const mono = mixToMono(pcm.samples, pcm.channels);
    const g = findGaps(mono, pcm.rate);
    const big = g.gaps.filter((x) => x.durationMs > 1000);
    assert.equal(big.length, 1, `one long gap expected: ${JSON.stringify(g.gaps)}`);
    const gapEndSec = big[0].startSec + big[0].durationMs / 1000;
    // the recording's time 0 is play's start event (its output clock starts there)
    const returnSec = (returnedWall! - startWall) / 1000;
    const resumeMs = (gapEndSec - returnSec) * 1000;
    const after = mono.subarray(Math.round(gapEndSec * pcm.rate));
    const afterTone = analyzeTone({ rate: pcm.rate, channels: 1, samples: after }, { expectHz: 870 });
    const flowedAfterSec = (lastWall - returnedWall!) / 1000;
    t.diagnostic(`gap ${big[0].durationMs.toFixed(0)} ms at ${big[0].startSec.toFixed(2)} s; packets back at ${returnSec.toFixed(3)} s, sound back at ${gapEndSec.toFixed(3)} s: resumed ${resumeMs.toFixed(0)} ms after; after the outage ${afterTone.activeSeconds.toFixed(3)} s of tone for ${flowedAfterSec.toFixed(3)} s of packets; stalls ${stop.player.stalls}, target ${stop.player.targetMs} ms`);
    assert.ok(resumeMs <= 200, `playback resumed ${resumeMs.toFixed(0)} ms after the packets returned (limit 200 ms)`);
    assert.ok(resumeMs >= -30, `sound ${(-resumeMs).toFixed(0)} ms before the packets returned: the clocks are misaligned or old audio played`);
    // no burst of old audio: after the outage exactly what was sent after it, at the right pitch
    assert.ok(Math.abs(afterTone.activeSeconds - flowedAfterSec) <= 0.1, `after the outage ${afterTone.activeSeconds.toFixed(3)} s played for ${flowedAfterSec.toFixed(3)} s sent`);
    assert.ok(Math.abs(afterTone.frequencyHz - 870) < 870 * 0.005, `frequency after the outage ${afterTone.frequencyHz} Hz`);
    assert.ok(big[0].durationMs >= OUTAGE_MS - 500 && big[0].durationMs <= OUTAGE_MS + 300, `gap ${big[0].durationMs} ms for a ${OUTAGE_MS} ms outage`);
    assert.ok(stop.player.stalls >= 1, 'play did not count the stall');
    await relay.close();
    await assertNothingLeft({ ports: [p, p + 1, relay.listenPort], groups: [play.pid, sender.pid], dir });
    ok = true;
  } finally {
    await relay?.close();
    await procs.cleanup();
    if (ok) removeWorkDir(dir);
  }
});

test('4. the null sink removed under send --source app:NAME: exit 1 naming the cause, nothing else captured, everything restored', { timeout: 60_000 }, async (t) => {
  requireProgram('ss');
  const pulse = await PulseDaemon.start([{ name: 'speakers', rate: 48000, channels: 2 }]);
  const procs = new Procs();
  const dir = makeWorkDir('faults-sink');
  const p = port();
  let ok = false;
  try {
    await pulse.playTone('appx', 630, 'speakers');
    await pulse.playTone('other', 1030, 'speakers');
    const out = join(dir, 'out.wav');
    const play = await startPlay(procs, ['--port', String(p), '--codec', 'opus', '--channels', '2', '--out', out, '--json'], p);
    const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--source', 'app:appx', '--codec', 'opus', '--dest', `127.0.0.1:${p}`, '--duration', '30', '--json'], { env: pulse.env });
    // streaming for 2 s, then the capture sink's module is unloaded (as another program would)
    assert.ok(await eventually(() => /"event":"status".*"packets":(1\d\d|[2-9]\d\d)/.test(sender.stdout), 15_000), `rtpcast send did not stream:\n${sender.describe()}`);
    const mod = pulse.pactl(['list', 'short', 'modules']).split('\n').find((l) => l.includes('module-null-sink') && l.includes('rtpcast_app_'));
    assert.ok(mod, 'no capture sink loaded');
    pulse.pactl(['unload-module', mod.split('\t')[0]]);
    const e = await sender.waitExit(5000);
    assert.ok(e, `rtpcast send went on after its capture sink was removed:\n${sender.describe()}`);
    assert.equal(e.code, 1, sender.describe());
    assert.ok(/capture sink rtpcast_app_\d+ was removed/.test(sender.stdout), `no message naming the cause:\n${sender.describe()}`);
    await sleep(400);
    await play.stop('SIGINT', 5000);
    const pcm = parseWav(readFileSync(out));
    const mono = mixToMono(pcm.samples, pcm.channels);
    const r = analyzeTone(pcm, { expectHz: 630 });
    const otherDb = 10 * Math.log10(goertzelPower(mono, pcm.rate, 1030) / goertzelPower(mono, pcm.rate, 630));
    t.diagnostic(`captured ${r.activeSeconds.toFixed(2)} s at ${r.frequencyHz.toFixed(1)} Hz; the other application at ${otherDb.toFixed(1)} dB`);
    assert.ok(Math.abs(r.frequencyHz - 630) < 630 * 0.005, `frequency ${r.frequencyHz}`);
    assert.ok(r.activeSeconds >= 1.8, `only ${r.activeSeconds} s captured`);
    assert.ok(otherDb < -40, `the other application leaked into the capture after the sink was removed: ${otherDb.toFixed(1)} dB`);
    // restored: the application on its sink, no rtpcast sink/module/loopback, the watchdog and parec gone
    assert.ok(await eventually(() => pulse.sinkOf('appx') === 'speakers', 3000), `appx is on ${pulse.sinkOf('appx')}`);
    assert.equal(pulse.sinkOf('other'), 'speakers');
    assert.ok(!pulse.sinks().some((s) => s.name.startsWith('rtpcast')), 'an rtpcast sink is left');
    assert.ok(!/rtpcast/.test(pulse.pactl(['list', 'short', 'modules'])), `modules left:\n${pulse.pactl(['list', 'short', 'modules'])}`);
    const stateFile = join(tmpdir(), `rtpcast-route-${sender.pid}.json`);
    assert.ok(await eventually(() => !existsSync(stateFile), 3000), `route state file left: ${stateFile}`);
    assert.ok(await eventually(() => spawnSync('pgrep', ['-f', `rtpcast_app_${sender.pid}|rtpcast-route-${sender.pid}`]).status === 1, 3000), 'parec or the restore watchdog is still running');
    await assertNothingLeft({ ports: [p, p + 1], groups: [play.pid, sender.pid], dir });
    ok = true;
  } finally {
    await procs.cleanup();
    await pulse.stop();
    if (ok) removeWorkDir(dir);
  }
});
