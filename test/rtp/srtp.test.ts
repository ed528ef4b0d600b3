import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aesCmKeystream, deriveKey, masterKeyFrom, ReplayWindow, sessionKeys, srtpIv, SrtpProtector, SrtpUnprotector,
  AUTH_TAG_BYTES, REPLAY_WINDOW, SRTCP_OVERHEAD, type MasterKey,
} from '../../src/rtp/srtp';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 3711 B.3 and libsrtp's srtp_driver reference key
const RFC_MASTER: MasterKey = { key: hex('E1F97A0D3E018BE0D64FA32C06DE4139'), salt: hex('0EC675AD498AFEEBB6960B3AABE6') };

test('RFC 3711 B.3: key derivation gives the listed cipher key, salt and authentication key', () => {
  const k = sessionKeys(RFC_MASTER, 'rtp');
  assert.equal(k.cipherKey.toString('hex').toUpperCase(), 'C61E7A93744F39EE10734AFE3FF7A087');
  assert.equal(k.salt.toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE1');
  assert.equal(k.authKey.toString('hex').toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  // the RFC lists 94 octets of the authentication key stream (label 1) and 16 of the salt stream
  assert.equal(
    deriveKey(RFC_MASTER.key, RFC_MASTER.salt, 1, 94).toString('hex').toUpperCase(),
    'CEBE321F6FF7716B6FD4AB49AF256A15' + '6D38BAA48F0A0ACF3C34E2359E6CDBCE' + 'E049646C43D9327AD175578EF7227098' +
      '6371C10C9A369AC2F94A8C5FBCDDDC25' + '6D6E919A48B610EF17C2041E47403576' + '6B68642C59BBFC2F34DB60DBDFB2',
  );
  assert.equal(deriveKey(RFC_MASTER.key, RFC_MASTER.salt, 2, 16).toString('hex').toUpperCase(), '30CBBC08863D8C85D49DB34A9AE17AC6');
  // SRTCP keys use other labels: different keys
  assert.notDeepEqual(sessionKeys(RFC_MASTER, 'rtcp').cipherKey, k.cipherKey);
});

test('RFC 3711 B.2: the AES-CM keystream segment, first and last blocks', () => {
  const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const iv = srtpIv(hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
  assert.equal(iv.toString('hex').toUpperCase(), 'F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
  const ks = aesCmKeystream(key, iv, 1044512);
  assert.equal(ks.subarray(0, 48).toString('hex').toUpperCase(), 'E03EAD0935C95E80E166B16DD92B4EB4' + 'D23513162B02D0F72A43A2FE4A5F97AB' + '41E95B3BB0A2E8DD477901E4FCA894C0');
  assert.equal(ks.subarray(ks.length - 48).toString('hex').toUpperCase(), 'EC8CDF7398607CB0F2D21675EA9EA1E4' + '362B7C3C6773516318A077D7FC5073AE' + '6A2CC3787889374FBEB4C81B17BA6C44');
});

test('IV: SSRC and the 48-bit index land where RFC 3711 4.1.1 puts them', () => {
  const iv = srtpIv(Buffer.alloc(14), 0xcafebabe, 0x123456789abc);
  assert.equal(iv.toString('hex'), '00000000cafebabe123456789abc0000');
  // libsrtp's RTP nonce for the reference packet (salt 30cb..., SSRC cafebabe, index 0x1234)
  assert.equal(srtpIv(hex('30cbbc08863d8c85d49db34a9ae1'), 0xcafebabe, 0x1234).toString('hex'), '30cbbc084cc3363bd49db34a88d50000');
});

const REF_RTP = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
const REF_SRTP = hex('800f1234decafbadcafebabe' + '4e55dc4ce79978d88ca4d215949d2402' + 'b78d6acc99ea179b8dbb');
const REF_RTCP = hex('81c8000bcafebabe' + 'ab'.repeat(16));
const REF_SRTCP = hex('81c8000bcafebabe' + '7128035be487b9bdbef89041f977a5a8' + '80000001' + '993e08cd54d6c1230798');

test('libsrtp reference packet: protect and unprotect byte for byte', () => {
  assert.deepEqual(new SrtpProtector(RFC_MASTER).protectRtp(REF_RTP), REF_SRTP);
  const r = new SrtpUnprotector(RFC_MASTER).unprotectRtp(REF_SRTP);
  assert.ok(r.ok);
  assert.deepEqual(r.packet, REF_RTP);
  assert.equal(r.index, 0x1234);
});

test('libsrtp reference SRTCP packet (index 1): unprotect, and protect as the second packet', () => {
  const r = new SrtpUnprotector(RFC_MASTER).unprotectRtcp(REF_SRTCP);
  assert.ok(r.ok);
  assert.deepEqual(r.packet, REF_RTCP);
  assert.equal(r.index, 1);
  const p = new SrtpProtector(RFC_MASTER);
  const first = p.protectRtcp(REF_RTCP);
  assert.equal(first.length, REF_RTCP.length + SRTCP_OVERHEAD);
  assert.equal(first.readUInt32BE(REF_RTCP.length), 0x80000000, 'first SRTCP index is 0 (RFC 3711 3.4), E flag set');
  assert.deepEqual(p.protectRtcp(REF_RTCP), REF_SRTCP);
});

function rtp(seq: number, o: { ssrc?: number; payload?: Buffer; csrcs?: number; ext?: number; pad?: number; ts?: number } = {}): Buffer {
  const cc = o.csrcs ?? 0;
  const ext = o.ext !== undefined ? 4 + o.ext * 4 : 0;
  const payload = o.payload ?? Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 7 + seq) & 0xff));
  const pad = o.pad ?? 0;
  const b = Buffer.alloc(12 + cc * 4 + ext + payload.length + pad);
  b[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((o.ts ?? seq * 960) >>> 0, 4);
  b.writeUInt32BE(o.ssrc ?? 0x11223344, 8);
  let off = 12;
  for (let i = 0; i < cc; i++, off += 4) b.writeUInt32BE(0xc0000000 + i, off);
  if (ext) {
    b.writeUInt16BE(0xbede, off);
    b.writeUInt16BE(o.ext!, off + 2);
    for (let i = 4; i < ext; i++) b[off + i] = i;
    off += ext;
  }
  payload.copy(b, off);
  if (pad) b[b.length - 1] = pad;
  return b;
}

const KEY = masterKeyFrom(Buffer.from(Array.from({ length: 30 }, (_, i) => i * 3 + 1)));
const OTHER = masterKeyFrom(Buffer.from(Array.from({ length: 30 }, (_, i) => i * 3 + 2)));

test('round trip: CSRCs, header extension and padding; the header stays in clear, the payload does not', () => {
  const p = new SrtpProtector(KEY);
  const u = new SrtpUnprotector(KEY);
  const cases = [rtp(1), rtp(2, { csrcs: 2 }), rtp(3, { ext: 2 }), rtp(4, { csrcs: 1, ext: 1, pad: 3 }), rtp(5, { payload: Buffer.alloc(1) })];
  for (const plain of cases) {
    const s = p.protectRtp(plain);
    assert.equal(s.length, plain.length + AUTH_TAG_BYTES);
    const hl = plain.length - (plain[0] & 0x20 ? plain[plain.length - 1] : 0) - (plain === cases[4] ? 1 : 40);
    assert.deepEqual(s.subarray(0, hl), plain.subarray(0, hl), 'header in clear');
    assert.notDeepEqual(s.subarray(hl, plain.length), plain.subarray(hl), 'payload encrypted');
    const r = u.unprotectRtp(s);
    assert.ok(r.ok, `seq ${plain.readUInt16BE(2)}`);
    assert.deepEqual(r.packet, plain);
  }
});

test('tamper: every single flipped bit (header, payload, tag) fails authentication', () => {
  const s = new SrtpProtector(KEY).protectRtp(rtp(100, { payload: Buffer.alloc(16, 0x55) }));
  for (let bit = 0; bit < s.length * 8; bit++) {
    const t = Buffer.from(s);
    t[bit >> 3] ^= 0x80 >> (bit & 7);
    const r = new SrtpUnprotector(KEY).unprotectRtp(t);
    assert.ok(!r.ok, `bit ${bit} flipped and accepted`);
    // flipping a bit of the first octet (version, extension, CSRC count) can make the header unreadable
    assert.ok(r.error === 'auth' || (bit < 8 && r.error === 'malformed'), `bit ${bit}: ${r.error}`);
  }
  assert.ok(new SrtpUnprotector(KEY).unprotectRtp(s).ok, 'the untouched packet passes');
});

test('SRTCP tamper: every flipped bit fails; SRTCP with the wrong key fails', () => {
  const s = new SrtpProtector(KEY).protectRtcp(REF_RTCP);
  for (let bit = 2; bit < s.length * 8; bit++) {
    const t = Buffer.from(s);
    t[bit >> 3] ^= 0x80 >> (bit & 7);
    const r = new SrtpUnprotector(KEY).unprotectRtcp(t);
    assert.ok(!r.ok && r.error === 'auth', `bit ${bit}`);
  }
  assert.deepEqual(new SrtpUnprotector(OTHER).unprotectRtcp(s), { ok: false, error: 'auth' });
});

test('the wrong key fails authentication; short and broken packets are malformed, never thrown', () => {
  const s = new SrtpProtector(KEY).protectRtp(rtp(7));
  assert.deepEqual(new SrtpUnprotector(OTHER).unprotectRtp(s), { ok: false, error: 'auth' });
  const u = new SrtpUnprotector(KEY);
  for (const b of [Buffer.alloc(0), Buffer.alloc(21), Buffer.from([0x8f, 96, 0, 1, ...Array(30).fill(0)]), Buffer.from([0x40, ...Array(40).fill(0)])]) {
    assert.deepEqual(u.unprotectRtp(b), { ok: false, error: 'malformed' });
  }
  assert.deepEqual(u.unprotectRtcp(Buffer.alloc(21)), { ok: false, error: 'malformed' });
});

test('ROC: the sequence number wraps (and reorders across the wrap); every packet decrypts with index roc*65536+seq', () => {
  const p = new SrtpProtector(KEY);
  const sent = [];
  for (let i = 0; i < 20; i++) sent.push(p.protectRtp(rtp(65530 + i)));
  const u = new SrtpUnprotector(KEY);
  const order = [0, 1, 2, 3, 4, 7, 5, 6, 8, 9, 10, 12, 11, 13, 14, 15, 16, 17, 18, 19]; // 65535 after 1, reordered
  for (const i of order) {
    const r = u.unprotectRtp(sent[i]);
    assert.ok(r.ok, `packet ${i}`);
    assert.equal(r.index, 65530 + i);
    assert.deepEqual(r.packet, rtp(65530 + i));
  }
});

test('ROC: a long stream wraps three times and stays in step', () => {
  // The sender sees every 997th sequence number (steps under 32768 keep its ROC exact), the
  // receiver every one of those: loss in between, as on a bad link.
  const p = new SrtpProtector(KEY);
  const u = new SrtpUnprotector(KEY);
  const start = 60000;
  for (let n = 0; n < 3 * 65536 + 100; n += 997) {
    const r = u.unprotectRtp(p.protectRtp(rtp(start + n, { payload: Buffer.alloc(4, n & 0xff) })));
    assert.ok(r.ok, `n ${n}`);
    assert.equal(r.index, start + n);
  }
});

test('a receiver that joins after the sender wrapped finds the ROC (up to rocSearch), not beyond', () => {
  const p = new SrtpProtector(KEY);
  let late: Buffer | undefined;
  let later: Buffer | undefined;
  for (let n = 0; n <= 5 * 65536 + 256; n += 256) {
    const s = p.protectRtp(rtp(n, { payload: Buffer.alloc(2) }));
    if (n === 3 * 65536 + 256) late = s;
    if (n === 5 * 65536 + 256) later = s;
  }
  const r = new SrtpUnprotector(KEY).unprotectRtp(late!);
  assert.ok(r.ok);
  assert.equal(r.index, 3 * 65536 + 256);
  assert.deepEqual(new SrtpUnprotector(KEY, { rocSearch: 4 }).unprotectRtp(later!), { ok: false, error: 'auth' });
  const r5 = new SrtpUnprotector(KEY).unprotectRtp(later!);
  assert.ok(r5.ok && r5.index === 5 * 65536 + 256);
});

test('replay: a repeated packet and one older than the window are dropped; reordering inside the window is not', () => {
  const p = new SrtpProtector(KEY);
  const u = new SrtpUnprotector(KEY);
  const s = Array.from({ length: 300 }, (_, i) => p.protectRtp(rtp(1000 + i)));
  assert.ok(u.unprotectRtp(s[0]).ok);
  assert.deepEqual(u.unprotectRtp(s[0]), { ok: false, error: 'replay' });
  const forgedOld = Buffer.from(s[0]);
  forgedOld[forgedOld.length - 1] ^= 1;
  assert.deepEqual(u.unprotectRtp(forgedOld), { ok: false, error: 'auth' }, 'a forged copy of an old packet counts as a forgery, not a replay');
  assert.ok(u.unprotectRtp(s[200]).ok);
  assert.ok(u.unprotectRtp(s[200 - REPLAY_WINDOW + 1]).ok, 'the oldest index inside the window');
  assert.deepEqual(u.unprotectRtp(s[200 - REPLAY_WINDOW]), { ok: false, error: 'replay' }, 'just outside the window');
  assert.ok(u.unprotectRtp(s[150]).ok);
  assert.deepEqual(u.unprotectRtp(s[150]), { ok: false, error: 'replay' });
  // SRTCP replay
  const c = p.protectRtcp(REF_RTCP);
  assert.ok(u.unprotectRtcp(c).ok);
  assert.deepEqual(u.unprotectRtcp(c), { ok: false, error: 'replay' });
});

test('forged packets never move the receiver: a fake far-ahead sequence number, then the real stream continues', () => {
  const p = new SrtpProtector(KEY);
  const u = new SrtpUnprotector(KEY);
  assert.ok(u.unprotectRtp(p.protectRtp(rtp(10))).ok);
  const forged = new SrtpProtector(OTHER).protectRtp(rtp(40000));
  for (let i = 0; i < 5; i++) assert.deepEqual(u.unprotectRtp(forged), { ok: false, error: 'auth' });
  // a genuine packet replayed with another sequence number fails too
  const g = p.protectRtp(rtp(11));
  const moved = Buffer.from(g);
  moved.writeUInt16BE(12, 2);
  assert.deepEqual(u.unprotectRtp(moved), { ok: false, error: 'auth' });
  assert.ok(u.unprotectRtp(g).ok);
  assert.ok(u.unprotectRtp(p.protectRtp(rtp(12))).ok);
});

test('several SSRCs under one key keep separate ROCs and windows', () => {
  const p = new SrtpProtector(KEY);
  const u = new SrtpUnprotector(KEY);
  const a = p.protectRtp(rtp(5, { ssrc: 1 }));
  const b = p.protectRtp(rtp(5, { ssrc: 2 }));
  assert.notDeepEqual(a.subarray(12), b.subarray(12), 'different SSRC, different keystream');
  assert.ok(u.unprotectRtp(a).ok);
  assert.ok(u.unprotectRtp(b).ok);
  assert.deepEqual(u.unprotectRtp(a), { ok: false, error: 'replay' });
});

test('ReplayWindow: check does not record; accept shifts', () => {
  const w = new ReplayWindow();
  assert.equal(w.check(5), 'new');
  assert.equal(w.check(5), 'new');
  w.accept(5);
  assert.equal(w.check(5), 'replay');
  assert.equal(w.check(4), 'new');
  w.accept(5 + REPLAY_WINDOW + 10);
  assert.equal(w.check(5), 'replay');
  assert.equal(w.check(5 + REPLAY_WINDOW + 9), 'new');
  assert.equal(w.top, 5 + REPLAY_WINDOW + 10);
});

test('masterKeyFrom: 30 octets only', () => {
  assert.throws(() => masterKeyFrom(Buffer.alloc(29)), /30 octets/);
});
