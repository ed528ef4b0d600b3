import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtp, rtcpSummary } from '../../src/rtp/parse';
import { RtpPacketizer } from '../../src/rtp/packetizer';
import { buildGoodbye } from '../../src/rtp/rtcp';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

test('what the packetizer writes parses back field for field', () => {
  const p = new RtpPacketizer(96, { ssrc: 0xdeadbeef, sequence: 65535, timestamp: 4294967295 });
  const r = parseRtp(p.packetize(Buffer.from([1, 2, 3, 4]), 240));
  assert.ok(r.ok);
  assert.deepEqual({ ...r.packet, payload: [...r.packet.payload] }, { version: 2, marker: true, payloadType: 96, sequence: 65535, timestamp: 4294967295, ssrc: 0xdeadbeef, csrcs: [], extension: undefined, payload: [1, 2, 3, 4] });
});

test('CSRCs, header extension and padding are honoured', () => {
  // V=2 P=1 X=1 CC=1; PT 10; seq 1; ts 2; ssrc 3; csrc 4; ext profile bede len 1 word; payload aa bb; padding 2 (00 02)
  const r = parseRtp(hex('b1 0a 0001 00000002 00000003 00000004 bede0001 01020304 aabb 0002'));
  assert.ok(r.ok);
  assert.deepEqual(r.packet.csrcs, [4]);
  assert.equal(r.packet.extension?.profile, 0xbede);
  assert.deepEqual([...r.packet.payload], [0xaa, 0xbb]);
});

test('every lie in the header is caught, nothing is read past the end', () => {
  const cases: [string, string][] = [
    ['80 0a 0001 0000', 'too-short'],
    ['40 0a 0001 00000002 00000003 aa', 'not-version-2'],
    ['81 c8 0006 00000003 00000000 00000000 00000000', 'rtcp'],
    ['8f 0a 0001 00000002 00000003 00000004', 'csrc-past-end'],
    ['90 0a 0001 00000002 00000003 bede', 'extension-past-end'],
    ['90 0a 0001 00000002 00000003 bede00ff 0000', 'extension-past-end'],
    ['a0 0a 0001 00000002 00000003 aabb 00', 'bad-padding'],
    ['a0 0a 0001 00000002 00000003 aabb ff', 'bad-padding'],
    ['80 0a 0001 00000002 00000003', 'empty-payload'],
    ['a0 0a 0001 00000002 00000003 aa 02', 'empty-payload'],
  ];
  for (const [h, err] of cases) {
    const r = parseRtp(hex(h));
    assert.equal(r.ok, false, h);
    assert.equal(!r.ok && r.error, err, h);
  }
});

test('RTCP summary finds the BYE and its SSRC; garbage is invalid', () => {
  const g = buildGoodbye({ ssrc: 0x01020304, ntp: 0n, rtpTimestamp: 0, packetCount: 1, octetCount: 1, cname: 'x' });
  assert.deepEqual(rtcpSummary(g), { types: [200, 202, 203], byeSsrcs: [0x01020304], valid: true });
  assert.equal(rtcpSummary(hex('80c8ffff')).valid, false);
  assert.equal(rtcpSummary(hex('00')).valid, false);
});
