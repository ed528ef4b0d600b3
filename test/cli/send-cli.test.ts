import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dgramReceiver } from '../support/udp';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = process.env, input?: Buffer) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, input, encoding: 'utf8', timeout: 20000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('exit 2 and a hint for an unknown codec/rate combination', () => {
  const r = run(['send', '--codec', 'opus', '--rate', '44100', '--duration', '0.1']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Opus over RTP always runs a 48000 Hz clock/);
  assert.match(r.stderr, /try: /);
  const c = run(['send', '--codec', 'mp3']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /Allowed choices are l16, opus/);
});

test('exit 3 for an unreadable input file, naming it', () => {
  const r = run(['send', '--input', '/nonexistent/song.flac', '--duration', '0.1']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot read input file \/nonexistent\/song.flac: no such file/);
});

test('exit 3 for a file ffmpeg cannot decode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-cli-'));
  try {
    const f = join(dir, 'not-audio.wav');
    writeFileSync(f, 'this is text, not audio');
    const r = run(['send', '--input', f, '--duration', '0.1', '--quiet']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /ffmpeg could not decode/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit 4 and the install command when ffmpeg is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-cli-'));
  try {
    const f = join(dir, 'a.wav');
    writeFileSync(f, 'x');
    const r = run(['send', '--input', f, '--duration', '0.1'], { ...process.env, PATH: dir });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /ffmpeg is not installed or not on PATH/);
    assert.match(r.stderr, /apt install ffmpeg/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit 5 for a host that cannot be resolved', () => {
  const r = run(['send', '--dest', 'no-such-host.invalid:5004', '--duration', '0.1']);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /cannot resolve "no-such-host.invalid"/);
});

test('--sdp - prints the SDP on stdout; --json and --sdp - together are refused', () => {
  const r = run(['send', '--tone', '--sdp', '-', '--duration', '0.02', '--quiet', '--dest', '127.0.0.1:45990']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^v=0\r\n/);
  assert.match(r.stdout, /a=rtpmap:96 opus\/48000\/2/);
  const j = run(['send', '--sdp', '-', '--json']);
  assert.equal(j.code, 2);
});

test('--json: start, status and stop events; SDP written atomically to the file; the tone arrives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-cli-'));
  const rx = await dgramReceiver('127.0.0.1', 0);
  try {
    const sdp = join(dir, 'out.sdp');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, 'send', '--tone', '--json', '--codec', 'l16', '--rate', '44100', '--duration', '1.2', '--sdp', sdp, '--dest', `127.0.0.1:${rx.port}`]);
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const code = await new Promise((r) => child.on('exit', r));
    assert.equal(code, 0);
    const events = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(events[0].event, 'start');
    assert.equal(events[0].stream.payloadType, 10);
    assert.equal(events.at(-1).event, 'stop');
    assert.equal(events.at(-1).reason, 'duration');
    assert.ok(events.some((e) => e.event === 'status'));
    const text = readFileSync(sdp, 'utf8');
    assert.match(text, new RegExp(`m=audio ${rx.port} RTP/AVP 10`));
    assert.equal(existsSync(sdp + '.tmp'), false);
    // 1.2 s of 44.1 kHz in 221-frame packets, plus the counted packets equal what arrived
    const expected = Math.ceil((1.2 * 44100) / 221);
    assert.equal(events.at(-1).packets, expected);
    assert.equal(rx.packets.length, expected);
  } finally {
    rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
