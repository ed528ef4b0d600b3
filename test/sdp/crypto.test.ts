import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoAttributeValue, decodeSrtpKey, generateSrtpKey, parseCryptoAttribute, selectCrypto } from '../../src/sdp/crypto';
import { buildSdp } from '../../src/sdp/build';
import { parseSdpStream } from '../../src/sdp/parse';
import { describeStream } from '../../src/stream/description';
import type { Destination } from '../../src/transport/destination';
import { writeFileAtomic } from '../../src/util/atomic-write';
import { RtpcastError } from '../../src/errors';

const KEY = Buffer.from(Array.from({ length: 30 }, (_, i) => i));
const B64 = KEY.toString('base64'); // AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd

test('a=crypto value: tag, suite, inline key of 40 base64 characters', () => {
  assert.equal(B64, 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd');
  assert.equal(cryptoAttributeValue(KEY), '1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd');
  const c = parseCryptoAttribute(cryptoAttributeValue(KEY, 3));
  assert.equal(c.tag, 3);
  assert.deepEqual(c.keyAndSalt, KEY);
});

test('generated keys: 30 random octets, different each time', () => {
  const a = generateSrtpKey();
  const b = generateSrtpKey();
  assert.equal(a.length, 30);
  assert.notDeepEqual(a, b);
});

test('a=crypto: lifetime, KDR=0, WSH and optional "-" parameters are accepted', () => {
  for (const v of [`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|2^31`, `1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|1048576 KDR=0 WSH=64`, `7 AES_CM_128_HMAC_SHA1_80 inline:${B64} -FOO=1`]) {
    assert.deepEqual(parseCryptoAttribute(v).keyAndSalt, KEY, v);
  }
});

function rejects(v: string, re: RegExp): void {
  assert.throws(() => parseCryptoAttribute(v), (e: unknown) => e instanceof RtpcastError && re.test(e.message) && e.exitCode === 2, v);
}

test('a=crypto: clear errors for an unsupported suite, a malformed key, MKI, KDR, session parameters', () => {
  rejects(`1 AES_CM_128_HMAC_SHA1_32 inline:${B64}`, /suite AES_CM_128_HMAC_SHA1_32 is not supported: rtpcast speaks AES_CM_128_HMAC_SHA1_80 only/);
  rejects(`1 AEAD_AES_256_GCM inline:${B64}`, /not supported/);
  rejects('1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka', /30 octets in base64.*this is 27 octets/);
  rejects('1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!AAECAwQFBgcICQoLDA0ODxAREhMU', /not base64/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|2^20|1:4`, /MKI \(1:4\).*does not support MKIs/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}|junk`, /neither a lifetime nor an MKI/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64};inline:${B64}`, /2 keys/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64} KDR=24`, /key derivation rate KDR=24/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64} UNENCRYPTED_SRTP`, /UNENCRYPTED_SRTP is not supported/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 inline:${B64} FOO=1`, /unknown session parameter "FOO=1"/);
  rejects(`1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key`, /must be "inline:<base64>"/);
  rejects('AES_CM_128_HMAC_SHA1_80', /expected "<tag> <suite> inline:<key>"/);
});

test('selectCrypto: the first supported line wins; none usable names the first problem', () => {
  const other = Buffer.alloc(30, 9).toString('base64');
  assert.deepEqual(selectCrypto([`1 AES_CM_128_HMAC_SHA1_32 inline:${other}`, `2 AES_CM_128_HMAC_SHA1_80 inline:${B64}`]).keyAndSalt, KEY);
  assert.throws(() => selectCrypto([`1 AES_CM_128_HMAC_SHA1_32 inline:${other}`, `2 F8_128_HMAC_SHA1_80 inline:${other}`]), /AES_CM_128_HMAC_SHA1_32 is not supported.*none of the other 1 a=crypto lines/);
});

test('--srtp-key: 40 base64 characters, anything else says how to make one', () => {
  assert.deepEqual(decodeSrtpKey(` ${B64}\n`), KEY);
  assert.throws(() => decodeSrtpKey('abc'), (e: unknown) => e instanceof RtpcastError && /openssl rand -base64 30/.test(e.hint ?? ''));
});

const uni: Destination = { host: '192.168.1.20', address: '192.168.1.20', family: 4, port: 5004, multicast: false };

test('SDP with SRTP: RTP/SAVP and the a=crypto line; read back by parseSdpStream', () => {
  const d = describeStream({ codec: 'opus', channels: 2 }, [uni]);
  const text = buildSdp(d, uni, { originAddress: '192.168.1.10', sessionId: 1, tool: 'rtpcast', crypto: cryptoAttributeValue(KEY) });
  assert.equal(
    text,
    'v=0\r\no=- 1 1 IN IP4 192.168.1.10\r\ns=rtpcast\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\na=tool:rtpcast\r\n' +
      'm=audio 5004 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1; sprop-stereo=1; useinbandfec=1\r\n' +
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${B64}\r\n` + 'a=ptime:20\r\na=recvonly\r\n',
  );
  const s = parseSdpStream(text);
  assert.equal(s.protocol, 'RTP/SAVP');
  assert.deepEqual(s.crypto, [`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}`]);
  // without SRTP nothing changes
  const plain = parseSdpStream(buildSdp(d, uni, { originAddress: '192.168.1.10', sessionId: 1 }));
  assert.equal(plain.protocol, 'RTP/AVP');
  assert.deepEqual(plain.crypto, []);
});

test('parseSdpStream: a=crypto lines of the audio section only (ffmpeg writes them under RTP/AVP)', () => {
  const text = `v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video 6000 RTP/AVP 97\r\na=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.alloc(30, 1).toString('base64')}\r\nm=audio 5004 RTP/AVP 97\r\na=rtpmap:97 L16/48000/2\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${B64}\r\n`;
  const s = parseSdpStream(text);
  assert.deepEqual(s.crypto, [`1 AES_CM_128_HMAC_SHA1_80 inline:${B64}`]);
});

test('writeFileAtomic mode 0600: the file holding a key is private whatever the umask', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-crypto-'));
  const old = process.umask(0);
  try {
    const p = join(dir, 'k.sdp');
    writeFileAtomic(p, 'secret', { mode: 0o600 });
    assert.equal(readFileSync(p, 'utf8'), 'secret');
    if (process.platform !== 'win32') assert.equal(statSync(p).mode & 0o777, 0o600);
    writeFileAtomic(p, 'public');
    if (process.platform !== 'win32') assert.equal(statSync(p).mode & 0o777, 0o644, 'the default stays 0644');
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});
