import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSdpStream } from '../../src/sdp/parse';

const L16 = 'm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/48000/2\r\n';
const sdp = (c: string, o = 'o=- 1 1 IN IP4 192.168.1.10') => `v=0\r\n${o}\r\ns=x\r\n${c}\r\nt=0 0\r\n${L16}`;

test('a UTF-8 byte order mark before v=0 is ignored (Notepad "UTF-8 with BOM")', () => {
  const plain = parseSdpStream(sdp('c=IN IP4 192.168.1.20'));
  const bom = parseSdpStream('\uFEFF' + sdp('c=IN IP4 192.168.1.20'));
  assert.deepEqual(bom, plain);
  assert.equal(bom.payloadType, 96);
  assert.equal(bom.clockRate, 48000);
  // the BOM as bytes, decoded as UTF-8 the way readFileSync(..., 'utf8') does
  const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(sdp('c=IN IP4 192.168.1.20'))]);
  assert.deepEqual(parseSdpStream(bytes.toString('utf8')), plain);
});

test('IPv4 multicast c=: /TTL, and /TTL/N addresses', () => {
  const a = parseSdpStream(sdp('c=IN IP4 239.1.2.3/16'));
  assert.equal(a.address, '239.1.2.3');
  assert.equal(a.ttl, 16);
  assert.equal(a.addressCount, undefined);
  const b = parseSdpStream(sdp('c=IN IP4 239.1.2.3/127/3'));
  assert.equal(b.ttl, 127);
  assert.equal(b.addressCount, 3);
});

test('IPv6 c=IN IP6 ff15::1/3: /3 is the number of addresses, there is no TTL', () => {
  const s = parseSdpStream(sdp('c=IN IP6 ff15::1/3', 'o=- 1 1 IN IP6 ::1'));
  assert.equal(s.address, 'ff15::1');
  assert.equal(s.family, 6);
  assert.equal(s.multicast, true);
  assert.equal(s.ttl, undefined);
  assert.equal(s.addressCount, 3);
  const one = parseSdpStream(sdp('c=IN IP6 ff15::1', 'o=- 1 1 IN IP6 ::1'));
  assert.equal(one.ttl, undefined);
  assert.equal(one.addressCount, undefined);
});
