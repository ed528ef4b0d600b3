import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildBye, buildGoodbye, buildSenderReport, ntpFromUnixSeconds } from '../../src/rtp/rtcp';

test('NTP timestamp from Unix time', () => {
  // 1970-01-01 is NTP second 2208988800; half a second is 0x80000000 in the fraction
  assert.equal(ntpFromUnixSeconds(0.5), (2208988800n << 32n) | 0x80000000n);
  assert.equal(ntpFromUnixSeconds(1), (2208988801n << 32n));
});

test('sender report + SDES CNAME, byte for byte', () => {
  const b = buildSenderReport({ ssrc: 0x11223344, ntp: 0x0102030405060708n, rtpTimestamp: 0xaabbccdd, packetCount: 5, octetCount: 960, cname: 'ab' });
  const hex = b.toString('hex');
  // SR: V=2 RC=0, PT=200, length 6 words; SSRC; NTP; RTP ts; packets; octets
  assert.equal(hex.slice(0, 56), '80c80006' + '11223344' + '0102030405060708' + 'aabbccdd' + '00000005' + '000003c0');
  // SDES: V=2 SC=1, PT=202, length 2 words; SSRC; CNAME(1) len 2 'ab'; end + pad to 32 bits
  assert.equal(hex.slice(56), '81ca0003' + '11223344' + '01026162' + '00000000');
  assert.equal(b.length % 4, 0);
});

test('SDES always ends its item list with a null octet, padded to 32 bits', () => {
  for (const cname of ['', 'a', 'ab', 'abc', 'abcd', 'abcde']) {
    const b = buildSenderReport({ ssrc: 1, ntp: 0n, rtpTimestamp: 0, packetCount: 0, octetCount: 0, cname }).subarray(28);
    assert.equal(b.length % 4, 0);
    assert.equal(b.readUInt16BE(2), b.length / 4 - 1, 'length field in 32-bit words minus one');
    assert.equal(b[9], cname.length);
    assert.equal(b[10 + cname.length], 0, `terminator after "${cname}"`);
  }
});

test('BYE with reason, and the goodbye compound starts with an SR', () => {
  assert.equal(buildBye(0x11223344, 'bye').toString('hex'), '81cb0002' + '11223344' + '03627965');
  assert.equal(buildBye(0x11223344).toString('hex'), '81cb0001' + '11223344');
  const g = buildGoodbye({ ssrc: 9, ntp: 0n, rtpTimestamp: 0, packetCount: 0, octetCount: 0, cname: 'x' }, 'done');
  assert.equal(g[1], 200);
  const sdesLen = (g.readUInt16BE(28 + 2) + 1) * 4;
  assert.equal(g[28 + sdesLen + 1], 203);
});
