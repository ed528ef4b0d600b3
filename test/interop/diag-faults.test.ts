/**
 * Fault injection: the field failures F1-F9 (the table in the shared FIELD-NOTES.md), each
 * reproduced with real peers and diagnosed THROUGH THE CLI
 * (`node dist/src/cli/main.js diag ... --json`), asserting that the report names the cause and the
 * fix. Every scenario is listed here; where another file holds a deeper version it is named.
 *
 * | #  | fault injected here                                                        | asserted                                                                                                   | also in |
 * |----|----------------------------------------------------------------------------|------------------------------------------------------------------------------------------------------------|---------|
 * | F1 | PulseAudio module-rtp-send at 48 kHz (dynamic PT, SAP, 224.0.0.56) in a netns; an SDP without a=rtpmap | diag packets: packets.sdp-needed with the rtpmap and an SDP; that SDP passes diag sdp and real ffmpeg plays the tone from it; diag sdp: sdp.rtpmap-missing + fix | play-sap-pulse |
 * | F2 | multicast to a group nobody joined (netns, rtpcast send and PulseAudio); TTL 0 | diag packets: packets.multicast-not-joined / sap-announced names the group and the join; TTL 0: diag sdp flags c=/0, diag packets lists the TTL cause (route, join ok) | diag-packets (no route) |
 * | F3 | nftables rule dropping the port, in a netns                                | diag firewall names the rule and the fix; diag packets' conclusion is the firewall                         | diag-firewall (iptables, policies, fix applied) |
 * | F4 | 48 kHz labelled 44.1 kHz; s16le labelled L16; mono labelled stereo         | diag format: format.rate "8.8% slow", format.byte-order little-endian, format.channels                     | diag-format |
 * | F5 | diag cpu in a cgroup whose CPU quota leaves less than Opus needs           | cpu.limit found; Opus c10 below 1x real time ("CANNOT keep up", wall clock agrees); recommendation turns from ok/warn to problem with --codec l16 | - |
 * | F6 | ffmpeg given an .sdp without -protocol_whitelist                           | ffmpeg refuses; diag sdp prints the ffmpeg command with -protocol_whitelist file,udp,rtp; that command, run as printed, decodes the tone | - |
 * | F7 | seeded relay: 5% loss, 30 ms jitter; tshark on the same traffic            | diag jitter: loss exact vs the relay's plan, equal to tshark's; jitter vs plan, relay sends and tshark; latency advice; Opus FEC recommended | diag-packets (API, Opus) |
 * | F8 | private PulseAudio: null sink whose monitor is silent                      | diag devices --level: silent; diag doctor --sender: devices.silent (default) naming the source with sound; send warns after 10 s | - |
 * | F9 | a UDP port held by another process                                         | diag ports: node + its pid + kill PID; diag packets: packets.port-busy; doctor: see diag-doctor                | diag-doctor |
 * | -  | raw s16le PCM without RTP (the seed's script)                              | diag packets: packets.raw-pcm with s16le/stereo/44100                                                      | diag-packets, diag-format |
 *
 * Gaps (cannot be reproduced here, stated rather than faked): F2's Wi-Fi multicast throttling and
 * IGMP-snooping timeouts need a real access point/switch; F2's TTL 0 as a loss: this kernel sends
 * TTL-0 multicast through a veth anyway and there is no multicast router here (see the F2 TTL test);
 * F3 on Windows (Defender Firewall) and
 * macOS need those systems (their parsers are unit-tested on recorded output in test/os and
 * test/diag/firewall.test.ts). Everything else above runs here.
 *
 * Missing peers (ffmpeg, pulseaudio, tshark, nft, ip) make a test FAIL with the install command.
 * Network only on loopback or in namespaces created here; everything bounded and cleaned up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeTone } from '../../src/audio/analysis';
import { encodeWavS16, parseWav } from '../../src/audio/wav';
import { ToneGenerator } from '../../src/audio/tone';
import type { PacketSnapshot } from '../../src/diag/counter';
import { createMulticastNetns } from '../support/netns';
import { requireProgram } from '../support/peers';
import { assertUdpPortFree, Procs, sleep } from '../support/procs';
import { PulseDaemon, requirePulse } from '../support/pulse';
import { planImpairments, summarizePlan, UdpRelay, type ImpairmentOptions } from '../support/relay';
import { brief, cli, finding, parseDiag, parseTsharkStreams, RAW_SENDER, relayJitterMs, requireTshark, runDiag, startTshark } from '../support/diag';

const BASE = 28100;

function workDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `rtpcast-faults-${tag}-`));
  chmodSync(d, 0o755);
  return d;
}

function snapshotOf(r: { data?: unknown }): PacketSnapshot {
  return (r.data as { snapshot: PacketSnapshot }).snapshot;
}

// ---------------------------------------------------------------------------------------------
// F1

test('F1: PulseAudio module-rtp-send at 48 kHz (dynamic PT, no SDP): diag packets says an SDP with a=rtpmap is needed and prints one that ffmpeg plays', { timeout: 120_000 }, async (t) => {
  requirePulse();
  requireProgram('ffmpeg');
  const ns = createMulticastNetns('f1');
  const procs = new Procs();
  const dir = workDir('f1');
  const PORT = 46020;
  try {
    chmodSync(dir, 0o700);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: dir, HOME: dir, PULSE_RUNTIME_PATH: join(dir, 'pulse') };
    delete env.PULSE_SERVER;
    const pa = procs.start([...ns.exec, 'pulseaudio', '--daemonize=no', '--exit-idle-time=-1', '-n', '--use-pid-file=no', '--load=module-native-protocol-unix', '--load=module-null-sink sink_name=rtp rate=48000 channels=2'], { env });
    const pactl = (args: string[]) => spawnSync('pactl', args, { env, encoding: 'utf8', timeout: 5000 });
    for (let i = 0; i < 100 && pactl(['info']).status !== 0; i++) await sleep(100);
    assert.equal(pactl(['info']).status, 0, `PulseAudio did not start:\n${pa.describe()}`);
    // the seed's command: pactl load-module module-rtp-send (destination 224.0.0.56 by default)
    const mod = pactl(['load-module', 'module-rtp-send', 'source=rtp.monitor', `port=${PORT}`, 'loop=1']);
    assert.equal(mod.status, 0, `module-rtp-send: ${mod.stderr}`);
    const wav = join(dir, 'tone.wav');
    writeFileSync(wav, encodeWavS16(new ToneGenerator({ rate: 48000, channels: 2 }, 730, -12).next(48000 * 40), 48000, 2));
    procs.start(['paplay', '--device=rtp', wav], { env });
    await sleep(500);

    // (F2 as the seed met it) listening on the port without joining the group: nothing, and diag says why
    const a = await runDiag(procs, ['packets', '--port', String(PORT), '--duration', '1'], { prefix: ns.exec });
    t.diagnostic(`no group:\n${brief(a.report)}`);
    assert.equal(a.code, 1, a.proc.describe());
    assert.match(finding(a.report, 'packets.multicast-not-joined').title, new RegExp(`^the audio goes to multicast group 224\\.0\\.0\\.56 port ${PORT} \\(\\d+ datagrams`));
    const sap = finding(a.report, 'packets.sap-announced');
    assert.match(sap.title, new RegExp(`announces ".*" by SAP: it goes to 224\\.0\\.0\\.56:${PORT} \\(\\d+ L16/48000/2\\)`));
    assert.match(a.report.conclusion ?? '', /224\.0\.0\.56/);

    // joined, no SDP: PulseAudio's payload type is dynamic at 48 kHz
    const b = await runDiag(procs, ['packets', '--group', '224.0.0.56', '--port', String(PORT), '--duration', '3'], { prefix: ns.exec });
    t.diagnostic(`joined:\n${brief(b.report)}`);
    const st = snapshotOf(b.report).streams;
    assert.equal(st.length, 1, brief(b.report));
    assert.ok(st[0].payloadType >= 96, `PulseAudio used payload type ${st[0].payloadType}`);
    assert.equal(st[0].codec.encoding, 'L16');
    assert.equal(st[0].codec.clockRate, 48000);
    assert.equal(st[0].codec.channels, 2);
    const need = finding(b.report, 'packets.sdp-needed');
    assert.equal(need.severity, 'warn');
    assert.match(need.title, new RegExp(`need an SDP with a=rtpmap:${st[0].payloadType} L16/48000/2$`));
    assert.match(need.fix!, /-protocol_whitelist file,udp,rtp -i stream\.sdp/);
    const sdpText = need.detail!.split('(save it as stream.sdp):\n')[1];
    assert.ok(sdpText?.startsWith('v=0\n'), need.detail);
    const sdpPath = join(dir, 'stream.sdp');
    writeFileSync(sdpPath, sdpText.split('\n').join('\r\n') + '\r\n');
    assert.match(sdpText, /^c=IN IP4 224\.0\.0\.56\/1$/m);

    // the printed SDP is valid and playable...
    const c = await runDiag(procs, ['sdp', sdpPath]);
    t.diagnostic(`diag sdp of the printed SDP:\n${brief(c.report)}`);
    assert.equal(finding(c.report, 'sdp.playable').severity, 'ok');
    assert.ok(!c.report.findings.some((f) => f.severity === 'problem'), brief(c.report));
    // ...and real ffmpeg plays PulseAudio's stream with it
    const out = join(dir, 'out.wav');
    const ff = await procs.run([...ns.exec, 'ffmpeg', '-hide_banner', '-nostdin', '-protocol_whitelist', 'file,udp,rtp', '-i', sdpPath, '-t', '3', '-y', out], 40_000);
    assert.equal(ff.exit?.code, 0, ff.describe());
    const tone = analyzeTone(parseWav(readFileSync(out)), { expectHz: 730 });
    t.diagnostic(`ffmpeg with the printed SDP: ${JSON.stringify(tone)}`);
    assert.ok(Math.abs(tone.frequencyHz - 730) / 730 < 0.005, `frequency ${tone.frequencyHz}`);
    assert.ok(tone.activeSeconds > 2.5, `${tone.activeSeconds} s of tone`);
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('F1: an SDP without a=rtpmap for its dynamic payload type: diag sdp names the missing line and the fix', { timeout: 30_000 }, async () => {
  const procs = new Procs();
  const dir = workDir('f1b');
  try {
    const p = join(dir, 'broken.sdp');
    writeFileSync(p, 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=pulse\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 127\r\na=recvonly\r\n');
    const r = await runDiag(procs, ['sdp', p]);
    assert.equal(r.code, 1, r.proc.describe());
    const f = finding(r.report, 'sdp.rtpmap-missing');
    assert.equal(f.severity, 'problem');
    assert.equal(f.line, 6);
    assert.match(f.title, /Payload type 127 is dynamic and has no a=rtpmap/);
    assert.match(f.fix!, /^Add after line 6: a=rtpmap:127 /);
    // text mode prints the same fix
    const text = await procs.run(cli(['diag', 'sdp', p]), 30_000);
    assert.match(text.stdout, /To fix:[\s\S]*a=rtpmap:127 /);
  } finally {
    await procs.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// F2

test('F2: rtpcast send to 224.0.0.56 and a receiver that never joins: diag packets finds the group (in a network namespace)', { timeout: 90_000 }, async (t) => {
  const ns = createMulticastNetns('f2');
  const procs = new Procs();
  const PORT = BASE + 20;
  try {
    const sender = procs.start(cli(['send', '--tone', '630', '--dest', `224.0.0.56:${PORT}`, '--duration', '30', '--quiet'], ns.exec));
    await sleep(800);
    assert.ok(sender.running, sender.describe());
    const r = await runDiag(procs, ['packets', '--port', String(PORT), '--duration', '1'], { prefix: ns.exec });
    t.diagnostic(brief(r.report));
    assert.equal(r.code, 1);
    assert.equal(r.report.findings[0].id, 'packets.none');
    const f = finding(r.report, 'packets.multicast-not-joined');
    assert.equal(f.severity, 'problem');
    assert.match(f.title, new RegExp(`^the audio goes to multicast group 224\\.0\\.0\\.56 port ${PORT} \\(\\d+ datagrams in [\\d.]+ s from [\\d.]+:\\d+\\), but nothing here joined the group$`));
    assert.match(f.fix!, new RegExp(`rtpcast diag packets --group 224\\.0\\.0\\.56 --port ${PORT}`));
    assert.equal(r.report.conclusion, `the stream is multicast to 224.0.0.56:${PORT} and nothing here joined the group`);
    assert.ok(!r.report.findings.some((x) => x.id === 'packets.sender-missing'), 'the sender was found');
    // following the fix: joined, the stream is there
    const j = await runDiag(procs, ['packets', '--group', '224.0.0.56', '--port', String(PORT), '--duration', '1.5'], { prefix: ns.exec });
    assert.equal(snapshotOf(j.report).streams.length, 1, brief(j.report));
  } finally {
    await procs.cleanup();
    ns.remove();
  }
});

/**
 * TTL 0. What can be reproduced here is the diagnosis, not the loss: on this kernel (Linux 6.18 in
 * the test VM) a datagram sent with IP_MULTICAST_TTL 0 still leaves through a veth to another
 * namespace (tshark on the peer shows it with TTL 0 and the receiver gets it), and there is no
 * multicast router here (smcroute/pimd) to drop it on the way. So the test asserts that (1) the
 * SDP of `rtpcast send --ttl 0` is flagged by diag sdp with the fix, and (2) when nothing arrives on
 * a joined group, diag packets lists the TTL cause with its fix (and the route and join are checked
 * and fine), in a namespace where nothing is sent.
 */
test('F2: multicast TTL 0: diag sdp flags the sender\'s c=GROUP/0; with nothing arriving on a joined group diag packets names the TTL cause (network namespace)', { timeout: 90_000 }, async (t) => {
  const ns = createMulticastNetns('f2ttl');
  const procs = new Procs();
  const GROUP = '239.255.28.1';
  const PORT = BASE + 30;
  const dir = workDir('f2ttl');
  try {
    const sdp0 = join(dir, 'ttl0.sdp');
    const w = await procs.run(cli(['send', '--tone', '630', '--dest', `${GROUP}:${PORT}`, '--ttl', '0', '--sdp', sdp0, '--duration', '0.2', '--quiet'], ns.exec), 30_000);
    assert.equal(w.exit?.code, 0, w.describe());
    assert.match(readFileSync(sdp0, 'utf8'), /^c=IN IP4 239\.255\.28\.1\/0\r$/m);
    const s = await runDiag(procs, ['sdp', sdp0]);
    t.diagnostic(brief(s.report));
    assert.equal(s.code, 1);
    const z0 = finding(s.report, 'sdp.c-ttl-zero');
    assert.equal(z0.severity, 'problem');
    assert.match(z0.title, /TTL 0: the multicast stream is not meant to leave the sending machine/);
    assert.match(z0.fix!, /rtpcast send --ttl 1/);
    const z = await runDiag(procs, ['packets', '--group', GROUP, '--port', String(PORT), '--duration', '1'], { prefix: ns.exec });
    t.diagnostic(brief(z.report));
    assert.equal(z.code, 1);
    assert.equal(z.report.findings[0].id, 'packets.none');
    assert.equal(finding(z.report, 'packets.multicast-route').severity, 'ok');
    assert.equal(finding(z.report, 'packets.multicast-join').severity, 'ok');
    const ttl = finding(z.report, 'packets.multicast-ttl');
    assert.match(ttl.title, /TTL must be at least 1: TTL 0 means "this host only"/);
    assert.match(ttl.fix!, new RegExp(`rtpcast send --dest ${GROUP.replace(/\./g, '\\.')}:${PORT} --ttl 1`));
    finding(z.report, 'packets.multicast-wifi');
    finding(z.report, 'packets.sender-missing');
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// F3

test('F3: an nftables rule drops the RTP port (network namespace): diag firewall names the rule and the fix; diag packets concludes "firewall"', { timeout: 90_000 }, async (t) => {
  requireProgram('ip');
  const nft = spawnSync('nft', ['--version'], { timeout: 10_000 });
  if (nft.error || nft.status !== 0) throw new Error('nft not found: sudo apt-get install nftables');
  const ns = createMulticastNetns('f3');
  const procs = new Procs();
  const PORT = BASE + 40;
  try {
    const rules = `table inet rtpcast_f3 {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    udp dport ${PORT} counter drop\n  }\n}\n`;
    const load = spawnSync('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], { input: rules, encoding: 'utf8', timeout: 10_000 });
    assert.equal(load.status, 0, `nft -f: ${load.stderr}`);
    const fw = await runDiag(procs, ['firewall', '--port', String(PORT)], { prefix: ns.exec });
    t.diagnostic(brief(fw.report));
    assert.equal(fw.code, 1);
    const blocked = fw.report.findings.find((f) => f.severity === 'problem' && f.id.startsWith('firewall.'));
    assert.ok(blocked, brief(fw.report));
    assert.match(`${blocked.title} ${blocked.detail ?? ''}`, new RegExp(`rtpcast_f3|udp dport ${PORT}`));
    assert.match(blocked.fix ?? '', /nft /);
    // with a sender running, diag packets gets nothing and puts the firewall first
    const sender = procs.start(cli(['send', '--tone', '630', '--dest', `127.0.0.1:${PORT}`, '--duration', '30', '--quiet'], ns.exec));
    await sleep(600);
    const p = await runDiag(procs, ['packets', '--port', String(PORT), '--duration', '1.5'], { prefix: ns.exec });
    t.diagnostic(brief(p.report));
    assert.ok(sender.running, sender.describe());
    assert.equal(p.code, 1);
    assert.equal(p.report.findings[0].id, 'packets.none');
    assert.equal(p.report.conclusion, blocked.title);
  } finally {
    await procs.cleanup();
    ns.remove();
  }
});

// ---------------------------------------------------------------------------------------------
// F4

/** RTP L16 48 kHz stereo, 5 ms packets, 630/870 Hz tone, samples written LITTLE-endian (a sender that forgot the swap). argv: port seconds */
const LE_SENDER = `
const dgram = require('node:dgram');
const [port, seconds] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const N = 240, RATE = 48000;
let k = 0;
const t0 = process.hrtime.bigint();
const total = Math.round(seconds * RATE / N);
function tick() {
  const now = Number(process.hrtime.bigint() - t0) / 1e9;
  while (k < total && k * N / RATE <= now) {
    const b = Buffer.alloc(12 + N * 4);
    b[0] = 0x80; b[1] = 96; b.writeUInt16BE(k & 0xffff, 2); b.writeUInt32BE((k * N) >>> 0, 4); b.writeUInt32BE(0x1e1e1e1e, 8);
    for (let f = 0; f < N; f++) {
      const n = k * N + f;
      b.writeInt16LE(Math.round(9000 * Math.sin(2 * Math.PI * 630 * n / RATE)), 12 + f * 4);
      b.writeInt16LE(Math.round(7000 * Math.sin(2 * Math.PI * 870 * n / RATE)), 12 + f * 4 + 2);
    }
    s.send(b, port, '127.0.0.1');
    k++;
  }
  if (k < total) setTimeout(tick, 2); else setTimeout(() => s.close(), 50);
}
tick();
`;

test('F4: 48 kHz labelled 44.1 kHz, s16le labelled L16, mono labelled stereo: diag format names each', { timeout: 90_000 }, async (t) => {
  const procs = new Procs();
  const P = [BASE + 50, BASE + 52, BASE + 54];
  try {
    for (const p of P) assertUdpPortFree(p);
    const common = ['--duration', '3', '--codec', 'l16', '--pt', '96'];
    const checks = [
      procs.start(cli(['diag', 'format', '--port', String(P[0]), ...common, '--rate', '44100', '--channels', '2', '--json'])),
      procs.start(cli(['diag', 'format', '--port', String(P[1]), ...common, '--rate', '48000', '--channels', '2', '--json'])),
      procs.start(cli(['diag', 'format', '--port', String(P[2]), ...common, '--rate', '48000', '--channels', '2', '--json'])),
    ];
    await sleep(700);
    procs.start(cli(['send', '--tone', '630', '--codec', 'l16', '--rate', '48000', '--channels', '2', '--pt', '96', '--dest', `127.0.0.1:${P[0]}`, '--duration', '5', '--quiet']));
    procs.start([process.execPath, '-e', LE_SENDER, String(P[1]), '5']);
    procs.start(cli(['send', '--tone', '630', '--codec', 'l16', '--rate', '48000', '--channels', '1', '--pt', '96', '--dest', `127.0.0.1:${P[2]}`, '--duration', '5', '--quiet']));
    const [rate, order, mono] = await Promise.all(checks.map(async (c) => {
      await c.waitExit(30_000);
      return parseDiag(c);
    }));
    t.diagnostic(`48k as 44.1k:\n${brief(rate.report)}\n\nLE as L16:\n${brief(order.report)}\n\nmono as stereo:\n${brief(mono.report)}`);
    for (const r of [rate, order, mono]) assert.equal(r.code, 1, r.proc.describe());
    const fr = finding(rate.report, 'format.rate');
    assert.equal(fr.severity, 'problem');
    assert.match(fr.title, /^the sender is 48000 Hz, the receiver assumes 44100: audio will play 8\.8% slow/);
    assert.ok(fr.fix);
    const bo = finding(order.report, 'format.byte-order');
    assert.equal(bo.severity, 'problem');
    assert.match(bo.title, /little-endian/i);
    assert.ok(bo.fix);
    assert.equal(finding(order.report, 'format.rate').severity, 'ok');
    const ch = finding(mono.report, 'format.channels');
    assert.equal(ch.severity, 'problem');
    assert.match(`${ch.title} ${ch.detail ?? ''}`, /mono|1 channel/i);
    assert.ok(ch.fix);
  } finally {
    await procs.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------
// F5

interface CpuJson { measurements: { complexity?: number; codec: string; direction: string; realTimeFactor: number; wallRealTimeFactor: number; effectiveRealTimeFactor: number }[]; limit: { cores: number; source: string } | null }

/** A cpu cgroup of our own (v2: cpu.max; v1: cpu.cfs_quota_us), or an error saying why not. */
function makeCpuCgroup(name: string, cores: number): { dir: string; remove(): void } {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const root = v2 ? '/sys/fs/cgroup' : '/sys/fs/cgroup/cpu';
  if (!existsSync(join(root, 'cgroup.procs'))) throw new Error(`no writable cpu cgroup hierarchy at ${root} (mount cgroup2 on /sys/fs/cgroup, or the v1 cpu controller)`);
  const dir = join(root, name);
  if (existsSync(dir)) rmdirSync(dir);
  mkdirSync(dir);
  const period = 100_000;
  const quota = Math.max(1000, Math.round(cores * period));
  let enabledCpu = false;
  if (v2) {
    const ctl = readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8');
    if (!/\bcpu\b/.test(ctl)) {
      writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+cpu');
      enabledCpu = true;
    }
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
  } else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
  }
  return {
    dir,
    remove() {
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          spawnSync('sleep', ['0.1']);
        }
      }
      if (enabledCpu) {
        try { writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '-cpu'); } catch { /* another group uses it now: leave it on */ }
      }
    },
  };
}

test('F5: the encoder cannot keep up (diag cpu inside a cgroup with a CPU quota below what Opus needs): the recommendation changes to L16', { timeout: 180_000 }, async (t) => {
  if (process.getuid && process.getuid() !== 0) throw new Error('creating a cgroup needs root: run the interop tests as root');
  const procs = new Procs();
  let cg: { dir: string; remove(): void } | undefined;
  try {
    const free = await runDiag(procs, ['cpu', '--seconds', '1'], { timeoutMs: 60_000 });
    const c10 = (free.report.data as CpuJson).measurements.find((m) => m.codec === 'opus' && m.complexity === 10)!;
    const freeRec = finding(free.report, 'cpu.recommend');
    t.diagnostic(`no limit: Opus c10 ${c10.realTimeFactor.toFixed(0)}x (wall ${c10.wallRealTimeFactor.toFixed(0)}x); ${freeRec.severity}: ${freeRec.title}`);
    assert.notEqual(freeRec.severity, 'problem', brief(free.report));
    // a quota that leaves Opus c10 at about half real time (the kernel's minimum is 1% of a core)
    const cores = Math.max(0.01, 0.5 / c10.realTimeFactor);
    assert.ok(c10.realTimeFactor * cores < 1, `this machine is too fast for the smallest quota (1% of a core): Opus c10 at ${c10.realTimeFactor.toFixed(0)}x`);
    cg = makeCpuCgroup(`rtpcast-${process.pid}-f5`, cores);
    // the shell only moves itself into the cgroup and execs rtpcast (arguments passed as "$@", no text interpolated)
    const p = await procs.run(['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cg.dir, ...cli(['diag', 'cpu', '--seconds', '1', '--json'])], 170_000);
    const lim = parseDiag(p);
    const d = lim.report.data as CpuJson;
    const l10 = d.measurements.find((m) => m.codec === 'opus' && m.complexity === 10)!;
    t.diagnostic(`quota ${(cores * 100).toFixed(1)}% of a core:\n${brief(lim.report)}\nOpus c10 effective ${l10.effectiveRealTimeFactor.toFixed(2)}x, wall ${l10.wallRealTimeFactor.toFixed(2)}x`);
    assert.equal(lim.code, 1, p.describe());
    assert.ok(d.limit && Math.abs(d.limit.cores - Math.max(1000, Math.round(cores * 100_000)) / 100_000) < 1e-9, JSON.stringify(d.limit));
    assert.match(finding(lim.report, 'cpu.limit').title, /% of one core \(CPU quota\)/);
    assert.ok(l10.effectiveRealTimeFactor < 1, `effective ${l10.effectiveRealTimeFactor}`);
    // the wall clock agrees on its own: throttled, the encoder really falls behind real time
    assert.ok(l10.wallRealTimeFactor < 1.5, `wall-clock real-time factor ${l10.wallRealTimeFactor}`);
    assert.match(finding(lim.report, 'cpu.opus-encode-c10').title, /CANNOT keep up/);
    const rec = finding(lim.report, 'cpu.recommend');
    assert.equal(rec.severity, 'problem');
    assert.match(rec.title, /cannot encode Opus in real time/);
    assert.match(rec.fix!, /rtpcast send --codec l16/);
  } finally {
    await procs.cleanup();
    cg?.remove();
  }
});

// ---------------------------------------------------------------------------------------------
// F6

test('F6: ffmpeg refuses an .sdp without -protocol_whitelist; diag sdp prints the command with it, and that command decodes the tone', { timeout: 90_000 }, async (t) => {
  requireProgram('ffmpeg');
  const procs = new Procs();
  const dir = workDir('f6');
  const PORT = BASE + 60;
  try {
    assertUdpPortFree(PORT);
    const sdp = join(dir, 'stream.sdp');
    const sender = procs.start(cli(['send', '--tone', '870', '--codec', 'l16', '--rate', '48000', '--channels', '2', '--dest', `127.0.0.1:${PORT}`, '--sdp', sdp, '--duration', '12', '--quiet']));
    for (let i = 0; i < 100 && !existsSync(sdp); i++) await sleep(50);
    assert.ok(existsSync(sdp), sender.describe());
    // what the seed's author met
    const refused = await procs.run(['ffmpeg', '-hide_banner', '-nostdin', '-i', 'stream.sdp', '-t', '1', '-y', 'refused.wav'], 20_000, { cwd: dir });
    assert.notEqual(refused.exit?.code, 0);
    assert.match(refused.stderr, /not on whitelist/);
    // diag sdp: text output has the commands; JSON has the same
    const text = await procs.run(cli(['diag', 'sdp', 'stream.sdp']), 30_000, { cwd: dir });
    assert.equal(text.exit?.code, 0, text.describe());
    const line = text.stdout.split('\n').find((l) => /^\s+ffmpeg\s+ffmpeg /.test(l));
    assert.ok(line, text.stdout);
    const printed = line.trim().replace(/^ffmpeg\s+/, '');
    t.diagnostic(`printed: ${printed}`);
    assert.equal(printed, 'ffmpeg -protocol_whitelist file,udp,rtp -i stream.sdp out.wav');
    assert.match(text.stdout, /ffplay\s+ffplay -nodisp -protocol_whitelist file,udp,rtp -i stream\.sdp/);
    // run it as printed (split on spaces: it contains no quoting), stopped with q after 3 s
    const argv = printed.split(' ');
    const ff = procs.start(argv, { cwd: dir });
    await sleep(3500);
    ff.signal('SIGINT');
    const ex = await ff.waitExit(10_000);
    assert.ok(ex, ff.describe());
    const wav = join(dir, 'out.wav');
    assert.ok(existsSync(wav), ff.describe());
    const tone = analyzeTone(parseWav(readFileSync(wav)), { expectHz: 870 });
    t.diagnostic(JSON.stringify(tone));
    assert.ok(Math.abs(tone.frequencyHz - 870) / 870 < 0.005, `frequency ${tone.frequencyHz}`);
    assert.ok(tone.activeSeconds > 2, `${tone.activeSeconds} s of tone`);
    assert.ok(tone.longestGapMs <= 30, `gap ${tone.longestGapMs} ms`);
  } finally {
    await procs.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// F7

test('F7: 5% loss and 30 ms jitter (seeded relay): diag jitter matches the relay\'s plan and tshark, recommends a latency and Opus FEC', { timeout: 120_000 }, async (t) => {
  requireTshark();
  const PORT = BASE + 70;
  const SECONDS = 4;
  const procs = new Procs();
  const impair: ImpairmentOptions = { seed: 20_261_122, lossPct: 5, jitterMs: 30, packetIntervalMs: 5 };
  let relay: UdpRelay | undefined;
  try {
    assertUdpPortFree(PORT);
    const tshark = await startTshark(procs, PORT);
    relay = await UdpRelay.start({ listenPort: 0, forwardPort: PORT, impair });
    const diag = procs.start(cli(['diag', 'jitter', '--port', String(PORT), '--duration', String(SECONDS + 3), '--json']));
    await sleep(700);
    const sender = await procs.run(cli(['send', '--tone', '630', '--codec', 'l16', '--rate', '44100', '--channels', '2', '--dest', `127.0.0.1:${relay.listenPort}`, '--duration', String(SECONDS), '--quiet']), (SECONDS + 20) * 1000);
    assert.equal(sender.exit?.code, 0, sender.describe());
    await diag.waitExit(20_000);
    const r = parseDiag(diag);
    await tshark.stop('SIGINT', 10_000);
    await relay.close();
    const plan = planImpairments(impair, relay.stats().received, 5);
    assert.equal(plan.filter((p, i) => p.drop !== (relay!.events[i]?.fate === 'dropped')).length, 0, 'the relay did not follow its seeded plan');
    const delivered = plan.filter((p) => !p.drop).map((p) => p.index);
    const first = Math.min(...delivered);
    const last = Math.max(...delivered);
    const visibleLost = plan.filter((p) => p.index > first && p.index < last && p.drop).length;
    const sum = summarizePlan(plan);
    const rj = relayJitterMs(relay, 44100);
    const st = snapshotOf(r.report).streams;
    assert.equal(st.length, 1, brief(r.report));
    const x = st[0].stats;
    const ts = parseTsharkStreams(tshark.stdout);
    t.diagnostic(`plan: loss ${sum.lossPct.toFixed(2)}%, lost ${visibleLost} of ${last - first + 1}, jitter ${sum.rfc3550JitterMs.toFixed(2)} ms; relay sends ${rj.toFixed(2)} ms`);
    t.diagnostic(`diag jitter: lost ${x.lost} of ${x.expected} (${x.lostPct.toFixed(2)}%), jitter ${x.jitterMs.toFixed(2)} ms, max ${x.maxJitterMs.toFixed(2)}; tshark ${JSON.stringify(ts)}`);
    t.diagnostic(brief(r.report));
    const loss = finding(r.report, 'packets.loss');
    assert.equal(loss.severity, x.lostPct >= 5 ? 'problem' : 'warn');
    assert.equal(r.code, x.lostPct >= 5 ? 1 : 0, 'exit 1 from 5% loss up, a warning below');
    // loss: exact against the plan and against tshark
    assert.equal(x.expected, last - first + 1);
    assert.equal(x.lost, visibleLost);
    assert.ok(Math.abs(x.lostPct - 5) <= 1.5, `loss ${x.lostPct}%`);
    assert.equal(ts.length, 1, tshark.stdout);
    assert.equal(ts[0].packets, x.packets);
    assert.equal(ts[0].lost, x.lost);
    // jitter: the plan, what the relay really sent, tshark's max
    assert.ok(Math.abs(x.jitterMs - sum.rfc3550JitterMs) <= Math.max(1.5, 0.3 * sum.rfc3550JitterMs), `jitter ${x.jitterMs} vs plan ${sum.rfc3550JitterMs}`);
    assert.ok(Math.abs(x.jitterMs - rj) <= 1, `jitter ${x.jitterMs} vs relay ${rj}`);
    assert.ok(Math.abs(ts[0].maxJitterMs - x.maxJitterMs) <= Math.max(1, 0.15 * ts[0].maxJitterMs), `max jitter ${x.maxJitterMs} vs tshark ${ts[0].maxJitterMs}`);
    // advice: only the jitter findings (diag jitter), a latency covering the spread, Opus with FEC
    assert.ok(r.report.findings.every((f) => f.id.startsWith('jitter.') || ['packets.summary', 'packets.none', 'packets.loss'].includes(f.id)), brief(r.report));
    const lat = finding(r.report, 'jitter.latency');
    const ms = Number(/--latency (\d+)/.exec(lat.title)?.[1]);
    assert.ok(ms >= 30 + 5 && ms <= 80, `latency ${ms} ms for 30 ms of uniform jitter and 5 ms packets: ${lat.detail}`);
    const fec = finding(r.report, 'jitter.fec');
    assert.equal(fec.severity, 'warn');
    assert.match(fec.title, /L16 has no FEC; Opus with FEC would rebuild about \d+% of it/);
    assert.equal(fec.fix, 'rtpcast send --codec opus   (in-band FEC is on by default)');
  } finally {
    await procs.cleanup();
    await relay?.close();
  }
});

// ---------------------------------------------------------------------------------------------
// F8

test('F8: a silent capture source (null sink monitor, private PulseAudio): diag devices --level and doctor --sender say so; send warns after 10 s', { timeout: 120_000 }, async (t) => {
  const pulse = await PulseDaemon.start([{ name: 'quiet', rate: 48000, channels: 2 }, { name: 'music', rate: 48000, channels: 2 }]);
  const procs = new Procs();
  const PORT = BASE + 80;
  try {
    pulse.pactl(['set-default-source', 'quiet.monitor']);
    pulse.pactl(['set-default-sink', 'quiet']);
    await pulse.playTone('player', 730, 'music', 60);
    const env = pulse.env;
    const lv = await procs.run(cli(['diag', 'devices', '--level']), 60_000, { env });
    t.diagnostic(lv.stdout);
    assert.equal(lv.exit?.code, 0, lv.describe());
    assert.match(lv.stdout, /quiet\.monitor[^\n]*silent/);
    assert.doesNotMatch(lv.stdout, /music\.monitor[^\n]*silent/);
    const doc = await runDiag(procs, ['doctor', '--sender'], { env, timeoutMs: 90_000 });
    t.diagnostic(brief(doc.report));
    assert.equal(doc.code, 1);
    const silent = finding(doc.report, 'devices.silent', (f) => f.severity === 'problem');
    assert.match(silent.title, /^quiet\.monitor \(default\): silent for 2 s/);
    assert.match(silent.fix!, /rtpcast send --source device:music\.monitor/);
    assert.match(doc.report.conclusion ?? '', /quiet\.monitor \(default\): silent/);
    // send from the silent source: a warning after the silence period (10 s)
    const send = await procs.run(cli(['send', '--source', 'device:quiet.monitor', '--dest', `127.0.0.1:${PORT}`, '--duration', '12', '--json']), 40_000, { env });
    const warnings = send.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; message?: string }).filter((e) => e.event === 'warning');
    t.diagnostic(JSON.stringify(warnings));
    assert.ok(warnings.some((w) => /no sound from .*quiet\.monitor.* for 10 s/.test(w.message ?? '') && /rtpcast devices --level/.test(w.message ?? '')), send.describe());
  } finally {
    await procs.cleanup();
    await pulse.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// F9

const HOLDER = `const s=require('dgram').createSocket('udp4');s.bind(Number(process.argv[1]),'0.0.0.0',()=>console.log('bound'));setTimeout(()=>{},60000);`;

test('F9: a port held by another process: diag ports names it (name, pid, kill), diag packets says the port is busy', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  const PORT = BASE + 90;
  try {
    assertUdpPortFree(PORT);
    const holder = procs.start([process.execPath, '-e', HOLDER, String(PORT)]);
    for (let i = 0; i < 100 && !holder.stdout.includes('bound'); i++) await sleep(50);
    assert.ok(holder.stdout.includes('bound'), holder.describe());
    const r = await runDiag(procs, ['ports', String(PORT)]);
    t.diagnostic(brief(r.report));
    assert.equal(r.code, 1);
    const busy = finding(r.report, 'port.busy');
    assert.equal(busy.severity, 'problem');
    assert.equal(busy.title, `UDP port ${PORT} is in use by node (pid ${holder.pid}) on 0.0.0.0:${PORT}`);
    assert.match(busy.fix!, new RegExp(`^stop it: kill ${holder.pid}\\n`));
    const p = await runDiag(procs, ['packets', '--port', String(PORT), '--duration', '1']);
    t.diagnostic(brief(p.report));
    assert.equal(p.code, 1);
    const pb = finding(p.report, 'packets.port-busy');
    assert.match(pb.title, new RegExp(`UDP port ${PORT} is held by another program`));
    assert.match(pb.fix!, new RegExp(`rtpcast diag ports ${PORT}`));
    // diag doctor with a busy port: test/interop/diag-doctor.test.ts
  } finally {
    await procs.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------
// raw PCM

test('raw s16le PCM without RTP (the seed\'s script): diag packets says raw PCM, not RTP', { timeout: 60_000 }, async (t) => {
  const procs = new Procs();
  const PORT = BASE + 96;
  try {
    assertUdpPortFree(PORT);
    const diag = procs.start(cli(['diag', 'packets', '--port', String(PORT), '--duration', '4', '--json']));
    await sleep(700);
    procs.start([process.execPath, '-e', RAW_SENDER, String(PORT), '3']);
    await diag.waitExit(30_000);
    const r = parseDiag(diag);
    t.diagnostic(brief(r.report));
    assert.equal(r.code, 1);
    const raw = finding(r.report, 'packets.raw-pcm');
    assert.equal(raw.severity, 'problem');
    assert.match(raw.title, /^raw PCM without RTP from 127\.0\.0\.1:\d+: no player can know its format$/);
    assert.match(raw.detail!, /s16le, stereo/);
    assert.match(raw.detail!, /= 44100 Hz x 2 channel\(s\) x 2 bytes/);
    assert.match(raw.fix!, /^send RTP with an SDP: rtpcast send --input - --format s16le --input-rate 44100 --input-channels 2/);
    assert.equal(snapshotOf(r.report).streams.length, 0);
    assert.equal(r.report.conclusion, raw.title);
  } finally {
    await procs.cleanup();
  }
});
