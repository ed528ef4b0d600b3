import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TeeTransport } from '../../src/transport/tee';
import type { Transport } from '../../src/transport/udp';

test('TeeTransport: RTP to the wire and every sink, RTCP to the wire only, a failing sink never stops the wire', async () => {
  const wire = { rtp: [] as Buffer[], rtcp: [] as Buffer[], closed: false };
  const t: Transport = {
    send: (p) => void wire.rtp.push(p),
    sendRtcp: (p) => void wire.rtcp.push(p),
    localAddress: (i) => `10.0.0.${i}`,
    onWarning: () => undefined,
    close: async () => void (wire.closed = true),
  };
  const a: Buffer[] = [];
  const tee = new TeeTransport(t, [{ send: (p) => void a.push(p) }, { send: () => { throw new Error('boom'); } }]);
  const p1 = Buffer.from([0x80, 96, 0, 1]);
  tee.send(p1);
  tee.sendRtcp(Buffer.from([0x80, 200]));
  assert.deepEqual(wire.rtp, [p1]);
  assert.deepEqual(a, [p1]);
  assert.equal(wire.rtcp.length, 1);
  assert.equal(tee.sinkErrors, 1);
  assert.equal(tee.localAddress(3), '10.0.0.3');
  await tee.close();
  assert.ok(wire.closed);
});
