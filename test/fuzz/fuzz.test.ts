/**
 * The short fuzz pass (20,000 inputs per target; the long one is `npm run fuzz`) and the replay of
 * every input the fuzzer ever found failing (test/fixtures/fuzz/<target>/*.bin).
 *
 * No wall-clock assertion here: the per-input time and the heap are reported by the long pass
 * (docs/RELIABILITY.md), not judged in a unit test.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RtpcastError } from '../../src/errors';
import { parseSdpStream, SdpError } from '../../src/sdp/parse';
import { receiveSpec } from '../../src/session/play';
import { runTarget } from './runner';
import { FuzzViolation, TARGETS, target } from './targets';

const COUNT = 20_000;
const SEED = 20261122;
const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'fuzz');

function fixtures(name: string): { file: string; input: Uint8Array }[] {
  let files: string[];
  try {
    files = readdirSync(join(FIXTURES, name)).filter((f) => f.endsWith('.bin')).sort();
  } catch {
    return [];
  }
  return files.map((file) => ({ file, input: readFileSync(join(FIXTURES, name, file)) }));
}

for (const t of TARGETS) {
  test(`fuzz ${t.name}: ${COUNT} generated and mutated inputs, nothing escapes`, () => {
    const r = runTarget(t, { seed: SEED, count: COUNT, heapSamples: 2 });
    assert.equal(r.count, COUNT);
    assert.deepEqual(
      r.failures.map((f) => `input ${f.index}: ${f.message}\n${f.stack.split('\n').slice(1, 3).join('\n')}`),
      [],
      `replay one with: npm run fuzz -- --target ${t.name} --seed ${SEED} --start INDEX --count 1`,
    );
  });

  test(`fuzz ${t.name}: the regression inputs in test/fixtures/fuzz/${t.name} pass`, () => {
    for (const { file, input } of fixtures(t.name)) {
      const inst = t.create(1);
      try {
        assert.doesNotThrow(() => inst.run(input, 0), file);
      } finally {
        inst.close();
      }
    }
  });
}

test('fuzz: the SDP regression inputs named reject-* are rejected with the rule, not mis-parsed', () => {
  const list = fixtures('sdp').filter((f) => f.file.startsWith('reject-'));
  assert.ok(list.length >= 7, `expected the 7 SDP inputs found by the fuzzer, found ${list.length}`);
  for (const { file, input } of list) {
    const text = Buffer.from(input).toString('utf8');
    assert.throws(() => parseSdpStream(text), (e: unknown) => e instanceof SdpError && !!e.rule, file);
    assert.throws(() => receiveSpec({ sdp: { text, name: file } }), (e: unknown) => e instanceof RtpcastError && e.message.startsWith(file), file);
  }
});

test('fuzz: the checks catch a mis-parse (the harness can fail)', () => {
  // a valid SDP whose rtpmap has no clock rate must not reach the player: if parseSdpStream let
  // it through, the sdp target would report a FuzzViolation, not pass silently
  const inst = target('sdp').create(1);
  const bad = Buffer.from('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 96\r\na=rtpmap:96 L16\r\n');
  assert.doesNotThrow(() => inst.run(bad, 0));
  assert.throws(() => parseSdpStream(bad.toString()), SdpError);
  // and the RTP reference comparison is live: a packet the reference rejects is rejected
  const rtp = target('rtp').create(1);
  const pkt = Buffer.alloc(16);
  pkt[0] = 0x80 | 0x20; // padding, pad count 0: bad-padding
  assert.doesNotThrow(() => rtp.run(pkt, 0));
  assert.ok(new FuzzViolation('x') instanceof Error);
});
