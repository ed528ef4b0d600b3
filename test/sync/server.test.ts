import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { monotonicClock } from '../../src/rtp/clock';
import { SyncClient, parseSyncTarget } from '../../src/sync/client';
import { encodeSync, SYNC_PORT } from '../../src/sync/protocol';
import { SenderClock } from '../../src/sync/sender-clock';
import { SyncServer } from '../../src/sync/server';
import { SkewedClock } from '../../src/sync/test-clock';

const PORT = 31098;

test('the service (worker thread) and a client over loopback: the client learns the sender clock; garbage is counted, never answered', { timeout: 20_000 }, async () => {
  const senderClock = new SenderClock(monotonicClock, 1_790_000_000_000);
  const server = await SyncServer.open(senderClock, PORT, '127.0.0.1');
  const local = new SkewedClock(-50, -100);
  const client = await SyncClient.open('127.0.0.1', PORT, local, { fastIntervalMs: 20, fastSec: 10 });
  const junk = createSocket('udp4');
  try {
    client.start();
    // garbage and a reply posing as a request: skipped and counted
    for (const g of [Buffer.from('hello'), Buffer.alloc(36), encodeSync({ kind: 'reply', seq: 1, t0: 1n, t1: 2n, t2: 3n })]) {
      await new Promise<void>((r) => junk.send(g, PORT, '127.0.0.1', () => r()));
    }
    const deadline = Date.now() + 8000;
    while (client.stats.replies < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(client.stats.replies >= 60, `${client.stats.replies} replies`);
    // the truth: sender clock minus the skewed local clock, now
    const truth = senderClock.unixNs() - local.nowNs();
    const est = client.estimator.toSender(local.nowNs())! - local.nowNs();
    const errUs = Number(est - truth) / 1000;
    assert.ok(Math.abs(errUs) < 1000, `offset off by ${errUs.toFixed(0)} us (loopback, a loaded machine: well under a millisecond expected)`);
  } finally {
    junk.close();
    await client.close();
    const stats = await server.close();
    assert.ok(stats, 'the worker reported its statistics');
    assert.equal(stats!.refused['wrong-size'], 1);
    assert.equal(stats!.refused['bad-magic'], 1);
    assert.equal(stats!.refused['wrong-kind'], 1);
    assert.ok(stats!.answered >= 60);
  }
});

test('a port already taken: open() rejects with the system error (send turns it into a warning or an error)', async () => {
  const holder = createSocket('udp4');
  await new Promise<void>((r) => holder.bind(PORT + 1, '127.0.0.1', () => r()));
  try {
    await assert.rejects(SyncServer.open(new SenderClock(), PORT + 1, '127.0.0.1'), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
  } finally {
    holder.close();
  }
});

test('play --sync targets', () => {
  assert.deepEqual(parseSyncTarget('192.168.1.10'), { host: '192.168.1.10', port: SYNC_PORT });
  assert.deepEqual(parseSyncTarget('192.168.1.10:6000'), { host: '192.168.1.10', port: 6000 });
  assert.deepEqual(parseSyncTarget('[::1]:6000'), { host: '::1', port: 6000 });
  assert.deepEqual(parseSyncTarget('::1'), { host: '::1', port: SYNC_PORT });
  assert.deepEqual(parseSyncTarget('kitchen.local'), { host: 'kitchen.local', port: SYNC_PORT });
  assert.equal(parseSyncTarget('host:0'), undefined);
  assert.equal(parseSyncTarget('host:70000'), undefined);
  assert.equal(parseSyncTarget('a:b:c'), undefined);
});
