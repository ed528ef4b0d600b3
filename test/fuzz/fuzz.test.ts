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
import { checkReceiveSpec, FuzzViolation, referenceRtcp, referenceRtp, TARGETS } from './targets';

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

test('fuzz: the oracles can fail (a mis-parse would be reported, not passed)', () => {
  // what the SDP target requires of an accepted SDP
  const good = { codec: 'opus' as const, payloadType: 96, clockRate: 48000, channels: 2, port: 5004, address: '127.0.0.1', family: 4 as const, multicast: false, from: 'x' };
  assert.doesNotThrow(() => checkReceiveSpec(good));
  for (const bad of [{ port: 0 }, { port: NaN }, { clockRate: 0 }, { clockRate: '' as unknown as number }, { channels: NaN }, { channels: 999 }, { payloadType: 200 }]) {
    assert.throws(() => checkReceiveSpec({ ...good, ...bad }), FuzzViolation, JSON.stringify(bad));
  }
  // the RTP reference validator on hand-made packets
  const pkt = (b0: number, len: number, last = 0) => {
    const b = new Uint8Array(len);
    b[0] = b0;
    b[1] = 96;
    b[len - 1] = last;
    return b;
  };
  assert.equal(referenceRtp(pkt(0x80, 11)).error, 'too-short');
  assert.equal(referenceRtp(pkt(0x40, 20)).error, 'not-version-2');
  assert.equal(referenceRtp(pkt(0x8f, 20)).error, 'csrc-past-end');
  assert.equal(referenceRtp(pkt(0x90, 14)).error, 'extension-past-end');
  assert.equal(referenceRtp(pkt(0xa0, 16, 0)).error, 'bad-padding');
  assert.equal(referenceRtp(pkt(0xa0, 16, 5)).error, 'bad-padding');
  assert.equal(referenceRtp(pkt(0xa0, 16, 4)).error, 'empty-payload');
  assert.deepEqual(referenceRtp(pkt(0xa0, 16, 3)), { payloadStart: 12, payloadEnd: 13 });
  assert.deepEqual(referenceRtp(pkt(0x80, 12)).error, 'empty-payload');
  // and the RTCP one: a length that overruns, a compound that adds up
  assert.equal(referenceRtcp(Uint8Array.of(0x80, 200, 0, 2, 0, 0, 0, 0)).valid, false);
  assert.deepEqual(referenceRtcp(Uint8Array.of(0x81, 203, 0, 1, 0, 0, 0, 7)), { valid: true, types: [203], bye: [7] });
});
