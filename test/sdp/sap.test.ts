import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSap, parseSap, sdpName, waitForSap } from '../../src/sdp/sap';

const sdp = 'v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=Living room\r\nc=IN IP4 224.0.0.56/1\r\nt=0 0\r\nm=audio 46000 RTP/AVP 10\r\n';

test('SAP announcement round trip; PulseAudio-style header byte for byte', () => {
  const b = buildSap({ msgIdHash: 0x1234, origin: '192.168.1.10', sdp });
  // V=1 (0x20), auth len 0, hash 1234, origin c0a8010a, "application/sdp\0", SDP
  assert.equal(b.subarray(0, 8).toString('hex'), '200012' + '34' + 'c0a8010a');
  const m = parseSap(b)!;
  assert.deepEqual({ ...m }, { deletion: false, msgIdHash: 0x1234, origin: '192.168.1.10', payloadType: 'application/sdp', sdp });
  assert.equal(sdpName(m.sdp), 'Living room');
  assert.equal(parseSap(buildSap({ deletion: true, msgIdHash: 1, origin: '10.0.0.1', sdp }))?.deletion, true);
});

test('an SDP right after the header (no payload type) is accepted; malformed, encrypted, compressed are not', () => {
  const head = Buffer.from('20000001c0a8010a', 'hex');
  assert.equal(parseSap(Buffer.concat([head, Buffer.from(sdp)]))?.sdp, sdp);
  assert.equal(parseSap(Buffer.from('2000')), undefined);
  assert.equal(parseSap(Buffer.from('40000001c0a8010a', 'hex')), undefined, 'version 2');
  assert.equal(parseSap(Buffer.concat([Buffer.from('22000001c0a8010a', 'hex'), Buffer.from(sdp)])), undefined, 'encrypted');
  assert.equal(parseSap(Buffer.concat([Buffer.from('21000001c0a8010a', 'hex'), Buffer.from(sdp)])), undefined, 'compressed');
  assert.equal(parseSap(Buffer.concat([Buffer.from('20ff0001c0a8010a', 'hex'), Buffer.from(sdp)])), undefined, 'auth past end');
  assert.equal(parseSap(Buffer.concat([head, Buffer.from('text/plain\0hello')])), undefined);
});

test('waitForSap picks the announcement by name over a real socket (unicast on loopback)', { timeout: 10000 }, async () => {
  const { createSocket } = await import('node:dgram');
  const port = 39875;
  const tx = createSocket('udp4');
  const send = setInterval(() => {
    tx.send(buildSap({ msgIdHash: 1, origin: '127.0.0.1', sdp: sdp.replace('Living room', 'Kitchen') }), port, '127.0.0.1');
    tx.send(buildSap({ msgIdHash: 2, origin: '127.0.0.1', sdp }), port, '127.0.0.1');
  }, 50);
  try {
    const m = await waitForSap('living', 5000, { port, groups: [] });
    assert.equal(sdpName(m.sdp), 'Living room');
    await assert.rejects(waitForSap('garage', 400, { port, groups: [] }), /no announced stream matches "garage" \(seen: .*Kitchen/);
  } finally {
    clearInterval(send);
    tx.close();
  }
});
