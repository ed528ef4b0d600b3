import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import {
  SapAnnouncer, SapDirectory, buildSap, ipv6Bytes, parseSap, sapBaseIntervalSec, sapHash, sapNextIntervalSec, sapSdp, sdpOrigin,
} from '../../src/sdp/sap';
import { renderStreams, streamJson } from '../../src/cli/list';
import { toSendRequest } from '../../src/cli/send';
import { buildProgram } from '../../src/cli/main';
import { runSend } from '../../src/session/send';

// What rtpcast's SDP builder writes for an L16 multicast stream (CRLF, as in the .sdp file).
const FILE_SDP = 'v=0\r\no=- 305419896 305419896 IN IP4 192.168.1.10\r\ns=Living room\r\nc=IN IP4 239.255.12.34/1\r\nt=0 0\r\na=tool:rtpcast\r\nm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16/48000/2\r\na=ptime:5\r\na=recvonly\r\n';
const LF_SDP = FILE_SDP.replace(/\r\n/g, '\n');
const MIME_HEX = Buffer.from('application/sdp\0', 'latin1').toString('hex');

test('SAP payloads use LF line ends (PulseAudio refuses CRLF); the hash is fixed per SDP and never 0', () => {
  assert.equal(sapSdp(FILE_SDP), LF_SDP);
  assert.ok(!sapSdp(FILE_SDP).includes('\r'));
  assert.equal(sapSdp(LF_SDP), LF_SDP, 'idempotent');
  // fixture: the first two bytes of SHA-256 of the LF text
  assert.equal(sapHash(LF_SDP), 0x75ba);
  assert.notEqual(sapHash(FILE_SDP), sapHash(LF_SDP), 'a different SDP text, a different hash');
  assert.equal(sdpOrigin(LF_SDP), '- 305419896 305419896 IN IP4 192.168.1.10');
});

test('announcement packet, byte for byte: V=1 IPv4, no auth, hash, origin, payload type, SDP', () => {
  const b = buildSap({ msgIdHash: sapHash(LF_SDP), origin: '192.168.1.10', sdp: LF_SDP });
  const expected = '20' + '00' + '75ba' + 'c0a8010a' + MIME_HEX + Buffer.from(LF_SDP).toString('hex');
  assert.equal(b.toString('hex'), expected);
  assert.deepEqual({ ...parseSap(b)! }, { deletion: false, msgIdHash: 0x75ba, origin: '192.168.1.10', payloadType: 'application/sdp', sdp: LF_SDP });
});

test('deletion packet, byte for byte: the T bit (0x04) set, same hash, origin and SDP', () => {
  const b = buildSap({ deletion: true, msgIdHash: 0x75ba, origin: '10.0.0.7', sdp: LF_SDP });
  assert.equal(b.toString('hex'), '24' + '00' + '75ba' + '0a000007' + MIME_HEX + Buffer.from(LF_SDP).toString('hex'));
  assert.equal(parseSap(b)?.deletion, true);
});

test('IPv6 origin: the A bit (0x10) and a 16-byte origin', () => {
  assert.equal(ipv6Bytes('fe80::1:2')?.toString('hex'), 'fe800000000000000000000000010002');
  assert.equal(ipv6Bytes('::ffff:1.2.3.4')?.toString('hex'), '00000000000000000000ffff01020304');
  assert.equal(ipv6Bytes('2001:db8:0:0:1:0:0:1')?.toString('hex'), '20010db8000000000001000000000001');
  assert.equal(ipv6Bytes('fe80::1%eth0')?.toString('hex'), 'fe800000000000000000000000000001');
  assert.equal(ipv6Bytes('1.2.3.4'), undefined);
  const b = buildSap({ deletion: true, msgIdHash: 0x0102, origin: '2001:db8::1', sdp: LF_SDP });
  assert.equal(b.subarray(0, 20).toString('hex'), '34000102' + '20010db8000000000000000000000001');
  assert.equal(parseSap(b)?.origin, '2001:db8:0:0:0:0:0:1');
});

test('buildSap refuses a zero or out-of-range hash (VLC ignores 0) and a non-address origin', () => {
  assert.throws(() => buildSap({ msgIdHash: 0, origin: '10.0.0.1', sdp: LF_SDP }), /1\.\.65535/);
  assert.throws(() => buildSap({ msgIdHash: 0x10000, origin: '10.0.0.1', sdp: LF_SDP }), /1\.\.65535/);
  assert.throws(() => buildSap({ msgIdHash: 1, origin: 'myhost', sdp: LF_SDP }), /not an IP address/);
});

test('RFC 2974 3.1 interval: bandwidth share of 4000 bit/s, at least 5 s, spread by +-1/3', () => {
  assert.equal(sapBaseIntervalSec(1, 400), 5, 'one small announcement: the 5 s floor');
  assert.equal(sapBaseIntervalSec(10, 1000), 20, '10 x 1000 bytes x 8 / 4000 bit/s');
  assert.equal(sapBaseIntervalSec(1, 400, { minSec: 300 }), 300, 'the RFC\'s own floor when asked');
  assert.equal(sapNextIntervalSec(6, 0), 4);
  assert.equal(sapNextIntervalSec(6, 0.5), 6);
  assert.ok(Math.abs(sapNextIntervalSec(6, 0.999999) - 8) < 1e-4);
});

test('SapDirectory: announcements, duplicates from two groups, deletion by hash or by o= line, exact name first', () => {
  const d = new SapDirectory();
  const kitchen = LF_SDP.replace('Living room', 'Living room 2').replace('305419896 305419896', '7 7');
  const a = buildSap({ msgIdHash: sapHash(LF_SDP), origin: '192.168.1.10', sdp: LF_SDP });
  d.ingest(parseSap(a)!, 1000, '192.168.1.10');
  d.ingest(parseSap(a)!, 1002, '192.168.1.10'); // the copy sent to the other group
  d.ingest(parseSap(a)!, 6000, '192.168.1.10');
  d.ingest(parseSap(buildSap({ msgIdHash: sapHash(kitchen), origin: '192.168.1.11', sdp: kitchen }))!, 6500);
  let [living, second] = d.list();
  assert.equal(living.name, 'Living room');
  assert.equal(living.announcements, 2);
  assert.equal(living.lastSeenMs, 6000);
  assert.equal(living.stream?.encoding, 'L16');
  assert.equal(living.stream?.address, '239.255.12.34');
  assert.equal(second.name, 'Living room 2');
  assert.equal(d.find('living ROOM')?.name, 'Living room', 'exact name wins over a longer one');
  assert.equal(d.find('room 2')?.name, 'Living room 2');
  // A deletion that carries only the o= line (RFC 2974 3) from another hash still finds the session.
  d.ingest({ deletion: true, msgIdHash: 99, origin: '192.168.1.10', payloadType: 'application/sdp', sdp: `v=0\no=${sdpOrigin(LF_SDP)}\n` }, 9000);
  [living, second] = d.list();
  assert.equal(living.deleted, true);
  assert.equal(living.deletedMs, 9000);
  assert.equal(second.deleted, false);
  assert.equal(d.find('living room')?.name, 'Living room 2', 'deleted streams are not played');
  const j = streamJson(living, 10_000);
  assert.equal(j.deleted, true);
  assert.equal(j.lastSeenAgoSec, 4);
  assert.equal(j.codec, 'L16');
  assert.equal(j.rate, 48000);
  assert.equal(j.channels, 2);
  assert.equal(j.address, '239.255.12.34');
  const table = renderStreams(d.list(), 10_000);
  assert.match(table, /Living room .*192\.168\.1\.10.*239\.255\.12\.34:5004.*L16 48000 Hz stereo \(PT 96\).*4 s ago.*deleted 1 s ago/);
  assert.match(table, /Living room 2 .*announced \(1x\)/);
  // unreadable SDPs are listed with the reason, not dropped
  d.ingest({ deletion: false, msgIdHash: 5, origin: '10.0.0.1', payloadType: 'application/sdp', sdp: 'v=0\ns=video only\nm=video 5000 RTP/AVP 96\n' }, 10_000);
  assert.match(renderStreams(d.list(), 10_000), /video only .*unreadable SDP: no m=audio line/);
});

test('send --announce-group/--announce-ttl without --announce is a usage error', () => {
  const base = { toneLevel: -12, format: 's16le', codec: 'l16', fec: true, multicastLoop: true };
  assert.throws(() => toSendRequest({ ...base, announceGroup: ['224.0.0.56'] }), /go with --announce/);
  assert.deepEqual(toSendRequest({ ...base, announce: true, announceGroup: ['127.0.0.1:19875'], announceTtl: 4 }).announce, { groups: ['127.0.0.1:19875'], ttl: 4 });
  assert.equal(toSendRequest({ ...base }).announce, undefined);
  // Announced L16 uses PT 127 (PulseAudio's GStreamer backend and PipeWire); static 10/11 and --pt stay.
  assert.equal(toSendRequest({ ...base, announce: true }).stream.payloadType, 127);
  assert.equal(toSendRequest({ ...base, announce: true, rate: 44100 }).stream.payloadType, undefined);
  assert.equal(toSendRequest({ ...base, announce: true, pt: 100 }).stream.payloadType, 100);
  assert.equal(toSendRequest({ ...base, announce: true, codec: 'opus' }).stream.payloadType, undefined);
  assert.equal(toSendRequest({ ...base }).stream.payloadType, undefined);
  assert.ok(buildProgram().commands.some((c) => c.name() === 'list'), 'rtpcast list is registered');
});

async function receiver(): Promise<{ port: number; packets: Buffer[]; close(): void }> {
  const s = createSocket('udp4');
  const packets: Buffer[] = [];
  s.on('message', (b) => packets.push(b));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: (s.address() as AddressInfo).port, packets, close: () => s.close() };
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (cond()) return true;
  return cond();
}

test('SapAnnouncer over a real socket: announces at once, deletes on stop, with the origin it sends from', { timeout: 10_000 }, async () => {
  const rx = await receiver();
  try {
    const ann = await SapAnnouncer.open([{ address: '127.0.0.1', family: 4, port: rx.port }], [FILE_SDP], { ttl: 1, random: () => 0.5 });
    assert.deepEqual(ann.describe(), { targets: [`127.0.0.1:${rx.port}`], intervalSec: 5 });
    ann.start();
    assert.ok(await until(() => rx.packets.length >= 1, 5000), 'the first announcement goes out at once');
    await ann.stop();
    await ann.stop(); // idempotent: one deletion only
    assert.ok(await until(() => rx.packets.length >= 2, 5000));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(rx.packets.length, 2);
    assert.equal(rx.packets[0].toString('hex'), buildSap({ msgIdHash: 0x75ba, origin: '127.0.0.1', sdp: LF_SDP }).toString('hex'));
    assert.equal(rx.packets[1].toString('hex'), buildSap({ deletion: true, msgIdHash: 0x75ba, origin: '127.0.0.1', sdp: LF_SDP }).toString('hex'));
  } finally {
    rx.close();
  }
});

test('runSend with announce: the announced SDP is the stream\'s SDP (LF), and a deletion follows the end', { timeout: 20_000 }, async () => {
  const rx = await receiver();
  const rtp = await receiver();
  try {
    let sdpText = '';
    let announce: unknown;
    const r = await runSend(
      {
        source: { kind: 'tone', hz: 440, dbfs: -12 },
        stream: { codec: 'l16', name: 'Kitchen' },
        dests: [`127.0.0.1:${rtp.port}`],
        durationSec: 0.2,
        announce: { groups: [`127.0.0.1:${rx.port}`] },
        start: { ssrc: 0x01020304, sequence: 1, timestamp: 0 },
      },
      { onStart: (i) => ((sdpText = i.sdps[0].text), (announce = i.announce)) },
    );
    assert.equal(r.reason, 'duration');
    assert.deepEqual(announce, { targets: [`127.0.0.1:${rx.port}`], intervalSec: 5 });
    assert.ok(await until(() => rx.packets.length >= 2, 5000), `${rx.packets.length} SAP packets`);
    const msgs = rx.packets.map((b) => parseSap(b)!);
    assert.equal(msgs[0].deletion, false);
    assert.equal(msgs[0].sdp, sdpText.replace(/\r\n/g, '\n'));
    assert.ok(sdpText.includes('\r\n'), 'the file keeps CRLF');
    assert.equal(msgs[0].msgIdHash, sapHash(msgs[0].sdp));
    assert.equal(msgs.at(-1)!.deletion, true);
    assert.equal(msgs.at(-1)!.msgIdHash, msgs[0].msgIdHash);
    assert.equal(msgs.at(-1)!.origin, '127.0.0.1');
  } finally {
    rx.close();
    rtp.close();
  }
});
