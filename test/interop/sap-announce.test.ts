/**
 * SAP announcements between rtpcast and real peers, inside a network namespace of our own whose
 * loopback carries multicast (never the host's interfaces):
 *  - PulseAudio's module-rtp-recv finds an rtpcast L16 stream from `send --announce` alone and
 *    plays it into a null sink, whose monitor carries the tone;
 *  - `rtpcast list` shows streams announced by rtpcast and by PulseAudio's module-rtp-send, and
 *    their deletion when the senders stop;
 *  - `rtpcast play --sap NAME` picks the named one of two announced streams, and names the ones it
 *    saw when none matches;
 *  - VLC's SAP discovery (cvlc --services-discovery sap) lists the stream and plays it. Debian's
 *    VLC 3.0 has no live555: its SAP module turns an announcement into an rtp:// item only for
 *    payload types its rtp access knows statically, so this runs L16 44.1 kHz stereo (PT 10);
 *    L16 48 kHz and Opus (dynamic PT) are listed but cannot be played by that build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeTone } from '../../src/audio/analysis';
import { parseWav } from '../../src/audio/wav';
import { createMulticastNetns, type Netns } from '../support/netns';
import { Procs, sleep, type Proc } from '../support/procs';
import { RTPCAST_CLI, vlcPrefix } from '../support/peers';
import { requirePulse, eventually } from '../support/pulse';

const CLI = [process.execPath, RTPCAST_CLI];

interface Daemon {
  env: NodeJS.ProcessEnv;
  dir: string;
  pactl(args: string[]): string;
}

/** A private PulseAudio daemon inside the namespace (its network modules use the namespace's sockets). */
async function pulseInNetns(ns: Netns, procs: Procs, sinks: string[]): Promise<Daemon> {
  requirePulse();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-sapa-'));
  chmodSync(dir, 0o700);
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: dir, HOME: dir, PULSE_RUNTIME_PATH: join(dir, 'pulse'), LC_ALL: 'C' };
  delete env.PULSE_SERVER;
  const args = [...ns.exec, 'pulseaudio', '--daemonize=no', '--exit-idle-time=-1', '-n', '--use-pid-file=no', '--log-level=info', '--load=module-native-protocol-unix'];
  for (const s of sinks) args.push(`--load=module-null-sink sink_name=${s} rate=48000 channels=2`);
  const pa = procs.start(args, { env });
  const pactl = (a: string[]): string => {
    const r = spawnSync('pactl', a, { env, encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0) throw new Error(`pactl ${a.join(' ')} failed: ${r.stderr}\n${pa.describe()}`);
    return r.stdout;
  };
  const ok = await eventually(() => spawnSync('pactl', ['info'], { env, timeout: 3000 }).status === 0, 10_000);
  assert.ok(ok, `PulseAudio did not start:\n${pa.describe()}`);
  return { env, dir, pactl };
}

function events(p: Proc): Record<string, unknown>[] {
  return p.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

function pcmFromRaw(path: string): { rate: number; channels: number; samples: Float32Array } {
  const b = readFileSync(path);
  const samples = new Float32Array(b.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(2 * i) / 32768;
  return { rate: 48000, channels: 2, samples };
}

test('PulseAudio module-rtp-recv plays an rtpcast L16 stream found by SAP alone', { timeout: 90_000 }, async (t) => {
  const ns = createMulticastNetns('sapa');
  const procs = new Procs();
  let dir: string | undefined;
  try {
    const pa = await pulseInNetns(ns, procs, ['rtp']);
    dir = pa.dir;
    // module-rtp-recv listens for SAP on 224.0.0.56 (its default) and joins the announced group.
    pa.pactl(['load-module', 'module-rtp-recv', 'sink=rtp', 'latency_msec=200']);
    const send = procs.start([...ns.exec, ...CLI, 'send', '--tone', '660', '--tone-level', '-12', '--codec', 'l16', '--dest', '239.255.12.34:5004', '--announce', '--name', 'rtpcast to pulse', '--duration', '30', '--json']);
    // PulseAudio creates a sink input "RTP Stream (NAME)" when the announcement arrives.
    const found = await eventually(() => pa.pactl(['list', 'sink-inputs']).includes('rtp.session = "rtpcast to pulse"'), 15_000);
    assert.ok(found, `PulseAudio did not pick up the announcement:\n${pa.pactl(['list', 'sink-inputs'])}\n${send.describe()}`);
    await sleep(1000); // past its 200 ms latency
    const raw = join(pa.dir, 'monitor.raw');
    const rec = procs.start(['parec', '--device=rtp.monitor', '--raw', '--format=s16le', '--rate=48000', '--channels=2', raw], { env: pa.env });
    await sleep(4000);
    await rec.stop('SIGINT', 3000);
    assert.ok(existsSync(raw), rec.describe());
    const r = analyzeTone(pcmFromRaw(raw), { expectHz: 660 });
    t.diagnostic(`sink monitor: ${JSON.stringify(r)}`);
    assert.ok(r.seconds > 3, `${r.seconds} s recorded\n${rec.describe()}`);
    assert.ok(Math.abs(r.frequencyHz - 660) / 660 < 0.005, `frequency ${r.frequencyHz} Hz`);
    // -12 dBFS peak sine = -15 dBFS RMS; PulseAudio at volume 100 % passes it unchanged.
    assert.ok(Math.abs(r.levelDbfs - -15.05) < 1.5, `level ${r.levelDbfs} dBFS`);
    assert.ok(r.activeSeconds > 3, `${r.activeSeconds} s of tone`);
    // On exit rtpcast sends a deletion: PulseAudio drops the session at once (not after its 20 s timeout).
    send.signal('SIGINT');
    assert.ok(await send.waitExit(10_000), send.describe());
    assert.equal(send.exit?.code, 0, send.describe());
    const gone = await eventually(() => !pa.pactl(['list', 'sink-inputs']).includes('rtpcast to pulse'), 5000);
    assert.ok(gone, `the session outlived the deletion:\n${pa.pactl(['list', 'sink-inputs'])}`);
    const start = events(send).find((e) => e.event === 'start') as { stream: { payloadType: number }; announce: unknown } | undefined;
    assert.equal(start?.stream.payloadType, 127, 'announced L16: the payload type PulseAudio receives');
    assert.ok(start?.announce, send.stdout);
  } finally {
    await procs.cleanup();
    ns.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

test('rtpcast list shows streams announced by rtpcast and by PulseAudio module-rtp-send, and their deletion', { timeout: 90_000 }, async (t) => {
  const ns = createMulticastNetns('sapl');
  const procs = new Procs();
  let dir: string | undefined;
  try {
    const pa = await pulseInNetns(ns, procs, ['src']);
    dir = pa.dir;
    const list = procs.start([...ns.exec, ...CLI, 'list', '--duration', '12', '--json']);
    await sleep(500);
    // PulseAudio's defaults: RTP and SAP both to 224.0.0.56 (it announces to its destination group).
    const mod = pa.pactl(['load-module', 'module-rtp-send', 'source=src.monitor', 'port=46020', 'loop=1']).trim();
    const send = procs.start([...ns.exec, ...CLI, 'send', '--tone', '440', '--codec', 'l16', '--rate', '44100', '--channels', '1', '--dest', '239.255.12.34:5006', '--announce', '--name', 'Living room', '--duration', '6', '--quiet']);
    assert.ok(await send.waitExit(20_000), send.describe());
    assert.equal(send.exit?.code, 0, send.describe());
    await sleep(1000);
    pa.pactl(['unload-module', mod]); // PulseAudio sends its goodbye packet
    assert.ok(await list.waitExit(20_000), list.describe());
    assert.equal(list.exit?.code, 0, list.describe());
    const out = JSON.parse(list.stdout) as { streams: Record<string, unknown>[] };
    t.diagnostic(JSON.stringify(out.streams.map(({ sdp: _s, ...rest }) => rest)));
    const ours = out.streams.find((s) => s.name === 'Living room');
    assert.ok(ours, list.stdout);
    assert.equal(ours.address, '239.255.12.34');
    assert.equal(ours.port, 5006);
    assert.equal(ours.codec, 'L16');
    assert.equal(ours.rate, 44100);
    assert.equal(ours.channels, 1);
    assert.equal(ours.payloadType, 11, 'L16 44.1 kHz mono: the static payload type');
    assert.ok((ours.announcements as number) >= 1);
    assert.equal(ours.deleted, true, 'rtpcast withdrew its announcement on exit');
    const pulse = out.streams.find((s) => s.address === '224.0.0.56');
    assert.ok(pulse, `PulseAudio's stream is missing:\n${list.stdout}`);
    assert.equal(pulse.port, 46020);
    assert.equal(pulse.codec, 'L16');
    assert.equal(pulse.rate, 48000);
    assert.equal(pulse.channels, 2);
    assert.equal(pulse.deleted, true, 'unloading module-rtp-send withdraws its stream');
    // The human table, from one more short listen to a live sender.
    const send2 = procs.start([...ns.exec, ...CLI, 'send', '--tone', '440', '--codec', 'opus', '--dest', '239.255.12.36:5004', '--announce', '--name', 'Kitchen', '--duration', '10', '--quiet']);
    const table = await procs.run([...ns.exec, ...CLI, 'list', '--duration', '6'], 20_000);
    assert.equal(table.exit?.code, 0, table.describe());
    assert.match(table.stdout, /Kitchen .*239\.255\.12\.36:5004 .*opus 48000 Hz stereo \(PT 96\).*announced/, table.describe());
    assert.match(table.stderr, /play one: rtpcast play --sap "Kitchen"/);
    await send2.stop('SIGINT');
  } finally {
    await procs.cleanup();
    ns.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

test('rtpcast play --sap NAME plays the named one of two announced streams; an unknown name lists those seen', { timeout: 90_000 }, async (t) => {
  const ns = createMulticastNetns('sapp');
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-sapp-'));
  try {
    procs.start([...ns.exec, ...CLI, 'send', '--tone', '550', '--codec', 'l16', '--dest', '239.255.12.40:5004', '--announce', '--name', 'Living room', '--duration', '40', '--quiet']);
    procs.start([...ns.exec, ...CLI, 'send', '--tone', '770', '--codec', 'opus', '--dest', '239.255.12.41:5004', '--announce', '--name', 'Kitchen', '--duration', '40', '--quiet']);
    const out = join(dir, 'kitchen.wav');
    const play = await procs.run([...ns.exec, ...CLI, 'play', '--sap', 'kitchen', '--out', out, '--duration', '4', '--json'], 40_000);
    assert.equal(play.exit?.code, 0, play.describe());
    const start = events(play).find((e) => e.event === 'start') as { stream: { codec: string; from: string } } | undefined;
    assert.ok(start, play.describe());
    assert.equal(start.stream.codec, 'opus');
    assert.match(start.stream.from, /Kitchen/);
    const r = analyzeTone(parseWav(readFileSync(out)), { expectHz: 770 });
    t.diagnostic(`received: ${JSON.stringify(r)}`);
    assert.ok(Math.abs(r.frequencyHz - 770) / 770 < 0.005, `frequency ${r.frequencyHz}`);
    assert.ok(r.activeSeconds > 3, `${r.activeSeconds} s of tone`);
    assert.ok(Math.abs(r.levelDbfs - -15.05) < 1.5, `level ${r.levelDbfs} dBFS`);
    const miss = await procs.run([...ns.exec, ...CLI, 'play', '--sap', 'garage', '--out', join(dir, 'x.wav'), '--duration', '1'], 30_000);
    assert.equal(miss.exit?.code, 1, miss.describe());
    assert.match(miss.stderr, /no announced stream matches "garage" \(seen: .*("Living room".*"Kitchen"|"Kitchen".*"Living room")/, miss.describe());
    assert.match(miss.stderr, /rtpcast list/);
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Drives VLC's command-line interface (TCP, inside the namespace): prints the playlist until the
 * SAP node shows NAME, then `goto` its id. Run with `node -e` inside the namespace.
 */
const VLC_CLI_CLIENT = `
const net = require('node:net');
const [port, name] = process.argv.slice(1);
const end = Date.now() + 20000;
let s;
let buf = '';
let id;
// VLC opens its command port a moment after it starts (seconds on a loaded machine): retry until then
const connect = () => {
  s = net.connect(Number(port), '127.0.0.1');
  s.on('data', (b) => { buf += b.toString(); });
  s.on('error', (e) => {
    if (e.code === 'ECONNREFUSED' && Date.now() < end) { setTimeout(connect, 200); return; }
    console.error(e.message); process.exit(3);
  });
  s.on('connect', () => setTimeout(poll, 300));
};
const poll = () => {
  const m = new RegExp('\\\\|\\\\s+(\\\\d+) - ' + name.replace(/[.*+?^$()|[\\]\\\\]/g, '\\\\$&') + '\\\\s*$', 'm').exec(buf);
  if (m && !id) {
    id = m[1];
    s.write('goto ' + id + '\\n');
    setTimeout(() => { process.stdout.write(buf + '\\nplaying item ' + id + '\\n'); s.end(); process.exit(0); }, 1000);
    return;
  }
  if (Date.now() > end) { process.stdout.write(buf); process.exit(2); }
  buf = '';
  s.write('playlist\\n');
  setTimeout(poll, 700);
};
connect();
`;

test('VLC SAP discovery (cvlc --services-discovery sap) lists the announced stream and plays the tone', { timeout: 90_000 }, async (t) => {
  const vlc = vlcPrefix();
  const ns = createMulticastNetns('sapv');
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-sapv-'));
  try {
    chmodSync(dir, 0o777); // VLC runs as an ordinary user and writes its WAV here
    const send = procs.start([...ns.exec, ...CLI, 'send', '--tone', '550', '--codec', 'l16', '--rate', '44100', '--channels', '2', '--dest', '239.255.12.50:5004', '--announce', '--name', 'rtpcast for VLC', '--duration', '40', '--quiet']);
    const out = join(dir, 'vlc.wav');
    const port = 4212;
    const player = procs.start([...ns.exec, ...vlc, 'cvlc', '-I', 'rc', '--rc-host', `127.0.0.1:${port}`, '--services-discovery', 'sap', '--no-loop', '--sout', `#transcode{acodec=s16l}:std{access=file,mux=wav,dst=${out}}`]);
    const client = await procs.run([...ns.exec, process.execPath, '-e', VLC_CLI_CLIENT, String(port), 'rtpcast for VLC'], 40_000);
    assert.equal(client.exit?.code, 0, `VLC did not list the announced stream:\n${client.describe()}\n${player.describe()}\n${send.describe()}`);
    t.diagnostic(client.stdout.trim().split('\n').filter((l) => l.startsWith('|')).join(' / '));
    await sleep(6000);
    await player.stop('SIGTERM', 5000);
    assert.ok(existsSync(out), `VLC wrote no audio:\n${player.describe()}`);
    const r = analyzeTone(parseWav(readFileSync(out)), { expectHz: 550 });
    t.diagnostic(`VLC decoded: ${JSON.stringify(r)}`);
    assert.ok(Math.abs(r.frequencyHz - 550) / 550 < 0.005, `frequency ${r.frequencyHz}`);
    assert.ok(r.activeSeconds > 3, `${r.activeSeconds} s of tone`);
    assert.ok(Math.abs(r.levelDbfs - -15.05) < 1.5, `level ${r.levelDbfs} dBFS`);
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
