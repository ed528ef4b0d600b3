/**
 * rtpcast send --web against a real browser: Debian's Chromium, headless, driven by playwright-core.
 *
 * 1. One page: it loads the page (token in the URL), presses Play; getStats() of the received
 *    audio shows packets and samples, the level of the -12 dBFS tone (audioLevel ~0.25), Opus,
 *    no loss; a Web Audio analyser on the received stream finds the tone's frequency; media
 *    flows over loopback only (the sender was bound to 127.0.0.1); the UDP receiver given with
 *    --dest gets the stream at the same time (the tee). Without the token the page is refused.
 * 2. Ten pages at once all receive (packets, samples, level), and the sender reports ten
 *    listeners. The time from Play to the first packet is reported per page.
 * 4. --web :PORT (every interface) in a network namespace of this test with a "LAN" interface
 *    (one end of a veth pair, 10.77.0.1/24) and Chromium inside it: the URL is the LAN address's, and the
 *    media flows to it (the wildcard case, without touching the host's network).
 * 3. Latency: clicks (100 ms tone bursts after silence) are written in real time into
 *    rtpcast send --input -; the page detects each onset in a Web Audio processor on the
 *    received stream. Latency = onset seen in the page - the moment the click's first sample was
 *    due in rtpcast's stdin: Opus encoding, WebRTC, Chromium's jitter
 *    buffer and decoder, all included (only the sound card's own output latency is not).
 *    The sender is fed 60 ms ahead, and a click's time is when it is due in real time (see ClickWriter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { requireProgram, RTPCAST_CLI } from '../support/peers';
import { Procs, sleep, type Proc } from '../support/procs';
import { dominantFrequency, inboundAudio, launchChromium, type InboundAudio } from '../support/chromium';

// ports 32100-32199 of this helper's range
const TOKEN = 'interop-token-1234';
const TONE_HZ = 630;
const LEVEL_DBFS = -12;

interface StartEvent {
  event: string;
  web?: { urls: string[] } | null;
}

async function waitFor<T>(what: string, ms: number, f: () => Promise<T | undefined> | T | undefined, describe?: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await sleep(100);
  }
}

function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function pageUrl(p: Proc): Promise<string> {
  const start = await waitFor('the sender\'s start event', 15_000, () => jsonEvents(p.stdout).find((e) => e.event === 'start') as StartEvent | undefined, () => p.describe());
  assert.ok(start.web, 'the start event carries the web URLs');
  return start.web.urls[0];
}

async function play(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.click('#play');
}

function received(n: number) {
  return (s: InboundAudio | undefined) => (s && s.packetsReceived >= n && s.totalSamplesReceived > 0 ? s : undefined);
}

test('one browser page plays the tone over WebRTC, the UDP receiver still gets it', async (t) => {
  const procs = new Procs();
  let browser: Browser | undefined;
  const udp = createSocket('udp4');
  t.after(async () => {
    await browser?.close();
    udp.close();
    await procs.cleanup();
  });
  let udpPackets = 0;
  udp.on('message', () => udpPackets++);
  await new Promise<void>((r) => udp.bind(32100, '127.0.0.1', () => r()));
  const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--tone', String(TONE_HZ), '--tone-level', String(LEVEL_DBFS), '--dest', '127.0.0.1:32100', '--web', '127.0.0.1:32110', '--web-token', TOKEN, '--web-udp-ports', '32111-32115', '--json']);
  const url = await pageUrl(sender);
  assert.equal(url, `http://127.0.0.1:32110/?k=${TOKEN}`);
  browser = await launchChromium();

  const intruder = await browser.newPage();
  const refused = await intruder.goto('http://127.0.0.1:32110/');
  assert.equal(refused?.status(), 403, 'no token, no page');
  await intruder.close();

  const page = await browser.newPage();
  await page.goto(url);
  const t0 = Date.now();
  await page.click('#play');
  await waitFor('the first packet', 20_000, async () => received(1)(await inboundAudio(page)), () => sender.describe());
  t.diagnostic(`Play to first packet, one page: ${Date.now() - t0} ms`);
  const s = await waitFor('100 packets in the page', 20_000, async () => received(100)(await inboundAudio(page)), () => sender.describe());
  t.diagnostic(`page: ${JSON.stringify(s)}`);
  assert.equal(s.mimeType, 'audio/opus');
  assert.equal(s.remoteAddress, '127.0.0.1', 'media over loopback only, where the sender was bound');
  assert.ok(s.remotePort! >= 32111 && s.remotePort! <= 32115, `media port ${s.remotePort} in --web-udp-ports 32111-32115`);
  // samples lag packets by what the jitter buffer holds (up to ~0.3 s while it settles)
  assert.ok(s.totalSamplesReceived >= (s.packetsReceived - 15) * 960, `samples ${s.totalSamplesReceived} for ${s.packetsReceived} packets of 960`);
  // -12 dBFS sine: peak amplitude 0.251; audioLevel is the recent peak in [0, 1]
  assert.ok(s.audioLevel > 0.2 && s.audioLevel < 0.32, `audioLevel ${s.audioLevel} is the -12 dBFS tone's (0.25)`);
  assert.ok(s.totalAudioEnergy > 0);
  assert.equal(s.packetsLost, 0);
  const f = await dominantFrequency(page, 1500);
  t.diagnostic(`analyser: ${JSON.stringify(f)}`);
  assert.ok(Math.abs(f.hz - TONE_HZ) <= 2 * (f.rate / 8192), `dominant frequency ${f.hz.toFixed(1)} Hz, expected ${TONE_HZ}`);
  assert.match((await page.textContent('#status')) ?? '', /playing/);
  const buffer = (1000 * s.jitterBufferDelay) / Math.max(1, s.jitterBufferEmittedCount);
  t.diagnostic(`Chromium jitter buffer: ${buffer.toFixed(0)} ms on average`);
  assert.ok(udpPackets > 100, `the --dest receiver got ${udpPackets} packets meanwhile`);
  const joins = jsonEvents(sender.stdout).filter((e) => e.event === 'web' && e.listener === 'join');
  assert.equal(joins.length, 1);
  // Stop: the page says goodbye (sendBeacon) and the sender drops the listener at once
  await page.click('#play');
  const leave = await waitFor('the listener to leave', 10_000, () => jsonEvents(sender.stdout).find((e) => e.event === 'web' && e.listener === 'leave'), () => sender.describe());
  assert.equal(leave.listeners, 0);
});

test('ten pages at once all receive', async (t) => {
  const procs = new Procs();
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await procs.cleanup();
  });
  const sender = procs.start([process.execPath, RTPCAST_CLI, 'send', '--tone', String(TONE_HZ), '--tone-level', String(LEVEL_DBFS), '--dest', '127.0.0.1:32120', '--web', '127.0.0.1:32130', '--web-token', TOKEN, '--json']);
  const url = await pageUrl(sender);
  browser = await launchChromium();
  const pages: Page[] = [];
  for (let i = 0; i < 10; i++) {
    const p = await browser.newPage();
    await p.goto(url);
    pages.push(p);
  }
  // press Play in all ten at once (a playwright click takes ~0.2 s here: ten in a row would be staggered)
  await Promise.all(pages.map((p) => p.evaluate("document.getElementById('play').click()")));
  await Promise.all(pages.map((p, i) => waitFor(`page ${i + 1}'s first packets`, 30_000, async () => received(5)(await inboundAudio(p)), () => sender.describe())));
  const times = (await Promise.all(pages.map((p) => p.evaluate('[window.rtpcast.playAt, window.rtpcast.connectedAt]')))) as Array<[number, number]>;
  const first = Math.min(...times.map((x) => x[0]));
  t.diagnostic(`Play pressed within ${Math.max(...times.map((x) => x[0])) - first} ms; connected after (ms from the first press): ${times.map((x) => x[1] - first).join(', ')}`);
  // audioLevel is the level of the last moments only (a gap while the machine is overloaded reads 0):
  // sample it five times over 2 s, and take the mean level of the whole window from the energy.
  // The window starts 1 s after the last page's first packets: ten jitter buffers starting at once
  // on two busy CPUs conceal part of their first second (a window right at the start read a mean
  // of 0.145-0.23 over runs of this test; the tone alone is 0.25).
  await sleep(1000);
  const before = await Promise.all(pages.map((p) => inboundAudio(p)));
  const maxLevel = before.map((s) => s?.audioLevel ?? 0);
  for (let k = 0; k < 5; k++) {
    await sleep(400);
    (await Promise.all(pages.map((p) => inboundAudio(p)))).forEach((s, i) => (maxLevel[i] = Math.max(maxLevel[i], s?.audioLevel ?? 0)));
  }
  const stats = await Promise.all(pages.map((p) => inboundAudio(p)));
  stats.forEach((s, i) => {
    assert.ok(s && s.packetsReceived > 50 && s.totalSamplesReceived > 0, `page ${i + 1}: ${JSON.stringify(s)}`);
    const f = before[i]!;
    const meanLevel = Math.sqrt((s.totalAudioEnergy - f.totalAudioEnergy) / Math.max(1e-9, s.totalSamplesDuration - f.totalSamplesDuration));
    assert.ok(maxLevel[i] > 0.2 && maxLevel[i] < 0.32, `page ${i + 1} audioLevel up to ${maxLevel[i]} (the -12 dBFS tone: 0.25)`);
    assert.ok(meanLevel > 0.15, `page ${i + 1}: mean level ${meanLevel.toFixed(3)} over 2 s (0.25 if all of it was the tone)`);
  });
  t.diagnostic(`mean level over 2 s per page: ${stats.map((s, i) => Math.sqrt((s!.totalAudioEnergy - before[i]!.totalAudioEnergy) / Math.max(1e-9, s!.totalSamplesDuration - before[i]!.totalSamplesDuration)).toFixed(3)).join(', ')}`);
  t.diagnostic(`packets per page after 2 s more: ${stats.map((s) => s!.packetsReceived).join(', ')}; lost: ${stats.map((s) => s!.packetsLost).join(', ')}; concealed samples in the window: ${stats.map((s, i) => s!.concealedSamples - before[i]!.concealedSamples).join(', ')}`);
  // ten DTLS handshakes at once run on the sender's main thread: say whether its pacing noticed
  const warnings = jsonEvents(sender.stdout).filter((e) => e.event === 'warning' && !/nothing is listening/.test(String(e.message)));
  t.diagnostic(`sender warnings while ten joined: ${warnings.length ? warnings.map((w) => w.message).join(' | ') : 'none'}`);
  const events = jsonEvents(sender.stdout).filter((e) => e.event === 'web');
  assert.equal(events.filter((e) => e.listener === 'join').length, 10);
  assert.equal(Math.max(...events.map((e) => e.listeners as number)), 10);
});

/** Runs in the page: records the wall time (ms since the epoch) of each onset after >= 300 ms of silence. */
const ONSET_DETECTOR = `(async () => {
  window.onsets = [];
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(window.rtpcast.stream);
  const sp = ctx.createScriptProcessor(256, 2, 1);
  let quiet = 0;
  sp.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * x[i];
    const rms = Math.sqrt(s / x.length);
    if (rms > 0.05 && quiet >= 0.3 * ctx.sampleRate) window.onsets.push(performance.timeOrigin + performance.now());
    quiet = rms < 0.01 ? quiet + x.length : 0;
  };
  src.connect(sp);
  sp.connect(ctx.destination);
  window.onsetCtx = ctx;
})()`;

/**
 * Writes stereo s16le 48 kHz in real time, 60 ms ahead: silence, and once armed, a 100 ms 870 Hz
 * burst at the start of each of the next `count` seconds. A click's time is when its first sample
 * is due in real time (t0 + position / rate), not when it was written: rtpcast sends each sample
 * at its due time (it starts on the first data and paces by its clock), and the 60 ms in the pipe
 * keep it from running dry (an underrun sends 20 ms of silence and delays all that follows by 20 ms:
 * writing exactly in real time ratchets the delay up by one packet at every scheduling hiccup).
 */
const CLICKS = 12;

class ClickWriter {
  readonly clicks: number[] = [];
  private written = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private first = Infinity;
  private last = -1;
  private done: (() => void) | undefined;
  private static readonly RATE = 48000;

  constructor(private readonly child: ChildProcess) {}

  start(): void {
    this.t0 = Date.now();
    this.written = 0;
    const rate = ClickWriter.RATE;
    const burst = rate / 10;
    const amp = 0.25 * 32767;
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - this.t0 + 60) * rate) / 1000);
      if (due <= this.written) return;
      const n = due - this.written;
      const buf = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) {
        const pos = this.written + i;
        const k = (pos - this.first) % rate;
        const inClick = pos >= this.first && pos < this.last + burst && k < burst;
        if (inClick && k === 0) this.clicks.push(this.t0 + (pos * 1000) / rate);
        const v = inClick ? Math.round(amp * Math.sin((2 * Math.PI * 870 * k) / rate)) : 0;
        buf.writeInt16LE(v, i * 4);
        buf.writeInt16LE(v, i * 4 + 2);
      }
      this.child.stdin!.write(buf);
      this.written = due;
      if (this.done && due >= this.last + rate) {
        this.done();
        this.done = undefined;
      }
    }, 5);
  }

  /** Clicks once a second from the next full second on; resolves a second after the last. */
  clicksNow(count: number): Promise<void> {
    const rate = ClickWriter.RATE;
    this.first = (Math.ceil(this.written / rate) + 1) * rate;
    this.last = this.first + (count - 1) * rate;
    return new Promise((r) => (this.done = r));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

test('latency: a click written into rtpcast send reaches the page in well under 300 ms', async (t) => {
  let browser: Browser | undefined;
  const child = spawn(process.execPath, [RTPCAST_CLI, 'send', '--input', '-', '--dest', '127.0.0.1:32140', '--web', '127.0.0.1:32150', '--web-token', TOKEN, '--json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdin!.on('error', () => undefined);
  const writer = new ClickWriter(child);
  // the same packets also go to this UDP receiver: their sizes show when a click left rtpcast
  const udp = createSocket('udp4');
  const wire: Array<{ at: number; size: number }> = [];
  udp.on('message', (m) => wire.push({ at: Date.now(), size: m.length }));
  await new Promise<void>((r) => udp.bind(32140, '127.0.0.1', () => r()));
  t.after(async () => {
    udp.close();
    writer.stop();
    await browser?.close();
    child.stdin!.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  });
  {
    const start = await waitFor('the sender\'s start event', 15_000, () => jsonEvents(out).find((e) => e.event === 'start') as StartEvent | undefined, () => err);
    // from now on, in real time like a capture (writing before rtpcast reads would queue latency in the pipe)
    writer.start();
    browser = await launchChromium();
    const page = await browser.newPage();
    await play(page, start.web!.urls[0]);
    await waitFor('packets in the page', 20_000, async () => received(25)(await inboundAudio(page)), () => err);
    await page.evaluate(ONSET_DETECTOR);
    // Launching Chromium stalls rtpcast on this small machine, and each stall of a stdin-fed sender
    // leaves the data written meanwhile queued for good (it paces by its own clock). Let it run dry
    // (it sends silence), then write afresh: the queue starts from zero, as when a capture starts.
    writer.stop();
    await sleep(500);
    writer.start();
    // 12 clicks, most of which must be seen: on this 2-core machine a renderer or the sender can be
    // starved for a second now and then (one run saw 6 of 8), which is the machine, not the path;
    // the criterion is the latency of the clicks that arrive, and a lost majority still fails
    await writer.clicksNow(CLICKS);
    const onsets = (await page.evaluate('window.onsets')) as number[];
    // pair each click with the first onset after it (and before the next click)
    const lat: number[] = [];
    writer.clicks.forEach((c, i) => {
      const next = writer.clicks[i + 1] ?? Infinity;
      const o = onsets.find((x) => x > c && x < next);
      if (o !== undefined) lat.push(o - c);
    });
    t.diagnostic(`clicks ${writer.clicks.length}, onsets ${onsets.length}, latency ms: ${lat.map((x) => x.toFixed(0)).join(', ')}`);
    assert.equal(writer.clicks.length, CLICKS);
    assert.ok(lat.length >= CLICKS - 3, `clicks seen in the page: ${lat.length} of ${CLICKS} (at least ${CLICKS - 3} needed)`);
    // a click's first packets are much larger than silence's (Opus VBR): when the click was on the wire
    const sent: number[] = [];
    writer.clicks.forEach((c, i) => {
      const next = writer.clicks[i + 1] ?? Infinity;
      const p = wire.find((x) => x.at >= c - 10 && x.at < next && x.size > 100);
      if (p) sent.push(p.at - c);
    });
    t.diagnostic(`click due to on the wire (first large packet at the --dest receiver) ms: ${sent.map((x) => x.toFixed(0)).join(', ')}`);
    const sorted = [...lat].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    t.diagnostic(`median ${median.toFixed(0)} ms, min ${sorted[0].toFixed(0)}, max ${sorted[sorted.length - 1].toFixed(0)}`);
    // the issue's criterion: "well under 300 ms" (an HTTP Ogg stream takes seconds)
    assert.ok(median < 300, `median latency ${median.toFixed(0)} ms`);
  }
});

test('--web :PORT listens on every interface: a browser on the LAN address plays (in a network namespace)', async (t) => {
  const ip = requireProgram('ip');
  const chromiumPath = requireProgram('chromium');
  assert.equal(process.getuid?.(), 0, 'creating a network namespace needs root: run the interop tests as root');
  const ns = `rtpcast-web-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-web-'));
  const procs = new Procs();
  let browser: Browser | undefined;
  const run = (...a: string[]) => {
    const r = spawnSync(ip, a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`);
  };
  t.after(async () => {
    await browser?.close();
    await procs.cleanup();
    spawnSync(ip, ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  });
  run('netns', 'add', ns);
  run('-n', ns, 'link', 'set', 'lo', 'up');
  run('-n', ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
  run('-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', 'lan0');
  run('-n', ns, 'link', 'set', 'lan0', 'up');
  run('-n', ns, 'link', 'set', 'lan1', 'up');
  const wrapper = join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${ip} netns exec ${ns} ${chromiumPath} "$@"\n`);
  chmodSync(wrapper, 0o755);

  const sender = procs.start([ip, 'netns', 'exec', ns, process.execPath, RTPCAST_CLI, 'send', '--tone', String(TONE_HZ), '--tone-level', String(LEVEL_DBFS), '--dest', '127.0.0.1:32170', '--web', ':32160', '--web-token', TOKEN, '--json']);
  const url = await pageUrl(sender);
  assert.equal(url, `http://10.77.0.1:32160/?k=${TOKEN}`, 'the URL (and QR code) carries the LAN address');
  browser = await launchChromium(wrapper);
  const page = await browser.newPage();
  await play(page, url);
  const s = await waitFor('100 packets in the page', 30_000, async () => received(100)(await inboundAudio(page)), () => sender.describe());
  t.diagnostic(`page on the LAN address: ${JSON.stringify(s)}`);
  assert.equal(s.remoteAddress, '10.77.0.1');
  assert.ok(s.audioLevel > 0.2 && s.audioLevel < 0.32, `audioLevel ${s.audioLevel}`);
});
