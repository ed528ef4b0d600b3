import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mostLikelyCause } from '../../src/diag/doctor';
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
