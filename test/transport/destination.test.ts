import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDestination, isMulticast, parseHostPort, resolveDestination } from '../../src/transport/destination';
import { RtpcastError } from '../../src/errors';

test('host:port forms', () => {
  assert.deepEqual(parseHostPort('192.168.1.20:6000'), { host: '192.168.1.20', port: 6000 });
  assert.deepEqual(parseHostPort('192.168.1.20'), { host: '192.168.1.20', port: 5004 });
  assert.deepEqual(parseHostPort('[::1]:7000'), { host: '::1', port: 7000 });
  assert.deepEqual(parseHostPort('[ff02::1]'), { host: 'ff02::1', port: 5004 });
  assert.deepEqual(parseHostPort('fe80::1'), { host: 'fe80::1', port: 5004 });
  assert.deepEqual(parseHostPort('pc.local:5006'), { host: 'pc.local', port: 5006 });
});

test('bad destinations are usage errors with a hint', () => {
  for (const bad of ['', ':5004', 'host:abc', 'host:0', 'host:65535', '1:2:3:4:5004x']) {
    assert.throws(() => parseHostPort(bad), (e: unknown) => e instanceof RtpcastError && e.exitCode === 2 && !!e.hint, bad);
  }
});

test('multicast ranges', () => {
  assert.equal(isMulticast('239.255.0.1'), true);
  assert.equal(isMulticast('224.0.0.56'), true);
  assert.equal(isMulticast('223.255.255.255'), false);
  assert.equal(isMulticast('ff02::1'), true);
  assert.equal(isMulticast('fe80::1'), false);
});

test('resolution: numeric needs no DNS; an unknown name is a network error (exit 5) with a hint', async () => {
  assert.deepEqual(await resolveDestination('[::1]:5008'), { host: '::1', address: '::1', family: 6, port: 5008, multicast: false });
  assert.equal(formatDestination({ address: '::1', family: 6, port: 5008 }), '[::1]:5008');
  await assert.rejects(resolveDestination('no-such-host.invalid:5004'), (e: unknown) => e instanceof RtpcastError && e.exitCode === 5 && /cannot resolve "no-such-host.invalid"/.test(e.message));
});
