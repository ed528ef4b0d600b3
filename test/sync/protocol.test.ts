import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSync, parseSync, SYNC_MESSAGE_BYTES } from '../../src/sync/protocol';

// a request and its reply, byte by byte (protocol.ts documents the layout)
const REQUEST_HEX = '52544353' + '01' + '01' + '0000' + 'deadbeef' + '0000000102030405' + '0000000000000000' + '0000000000000000';
const REPLY_HEX = '52544353' + '01' + '02' + '0000' + 'deadbeef' + '0000000102030405' + '17f0a1b2c3d4e5f6' + '17f0a1b2c3d4e6f6';

test('a request and a reply encode to the documented bytes and parse back', () => {
  const req = { kind: 'request' as const, seq: 0xdeadbeef, t0: 0x0102030405n };
  assert.equal(encodeSync(req).toString('hex'), REQUEST_HEX);
  assert.deepEqual(parseSync(Buffer.from(REQUEST_HEX, 'hex')), { ok: true, message: req });
  const rep = { kind: 'reply' as const, seq: 0xdeadbeef, t0: 0x0102030405n, t1: 0x17f0a1b2c3d4e5f6n, t2: 0x17f0a1b2c3d4e6f6n };
  assert.equal(encodeSync(rep).toString('hex'), REPLY_HEX);
  assert.deepEqual(parseSync(Buffer.from(REPLY_HEX, 'hex')), { ok: true, message: rep });
  assert.equal(Buffer.from(REQUEST_HEX, 'hex').length, SYNC_MESSAGE_BYTES);
  assert.equal(Buffer.from(REPLY_HEX, 'hex').length, SYNC_MESSAGE_BYTES, 'a reply is exactly as long as a request: no amplification');
});

test('the parser refuses anything else, with the reason, and never throws', () => {
  const req = Buffer.from(REQUEST_HEX, 'hex');
  const rep = Buffer.from(REPLY_HEX, 'hex');
  const bad = (b: Buffer) => {
    const r = parseSync(b);
    return r.ok ? 'ok' : r.error;
  };
  assert.equal(bad(req.subarray(0, 35)), 'wrong-size');
  assert.equal(bad(Buffer.concat([req, Buffer.alloc(1)])), 'wrong-size');
  assert.equal(bad(Buffer.alloc(0)), 'wrong-size');
  const m = Buffer.from(req);
  m[0] = 0x53;
  assert.equal(bad(m), 'bad-magic');
  const v = Buffer.from(req);
  v[4] = 2;
  assert.equal(bad(v), 'unsupported-version');
  const k = Buffer.from(req);
  k[5] = 3;
  assert.equal(bad(k), 'bad-kind');
  const r = Buffer.from(req);
  r[7] = 1;
  assert.equal(bad(r), 'bad-reserved');
  const t = Buffer.from(req);
  t[27] = 1; // a request carries no server times
  assert.equal(bad(t), 'bad-times');
  const back = Buffer.from(rep);
  back.writeBigUInt64BE(0x17f0a1b2c3d4e5f5n, 28); // sent before it was received
  assert.equal(bad(back), 'bad-times');
  const zero = Buffer.from(rep);
  zero.fill(0, 20, 36);
  assert.equal(bad(zero), 'bad-times');
  // random garbage of every length up to 64: refused, never thrown
  let seed = 1;
  for (let n = 0; n <= 64; n++) {
    for (let i = 0; i < 50; i++) {
      const g = Buffer.alloc(n);
      for (let j = 0; j < n; j++) g[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      if (n >= 4 && i % 2) g.writeUInt32BE(0x52544353, 0); // half with the magic, to reach the deeper checks
      const res = parseSync(g);
      assert.ok(typeof res.ok === 'boolean');
    }
  }
});
