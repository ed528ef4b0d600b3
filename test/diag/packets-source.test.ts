import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdpIncludedSource } from '../../src/diag/packets';

test('diag packets takes the sender to account from the SDP\'s a=source-filter: incl (RFC 4570), like --source', () => {
  const base = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n';
  assert.equal(sdpIncludedSource(base), undefined);
  assert.equal(sdpIncludedSource(base + 'a=source-filter: incl IN IP4 * 192.168.1.10\r\n'), '192.168.1.10');
  assert.equal(sdpIncludedSource(base + 'a=source-filter: incl IN IP4 239.1.2.3 10.0.0.5 10.0.0.6\r\n'), '10.0.0.5');
  assert.equal(sdpIncludedSource(base + 'a=source-filter:incl IN IP6 * fe80::1\r\n'), 'fe80::1');
  assert.equal(sdpIncludedSource(base + 'a=source-filter: excl IN IP4 * 192.168.1.10\r\n'), undefined, 'excl names who may NOT send');
});
