/**
 * PipeWire's module-rtp-sap (issue #7: "SAP announcements must be found by VLC, PulseAudio
 * module-rtp-recv and PipeWire module-rtp-sap") against `rtpcast send --announce`, inside a
 * network namespace of our own whose loopback carries multicast (never the host's interfaces).
 *
 * module-rtp-sap first shipped in PipeWire 0.3.67 (its manual page: "Since 0.3.67"); Debian
 * bookworm's own PipeWire is 0.3.65 (module-rtp-source and -sink only), so this needs the
 * bookworm-backports packages (1.4.2): scripts/setup-test-deps.sh installs them.
 *
 * A headless PipeWire as the user rtpcast-test (a daemon with a dummy driver, and module-rtp-sap
 * in a second process, the way PipeWire loads it: it connects to the daemon as a client). For
 * each stream rtpcast announces, module-rtp-sap creates a receiving node named after the SDP's
 * session name. Nothing links nodes without a session manager (WirePlumber), so the test does
 * what one would: sets both nodes' port configuration (pw-cli set-param PortConfig) and links
 * the receiver to pw-record (pw-link). The recording must carry the tone (frequency, level,
 * duration); when rtpcast stops, its SAP deletion must remove the node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeTone } from '../../src/audio/analysis';
import { parseWav } from '../../src/audio/wav';
import { findProgram } from '../../src/os/programs';
import { createMulticastNetns, type Netns } from '../support/netns';
import { Procs, sleep } from '../support/procs';
import { RTPCAST_CLI } from '../support/peers';
import { eventually } from '../support/pulse';

const USER = 'rtpcast-test';
const INSTALL = 'PipeWire >= 0.3.67 with module-rtp-sap: on Debian bookworm from bookworm-backports: sudo scripts/setup-test-deps.sh (or: echo "deb http://deb.debian.org/debian bookworm-backports main" | sudo tee /etc/apt/sources.list.d/backports.list; sudo apt-get update; sudo apt-get install -t bookworm-backports pipewire-bin libpipewire-0.3-modules libspa-0.2-modules)';

function requireRtpSap(): void {
  for (const p of ['pipewire', 'pw-cli', 'pw-link', 'pw-record', 'pw-dump', 'runuser']) {
    if (!findProgram(p)) throw new Error(`${p} not found: ${INSTALL}`);
  }
  const dirs = ['/usr/lib/x86_64-linux-gnu/pipewire-0.3', '/usr/lib/aarch64-linux-gnu/pipewire-0.3', '/usr/lib64/pipewire-0.3', '/usr/lib/pipewire-0.3'];
  if (!dirs.some((d) => existsSync(join(d, 'libpipewire-module-rtp-sap.so')))) throw new Error(`libpipewire-module-rtp-sap.so not found in ${dirs.join(', ')}: ${INSTALL}`);
  if (spawnSync('id', ['-u', USER], { timeout: 5000 }).status !== 0) throw new Error(`user ${USER} does not exist: sudo useradd --system --create-home ${USER}`);
}

const DAEMON_CONF = `context.properties = { core.daemon = true core.name = pipewire-0 default.clock.rate = 48000 support.dbus = false log.level = 3 }
context.spa-libs = { audio.convert.* = audioconvert/libspa-audioconvert support.* = support/libspa-support }
context.modules = [
  { name = libpipewire-module-protocol-native }
  { name = libpipewire-module-profiler }
  { name = libpipewire-module-metadata }
  { name = libpipewire-module-access }
  { name = libpipewire-module-client-node }
  { name = libpipewire-module-adapter }
  { name = libpipewire-module-link-factory }
  { name = libpipewire-module-spa-node-factory }
]
context.objects = [
  { factory = spa-node-factory args = { factory.name = support.node.driver node.name = Dummy-Driver node.group = pipewire.dummy priority.driver = 20000 } }
]
`;

/** module-rtp-sap as PipeWire's docs load it: listening on 224.0.0.56:9875 (its default), a receiver for every announced session */
const SAP_CONF = `context.properties = { support.dbus = false log.level = 3 }
context.spa-libs = { audio.convert.* = audioconvert/libspa-audioconvert support.* = support/libspa-support }
context.modules = [
  { name = libpipewire-module-protocol-native }
  { name = libpipewire-module-client-node }
  { name = libpipewire-module-adapter }
  { name = libpipewire-module-rtp-sap
    args = {
      sap.ip = "224.0.0.56"
      stream.rules = [ { matches = [ { rtp.session = "~.*" } ] actions = { create-stream = { sess.latency.msec = 200 } } } ]
    }
  }
]
`;

interface PwNode {
  id: number;
  name: string;
  props: Record<string, unknown>;
}

test('PipeWire module-rtp-sap finds rtpcast streams by SAP alone, plays L16 (not standard Opus), and drops them on the deletion', { timeout: 120_000 }, async (t) => {
  requireRtpSap();
  const ns: Netns = createMulticastNetns('pwsap');
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-pwsap-'));
  try {
    const uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
    chmodSync(dir, 0o700);
    chownSync(dir, uid, gid);
    for (const [f, text] of [['daemon.conf', DAEMON_CONF], ['sap.conf', SAP_CONF]]) {
      writeFileSync(join(dir, f), text);
      chownSync(join(dir, f), uid, gid);
    }
    const as = [...ns.exec, 'runuser', '-u', USER, '--', 'env', `XDG_RUNTIME_DIR=${dir}`, `PIPEWIRE_RUNTIME_DIR=${dir}`, `HOME=${dir}`, 'LC_ALL=C'];
    const pw = (args: string[]) => {
      const r = spawnSync(as[0], [...as.slice(1), ...args], { encoding: 'utf8', timeout: 8000 });
      if (r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
      return r.stdout;
    };
    const nodes = (): PwNode[] =>
      (JSON.parse(pw(['pw-dump'])) as { id: number; type: string; info?: { props?: Record<string, unknown> } }[])
        .filter((o) => o.type === 'PipeWire:Interface:Node')
        .map((o) => ({ id: o.id, name: String(o.info?.props?.['node.name'] ?? ''), props: o.info?.props ?? {} }));

    const daemon = procs.start([...as, 'pipewire', '-c', join(dir, 'daemon.conf')]);
    assert.ok(await eventually(() => readdirSync(dir).includes('pipewire-0'), 10_000), `the PipeWire daemon did not start:\n${daemon.describe()}`);
    const sap = procs.start([...as, 'pipewire', '-c', join(dir, 'sap.conf')]);
    assert.ok(await eventually(() => /Successfully loaded module-rtp-sap|loaded module libpipewire-module-rtp-sap/.test(sap.stderr + sap.stdout), 10_000), `module-rtp-sap did not load:\n${sap.describe()}`);

    // Opus is announced too, but PipeWire cannot decode standard Opus (see below)
    const streams = [
      { name: 'rtpcast L16 to PipeWire', codec: 'l16', channels: 2, hz: 660, dest: '239.255.12.40:33250', expect: 'tone' },
      { name: 'rtpcast Opus mono to PipeWire', codec: 'opus', channels: 1, hz: 880, dest: '239.255.12.41:33252', expect: 'refused' },
      { name: 'rtpcast Opus stereo to PipeWire', codec: 'opus', channels: 2, hz: 990, dest: '239.255.12.42:33254', expect: 'garbled' },
    ];
    const senders = streams.map((s) =>
      procs.start([...ns.exec, process.execPath, RTPCAST_CLI, 'send', '--tone', String(s.hz), '--tone-level', '-12', '--codec', s.codec, '--channels', String(s.channels), '--dest', s.dest, '--announce', '--name', s.name, '--duration', '60', '--json']),
    );
    for (const [i, s] of streams.entries()) {
      const found = await eventually(() => nodes().some((n) => n.name === s.name), 15_000);
      assert.ok(found, `PipeWire made no node for "${s.name}" from the announcement:\n${JSON.stringify(nodes().map((n) => n.name))}\n${sap.describe()}\n${senders[i].describe()}`);
    }
    const format = 'format: { mediaType: audio, mediaSubtype: raw, format: F32P, rate: 48000, channels: 2, position: [ FL FR ] }';
    for (const s of streams) {
      const rx = nodes().find((n) => n.name === s.name)!;
      t.diagnostic(`${s.name}: node ${rx.id} ${JSON.stringify(Object.fromEntries(Object.entries(rx.props).filter(([k]) => k.startsWith('rtp.') || k.startsWith('sess.') || k === 'media.class')))}`);
      const recName = `rec-${s.codec}`;
      const wav = join(dir, `${recName}.wav`);
      const rec = procs.start([...as, 'pw-record', '--rate', '48000', '--channels', '2', '--format', 's16', '-P', `{ node.name = ${recName} node.autoconnect = false }`, wav]);
      assert.ok(await eventually(() => nodes().some((n) => n.name === recName), 10_000), rec.describe());
      const recNode = nodes().find((n) => n.name === recName)!;
      // what a session manager would do: both adapters in DSP mode (one port per channel), then links
      pw(['pw-cli', 'set-param', String(rx.id), 'PortConfig', `{ direction: Output, mode: dsp, ${format} }`]);
      pw(['pw-cli', 'set-param', String(recNode.id), 'PortConfig', `{ direction: Input, mode: dsp, ${format} }`]);
      const ports = () => {
        const out = pw(['pw-link', '-o']).split('\n').filter((l) => l.startsWith(`${s.name}:`));
        const inp = pw(['pw-link', '-i']).split('\n').filter((l) => l.startsWith(`${recName}:`));
        return out.length === 2 && inp.length === 2 ? { out, inp } : undefined;
      };
      let p: { out: string[]; inp: string[] } | undefined;
      for (let k = 0; k < 50 && !(p = ports()); k++) await sleep(100);
      assert.ok(p, `no ports after PortConfig:\n${pw(['pw-link', '-o'])}\n${pw(['pw-link', '-i'])}`);
      for (const ch of ['FL', 'FR']) pw(['pw-link', p.out.find((l) => l.endsWith(`_${ch}`))!, p.inp.find((l) => l.endsWith(`_${ch}`))!]);
      await sleep(4500);
      await rec.stop('SIGINT', 3000);
      const r = analyzeTone(parseWav(readFileSync(wav)), { expectHz: s.hz });
      t.diagnostic(`${s.name} through PipeWire: ${JSON.stringify(r)}`);
      assert.ok(r.seconds > 3.5, `${s.name}: only ${r.seconds} s recorded\n${rec.describe()}`);
      if (s.expect !== 'tone') {
        // Standard Opus (RFC 7587: the rtpmap always says opus/48000/2; a stereo stream is ONE
        // coupled Opus stream, mono one mono stream) is not what PipeWire 1.4's RTP receiver
        // decodes: it takes the channel count from the rtpmap (2, also for mono) and opens an Opus
        // multistream decoder with one UNcoupled stream per channel, its own sender's layout
        // (module-rtp/opus.c). A mono packet is then refused (silence); a stereo packet is read as
        // two mono streams (noise at the wrong pitch, with gaps). Pinned: a PipeWire that fixes it
        // fails here (then: check the tone, and update README.md (--announce)).
        assert.equal(rx.props['rtp.mime'], 'opus', `${s.name}: the announcement is understood`);
        assert.equal(rx.props['rtp.receiving'], true, `${s.name}: the packets arrive`);
        const fixedMsg = `${s.name}: PipeWire now plays standard Opus (${r.frequencyHz} Hz, ${r.gaps} gaps): make this a tone check, update README.md (--announce)`;
        if (s.expect === 'refused') {
          assert.equal(r.activeSeconds, 0, fixedMsg);
          // 1.4.2 logs each refused packet as "receiving SIZE len:-4" (OPUS_INVALID_PACKET); later versions "opus decode error"
          const refused = (sap.stderr + sap.stdout).split('\n').find((l) => /receiving \d+ len:-4|opus decode error -4/.test(l));
          assert.ok(refused, `${s.name}: silence without PipeWire's decode error:\n${sap.describe()}`);
          t.diagnostic(`${s.name}: PipeWire refuses the packets: ${refused.trim()}`);
        } else {
          assert.ok(Math.abs(r.frequencyHz - s.hz) / s.hz > 0.05 || r.gaps > 5, fixedMsg);
        }
        continue;
      }
      assert.ok(Math.abs(r.frequencyHz - s.hz) / s.hz < 0.005, `${s.name}: frequency ${r.frequencyHz} Hz, sent ${s.hz}`);
      // -12 dBFS peak sine = -15.05 dBFS RMS (Opus keeps the level within a fraction of a dB)
      assert.ok(Math.abs(r.levelDbfs - -15.05) < 1.5, `${s.name}: level ${r.levelDbfs} dBFS`);
      assert.ok(r.activeSeconds > 3, `${s.name}: ${r.activeSeconds} s of tone`);
      assert.ok(r.longestGapMs < 50, `${s.name}: a gap of ${r.longestGapMs} ms`);
    }
    // rtpcast withdraws its announcements on exit (SAP deletion): PipeWire drops the receivers at once
    for (const s of senders) s.signal('SIGINT');
    for (const s of senders) {
      assert.ok(await s.waitExit(10_000), s.describe());
      assert.equal(s.exit?.code, 0, s.describe());
    }
    const gone = await eventually(() => !nodes().some((n) => streams.some((s) => s.name === n.name)), 8000);
    assert.ok(gone, `the receivers outlived the SAP deletion: ${JSON.stringify(nodes().map((n) => n.name))}`);
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
