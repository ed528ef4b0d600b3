import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Socket } from 'node:dgram';
import {
  UdpRelay,
  PreciseTimerQueue,
  bindUdpPair,
  createLoopbackSocket,
  planImpairments,
  summarizePlan,
  isLoopbackAddress,
  type ImpairmentOptions,
  type PlannedPacket,
} from './support/relay';

const HOST = '127.0.0.1';
const now = () => process.hrtime.bigint();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function closeSock(s: Socket): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

interface Arrival {
  at: bigint;
  data: Buffer;
  from: { address: string; port: number };
}

/** A receiver on a port pair (RTP, RTCP) recording every datagram with its arrival time. */
async function receiver() {
  const pair = await bindUdpPair(HOST);
  const rtp: Arrival[] = [];
  const rtcp: Arrival[] = [];
  pair.rtp.on('message', (data, r) => rtp.push({ at: now(), data, from: r }));
  pair.rtcp.on('message', (data, r) => rtcp.push({ at: now(), data, from: r }));
  return { port: pair.port, rtp, rtcp, rtcpSock: pair.rtcp, close: () => Promise.all([closeSock(pair.rtp), closeSock(pair.rtcp)]) };
}

async function boundSocket(): Promise<Socket> {
  const s = createLoopbackSocket(HOST);
  await new Promise<void>((r) => s.bind(0, HOST, () => r()));
  return s;
}

/** Sends n datagrams carrying a 4-byte counter, every intervalMs, precisely; resolves with the send times. */
function sendPaced(sock: Socket, port: number, n: number, intervalMs: number, t0 = now() + 20_000_000n): Promise<bigint[]> {
  const q = new PreciseTimerQueue();
  const sent = new Array<bigint>(n);
  return new Promise((resolve) => {
    for (let i = 0; i < n; i++) {
      q.add(t0 + BigInt(Math.round(i * intervalMs * 1e6)), () => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(i);
        sent[i] = now();
        sock.send(b, port, HOST);
        if (i === n - 1) resolve(sent);
      });
    }
  });
}

/** Arrivals grouped by counter: index → positions in arrival order and times. */
function byIndex(arrivals: Arrival[]) {
  const m = new Map<number, { pos: number; at: bigint }[]>();
  arrivals.forEach((a, pos) => {
    const i = a.data.readUInt32BE(0);
    const l = m.get(i) ?? [];
    l.push({ pos, at: a.at });
    m.set(i, l);
  });
  return m;
}

const delivered = (plan: PlannedPacket[]) => plan.filter((p) => !p.drop).map((p) => p.index);

// ---------------------------------------------------------------- the plan alone

test('planImpairments is deterministic per seed, per index, and per impairment', () => {
  const o: ImpairmentOptions = { seed: 42, lossPct: 5, jitterMs: 20, reorderPct: 2, duplicatePct: 1, burst: { pGoodToBad: 0.01, pBadToGood: 0.3 } };
  const a = planImpairments(o, 5000, 5);
  assert.deepEqual(planImpairments({ ...o }, 5000, 5), a);
  assert.notDeepEqual(planImpairments({ ...o, seed: 43 }, 5000, 5), a);
  // packet i's fate does not depend on how many packets are planned
  assert.deepEqual(planImpairments(o, 1000, 5), a.slice(0, 1000));
  // nor do the random losses depend on whether jitter, reordering or duplicates are on
  const lossOnly = planImpairments({ seed: 42, lossPct: 5 }, 5000, 5);
  const lossAndRest = planImpairments({ seed: 42, lossPct: 5, jitterMs: 40, reorderPct: 10, duplicatePct: 10 }, 5000, 5);
  assert.deepEqual(delivered(lossAndRest), delivered(lossOnly));
  // the jitter draws do not depend on loss
  const j1 = planImpairments({ seed: 42, jitterMs: 20, allowReorderByJitter: true }, 2000, 5);
  const j2 = planImpairments({ seed: 42, jitterMs: 20, allowReorderByJitter: true, lossPct: 30 }, 2000, 5);
  for (const p of j2) if (!p.drop) assert.equal(p.delayMs, j1[p.index].delayMs);
  // uniform jitter in [0, jitterMs)
  const raw = j1.map((p) => p.rawDelayMs);
  assert.ok(Math.min(...raw) >= 0 && Math.max(...raw) < 20);
  const mean = raw.reduce((x, y) => x + y, 0) / raw.length;
  assert.ok(Math.abs(mean - 10) < 0.5, `mean jitter ${mean}`);
});

test('planImpairments: loss rate over 100,000 packets is within ±0.3 points of lossPct', (t) => {
  for (const lossPct of [1, 3, 5, 20]) {
    for (const seed of [1, 2, 3, 1234567]) {
      const plan = planImpairments({ seed, lossPct }, 100_000, 20);
      const rate = (100 * plan.filter((p) => p.drop).length) / plan.length;
      assert.ok(Math.abs(rate - lossPct) <= 0.3, `seed ${seed}: ${rate.toFixed(3)}% for ${lossPct}%`);
      if (seed === 1) t.diagnostic(`lossPct ${lossPct}: measured ${rate.toFixed(3)}%`);
    }
  }
});

test('planImpairments: Gilbert-Elliott bursts have mean length 1/pBadToGood (±10%)', (t) => {
  for (const burst of [
    { pGoodToBad: 0.01, pBadToGood: 0.3 },
    { pGoodToBad: 0.005, pBadToGood: 0.1 },
    { pGoodToBad: 0.02, pBadToGood: 0.5 },
  ]) {
    for (const seed of [1, 2, 3]) {
      const plan = planImpairments({ seed, burst }, 100_000, 20);
      const runs: number[] = [];
      let run = 0;
      for (const p of plan) {
        if (p.drop) run++;
        else if (run) {
          runs.push(run);
          run = 0;
        }
      }
      const mean = runs.reduce((a, b) => a + b, 0) / runs.length;
      const expected = 1 / burst.pBadToGood;
      assert.ok(Math.abs(mean - expected) / expected <= 0.1, `seed ${seed} ${JSON.stringify(burst)}: mean burst ${mean.toFixed(3)}, expected ${expected.toFixed(3)}`);
      // and the long-run loss is the stationary share of the bad state
      const loss = plan.filter((p) => p.drop).length / plan.length;
      const pi = burst.pGoodToBad / (burst.pGoodToBad + burst.pBadToGood);
      assert.ok(Math.abs(loss - pi) / pi <= 0.15, `loss ${loss} vs ${pi}`);
      assert.ok(plan.every((p) => !p.drop || p.cause === 'burst'));
      if (seed === 1) t.diagnostic(`${JSON.stringify(burst)}: mean burst ${mean.toFixed(3)} (expected ${expected.toFixed(3)}), ${runs.length} bursts, loss ${(100 * loss).toFixed(2)}%`);
    }
  }
});

test('planImpairments: jitter alone keeps order; reordered packets are overtaken by the next one', () => {
  const o: ImpairmentOptions = { seed: 9, jitterMs: 30, reorderPct: 5, lossPct: 5, packetIntervalMs: 5 };
  const plan = planImpairments(o, 20_000, 5);
  const inOrder = plan.filter((p) => !p.drop && !p.reorder);
  for (let k = 1; k < inOrder.length; k++) assert.ok(inOrder[k].sendAtMs >= inOrder[k - 1].sendAtMs);
  for (const p of plan) {
    if (!p.reorder) continue;
    const next = plan.slice(p.index + 1).find((q) => !q.drop && !q.reorder);
    if (next) assert.ok(next.sendAtMs < p.sendAtMs, `packet ${p.index} not overtaken by ${next.index}`);
    assert.ok(p.delayMs >= p.rawDelayMs + 40 - 1e-9); // held 2 × 5 + 30 ms
  }
  // with allowReorderByJitter, jitter alone does reorder
  const free = summarizePlan(planImpairments({ seed: 9, jitterMs: 30, allowReorderByJitter: true }, 2000, 5));
  assert.ok(free.lateArrivals > 100);
  assert.equal(summarizePlan(planImpairments({ seed: 9, jitterMs: 30 }, 2000, 5)).lateArrivals, 0);
});

test('only loopback addresses are accepted', async () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopbackAddress(a), a);
  for (const a of ['0.0.0.0', '10.0.0.1', '192.168.1.1', '::', '8.8.8.8', 'example.com']) assert.ok(!isLoopbackAddress(a), a);
  await assert.rejects(UdpRelay.start({ listenPort: 0, forwardPort: 5004, host: '0.0.0.0', impair: { seed: 1 } }), /loopback/);
  await assert.rejects(UdpRelay.start({ listenPort: 0, forwardPort: 5004, forwardHost: '192.168.1.1', impair: { seed: 1 } }), /loopback/);
  await assert.rejects(UdpRelay.start({ listenPort: 0, forwardPort: 5004, impair: { seed: 1, lossPct: 150 } }), RangeError);
});

// ---------------------------------------------------------------- through real sockets

/** CPU pressure (share of time some task waited for a CPU, /proc/pressure/cpu) since `since`, if readable. */
function cpuPressure(): () => string {
  const read = () => {
    try {
      return Number(/total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1]);
    } catch {
      return NaN;
    }
  };
  const t0 = now();
  const p0 = read();
  return () => {
    const pct = ((read() - p0) / (Number(now() - t0) / 1e3)) * 100;
    return Number.isFinite(pct) ? `CPU pressure ${pct.toFixed(0)}%` : 'CPU pressure n/a';
  };
}

/**
 * Sends N counters every T ms through a relay into a receiver and returns everything measured.
 * The sender's own lateness against its schedule is a control: it shows how punctual a thread of
 * this process could be at that moment (on a saturated machine, a wake-up can wait ms for a CPU).
 */
async function throughRelay(impair: ImpairmentOptions, N: number, T: number, tailMs: number) {
  const rx = await receiver();
  const relay = await UdpRelay.start({ listenPort: 0, forwardPort: rx.port, impair });
  const tx = await boundSocket();
  try {
    const pressure = cpuPressure();
    const t0 = now() + 20_000_000n;
    const sent = await sendPaced(tx, relay.listenPort, N, T, t0);
    await sleep(tailMs);
    const senderLateUs = sent.map((s, i) => Number(s - (t0 + BigInt(Math.round(i * T * 1e6)))) / 1e3).sort((a, b) => a - b);
    return {
      sent,
      rtp: rx.rtp,
      events: relay.events,
      stats: relay.stats(),
      timing: relay.timing(),
      firstNs: relay.firstNs!,
      controlP99Ms: pct(senderLateUs, 99) / 1e3,
      control: `sender's own timer lateness p99 ${pct(senderLateUs, 99).toFixed(0)} µs, max ${senderLateUs[senderLateUs.length - 1].toFixed(0)} µs; ${pressure()}`,
    };
  } finally {
    await relay.close();
    await closeSock(tx);
    await rx.close();
  }
}

test('500 datagrams through the relay: exactly the planned packets, duplicates, reordering and delays', { timeout: 60_000 }, async (t) => {
  const N = 500;
  const T = 5;
  // reorder hold: the default 15 ms + jitterMs
  const impair: ImpairmentOptions = { seed: 2024, lossPct: 5, jitterMs: 20, reorderPct: 2, duplicatePct: 1 };
  const plan = planImpairments(impair, N, T);
  const sum = summarizePlan(plan);
  // the seed is chosen so that every kind of event happens
  assert.ok(sum.dropped > 0 && sum.duplicated > 0 && sum.reordered > 0, JSON.stringify(sum));
  t.diagnostic(`plan: ${JSON.stringify(sum)}`);

  // Everything about WHICH packets arrive, and in what order, is exact and asserted. HOW LATE each
  // one arrives is wall-clock timing on a shared 2-CPU machine: it is measured and reported (the
  // accuracy figures belong in docs/BENCHMARKS.md, not in a pass/fail threshold), and the only
  // timing assertion is a relation, not a bound: packets the plan delays more arrive later
  // (rank correlation of measured vs planned delay), which holds however busy the machine is.
  const r = await throughRelay(impair, N, T, Math.max(...plan.map((p) => p.delayMs)) + 100);
  const got = byIndex(r.rtp);
  // exactly the packets the plan delivers
  assert.deepEqual([...got.keys()].sort((a, b) => a - b), delivered(plan));
  // duplicates arrive twice, the others once
  for (const p of plan) {
    if (p.drop) continue;
    assert.equal(got.get(p.index)!.length, p.duplicate ? 2 : 1, `packet ${p.index} copies`);
  }
  // a reordered packet arrives after its successor (the next packet delivered in order)
  let reorderedChecked = 0;
  for (const p of plan) {
    if (p.drop || !p.reorder) continue;
    const next = plan.slice(p.index + 1).find((q) => !q.drop && !q.reorder);
    if (!next) continue;
    assert.ok(got.get(next.index)![0].pos < got.get(p.index)![0].pos, `reordered ${p.index} arrived before ${next.index}`);
    reorderedChecked++;
  }
  assert.ok(reorderedChecked > 0);
  // jitter alone did not reorder: the in-order packets arrive in index order
  const inOrder = r.rtp.map((a) => a.data.readUInt32BE(0)).filter((i, pos) => !plan[i].reorder && got.get(i)![0].pos === pos);
  assert.deepEqual(inOrder, [...inOrder].sort((a, b) => a - b));
  // the relay's own record agrees with the plan
  assert.equal(r.stats.received, N);
  assert.equal(r.stats.dropped, sum.dropped);
  assert.equal(r.stats.duplicated, sum.duplicated);
  assert.equal(r.stats.reordered, sum.reordered);
  assert.equal(r.stats.sent, N - sum.dropped + sum.duplicated);
  assert.equal(r.stats.pending, 0);
  assert.equal(r.events.length, N);
  for (const e of r.events) {
    const p = plan[e.index];
    assert.equal(e.fate === 'dropped', p.drop);
    assert.equal(e.reorder, p.reorder);
    assert.equal(e.duplicate, p.duplicate);
  }
  assert.ok(r.timing.minUs >= 0, 'a send left before its time');

  // timing: measured extra delay vs planned delay, for the in-order packets (reordered ones are held)
  const planned: number[] = [];
  const measured: number[] = [];
  for (const p of plan) {
    if (p.drop || p.reorder) continue;
    planned.push(p.delayMs);
    measured.push(Number(got.get(p.index)![0].at - r.sent[p.index]) / 1e6);
  }
  const abs = measured.map((m, i) => Math.abs(m - planned[i])).sort((a, b) => a - b);
  const rho = spearman(planned, measured);
  t.diagnostic(`|measured - planned delay| over ${abs.length} packets: p50 ${(pct(abs, 50) * 1000).toFixed(0)} µs, p99 ${(pct(abs, 99) * 1000).toFixed(0)} µs, max ${(abs[abs.length - 1] * 1000).toFixed(0)} µs; relay sends vs its schedule p99 ${r.timing.p99Us.toFixed(0)} µs; rank correlation ${rho.toFixed(3)}; control: ${r.control}`);
  assert.ok(rho > 0.9, `packets the plan delays more must arrive later: rank correlation ${rho.toFixed(3)}`);
});

/** Spearman rank correlation. */
function spearman(a: number[], b: number[]): number {
  const rank = (x: number[]) => {
    const idx = x.map((v, i) => [v, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(x.length);
    idx.forEach(([, i], k) => (r[i] = k));
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (ra[i] - rb[i]) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

test('an outage window drops exactly the packets in it', { timeout: 30_000 }, async (t) => {
  const N = 150;
  const T = 10;
  // packets arrive at i × 10 ms: [505, 1005) holds packets 51..100, with 5 ms of margin at each edge
  const impair: ImpairmentOptions = { seed: 5, jitterMs: 3, outageMs: [{ atMs: 505, durationMs: 500 }] };
  const plan = planImpairments(impair, N, T);
  const expectDropped = Array.from({ length: 50 }, (_, k) => 51 + k);
  assert.deepEqual(plan.filter((p) => p.drop).map((p) => p.index), expectDropped);
  assert.ok(plan.every((p) => !p.drop || p.cause === 'outage'));

  const r = await throughRelay(impair, N, T, 60);
  // exact, whatever the timing: dropped <=> arrived (by the relay's clock) inside the window
  const inWindow = r.events.filter((e) => {
    const ms = Number(e.receivedNs - r.firstNs) / 1e6;
    return ms >= 505 && ms < 1005;
  });
  assert.ok(inWindow.length > 0, 'packets arrived during the outage window');
  assert.deepEqual(r.events.filter((e) => e.fate === 'dropped').map((e) => e.index), inWindow.map((e) => e.index));
  const got = [...byIndex(r.rtp).keys()].sort((a, b) => a - b);
  assert.deepEqual(got, r.events.filter((e) => e.fate !== 'dropped').map((e) => e.index));
  // which packets those are depends on when they arrived (a sender starved for > 5 ms at an edge
  // shifts one across): reported, not asserted
  const nominal = JSON.stringify(got) === JSON.stringify(delivered(plan));
  t.diagnostic(`dropped ${inWindow.length} packets ${inWindow[0]?.index}..${inWindow[inWindow.length - 1]?.index}${nominal ? ' (exactly the planned 51..100)' : ' (shifted by sender timing)'}; control: ${r.control}`);
});

test('RTCP on port+1 is forwarded untouched, both ways, while RTP is impaired', { timeout: 10_000 }, async () => {
  const rx = await receiver();
  // RTP: everything lost; RTCP must not be affected
  const relay = await UdpRelay.start({ listenPort: 0, forwardPort: rx.port, impair: { seed: 1, lossPct: 100, jitterMs: 50 } });
  const txRtp = await boundSocket();
  const txRtcp = await boundSocket();
  const back: Buffer[] = [];
  txRtcp.on('message', (m) => back.push(m));
  try {
    assert.equal(relay.rtcpPort, relay.listenPort + 1);
    // a sender report + SDES, then odd sizes of arbitrary bytes
    const sr = Buffer.from('81c8000c1234567883aa7e80000000000001e24000000064000019005678abcd', 'hex');
    const payloads = [sr, ...Array.from({ length: 19 }, (_, k) => Buffer.from(Array.from({ length: 1 + k * 37 }, (_, b) => (b * 31 + k) & 0xff)))];
    for (const p of payloads) {
      txRtp.send(Buffer.from([0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), relay.listenPort, HOST);
      txRtcp.send(p, relay.rtcpPort!, HOST);
      await sleep(2);
    }
    await sleep(100);
    assert.equal(rx.rtcp.length, payloads.length);
    rx.rtcp.forEach((a, k) => {
      assert.deepEqual(a.data, payloads[k]);
      assert.equal(a.from.port, relay.rtcpPort); // sent from the relay's RTCP port
    });
    assert.equal(rx.rtp.length, 0);
    assert.equal(relay.stats().rtcp, payloads.length);
    assert.equal(relay.stats().dropped, payloads.length);
    // the receiver's reports go back to the sender's RTCP socket
    const rr = Buffer.from('81c90007deadbeef', 'hex');
    rx.rtcpSock.send(rr, relay.rtcpPort!, HOST);
    await sleep(50);
    assert.deepEqual(back, [rr]);
    assert.equal(relay.stats().reverse, 1);
  } finally {
    await relay.close();
    await closeSock(txRtp);
    await closeSock(txRtcp);
    await rx.close();
  }
});

test('close() stops pending sends and timers', { timeout: 10_000 }, async () => {
  const rx = await receiver();
  const relay = await UdpRelay.start({ listenPort: 0, forwardPort: rx.port, impair: { seed: 1, delayMs: 300 } });
  const tx = await boundSocket();
  try {
    for (let i = 0; i < 10; i++) tx.send(Buffer.from([0, 0, 0, i]), relay.listenPort, HOST);
    await sleep(50);
    assert.equal(relay.stats().pending, 10);
    await relay.close();
    await relay.close(); // idempotent
    await sleep(350);
    assert.equal(rx.rtp.length, 0);
    const s = relay.stats();
    assert.equal(s.discarded, 10);
    assert.equal(s.pending, 0);
    assert.equal(s.sent, 0);
  } finally {
    await relay.close();
    await closeSock(tx);
    await rx.close();
  }
});

// ---------------------------------------------------------------- the CLI

const CLI = path.join(__dirname, '..', 'scripts', 'relay.js');

function runCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, done, out: () => out, err: () => err };
}

test('CLI: --help explains every option; bad options are refused', { timeout: 10_000 }, async () => {
  const h = runCli(['--help']);
  assert.equal(await h.done, 0);
  for (const o of ['--listen', '--forward', '--seed', '--jitter', '--loss', '--reorder', '--burst', '--duplicate', '--delay', '--outage', '--duration', '--log']) {
    assert.ok(h.out().includes(o), o);
  }
  assert.match(h.out(), /uniform/i);
  const bad = runCli(['--listen', '0', '--forward', '5004', '--loss', 'lots']);
  assert.equal(await bad.done, 2);
  assert.match(bad.err(), /--loss/);
  const remote = runCli(['--listen', '0', '--forward', '5004', '--host', '192.168.0.1']);
  assert.equal(await remote.done, 1);
  assert.match(remote.err(), /loopback/);
});

test('CLI: relays with the planned fates, logs every event, prints a summary on SIGINT', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'relay-test-'));
  const logFile = path.join(dir, 'events.jsonl');
  const rx = await receiver();
  const tx = await boundSocket();
  const cli = runCli(['--listen', '0', '--forward', String(rx.port), '--seed', '11', '--loss', '10', '--jitter', '5', '--duplicate', '5', '--log', logFile]);
  try {
    const t0 = Date.now();
    while (!/listening on 127\.0\.0\.1:(\d+)/.test(cli.out()) && Date.now() - t0 < 5000) await sleep(20);
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(cli.out())?.[1]);
    assert.ok(port > 0, cli.out() + cli.err());
    const N = 100;
    await sendPaced(tx, port, N, 5);
    await sleep(100);
    cli.child.kill('SIGINT');
    assert.equal(await cli.done, 0, cli.err());
    const plan = planImpairments({ seed: 11, lossPct: 10, jitterMs: 5, duplicatePct: 5 }, N, 5);
    const sum = summarizePlan(plan);
    assert.deepEqual([...byIndex(rx.rtp).keys()].sort((a, b) => a - b), delivered(plan));
    assert.match(cli.out(), new RegExp(`received +${N}\\b`));
    assert.match(cli.out(), new RegExp(`dropped +${sum.dropped} `));
    assert.match(cli.out(), /send timing p50 \d+ µs/);
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, N);
    const dropped = lines.filter((l) => l.fate === 'dropped').map((l) => l.index).sort((a, b) => a - b);
    assert.deepEqual(dropped, plan.filter((p) => p.drop).map((p) => p.index));
    assert.equal(lines.filter((l) => l.duplicate).length, sum.duplicated);
  } finally {
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
    await closeSock(tx);
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: --duration stops by itself', { timeout: 10_000 }, async () => {
  const cli = runCli(['--listen', '0', '--forward', '5004', '--duration', '0.3', '--quiet']);
  assert.equal(await cli.done, 0, cli.err());
  assert.match(cli.out(), /relay summary \(duration/);
  assert.match(cli.out(), /received +0\b/);
});
