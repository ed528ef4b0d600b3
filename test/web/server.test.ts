import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { pageUrls, parseWebAddress, WebServer } from '../../src/web/server';
import { keepCandidatesOn } from '../../src/web/send-web';
import { renderPage } from '../../src/web/page';

test('--web addresses: alone is this machine only; :PORT and PORT every interface', () => {
  assert.deepEqual(parseWebAddress(true), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseWebAddress(':8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseWebAddress('9000'), { host: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseWebAddress('192.168.1.5:8081'), { host: '192.168.1.5', port: 8081 });
  assert.deepEqual(parseWebAddress('192.168.1.5'), { host: '192.168.1.5', port: 8080 });
  assert.deepEqual(parseWebAddress('[::]:8080'), { host: '::', port: 8080 });
  assert.deepEqual(parseWebAddress('[fd00::2]'), { host: 'fd00::2', port: 8080 });
  assert.deepEqual(parseWebAddress('*:80'), { host: '0.0.0.0', port: 80 });
  for (const bad of ['fd00::2:8080', 'host:', 'host:99999', 'host:port', ':-1']) assert.throws(() => parseWebAddress(bad), /expected \[HOST\]:PORT/, bad);
});

test('page URLs: the bound address, or every external IPv4 address for a wildcard', () => {
  const ifs: Record<string, NetworkInterfaceInfo[]> = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '', cidr: null }],
    eth0: [
      { address: '192.168.1.5', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: '', cidr: null },
      { address: 'fe80::1', family: 'IPv6', internal: false, netmask: 'ffff::', mac: '', cidr: null, scopeid: 2 },
      { address: 'fd00::5', family: 'IPv6', internal: false, netmask: 'ffff::', mac: '', cidr: null, scopeid: 0 },
    ],
  };
  assert.deepEqual(pageUrls({ host: '0.0.0.0', port: 8080 }, 'T', ifs), ['http://192.168.1.5:8080/?k=T']);
  assert.deepEqual(pageUrls({ host: '::', port: 8080 }, 'T', ifs), ['http://192.168.1.5:8080/?k=T', 'http://[fd00::5]:8080/?k=T']);
  assert.deepEqual(pageUrls({ host: '127.0.0.1', port: 32000 }, 'T', ifs), ['http://127.0.0.1:32000/?k=T']);
  assert.deepEqual(pageUrls({ host: '0.0.0.0', port: 8080 }, 'T', { lo: ifs.lo }), ['http://127.0.0.1:8080/?k=T'], 'no network: this machine');
});

test('the answer keeps only ICE candidates on the bound address', () => {
  const sdp = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host', 'a=candidate:2 1 udp 2130706431 192.0.2.2 50001 typ host', 'a=end-of-candidates', ''].join('\r\n');
  assert.equal(keepCandidatesOn(sdp, '127.0.0.1'), ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host', 'a=end-of-candidates', ''].join('\r\n'));
});

test('the page is self-contained and escapes what it shows', () => {
  const html = renderPage({ title: '<Living & room>', qrSvg: '<svg></svg>', url: 'http://h/?k=a&b', token: 'a"</script>', nonce: 'N', format: 'Opus' });
  assert.match(html, /&#60;Living &#38; room&#62;/);
  assert.doesNotMatch(html, /<script src|<link |@import|https?:\/\/(?!h\/)/, 'no external script, style or request');
  assert.doesNotMatch(html, /a"<\/script>/, 'the token cannot close the script element');
  assert.equal((html.match(/nonce="N"/g) ?? []).length, 2);
});

test('the server refuses requests without the token, bad bodies, and serves the page with a CSP', async (t) => {
  const ws = new WebServer({ address: { host: '127.0.0.1', port: 0 }, token: 'secret-token', title: 'T', format: 'Opus', stereo: true, maxListeners: 1 });
  t.after(() => ws.close());
  const info = await ws.start();
  const base = `http://127.0.0.1:${info.port}`;
  assert.equal(info.urls[0], `${base}/?k=secret-token`);
  assert.equal((await fetch(`${base}/`)).status, 403);
  assert.equal((await fetch(`${base}/?k=secret-tokeN`)).status, 403);
  assert.equal((await fetch(`${base}/connect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 403);
  assert.equal((await fetch(`${base}/other?k=secret-token`)).status, 404);
  const page = await fetch(info.urls[0]);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'nonce-/);
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  assert.match(await page.text(), /<svg[^>]*viewBox/);
  const post = (body: string, type = 'application/json') => fetch(`${base}/connect?k=secret-token`, { method: 'POST', headers: { 'content-type': type }, body });
  assert.equal((await post('{"sdp":"v=0"}', 'text/plain')).status, 415);
  assert.equal((await post('not json')).status, 400);
  assert.equal((await post('{"sdp":42}')).status, 400);
  const r = await post(JSON.stringify({ sdp: 'v=0\r\n' + 'a=x\r\n'.repeat(20000) }));
  assert.equal(r.status, 413);
  const noAudio = await post(JSON.stringify({ sdp: 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n' }));
  assert.equal(noAudio.status, 400);
  assert.match(((await noAudio.json()) as { error: string }).error, /no audio/);
  assert.equal((await fetch(`${base}/leave?k=secret-token&id=7&s=x`, { method: 'POST', body: '' })).status, 404, 'no such listener');
  assert.equal((await fetch(`${base}/leave?id=1`, { method: 'POST', body: '' })).status, 403);
  assert.equal(ws.refused, 4);
});

test('an offer to receive audio gets a send-only Opus answer on the bound address; beyond --web-max, 503', async (t) => {
  const { RTCPeerConnection } = await import('werift');
  const ws = new WebServer({ address: { host: '127.0.0.1', port: 0 }, token: 'secret-token', title: 'T', format: 'Opus', stereo: true, maxListeners: 1 });
  const client = new RTCPeerConnection({ iceServers: [] });
  t.after(async () => {
    await client.close();
    await ws.close();
  });
  const info = await ws.start();
  client.addTransceiver('audio', { direction: 'recvonly' });
  await client.setLocalDescription(await client.createOffer());
  const post = () => fetch(`http://127.0.0.1:${info.port}/connect?k=secret-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sdp: client.localDescription!.sdp }) });
  const r = await post();
  assert.equal(r.status, 200);
  const body = (await r.json()) as { id: number; type: string; sdp: string };
  assert.equal(body.type, 'answer');
  assert.equal(body.id, 1);
  assert.match(body.sdp, /a=sendonly/);
  assert.match(body.sdp, /a=rtpmap:\d+ opus\/48000\/2/i);
  assert.match(body.sdp, /a=ice-lite/);
  const candidates = body.sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
  assert.ok(candidates.length >= 1);
  for (const c of candidates) assert.equal(c.split(' ')[4], '127.0.0.1', c);
  assert.equal(typeof (body as unknown as { secret: string }).secret, 'string');
  const leaveWrong = await fetch(`http://127.0.0.1:${info.port}/leave?k=secret-token&id=1&s=guess`, { method: 'POST', body: '' });
  assert.equal(leaveWrong.status, 404, 'another token holder cannot end this listener');
  const second = await post();
  assert.equal(second.status, 503);
  assert.match(((await second.json()) as { error: string }).error, /already has 1 listeners.*--web-max/);
});
