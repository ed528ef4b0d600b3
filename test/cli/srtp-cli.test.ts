import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dgramReceiver } from '../support/udp';
import { parseSdpStream } from '../../src/sdp/parse';
import { selectCrypto } from '../../src/sdp/crypto';
import { masterKeyFrom, SrtpUnprotector } from '../../src/rtp/srtp';
import { parseRtp, rtcpSummary } from '../../src/rtp/parse';
import { toSendRequest } from '../../src/cli/send';
import { renderPlayStatus } from '../../src/cli/play';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the CLI to its end without blocking the event loop (the test receives its packets meanwhile). */
function runAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => c.kill('SIGKILL'), 20000);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'rtpcast-srtp-cli-'));
}

test('send --srtp: a new key each run, in a 0600 SDP, a warning naming it; packets on the wire are SRTP/SRTCP under that key', async () => {
  const dir = tmp();
  const rtp = await dgramReceiver('127.0.0.1', 0);
  const rtcp = await dgramReceiver('127.0.0.1', rtp.port + 1).catch(() => undefined);
  try {
    const sdp = join(dir, 's.sdp');
    const r = await runAsync(['send', '--srtp', '--tone', '1000', '--codec', 'l16', '--dest', `127.0.0.1:${rtp.port}`, '--sdp', sdp, '--duration', '0.2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SRTP: the SDP \(.*s\.sdp; readable by you only\) holds the key: anyone who has it can listen to this stream and inject audio into it/);
    assert.match(r.stderr, /docs\/SECURITY\.md/);
    if (process.platform !== 'win32') assert.equal(statSync(sdp).mode & 0o777, 0o600);
    const text = readFileSync(sdp, 'utf8');
    assert.ok(!r.stderr.includes(selectCrypto(parseSdpStream(text).crypto).keyAndSalt.toString('base64')), 'the key is not printed');
    const s = parseSdpStream(text);
    assert.equal(s.protocol, 'RTP/SAVP');
    const key = selectCrypto(s.crypto).keyAndSalt;
    const u = new SrtpUnprotector(masterKeyFrom(key));
    assert.equal(rtp.packets.length, 40, '0.2 s of 5 ms packets');
    for (const p of rtp.packets) {
      assert.equal(parseRtp(p.data).ok, true, 'the RTP header stays in clear');
      const plain = u.unprotectRtp(p.data);
      assert.ok(plain.ok, 'authenticates under the SDP key');
      assert.equal(plain.packet.length, p.data.length - 10);
      assert.notDeepEqual(plain.packet.subarray(12), p.data.subarray(12, p.data.length - 10), 'the payload was encrypted');
    }
    if (rtcp) {
      const kinds = rtcp.packets.map((p) => {
        const r2 = u.unprotectRtcp(p.data);
        assert.ok(r2.ok, 'SRTCP authenticates');
        return rtcpSummary(r2.packet);
      });
      assert.ok(kinds.some((k) => k.valid && k.types[0] === 200), 'an SR');
      assert.ok(kinds.some((k) => k.byeSsrcs.length === 1), 'a BYE');
    }
    // a second run: another key
    const r2 = run(['send', '--srtp', '--tone', '--dest', `127.0.0.1:${rtp.port}`, '--sdp', sdp, '--duration', '0.02', '--quiet']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.notDeepEqual(selectCrypto(parseSdpStream(readFileSync(sdp, 'utf8')).crypto).keyAndSalt, key);
  } finally {
    rtp.close();
    rtcp?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('send --srtp errors: no SDP to carry the key, a malformed --srtp-key, --srtp-key without --srtp', () => {
  const a = run(['send', '--srtp', '--tone', '--duration', '0.01']);
  assert.equal(a.code, 2, a.stderr);
  assert.match(a.stderr, /--srtp without --sdp: the generated key would be known to nobody/);
  const b = run(['send', '--srtp', '--srtp-key', 'c2hvcnQ=', '--tone', '--sdp', '-', '--duration', '0.01']);
  assert.equal(b.code, 2, b.stderr);
  assert.match(b.stderr, /--srtp-key must be 30 octets in base64 .*this is 5 octets/);
  assert.match(b.stderr, /openssl rand -base64 30/);
  const c = run(['send', '--srtp-key', Buffer.alloc(30).toString('base64'), '--tone', '--duration', '0.01']);
  assert.equal(c.code, 2, c.stderr);
  assert.match(c.stderr, /--srtp-key goes with --srtp/);
});

test('--srtp-key @file reads the key from a file', () => {
  const dir = tmp();
  try {
    const key = Buffer.from(Array.from({ length: 30 }, (_, i) => 200 - i));
    writeFileSync(join(dir, 'k'), key.toString('base64') + '\n');
    const req = toSendRequest({ srtp: true, srtpKey: `@${join(dir, 'k')}`, toneLevel: -12, format: 's16le', codec: 'opus', fec: true, multicastLoop: true, sdp: 'x.sdp' });
    assert.deepEqual(req.srtp?.key, key);
    assert.throws(() => toSendRequest({ srtp: true, srtpKey: `@${join(dir, 'missing')}`, toneLevel: -12, format: 's16le', codec: 'opus', fec: true, multicastLoop: true }), /cannot read the key file: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('play: an SDP that asks for SRTP rtpcast cannot do is refused with the reason (exit 2)', () => {
  const dir = tmp();
  try {
    const head = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n';
    const cases: [string, RegExp][] = [
      [`m=audio 28990 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/2\r\na=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:${Buffer.alloc(30, 1).toString('base64')}\r\n`, /suite AES_CM_128_HMAC_SHA1_32 is not supported/],
      ['m=audio 28990 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/2\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA\r\n', /key must be 30 octets in base64/],
      ['m=audio 28990 RTP/SAVP 96\r\na=rtpmap:96 opus/48000/2\r\n', /RTP\/SAVP \(SRTP\) but the SDP has no a=crypto key/],
    ];
    for (const [m, re] of cases) {
      const f = join(dir, 'bad.sdp');
      writeFileSync(f, head + m);
      const r = run(['play', f, '--out', join(dir, 'o.wav'), '--duration', '0.1']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /bad\.sdp/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('play status line: SRTP authentication failures and replays are shown', () => {
  const base = {
    elapsedSec: 5, others: [], dropped: { malformed: 0, wrongPt: 0, filtered: 0, rtcp: 0, untracked: 0 }, filteredFrom: {}, beforeOutput: 0,
    flood: { active: false, episodes: 0, seconds: 0, peakPerSec: 0, refusedEstimate: 0, drained: 0 },
    player: { state: 'playing' as const, targetMs: 40, bufferedMs: 40, queued: 0, duplicates: 0, late: 0, overflow: 0, concealedMs: { fec: 0, plc: 0, fade: 0 }, underruns: 0, stalls: 0, playedMs: 5000, driftPpm: 0, resyncs: 0, undecodable: 0, correctionPpm: 0, skippedMs: 0, catchUps: 0, headroomMs: 0 },
  };
  assert.doesNotMatch(renderPlayStatus(base), /SRTP/);
  const line = renderPlayStatus({ ...base, srtp: { suite: 'AES_CM_128_HMAC_SHA1_80', rtp: 250, rtcp: 1, authFailed: 12, replayed: 3, malformed: 0 } });
  assert.match(line, /12 failed SRTP auth {2}3 replayed$/);
});
