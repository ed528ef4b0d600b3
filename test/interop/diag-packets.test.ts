/**
 * `rtpcast diag packets` (capturePackets) against real traffic on loopback:
 *
 * 1. rtpcast send L16 44.1 kHz stereo (PT 10, 5 ms packets) -> seeded relay (5% loss, 30 ms uniform
 *    jitter) -> capturePackets on 27600, with tshark capturing the same datagrams on lo:
 *    - loss: exactly the relay plan's drops between the first and the last delivered packet
 *      (planImpairments, computed independently); within 1 percentage point of summarizePlan's
 *      whole-plan loss;
 *    - jitter: within JITTER_TOL of summarizePlan's RFC 3550 jitter (the plan assumes a perfect
 *      sender clock and relay timers; the real ones add up to about a millisecond), and within
 *      1 ms of the jitter recomputed from the relay's own send times;
 *    - tshark -z rtp,streams: same packets and lost; its max jitter within 1 ms / 15%.
 *    (L16 PT 10 because tshark computes jitter only for payload types whose clock rate it knows:
 *    for dynamic types without an SDP in the capture it prints 0.)
 * 2. the same with Opus (PT 96, no SDP): codec found from the TOC, loss exact, the latency and FEC
 *    advice present.
 * 3. a raw s16le 44.1 kHz stereo sender in 4096-byte datagrams (the seed's Python script, written in
 *    Node) -> "raw PCM without RTP".
 * 4. nothing on 27640 while rtpcast send sends to 27642 -> the wrong-port finding names 27642.
 * 5. throughput: a 100,000 packets/s flood for 2 s from a separate process -> every datagram is
 *    either counted or reported by the kernel as dropped, and a drop is a finding with its number
 *    and the sysctl (never silently short). Up to 3 attempts until the one-process blaster really
 *    sends >= 90k/s (the build machine is shared). Whether diag keeps up without drops is a
 *    performance figure: `npm run bench:diag` measures it side by side with tshark (a fixed
 *    "no drops" bar here failed on a loaded machine while the accounting was exact).
 * 6. multicast, in network namespaces of its own: a joined group is received; in a namespace without
 *    a multicast route, nothing arrives and the check names the missing route.
 *
 * tshark missing: the test FAILS with the install command. Everything is bounded and cleaned up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { capturePackets } from '../../src/diag/packets';
import type { PacketSnapshot } from '../../src/diag/counter';
import type { DiagReport } from '../../src/diag/report';
import { planImpairments, summarizePlan, UdpRelay, type ImpairmentOptions } from '../support/relay';
import { assertUdpPortFree, Procs, sleep, type Proc } from '../support/procs';
import { RTPCAST_CLI } from '../support/peers';
import { createMulticastNetns } from '../support/netns';
import { join } from 'node:path';
import { parseTsharkStreams, RAW_SENDER, relayJitterMs, requireTshark, startTshark } from '../support/diag';

const SEED = 20_260_501;
const IMPAIR_BASE = { seed: SEED, lossPct: 5, jitterMs: 30 };
const LOSS_TOL_PP = 1;
/** measured vs plan RFC 3550 jitter: the larger of 1.5 ms and 30% */
const jitterTol = (plan: number) => Math.max(1.5, 0.3 * plan);
/** measured vs the jitter recomputed from the relay's own send times (same process: scheduling noise only) */
const RELAY_JITTER_TOL_MS = 1;
function sendArgv(dest: string, seconds: number, extra: string[]): string[] {
  return [process.execPath, RTPCAST_CLI, 'send', '--tone', '630', ...extra, '--dest', dest, '--duration', String(seconds), '--quiet'];
}

function stream0(r: DiagReport) {
  const s = (r.data as { snapshot: PacketSnapshot }).snapshot;
  assert.equal(s.streams.length, 1, `expected one stream: ${JSON.stringify(r.findings.map((f) => f.title))}`);
  return s.streams[0];
}

/** Relay + capture + sender; returns the report, the relay and the plan-derived expectations. */
async function throughRelay(procs: Procs, o: { port: number; codecArgs: string[]; packetMs: number; clockRate: number; seconds: number }) {
  const impair: ImpairmentOptions = { ...IMPAIR_BASE, packetIntervalMs: o.packetMs };
  assertUdpPortFree(o.port);
  const relay = await UdpRelay.start({ listenPort: 0, forwardPort: o.port, impair });
  try {
    // listen until the sender has finished and the relay has delivered its last delayed packet
    const stop = new AbortController();
    const capture = capturePackets({ port: o.port, durationSec: 60, signal: stop.signal });
    await sleep(300);
    try {
      const sender = await procs.run(sendArgv(`127.0.0.1:${relay.listenPort}`, o.seconds, o.codecArgs), (o.seconds + 20) * 1000);
      assert.equal(sender.exit?.code, 0, sender.describe());
      await sleep(1000);
    } finally {
      stop.abort();
    }
    const report = await capture;
    await relay.close();
    const rs = relay.stats();
    const plan = planImpairments(impair, rs.received, o.packetMs);
    const mismatched = plan.filter((p, i) => p.drop !== (relay.events[i]?.fate === 'dropped')).length;
    assert.equal(mismatched, 0, 'the relay did not follow its seeded plan');
    const seqJumps = relay.events.filter((e, i) => i > 0 && e.seq !== ((relay.events[0].seq! + i) & 0xffff)).length;
    assert.equal(seqJumps, 0, 'the sender itself skipped sequence numbers');
    const delivered = plan.filter((p) => !p.drop).map((p) => p.index);
    const first = Math.min(...delivered);
    const last = Math.max(...delivered);
    const visibleLost = plan.filter((p) => p.index > first && p.index < last && p.drop).length;
    return { report, relay, plan, summary: summarizePlan(plan), expected: last - first + 1, visibleLost, relayJitterMs: relayJitterMs(relay, o.clockRate) };
  } finally {
    await relay.close();
  }
}

test('rtpcast send L16 PT 10 -> relay (5% loss, 30 ms jitter, seeded) -> diag packets; compared with the plan and with tshark', { timeout: 90_000 }, async (t) => {
  requireTshark();
  const PORT = 27600;
  const procs = new Procs();
  try {
    const tshark = await startTshark(procs, PORT);
    const r = await throughRelay(procs, { port: PORT, codecArgs: ['--codec', 'l16', '--rate', '44100', '--channels', '2'], packetMs: 5, clockRate: 44100, seconds: 4 });
    await tshark.stop('SIGINT', 10_000);
    const st = stream0(r.report);
    const x = st.stats;
    const ts = parseTsharkStreams(tshark.stdout);
    t.diagnostic(`plan: ${r.plan.length} packets, loss ${r.summary.lossPct.toFixed(2)}% (${r.summary.dropped}), visible lost ${r.visibleLost} of ${r.expected}, RFC 3550 jitter ${r.summary.rfc3550JitterMs.toFixed(2)} ms (mean |D| ${r.summary.meanAbsTransitDiffMs.toFixed(2)} ms); relay's actual sends: jitter ${r.relayJitterMs.toFixed(2)} ms`);
    t.diagnostic(`diag packets: ${x.packets} packets, expected ${x.expected}, lost ${x.lost} (${x.lostPct.toFixed(2)}%), jitter ${x.jitterMs.toFixed(2)} ms, max ${x.maxJitterMs.toFixed(2)} ms, delay spread ${st.delaySpreadMs} ms, rate ${st.estimatedRateHz?.toFixed(0)} Hz, codec ${JSON.stringify(st.codec)}`);
    t.diagnostic(`tshark: ${JSON.stringify(ts)}`);
    assert.deepEqual(st.codec, { encoding: 'L16', clockRate: 44100, channels: 2, how: 'static payload type' });
    // loss: exact against the plan, and close to the whole plan's rate
    assert.equal(x.expected, r.expected);
    assert.equal(x.lost, r.visibleLost);
    assert.ok(Math.abs(x.lostPct - r.summary.lossPct) <= LOSS_TOL_PP, `loss ${x.lostPct} vs plan ${r.summary.lossPct}`);
    // jitter
    assert.ok(Math.abs(x.jitterMs - r.summary.rfc3550JitterMs) <= jitterTol(r.summary.rfc3550JitterMs), `jitter ${x.jitterMs} vs plan ${r.summary.rfc3550JitterMs}`);
    assert.ok(Math.abs(x.jitterMs - r.relayJitterMs) <= RELAY_JITTER_TOL_MS, `jitter ${x.jitterMs} vs the relay's actual sends ${r.relayJitterMs}`);
    assert.ok(Math.abs(st.estimatedRateHz! / 44100 - 1) < 0.01, String(st.estimatedRateHz));
    // findings
    const ids = r.report.findings.map((f) => f.id);
    for (const id of ['packets.summary', 'packets.stream', 'packets.loss', 'jitter.latency', 'jitter.fec', 'packets.rtcp']) assert.ok(ids.includes(id), `${id} missing: ${ids.join(', ')}`);
    assert.equal(r.report.findings.find((f) => f.id === 'packets.loss')!.severity, 'problem'); // 5% is a problem
    // tshark saw the same datagrams
    assert.equal(ts.length, 1, `tshark found ${ts.length} RTP streams:\n${tshark.stdout}\n${tshark.stderr}`);
    assert.equal(ts[0].ssrc, st.ssrc);
    assert.equal(ts[0].packets, x.packets);
    assert.equal(ts[0].lost, x.lost);
    assert.ok(Math.abs(ts[0].maxJitterMs - x.maxJitterMs) <= Math.max(1, 0.15 * ts[0].maxJitterMs), `max jitter ${x.maxJitterMs} vs tshark ${ts[0].maxJitterMs}`);
  } finally {
    await procs.cleanup();
  }
});

test('rtpcast send Opus (PT 96, no SDP) -> relay -> diag packets: Opus found from the TOC, loss exact, FEC advice', { timeout: 90_000 }, async (t) => {
  const PORT = 27610;
  const procs = new Procs();
  try {
    const r = await throughRelay(procs, { port: PORT, codecArgs: ['--codec', 'opus'], packetMs: 20, clockRate: 48000, seconds: 5 });
    const st = stream0(r.report);
    const x = st.stats;
    t.diagnostic(`plan: loss ${r.summary.lossPct.toFixed(2)}%, visible lost ${r.visibleLost} of ${r.expected}, jitter ${r.summary.rfc3550JitterMs.toFixed(2)} ms; relay's sends ${r.relayJitterMs.toFixed(2)} ms | measured: lost ${x.lost} of ${x.expected} (${x.lostPct.toFixed(2)}%), jitter ${x.jitterMs.toFixed(2)} ms, spread ${st.delaySpreadMs} ms`);
    assert.deepEqual(st.codec, { encoding: 'opus', clockRate: 48000, channels: null, how: 'Opus TOC' });
    assert.equal(x.lost, r.visibleLost);
    assert.equal(x.expected, r.expected);
    assert.ok(Math.abs(x.lostPct - r.summary.lossPct) <= LOSS_TOL_PP);
    assert.ok(Math.abs(x.jitterMs - r.summary.rfc3550JitterMs) <= jitterTol(r.summary.rfc3550JitterMs), `jitter ${x.jitterMs} vs plan ${r.summary.rfc3550JitterMs}`);
    assert.ok(Math.abs(x.jitterMs - r.relayJitterMs) <= RELAY_JITTER_TOL_MS, `jitter ${x.jitterMs} vs relay ${r.relayJitterMs}`);
    assert.ok(Math.abs(st.packetMs! - 20) < 1e-9);
    const fec = r.report.findings.find((f) => f.id === 'jitter.fec')!;
    assert.match(fec.title, /^Opus FEC would rebuild about \d+% of the lost packets: keep it on/);
    const lat = r.report.findings.find((f) => f.id === 'jitter.latency')!;
    t.diagnostic(`${lat.title} | ${lat.detail}`);
    assert.match(lat.title, /rtpcast play --latency \d+/);
  } finally {
    await procs.cleanup();
  }
});

test('raw s16le 44.1 kHz stereo without RTP (the seed\'s script) -> "raw PCM without RTP"', { timeout: 60_000 }, async (t) => {
  const PORT = 27620;
  const procs = new Procs();
  try {
    assertUdpPortFree(PORT);
    const stop = new AbortController();
    const capture = capturePackets({ port: PORT, durationSec: 30, signal: stop.signal });
    await sleep(200);
    let sender: Proc;
    try {
      sender = await procs.run([process.execPath, '-e', RAW_SENDER, String(PORT), '3.5'], 20_000);
      await sleep(300);
    } finally {
      stop.abort();
    }
    const r = await capture;
    assert.equal(sender.exit?.code, 0, sender.describe());
    const raw = r.findings.find((f) => f.id === 'packets.raw-pcm');
    t.diagnostic(JSON.stringify(raw));
    assert.ok(raw, `no raw-pcm finding: ${JSON.stringify(r.findings.map((f) => [f.id, f.title]))}`);
    assert.equal(raw.severity, 'problem');
    assert.match(raw.title, /^raw PCM without RTP from 127\.0\.0\.1:\d+: no player can know its format$/);
    assert.match(raw.detail!, /4096 bytes with no RTP header/);
    assert.match(raw.detail!, /s16le, stereo/);
    assert.match(raw.detail!, /= 44100 Hz x 2 channel\(s\) x 2 bytes/);
    assert.match(raw.fix!, /^send RTP with an SDP: rtpcast send --input - --format s16le --input-rate 44100 --input-channels 2/);
    assert.equal((r.data as { snapshot: PacketSnapshot }).snapshot.streams.length, 0, 'raw PCM must not be mistaken for RTP streams');
  } finally {
    await procs.cleanup();
  }
});

test('nothing on the port while rtpcast send sends to port + 2: the wrong-port finding names it', { timeout: 90_000 }, async (t) => {
  const PORT = 27640;
  const procs = new Procs();
  try {
    assertUdpPortFree(PORT);
    assertUdpPortFree(PORT + 2);
    const sender = procs.start(sendArgv(`127.0.0.1:${PORT + 2}`, 60, []));
    await sleep(1500);
    assert.ok(sender.running, sender.describe());
    // nearby ports only (the usual ones, 5004 etc., may be other tests' receivers on a shared machine)
    const scan = Array.from({ length: 21 }, (_, i) => PORT - 10 + i).filter((p) => p !== PORT && p !== PORT + 1);
    const r = await capturePackets({ port: PORT, durationSec: 2, scanPorts: scan, scanSec: 1.5, multicastProbe: false });
    t.diagnostic(r.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n'));
    t.diagnostic(`conclusion: ${r.conclusion}`);
    const ids = r.findings.map((f) => f.id);
    assert.equal(ids[0], 'packets.none');
    // (the sender's RTCP to port + 3, if one fell into the scan, is reported apart: packets.rtcp-elsewhere)
    const wrong = r.findings.filter((f) => f.id === 'packets.wrong-port');
    assert.equal(wrong.length, 1, JSON.stringify(wrong));
    assert.match(wrong[0].title, new RegExp(`^traffic arrives on port ${PORT + 2} instead: \\d+ datagrams`));
    assert.match(wrong[0].detail!, /RTP payload type\(s\) 96/);
    assert.equal(r.conclusion, `the sender sends to port ${PORT + 2}, not ${PORT}`);
    assert.ok(!ids.includes('packets.sender-missing'), 'the sender was found: not "not running"');
    assert.ok(ids.includes('packets.firewall-skipped') || ids.some((i) => i.startsWith('firewall.')), ids.join(', '));
  } finally {
    await procs.cleanup();
  }
});

/** RTP PT 0, 172-byte datagrams, `pps` per second for `seconds`, paced in ~1 ms bursts; prints {sent, sec}. */
const BLASTER = `
const dgram = require('node:dgram');
const [port, pps, seconds] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
s.connect(port, '127.0.0.1', () => {
  const total = Math.round(pps * seconds);
  let i = 0, ok = 0, err = 0, pending = 0, finished = false;
  const t0 = process.hrtime.bigint();
  const done = () => { if (finished) return; finished = true; process.stdout.write(JSON.stringify({ sent: ok, errors: err, sec: Number(process.hrtime.bigint() - t0) / 1e9 }) + '\\n'); s.close(); };
  (function tick() {
    const due = Math.min(total, Math.floor(Number(process.hrtime.bigint() - t0) / 1e9 * pps));
    while (i < due) {
      const p = Buffer.alloc(172); p[0] = 0x80; p.writeUInt16BE(i & 0xffff, 2); p.writeUInt32BE((i * 160) >>> 0, 4); p.writeUInt32BE(0xb1a57, 8);
      pending++;
      s.send(p, (e) => { pending--; if (e) err++; else ok++; if (i >= total && pending === 0) done(); });
      i++;
    }
    if (i < total) setImmediate(tick);
  })();
});
`;

test('throughput: a 100,000 packets/s flood on loopback: every datagram counted or reported as a kernel drop', { timeout: 120_000 }, async (t) => {
  const PORT = 27660;
  const PPS = 100_000;
  const SECONDS = 2;
  const procs = new Procs();
  const attempts: string[] = [];
  let flooded = false;
  try {
    for (let attempt = 1; attempt <= 3 && !flooded; attempt++) {
      assertUdpPortFree(PORT);
      const capture = capturePackets({ port: PORT, durationSec: SECONDS + 2.5, rtcpPort: false });
      await sleep(300);
      const blaster = await procs.run([process.execPath, '-e', BLASTER, String(PORT), String(PPS), String(SECONDS)], 30_000);
      const r = await capture;
      const sent = JSON.parse(blaster.stdout.trim()) as { sent: number; errors: number; sec: number };
      const snap = (r.data as { snapshot: PacketSnapshot }).snapshot;
      const drops = (r.data as { socket: { kernelDrops: number | null } }).socket.kernelDrops;
      const rate = sent.sent / sent.sec;
      attempts.push(`attempt ${attempt}: sent ${sent.sent} in ${sent.sec.toFixed(2)} s (${(rate / 1000).toFixed(0)} k/s), counted ${snap.datagrams}, kernel drops ${drops}, stream packets ${snap.streams[0]?.stats.packets}`);
      // never silently short: what was not counted, the kernel says it dropped, and the report says so
      assert.notEqual(drops, null, 'kernel drop count unavailable (/proc/net/udp)');
      assert.equal(snap.datagrams + drops!, sent.sent, attempts.join('\n'));
      assert.equal(snap.streams[0].stats.packets, snap.datagrams);
      const dropFinding = r.findings.find((f) => /the kernel dropped \d+ datagrams/.test(f.title));
      if (drops! > 0) {
        assert.ok(dropFinding, `${drops} kernel drops but no finding says so: ${JSON.stringify(r.findings.map((f) => f.title))}`);
        assert.match(dropFinding.title, new RegExp(`dropped ${drops} datagrams`));
        assert.match(dropFinding.fix ?? '', /net\.core\.rmem_max/);
      } else assert.equal(dropFinding, undefined, 'a drop finding without drops');
      // the blaster is one Node process on a shared 2-core machine (92-93k/s when it is not
      // scheduled well): below 90k/s the attempt was not the flood it should be, and is made again
      flooded = rate >= PPS * 0.9;
    }
    t.diagnostic(attempts.join('\n'));
    assert.ok(flooded, `the blaster never reached 90k packets/s:\n${attempts.join('\n')}`);
  } finally {
    await procs.cleanup();
  }
});

/** Runs capturePackets in a child (inside a network namespace) and returns its report. */
async function captureIn(procs: Procs, prefix: readonly string[], o: Record<string, unknown>, timeoutMs: number): Promise<DiagReport> {
  const mod = JSON.stringify(join(__dirname, '..', '..', 'src', 'diag', 'packets.js'));
  const script = `require(${mod}).capturePackets(${JSON.stringify(o)}).then((r) => process.stdout.write(JSON.stringify(r, (k, v) => typeof v === 'bigint' ? Number(v) : v)))`;
  const p = await procs.run([...prefix, process.execPath, '-e', script], timeoutMs);
  assert.equal(p.exit?.code, 0, p.describe());
  return JSON.parse(p.stdout) as DiagReport;
}

test('multicast in a network namespace: a joined group is received; without a multicast route the check says so', { timeout: 90_000 }, async (t) => {
  const GROUP = '239.255.27.80';
  const PORT = 27680;
  const procs = new Procs();
  const ns = createMulticastNetns('diag');
  const bare = `rtpcast-${process.pid}-diag-noroute`;
  const ipc = (args: string[]) => spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  try {
    // 1. with the route: rtpcast send to the group, diag packets joins it
    const capture = captureIn(procs, ns.exec, { port: PORT, durationSec: 4, group: GROUP }, 30_000);
    await sleep(800);
    const sender = await procs.run([...ns.exec, ...sendArgv(`${GROUP}:${PORT}`, 2, ['--ttl', '1'])], 30_000);
    assert.equal(sender.exit?.code, 0, sender.describe());
    const r = await capture;
    t.diagnostic(r.findings.slice(0, 3).map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n'));
    const snap = (r.data as { snapshot: PacketSnapshot; socket: { joined: boolean } });
    assert.equal(snap.socket.joined, true);
    assert.equal(snap.snapshot.streams.length, 1, JSON.stringify(r.findings.map((f) => f.title)));
    assert.ok(snap.snapshot.streams[0].stats.packets >= 90, String(snap.snapshot.streams[0].stats.packets));

    // 2. a namespace with lo up but no multicast route, nothing sent
    ipc(['netns', 'del', bare]);
    for (const a of [['netns', 'add', bare], ['-n', bare, 'link', 'set', 'lo', 'up']]) {
      const x = ipc(a);
      assert.equal(x.status, 0, `ip ${a.join(' ')}: ${x.stderr}`);
    }
    const z = await captureIn(procs, ['ip', 'netns', 'exec', bare], { port: PORT, durationSec: 1, group: GROUP, scanSec: 0.5 }, 30_000);
    t.diagnostic(z.findings.map((f) => `${f.severity} ${f.id}: ${f.title}${f.detail ? ` (${f.detail})` : ''}`).join('\n'));
    const ids = z.findings.map((f) => f.id);
    assert.equal(ids[0], 'packets.none');
    const route = z.findings.find((f) => f.id === 'packets.multicast-route')!;
    assert.equal(route.severity, 'problem');
    assert.match(route.title, /no route for 239\.255\.27\.80/);
    assert.ok(ids.includes('packets.multicast-join') && ids.includes('packets.multicast-wifi') && ids.includes('packets.sender-missing'), ids.join(', '));
    assert.ok(ids.indexOf('packets.multicast-route') < ids.indexOf('packets.sender-missing'));
  } finally {
    await procs.cleanup();
    ns.remove();
    ipc(['netns', 'del', bare]);
  }
});
