import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceLevelFindings, mostLikelyCause } from '../../src/diag/doctor';
import type { CaptureDevice } from '../../src/audio/devices';
import type { Finding } from '../../src/diag/report';

const f = (id: string, severity: Finding['severity'], title: string, fix?: string): Finding => ({ id, severity, title, fix });

test('the most likely cause follows the chain: port, firewall, wrong port, multicast, raw PCM, sender, format, loss', () => {
  const all = [
    f('packets.none', 'problem', 'nothing arrived'),
    f('packets.sender-missing', 'problem', 'the sender is not running'),
    f('firewall.blocked', 'problem', 'nft drops udp dport 5004', 'nft insert rule inet filter input udp dport 5004 accept'),
    f('packets.loss', 'warn', '3% lost'),
  ];
  assert.equal(mostLikelyCause(all), 'nft drops udp dport 5004 (fix: nft insert rule inet filter input udp dport 5004 accept)');
  assert.equal(mostLikelyCause([f('port.busy', 'problem', 'vlc holds 5004'), ...all]), 'vlc holds 5004');
  assert.equal(mostLikelyCause([f('packets.none', 'problem', 'nothing arrived'), f('packets.wrong-port', 'problem', 'the sender sends to 5006')]), 'the sender sends to 5006');
  assert.equal(mostLikelyCause([f('packets.loss', 'warn', '3% lost'), f('format.rate', 'problem', 'plays 8.8% slow')]), 'plays 8.8% slow');
  assert.equal(mostLikelyCause([f('port.free', 'ok', 'free')]), 'nothing wrong found on this side');
  assert.match(mostLikelyCause([f('firewall.unknown', 'unknown', 'no firewall tool')]), /could not run/);
});

const dev = (id: string, peakDb: number | undefined, isDefault = false, kind: CaptureDevice['kind'] = 'monitor'): CaptureDevice => ({ backend: 'pulse', id, name: id, description: id, channels: 2, rate: 48000, isDefault, kind, peakDb });

test('capture levels (F8): a silent default source is the problem, and the source with sound is named', () => {
  const f = deviceLevelFindings([dev('quiet.monitor', -Infinity, true), dev('music.monitor', -12.5), dev('mic', -80, false, 'input')], 2);
  const def = f.find((x) => x.id === 'devices.silent' && x.severity === 'problem')!;
  assert.equal(def.title, 'quiet.monitor (default): silent for 2 s (digital silence)');
  assert.match(def.fix!, /rtpcast send --source device:music\.monitor/);
  assert.equal(f.find((x) => x.title.startsWith('mic'))?.severity, 'info');
  assert.equal(f.find((x) => x.id === 'devices.level')?.title, 'music.monitor: carries sound (peak -12.5 dBFS)');
  assert.ok(!f.some((x) => x.id === 'devices.all-silent'));
  const none = deviceLevelFindings([dev('quiet.monitor', -Infinity, true), dev('mic', -75, false, 'input')], 2);
  assert.equal(none.find((x) => x.id === 'devices.all-silent')?.severity, 'problem');
  assert.match(none.find((x) => x.id === 'devices.silent' && x.severity === 'problem')!.fix!, /play something/);
  assert.match(mostLikelyCause(none), /silent/);
  assert.deepEqual(deviceLevelFindings([dev('a', undefined)], 2), [], 'not measured: nothing said');
});
