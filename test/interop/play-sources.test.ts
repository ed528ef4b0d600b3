/**
 * rtpcast play and the senders it must NOT play (issues #4 and #6), with real `rtpcast send`
 * processes on loopback:
 *
 * - a second sender on the same port (from 127.0.0.2): play keeps the first, reports the other
 *   (a warning naming its address and SSRC, `others` in --json) and never mixes it in;
 * - an intruder (127.0.0.3) that starts BEFORE the real sender, with --source or with the SDP's
 *   a=source-filter: never played, dropped and counted per address;
 * - --out - with --json: raw PCM alone on stdout, the JSON events on stderr;
 * (the flood of 200,000 datagrams/s is in play-flood.test.ts)
 *
 * Senders on 127.0.0.2 / 127.0.0.3: `rtpcast send` has no option for its source address, so its
 * packets go through test/support/relay.ts bound to that address (no impairment), which forwards
 * them verbatim to play: play sees them come from 127.0.0.2 / 127.0.0.3.
 *
 * Every check is on the decoded signal: the played WAV (or PCM) must carry the real sender's tone
 * and not the other's (Goertzel power at both frequencies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { goertzelPower, rms } from '../../src/audio/analysis';
import { mixToMono, parseWav } from '../../src/audio/wav';
import { config, makeWorkDir, removeWorkDir, requireProgram, senderArgv, writeSdp } from '../support/peers';
import { Procs, sleep, type Proc } from '../support/procs';
import { UdpRelay } from '../support/relay';
import { checkPlayedWav, playArgv, playFinished, startPlay, warnings, type PlayStatusJson } from '../support/play-helpers';

const MAIN_HZ = 630;
const OTHER_HZ = 1030;
let nextPort = 26400;
const port = () => {
  const p = nextPort;
  nextPort += 4;
  return p;
};

/**
 * Power of `hz` relative to the signal's power, dB (a pure tone at hz: about 0 dB), averaged over
 * the 100 ms windows that are not silent. Short windows: a Goertzel filter over seconds is a
 * fraction of a hertz wide, and the player's drift correction (up to 0.1 %) moves a tone that far.
 */
function toneShareDb(x: Float32Array, rate: number, hz: number): number {
  const w = Math.round(rate / 10);
  let sum = 0;
  let n = 0;
  for (let i = 0; i + w <= x.length; i += w) {
    const total = rms(x, i, i + w) ** 2;
    if (total < 1e-6) continue; // under -60 dBFS: silence
    sum += goertzelPower(x, rate, hz, i, i + w) / total;
    n++;
  }
  return n ? 10 * Math.log10(sum / n) : -Infinity;
}

/** The other sender's tone must be absent: at least 40 dB under the played tone, in every half second too. */
function assertOnlyMainTone(mono: Float32Array, rate: number, what: string): void {
  const main = toneShareDb(mono, rate, MAIN_HZ);
  const other = toneShareDb(mono, rate, OTHER_HZ);
  assert.ok(main > -3, `${what}: the sender's ${MAIN_HZ} Hz is ${main.toFixed(1)} dB of the output`);
  assert.ok(other < main - 40, `${what}: the other sender's ${OTHER_HZ} Hz is ${other.toFixed(1)} dB of the output (the sender's tone ${main.toFixed(1)} dB): it was mixed in`);
  for (let i = 0; i + rate / 2 <= mono.length; i += rate / 2) {
    const seg = mono.subarray(i, i + rate / 2);
    if (rms(seg) < 0.01) continue;
    const o = toneShareDb(seg, rate, OTHER_HZ);
    assert.ok(o < -30, `${what}: ${OTHER_HZ} Hz at ${o.toFixed(1)} dB in the half second from ${(i / rate).toFixed(1)} s`);
  }
}

/** rtpcast send through a relay bound to `fromHost`, so that its packets reach play from that address. */
async function sendFrom(procs: Procs, fromHost: string, playPort: number, hz: number, seconds: number, sdp: string): Promise<{ relay: UdpRelay; sender: Proc }> {
  const relay = await UdpRelay.start({ listenPort: 0, host: fromHost, forwardHost: '127.0.0.1', forwardPort: playPort, impair: { seed: 1 } });
  const sender = procs.start(senderArgv(config('opus-stereo'), hz, [`${fromHost}:${relay.listenPort}`], sdp, seconds));
  return { relay, sender };
}

test('a second sender on the port (127.0.0.2): play keeps the first, names the other (address, SSRC) and never mixes it in', { timeout: 60_000 }, async () => {
  requireProgram('ss');
  const procs = new Procs();
  const dir = makeWorkDir('play-two-senders');
  let relay: UdpRelay | undefined;
  let ok = false;
  try {
    const p = port();
    const sdp = join(dir, 's.sdp');
    const out = join(dir, 'out.wav');
    await writeSdp(procs, config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], sdp);
    const play = await startPlay(procs, [sdp, '--out', out, '--json', '--until-bye', '--duration', '15'], p);
    const first = procs.start(senderArgv(config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], join(dir, 'a.sdp'), 5));
    await sleep(1000);
    const second = await sendFrom(procs, '127.0.0.2', p, OTHER_HZ, 3, join(dir, 'b.sdp'));
    relay = second.relay;
    const stop = await playFinished(play, 20_000);
    assert.equal((await first.waitExit(10_000))?.code, 0, first.describe());
    assert.equal((await second.sender.waitExit(10_000))?.code, 0, second.sender.describe());
    const ctx = `\n${play.describe()}`;
    assert.equal(stop.sender?.split(':')[0], '127.0.0.1', `played ${stop.sender}${ctx}`);
    const other = stop.others.find((o) => o.sender.startsWith('127.0.0.2:'));
    assert.ok(other && other.packets > 100, `the second sender is not in "others": ${JSON.stringify(stop.others)}${ctx}`);
    const w = warnings(play).find((m) => m.includes('127.0.0.2') && m.includes(`0x${other.ssrc.toString(16).padStart(8, '0')}`));
    assert.ok(w, `no warning names 127.0.0.2 and its SSRC: ${JSON.stringify(warnings(play))}`);
    assert.equal(stop.player.resyncs, 0, 'play never switched senders');
    const check = checkPlayedWav(out, { hz: MAIN_HZ, channels: 2, toneSeconds: 5, durationTolerance: 0.06, maxGapMs: 30 });
    assert.deepEqual(check.failures, [], `${JSON.stringify(check.gaps)}${ctx}`);
    const wav = parseWav(readFileSync(out));
    assertOnlyMainTone(mixToMono(wav.samples, wav.channels), wav.rate, 'two senders');
    ok = true;
  } finally {
    await relay?.close();
    await procs.cleanup();
    if (ok) removeWorkDir(dir);
  }
});

for (const how of ['--source', 'a=source-filter'] as const) {
  test(`an intruder (127.0.0.3) sending first: with ${how} it is never played, its packets are dropped and counted`, { timeout: 60_000 }, async () => {
    requireProgram('ss');
    const procs = new Procs();
    const dir = makeWorkDir('play-intruder');
    let relay: UdpRelay | undefined;
    let ok = false;
    try {
      const p = port();
      const sdp = join(dir, 's.sdp');
      const out = join(dir, 'out.wav');
      await writeSdp(procs, config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], sdp);
      if (how === 'a=source-filter') {
        // RFC 4570: only 127.0.0.1 may send this stream
        const text = readFileSync(sdp, 'utf8').replace(/(m=audio[^\r\n]*\r?\n)/, '$1a=source-filter: incl IN IP4 * 127.0.0.1\r\n');
        assert.match(text, /a=source-filter/);
        writeFileSync(sdp, text);
      }
      const play = await startPlay(procs, [sdp, ...(how === '--source' ? ['--source', '127.0.0.1'] : []), '--out', out, '--json', '--until-bye', '--duration', '15'], p);
      // the intruder first: locking onto the first sender would play it
      const intruder = await sendFrom(procs, '127.0.0.3', p, OTHER_HZ, 5, join(dir, 'x.sdp'));
      relay = intruder.relay;
      await sleep(1000);
      const real = procs.start(senderArgv(config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], join(dir, 'a.sdp'), 3));
      const stop = await playFinished(play, 20_000);
      assert.equal((await real.waitExit(10_000))?.code, 0, real.describe());
      await intruder.sender.waitExit(10_000);
      const ctx = `\n${play.describe()}`;
      assert.equal(stop.sender?.split(':')[0], '127.0.0.1', `played ${stop.sender}${ctx}`);
      assert.ok(stop.dropped.filtered > 100, `dropped.filtered ${stop.dropped.filtered}${ctx}`);
      assert.equal(stop.filteredFrom['127.0.0.3'], stop.dropped.filtered, `per address: ${JSON.stringify(stop.filteredFrom)}`);
      assert.ok(warnings(play).some((m) => m.includes('127.0.0.3') && /dropped/.test(m)), `no warning names the intruder: ${JSON.stringify(warnings(play))}`);
      assert.equal(stop.others.length, 0, 'filtered packets never reach the sender lock');
      const check = checkPlayedWav(out, { hz: MAIN_HZ, channels: 2, toneSeconds: 3, durationTolerance: 0.06, maxGapMs: 30 });
      assert.deepEqual(check.failures, [], `${JSON.stringify(check.gaps)}${ctx}`);
      const wav = parseWav(readFileSync(out));
      assertOnlyMainTone(mixToMono(wav.samples, wav.channels), wav.rate, `intruder, ${how}`);
      ok = true;
    } finally {
      await relay?.close();
      await procs.cleanup();
      if (ok) removeWorkDir(dir);
    }
  });
}

test('--out - with --json: raw PCM alone on stdout, the JSON events on stderr', { timeout: 60_000 }, async () => {
  requireProgram('ss');
  const procs = new Procs();
  const dir = makeWorkDir('play-stdout-json');
  let ok = false;
  try {
    const p = port();
    const sdp = join(dir, 's.sdp');
    await writeSdp(procs, config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], sdp);
    const play = procs.start(playArgv([sdp, '--out', '-', '--format', 's16le', '--json', '--until-bye', '--duration', '12']));
    const chunks: Buffer[] = [];
    play.child.stdout!.on('data', (b: Buffer) => chunks.push(b));
    // play binds, then prints `start` (on stderr) once the output is open
    const until = Date.now() + 10_000;
    while (!play.stderr.includes('"event":"start"')) {
      if (!play.running || Date.now() > until) throw new Error(`no start event on stderr:\n${play.describe()}`);
      await sleep(50);
    }
    const sender = procs.start(senderArgv(config('opus-stereo'), MAIN_HZ, [`127.0.0.1:${p}`], join(dir, 'a.sdp'), 3));
    const e = await play.waitExit(20_000);
    assert.equal(e?.code, 0, play.describe());
    assert.equal((await sender.waitExit(10_000))?.code, 0, sender.describe());
    const pcm = Buffer.concat(chunks);
    assert.equal(pcm.includes(Buffer.from('"event"')), false, 'a JSON event went to stdout, into the audio');
    assert.equal(pcm.length % 4, 0, `stdout holds ${pcm.length} bytes: not whole s16le stereo frames`);
    const events = play.stderr.split('\n').filter((l) => l.trim()).map((l) => {
      try {
        return JSON.parse(l) as { event: string };
      } catch {
        throw new Error(`stderr line is not JSON (with --json everything on stderr must be): ${l}`);
      }
    });
    assert.deepEqual([...new Set(events.map((x) => x.event))].filter((x) => x === 'start' || x === 'stop'), ['start', 'stop']);
    const stop = events.find((x) => x.event === 'stop') as unknown as PlayStatusJson;
    assert.ok(stop.player.playedMs > 2500, `played ${stop.player.playedMs} ms`);
    // the audio: s16le stereo at 48 kHz carries the tone
    const s16 = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
    const f = new Float32Array(s16.length);
    for (let i = 0; i < s16.length; i++) f[i] = s16[i] / 32768;
    const mono = mixToMono(f, 2);
    assert.ok(Math.abs(mono.length / 48000 - stop.player.playedMs / 1000) < 0.1, `${mono.length / 48000} s of PCM for ${stop.player.playedMs} ms played`);
    assert.ok(toneShareDb(mono, 48000, MAIN_HZ) > -3, 'the tone is in the PCM on stdout');
    const help = await procs.run(playArgv(['--help']), 10_000);
    assert.match(help.stdout.replace(/\s+/g, ' '), /with --out - \(audio on stdout\) on stderr/, 'the help says where --json goes with --out -');
    ok = true;
  } finally {
    await procs.cleanup();
    if (ok) removeWorkDir(dir);
  }
});
