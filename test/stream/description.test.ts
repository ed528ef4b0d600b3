import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeStream, maxPayloadBytes } from '../../src/stream/description';
import { RtpcastError } from '../../src/errors';

const usage = (re: RegExp) => (e: unknown) => e instanceof RtpcastError && e.exitCode === 2 && re.test(e.message + ' ' + e.hint);

test('defaults: Opus 48 kHz stereo 128 kb/s, 20 ms, FEC on, PT 96', () => {
  const d = describeStream({}, []);
  assert.deepEqual([d.codec, d.sampleRate, d.clockRate, d.channels, d.ptimeMs, d.frameSamples, d.bitrate, d.fec, d.payloadType], ['opus', 48000, 48000, 2, 20, 960, 128000, true, 96]);
  assert.equal(describeStream({ channels: 1 }, []).bitrate, 64000);
});

test('L16 payload types and packet sizes', () => {
  const a = describeStream({ codec: 'l16', rate: 44100, channels: 2 }, []);
  assert.deepEqual([a.payloadType, a.frameSamples, a.ptimeMs], [10, 221, 5]);
  assert.equal(describeStream({ codec: 'l16', rate: 44100, channels: 1 }, []).payloadType, 11);
  const b = describeStream({ codec: 'l16', rate: 48000, channels: 2 }, []);
  assert.deepEqual([b.payloadType, b.frameSamples, maxPayloadBytes(b)], [96, 240, 960]);
  assert.equal(describeStream({ codec: 'l16', rate: 44100, channels: 2, payloadType: 100 }, []).payloadType, 100);
});

test('every default packet fits a 1500-byte MTU over IPv6', () => {
  for (const rate of [8000, 16000, 44100, 48000, 96000, 192000]) {
    for (const channels of [1, 2, 6, 8]) {
      const d = describeStream({ codec: 'l16', rate, channels }, []);
      assert.ok(maxPayloadBytes(d) + 12 + 8 + 40 <= 1500, `${rate}/${channels}: ${maxPayloadBytes(d)}`);
    }
  }
});

test('refusals say why and what to do', () => {
  assert.throws(() => describeStream({ codec: 'mp3' }, []), usage(/unknown codec "mp3".*--codec l16/));
  assert.throws(() => describeStream({ codec: 'opus', rate: 44100 }, []), usage(/48000 Hz clock.*--input-rate/));
  assert.throws(() => describeStream({ codec: 'l16', rate: 44000 }, []), usage(/L16 at 44000 Hz is not supported/));
  assert.throws(() => describeStream({ codec: 'l16', rate: 48000, channels: 2, ptime: 10 }, []), usage(/1920-byte payloads.*--ptime 7.5 or less/));
  assert.throws(() => describeStream({ codec: 'opus', ptime: 15 }, []), usage(/not an Opus frame duration/));
  assert.throws(() => describeStream({ codec: 'opus', channels: 6 }, []), usage(/1 or 2 channels/));
  assert.throws(() => describeStream({ codec: 'l16', rate: 44100, payloadType: 50 }, []), usage(/only 10 \(L16\/44100\/2\) and 11/));
  assert.throws(() => describeStream({ codec: 'opus', bitrate: 1000 }, []), usage(/6000 to 510000/));
  assert.throws(() => describeStream({ codec: 'l16', mtu: 1280, rate: 48000, channels: 2, ptime: 7 }, []), usage(/1344-byte payloads.*1280-byte MTU \(1220 bytes/));
});
