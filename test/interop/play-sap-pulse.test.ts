/**
 * PulseAudio's module-rtp-send announces its stream with SAP (224.0.0.56:9875) and sends L16
 * s16be to a multicast group; `rtpcast play --sap` finds the announcement and plays it. Inside a
 * network namespace of our own whose loopback carries multicast (never the host's interfaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeTone } from '../../src/audio/analysis';
import { encodeWavS16, parseWav } from '../../src/audio/wav';
import { ToneGenerator } from '../../src/audio/tone';
import { createMulticastNetns } from '../support/netns';
import { Procs, sleep } from '../support/procs';
import { RTPCAST_CLI } from '../support/peers';
import { requirePulse } from '../support/pulse';

test('PulseAudio module-rtp-send, announced by SAP: rtpcast play --sap plays the tone', { timeout: 90_000 }, async (t) => {
  requirePulse();
  const ns = createMulticastNetns('sap');
  const procs = new Procs();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-sap-'));
  try {
    chmodSync(dir, 0o700);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: dir, HOME: dir, PULSE_RUNTIME_PATH: join(dir, 'pulse') };
    const pa = procs.start([...ns.exec, 'pulseaudio', '--daemonize=no', '--exit-idle-time=-1', '-n', '--use-pid-file=no', '--load=module-native-protocol-unix', '--load=module-null-sink sink_name=rtp rate=44100 channels=2'], { env });
    const pactl = (args: string[]) => spawnSync('pactl', args, { env, encoding: 'utf8', timeout: 5000 });
    for (let i = 0; i < 100 && pactl(['info']).status !== 0; i++) await sleep(100);
    assert.equal(pactl(['info']).status, 0, `PulseAudio did not start:\n${pa.describe()}`);
    const mod = pactl(['load-module', 'module-rtp-send', 'source=rtp.monitor', 'destination_ip=224.0.0.56', 'port=46010', 'loop=1']);
    assert.equal(mod.status, 0, `module-rtp-send: ${mod.stderr}`);
    const wav = join(dir, 'tone.wav');
    writeFileSync(wav, encodeWavS16(new ToneGenerator({ rate: 44100, channels: 2 }, 730, -12).next(44100 * 30), 44100, 2));
    procs.start(['paplay', '--device=rtp', wav], { env });
    const out = join(dir, 'out.wav');
    const play = await procs.run([...ns.exec, process.execPath, RTPCAST_CLI, 'play', '--sap', '--out', out, '--duration', '5', '--json'], 40_000, { env: { ...process.env } });
    assert.equal(play.exit?.code, 0, play.describe());
    const start = play.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'start');
    assert.ok(start, play.describe());
    t.diagnostic(`announced stream: ${JSON.stringify(start.stream)}`);
    assert.equal(start.stream.codec, 'l16');
    assert.ok(existsSync(out), play.describe());
    const r = analyzeTone(parseWav(readFileSync(out)), { expectHz: 730 });
    t.diagnostic(`received: ${JSON.stringify(r)}`);
    assert.ok(Math.abs(r.frequencyHz - 730) / 730 < 0.005, `frequency ${r.frequencyHz}`);
    assert.ok(r.activeSeconds > 3, `${r.activeSeconds} s of tone`);
    assert.ok(r.longestGapMs <= 30, `gap ${r.longestGapMs} ms`);
  } finally {
    await procs.cleanup();
    ns.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});
