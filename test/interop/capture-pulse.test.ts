/**
 * Capture from a real PulseAudio daemon (null sinks, no hardware): system sound, one
 * application, a named source; each checked on the signal that ffmpeg decodes from rtpcast's SDP.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeTone, goertzelPower } from '../../src/audio/analysis';
import { mixToMono, parseWav } from '../../src/audio/wav';
import { PulseDaemon, eventually } from '../support/pulse';
import { Procs, sleep, type Proc } from '../support/procs';
import { makeWorkDir, removeWorkDir, requireProgram, RTPCAST_CLI } from '../support/peers';

let pulse: PulseDaemon;
let port = 27000;
const nextPort = () => (port += 2);

before(async () => {
  requireProgram('ffmpeg');
  pulse = await PulseDaemon.start([
    { name: 'speakers', rate: 48000, channels: 2 },
    { name: 'headphones', rate: 44100, channels: 2 },
  ]);
});
after(async () => {
  await pulse?.stop();
});

interface Captured {
  rate: number;
  channels: number;
  hz: number;
  activeSeconds: number;
  longestGapMs: number;
  /** power at `otherHz` relative to the tone, dB */
  otherDb?: number;
  sender: Proc;
  receiver: Proc;
}

/** rtpcast send with `sourceArgs` for `seconds`; ffmpeg records from the SDP rtpcast wrote. */
async function capture(procs: Procs, sourceArgs: string[], streamArgs: string[], seconds: number, otherHz?: number, onRunning?: (sender: Proc) => Promise<void>): Promise<Captured> {
  const dir = makeWorkDir('capture');
  try {
    const p = nextPort();
    const sdp = join(dir, 's.sdp');
    const out = join(dir, 'out.wav');
    const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', ...sourceArgs, ...streamArgs, '--dest', `127.0.0.1:${p}`, '--sdp', sdp, '--duration', String(seconds), '--quiet'], { env: pulse.env });
    assert.ok(await eventually(() => existsSync(sdp), 8000), `rtpcast wrote no SDP:\n${sender.describe()}`);
    const receiver = procs.start(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-t', String(seconds + 3), '-y', out]);
    if (onRunning) await onRunning(sender);
    const e = await sender.waitExit((seconds + 10) * 1000);
    assert.ok(e, `rtpcast did not finish:\n${sender.describe()}`);
    assert.equal(e.code, 0, sender.describe());
    if (!(await receiver.waitExit(5000))) await receiver.stop('SIGINT', 4000);
    assert.ok(existsSync(out), `ffmpeg wrote nothing:\n${receiver.describe()}`);
    const pcm = parseWav(readFileSync(out));
    const mono = mixToMono(pcm.samples, pcm.channels);
    const r = analyzeTone(pcm);
    let otherDb: number | undefined;
    if (otherHz !== undefined) otherDb = 10 * Math.log10(goertzelPower(mono, pcm.rate, otherHz) / goertzelPower(mono, pcm.rate, r.frequencyHz));
    return { rate: pcm.rate, channels: pcm.channels, hz: r.frequencyHz, activeSeconds: r.activeSeconds, longestGapMs: r.longestGapMs, otherDb, sender, receiver };
  } finally {
    removeWorkDir(dir);
  }
}

test('--source system captures what the default sink plays, converted from 48 kHz to a 44.1 kHz stream without changing pitch', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  try {
    const app = await pulse.playTone('toneA', 630, 'speakers');
    const c = await capture(procs, ['--source', 'system'], ['--codec', 'l16', '--rate', '44100'], 4);
    t.diagnostic(`system: ${c.rate} Hz ${c.channels} ch, ${c.hz.toFixed(2)} Hz, ${c.activeSeconds.toFixed(2)} s, longest gap ${c.longestGapMs} ms`);
    assert.equal(c.rate, 44100);
    assert.ok(Math.abs(c.hz - 630) / 630 < 0.005, `frequency ${c.hz} (sink at 48 kHz, stream at 44.1 kHz)`);
    assert.ok(c.activeSeconds > 2.5, `only ${c.activeSeconds} s of tone`);
    assert.ok(c.longestGapMs <= 30, `gap of ${c.longestGapMs} ms`);
    await app.stop();
  } finally {
    await procs.cleanup();
  }
});

test('--source app:NAME captures that application only, and puts its stream back on exit', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  try {
    await pulse.playTone('toneA', 630, 'speakers');
    await pulse.playTone('toneB', 1030, 'speakers');
    let movedTo: string | undefined;
    const c = await capture(procs, ['--source', 'app:toneA'], ['--codec', 'opus'], 4, 1030, async () => {
      assert.ok(await eventually(() => (movedTo = pulse.sinkOf('toneA'))?.startsWith('rtpcast_app_') === true, 8000), `toneA was not routed: on ${movedTo}`);
      assert.equal(pulse.sinkOf('toneB'), 'speakers', 'the other application stays where it was');
    });
    t.diagnostic(`app: ${c.hz.toFixed(2)} Hz, 1030 Hz at ${c.otherDb?.toFixed(1)} dB, ${c.activeSeconds.toFixed(2)} s, gap ${c.longestGapMs} ms`);
    assert.ok(Math.abs(c.hz - 630) / 630 < 0.005, `frequency ${c.hz}`);
    assert.ok((c.otherDb ?? 0) < -40, `the other application is audible in the capture: ${c.otherDb} dB`);
    assert.ok(c.longestGapMs <= 30, `gap of ${c.longestGapMs} ms`);
    assert.equal(pulse.sinkOf('toneA'), 'speakers', 'toneA is back on its original sink');
    assert.deepEqual(pulse.sinks().map((s) => s.name).filter((n) => n.startsWith('rtpcast')), [], 'the capture sink is gone');
  } finally {
    await procs.cleanup();
  }
});

test('rtpcast killed with SIGKILL: its watchdog puts the stream back and removes the capture sink', { timeout: 60_000 }, async () => {
  const procs = new Procs();
  try {
    if (!pulse.sinkOf('toneA')) await pulse.playTone('toneA', 630, 'speakers');
    const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--source', 'app:toneA', '--keep-local', '--dest', '127.0.0.1:' + nextPort(), '--quiet'], { env: pulse.env });
    assert.ok(await eventually(() => pulse.sinkOf('toneA')?.startsWith('rtpcast_app_') === true, 8000), `not routed:\n${sender.describe()}`);
    // --keep-local: a loopback plays the capture on the original sink
    assert.ok(pulse.sinkInputs().some((i) => (i.mediaName ?? '').includes('rtpcast-capture-of-')), 'loopback to the original sink');
    sender.signal('SIGKILL');
    await sender.waitExit(5000);
    assert.ok(await eventually(() => pulse.sinkOf('toneA') === 'speakers', 5000), `after SIGKILL toneA is on ${pulse.sinkOf('toneA')}`);
    assert.ok(await eventually(() => !pulse.sinks().some((s) => s.name.startsWith('rtpcast')), 5000), 'capture sink removed');
    assert.ok(!pulse.sinkInputs().some((i) => (i.mediaName ?? '').includes('rtpcast-capture-of-')), 'loopback removed');
  } finally {
    await procs.cleanup();
  }
});

test('an application name that matches nothing: exit 2 and the list of applications playing', { timeout: 30_000 }, async () => {
  const procs = new Procs();
  try {
    if (!pulse.sinkOf('toneA')) await pulse.playTone('toneA', 630, 'speakers');
    const p = await procs.run([process.execPath, RTPCAST_CLI, 'send', '--source', 'app:spotify', '--duration', '1'], 15_000, { env: pulse.env });
    assert.equal(p.exit?.code, 2, p.describe());
    assert.match(p.stderr, /no application matching "spotify" is playing sound/);
    assert.match(p.stderr, /toneA \((paplay|pacat), pid \d+\)/);
  } finally {
    await procs.cleanup();
  }
});

test('--source device:NAME captures a named sound-server source', { timeout: 60_000 }, async () => {
  const procs = new Procs();
  try {
    await pulse.playTone('toneH', 870, 'headphones', 60, 44100);
    const c = await capture(procs, ['--source', 'device:headphones.monitor'], ['--codec', 'l16', '--rate', '48000'], 3);
    assert.equal(c.rate, 48000);
    assert.ok(Math.abs(c.hz - 870) / 870 < 0.005, `frequency ${c.hz} (44.1 kHz source, 48 kHz stream)`);
    assert.ok(c.longestGapMs <= 30, `gap ${c.longestGapMs} ms`);
  } finally {
    await procs.cleanup();
  }
});

void sleep;

test('--source device through PortAudio (naudiodon, ALSA pulse plugin) captures the tone', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  try {
    const list = await procs.run([process.execPath, RTPCAST_CLI, 'devices', '--json'], 20_000, { env: pulse.env });
    const devs = JSON.parse(list.stdout) as { backends: { backend: string; available: boolean; detail: string }[]; devices: { id: string; name: string; backend: string }[] };
    const pa = devs.backends.find((b) => b.backend === 'portaudio');
    assert.ok(pa?.available, `PortAudio is not available: ${pa?.detail}. naudiodon is an optional dependency built at npm install (needs g++ and make): run npm ci on x64 Linux`);
    const dev = devs.devices.find((d) => d.backend === 'portaudio' && d.name === 'pulse');
    assert.ok(dev, `PortAudio does not list the ALSA "pulse" device: sudo apt-get install libasound2-plugins\n${list.stdout}`);
    if (!pulse.sinkOf('toneA')) await pulse.playTone('toneA', 630, 'speakers');
    pulse.pactl(['set-default-source', 'speakers.monitor']);
    const c = await capture(procs, ['--source', `device:${dev.id}`], ['--codec', 'opus'], 3);
    t.diagnostic(`portaudio ${dev.id}: ${c.hz.toFixed(2)} Hz, ${c.activeSeconds.toFixed(2)} s, gap ${c.longestGapMs} ms`);
    assert.ok(Math.abs(c.hz - 630) / 630 < 0.005, `frequency ${c.hz}`);
    assert.ok(c.activeSeconds > 2, `${c.activeSeconds} s of tone`);
    assert.ok(c.longestGapMs <= 30, `gap ${c.longestGapMs} ms`);
  } finally {
    await procs.cleanup();
  }
});

test('--source system follows the default output when the user switches it', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  try {
    pulse.pactl(['set-default-sink', 'speakers']);
    if (!pulse.sinkOf('toneA')) await pulse.playTone('toneA', 630, 'speakers');
    await pulse.playTone('toneC', 1230, 'headphones', 60, 44100);
    const dir = makeWorkDir('follow');
    try {
      const out = join(dir, 'out.wav');
      const sdp = join(dir, 's.sdp');
      const p = nextPort();
      const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--source', 'system', '--codec', 'l16', '--rate', '48000', '--dest', `127.0.0.1:${p}`, '--sdp', sdp, '--duration', '5', '--json'], { env: pulse.env });
      assert.ok(await eventually(() => existsSync(sdp), 8000), sender.describe());
      const rec = procs.start(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-protocol_whitelist', 'file,udp,rtp', '-i', sdp, '-t', '8', '-y', out]);
      await sleep(2000);
      pulse.pactl(['set-default-sink', 'headphones']);
      await sender.waitExit(15000);
      if (!(await rec.waitExit(5000))) await rec.stop('SIGINT', 4000);
      assert.match(sender.stdout, /the default output changed: now capturing headphones/);
      const pcm = parseWav(readFileSync(out));
      const mono = mixToMono(pcm.samples, pcm.channels);
      const head = mono.subarray(0, pcm.rate); // first second: speakers
      const tail = mono.subarray(mono.length - pcm.rate); // last second: headphones
      // PulseAudio moves streams along with the default sink, so toneA may follow to the
      // headphones: what must hold is that the headphones' own tone is absent before the switch
      // and present at full level after it (a tone of peak 0.25 has power 0.25^2/2 = 0.031).
      const p1230 = (x: Float32Array) => goertzelPower(x, pcm.rate, 1230);
      t.diagnostic(`1230 Hz power before ${p1230(head).toExponential(1)}, after ${p1230(tail).toExponential(1)}; toneA now on ${pulse.sinkOf('toneA')}`);
      assert.ok(p1230(head) < 1e-6, 'before the switch: nothing of the headphones in the capture');
      assert.ok(p1230(tail) > 0.02, 'after the switch: the headphones tone at full level');
      assert.ok(goertzelPower(head, pcm.rate, 630) > 0.02, 'before the switch: the speakers tone');
    } finally {
      removeWorkDir(dir);
      pulse.pactl(['set-default-sink', 'speakers']);
    }
  } finally {
    await procs.cleanup();
  }
});

test('the application crashes mid-capture: a warning, its next stream is routed again, all restored at the end', { timeout: 60_000 }, async () => {
  const procs = new Procs();
  try {
    const first = await pulse.playTone('crashy', 730, 'speakers');
    const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--source', 'app:crashy', '--dest', '127.0.0.1:' + nextPort(), '--duration', '6', '--json'], { env: pulse.env });
    assert.ok(await eventually(() => pulse.sinkOf('crashy')?.startsWith('rtpcast_app_') === true, 8000), sender.describe());
    first.signal('SIGKILL');
    assert.ok(await eventually(() => /stopped playing/.test(sender.stdout), 5000), `no warning after the app died:\n${sender.describe()}`);
    // the application comes back (a new process, a new stream): routed again
    await pulse.playTone('crashy', 730, 'headphones', 60, 44100);
    assert.ok(await eventually(() => pulse.sinkOf('crashy')?.startsWith('rtpcast_app_') === true, 5000), `the restarted app was not routed: on ${pulse.sinkOf('crashy')}`);
    const e = await sender.waitExit(15000);
    assert.equal(e?.code, 0, sender.describe());
    assert.equal(pulse.sinkOf('crashy'), 'headphones', 'the new stream went back to the sink it opened on');
    assert.ok(!pulse.sinks().some((s) => s.name.startsWith('rtpcast')), 'capture sink removed');
  } finally {
    await procs.cleanup();
  }
});
