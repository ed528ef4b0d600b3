#!/usr/bin/env node
/**
 * rtpcast impairment relay: loss, bursts, outages, jitter, reordering and duplicates for RTP on
 * loopback, from a seeded (reproducible) schedule. See test/support/relay.ts for the model.
 *
 *   node dist/scripts/relay.js --listen 5010 --forward 5004 --seed 1 --jitter 30 --loss 3 --reorder 1
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { UdpRelay, resolveReorderDelayMs, type ImpairmentOptions, type RelayEvent } from '../test/support/relay';

const HELP = `Usage: node dist/scripts/relay.js --listen PORT --forward PORT [options]

A UDP relay on loopback that impairs RTP from a seeded, reproducible schedule. It listens on
HOST:LISTEN (RTP) and HOST:LISTEN+1 (RTCP) and forwards to HOST:FORWARD and HOST:FORWARD+1.
Only RTP is impaired; RTCP is forwarded untouched (or with --rtcp-delay). Datagrams the receiver
sends back to the relay's ports go, untouched, to the last sender. "Packet i" is the i-th datagram
received on the RTP port: for a given seed its fate is the same on every run.

Ports and addresses
  --listen PORT           RTP port to listen on (RTCP on PORT+1); 0 picks a free pair and prints it
  --forward PORT          RTP port to forward to (RTCP to PORT+1)
  --host ADDR             listening address, loopback only (default 127.0.0.1; ::1 for IPv6)
  --forward-host ADDR     forwarding address, loopback only (default: same as --host)
  --no-rtcp               do not relay the RTCP port

Impairments (percentages are of RTP packets, times in milliseconds)
  --seed N                seed of the schedule (default 1)
  --delay MS              base one-way delay (default 0)
  --jitter MS             extra delay per packet, uniformly distributed in [0, MS) (default 0);
                          packet order is kept (a packet never overtakes the one before it)
                          unless --allow-reorder-by-jitter
  --allow-reorder-by-jitter
                          let jitter reorder packets (each leaves at arrival + its own delay)
  --loss PCT              independent random loss (default 0)
  --burst PGB,PBG[,LIB]   Gilbert-Elliott burst loss: per-packet probability of going from the
                          good to the bad state (PGB) and back (PBG); in the bad state a packet is
                          lost with probability LIB (default 1). Mean burst = 1/PBG packets.
                          Example: --burst 0.01,0.3
  --reorder PCT           hold this share of packets back so that later ones overtake them
  --reorder-delay MS      how long a reordered packet is held (default: 2 packet intervals if
                          --interval is given, else 15 ms, plus --jitter)
  --interval MS           the sender's packet interval (only used for the --reorder-delay default)
  --duplicate PCT         send this share of packets twice, the copy 1 ms after the first
  --outage AT:DUR         drop every packet arriving between AT and AT+DUR ms after the first
                          packet; repeat the option or separate windows with commas
  --rtcp-delay MS         delay RTCP by this much (default 0: forwarded at once)

Run and output
  --duration S            stop after S seconds (default: until SIGINT/SIGTERM)
  --log FILE              write every RTP packet's fate as one JSON line (JSONL): index, fate,
                          receivedMs (after the first packet), delayMs (planned), sentMs,
                          copySentMs, lateUs (actual send − planned), seq/ts if RTP, size, cause
  --quiet                 no start-up line
  --help                  this text

On exit it prints a summary: packets received, forwarded, dropped (and why), duplicated,
reordered, RTCP relayed, and how late the sends were against the schedule (p50/p99/max).
`;

class UsageError extends Error {}

function num(name: string, v: string | undefined, { int = false, min = -Infinity, max = Infinity } = {}): number {
  if (v === undefined) throw new UsageError(`${name} needs a value`);
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min || x > max) {
    throw new UsageError(`${name}: bad value '${v}'`);
  }
  return x;
}

interface Cli {
  listen: number;
  forward: number;
  host?: string;
  forwardHost?: string;
  rtcp: boolean;
  rtcpDelayMs: number;
  impair: ImpairmentOptions;
  durationS?: number;
  log?: string;
  quiet: boolean;
}

export function parseArgs(argv: string[]): Cli | 'help' {
  const impair: ImpairmentOptions = { seed: 1 };
  const outages: { atMs: number; durationMs: number }[] = [];
  let listen: number | undefined;
  let forward: number | undefined;
  const cli: Partial<Cli> = { rtcp: true, rtcpDelayMs: 0, quiet: false };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = () => (inline !== undefined ? inline : argv[++k]);
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--listen': listen = num(flag, val(), { int: true, min: 0, max: 65534 }); break;
      case '--forward': forward = num(flag, val(), { int: true, min: 1, max: 65534 }); break;
      case '--host': cli.host = val(); break;
      case '--forward-host': cli.forwardHost = val(); break;
      case '--no-rtcp': cli.rtcp = false; break;
      case '--rtcp-delay': cli.rtcpDelayMs = num(flag, val(), { min: 0 }); break;
      case '--seed': impair.seed = num(flag, val(), { int: true }); break;
      case '--delay': impair.delayMs = num(flag, val(), { min: 0 }); break;
      case '--jitter': impair.jitterMs = num(flag, val(), { min: 0 }); break;
      case '--allow-reorder-by-jitter': impair.allowReorderByJitter = true; break;
      case '--loss': impair.lossPct = num(flag, val(), { min: 0, max: 100 }); break;
      case '--burst': {
        const v = val();
        const parts = (v ?? '').split(',');
        if (parts.length < 2 || parts.length > 3) throw new UsageError(`--burst: expected PGB,PBG[,LIB], got '${v}'`);
        const [g, b, l] = parts.map((p) => num('--burst', p, { min: 0, max: 1 }));
        impair.burst = { pGoodToBad: g, pBadToGood: b, ...(l !== undefined ? { lossInBad: l } : {}) };
        break;
      }
      case '--reorder': impair.reorderPct = num(flag, val(), { min: 0, max: 100 }); break;
      case '--reorder-delay': impair.reorderDelayMs = num(flag, val(), { min: 0 }); break;
      case '--interval': impair.packetIntervalMs = num(flag, val(), { min: 0 }); break;
      case '--duplicate': impair.duplicatePct = num(flag, val(), { min: 0, max: 100 }); break;
      case '--outage': {
        const v = val();
        for (const w of (v ?? '').split(',')) {
          const m = /^\s*([\d.]+)\s*:\s*([\d.]+)\s*$/.exec(w);
          if (!m) throw new UsageError(`--outage: expected AT:DUR in ms, got '${w}'`);
          outages.push({ atMs: num('--outage', m[1], { min: 0 }), durationMs: num('--outage', m[2], { min: 0 }) });
        }
        break;
      }
      case '--duration': cli.durationS = num(flag, val(), { min: 0 }); break;
      case '--log': cli.log = val(); if (!cli.log) throw new UsageError('--log needs a file'); break;
      case '--quiet': cli.quiet = true; break;
      default:
        throw new UsageError(`unknown option '${a}' (see --help)`);
    }
  }
  if (listen === undefined) throw new UsageError('--listen PORT is required (see --help)');
  if (forward === undefined) throw new UsageError('--forward PORT is required (see --help)');
  if (outages.length) impair.outageMs = outages;
  return { ...(cli as Cli), listen, forward, impair };
}

/** Lateness of sends against the schedule, in 1 µs bins up to 100 ms. */
class LateHistogram {
  private readonly bins = new Uint32Array(100_000);
  n = 0;
  max = 0;
  add(us: number): void {
    const x = Math.max(0, us);
    this.n++;
    if (x > this.max) this.max = x;
    this.bins[Math.min(this.bins.length - 1, Math.floor(x))]++;
  }
  pct(p: number): number {
    if (!this.n) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let c = 0;
    for (let i = 0; i < this.bins.length; i++) {
      c += this.bins[i];
      if (c >= rank) return i;
    }
    return this.max;
  }
}

function describe(o: ImpairmentOptions): string {
  const parts = [`seed ${o.seed}`];
  if (o.delayMs) parts.push(`delay ${o.delayMs} ms`);
  if (o.jitterMs) parts.push(`jitter U[0,${o.jitterMs}) ms${o.allowReorderByJitter ? ' (may reorder)' : ''}`);
  if (o.lossPct) parts.push(`loss ${o.lossPct}%`);
  if (o.burst) parts.push(`burst ${o.burst.pGoodToBad}/${o.burst.pBadToGood}${o.burst.lossInBad !== undefined ? `/${o.burst.lossInBad}` : ''}`);
  if (o.reorderPct) parts.push(`reorder ${o.reorderPct}% (hold ${resolveReorderDelayMs(o)} ms)`);
  if (o.duplicatePct) parts.push(`duplicate ${o.duplicatePct}%`);
  for (const w of o.outageMs ?? []) parts.push(`outage ${w.atMs}+${w.durationMs} ms`);
  return parts.join(', ');
}

async function main(argv: string[]): Promise<number> {
  let cli: Cli | 'help';
  try {
    cli = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`relay: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (cli === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const c = cli;
  let log: WriteStream | undefined;
  if (c.log) {
    log = createWriteStream(c.log);
    await new Promise<void>((resolve, reject) => {
      log!.once('open', () => resolve());
      log!.once('error', reject);
    });
  }
  const late = new LateHistogram();
  const causes = { loss: 0, burst: 0, outage: 0 };
  let relay: UdpRelay | undefined;
  const ms = (ns: bigint | undefined) => (ns === undefined ? undefined : Math.round(Number(ns) / 1e3) / 1e3);
  const onEvent = (e: RelayEvent) => {
    const first = relay?.firstNs ?? e.receivedNs; // time zero: the first packet's arrival
    if (e.cause) causes[e.cause]++;
    const due = e.receivedNs + e.delayNs;
    let lateUs: number | undefined;
    if (e.sentNs !== undefined) {
      lateUs = Number(e.sentNs - due) / 1e3;
      late.add(lateUs);
    }
    if (e.copySentNs !== undefined) late.add(Number(e.copySentNs - due) / 1e3 - 1000);
    if (log) {
      const line = {
        index: e.index,
        fate: e.fate,
        receivedMs: ms(e.receivedNs - first),
        delayMs: ms(e.delayNs),
        ...(e.sentNs !== undefined ? { sentMs: ms(e.sentNs - first), lateUs: Math.round(lateUs!) } : {}),
        ...(e.copySentNs !== undefined ? { copySentMs: ms(e.copySentNs - first) } : {}),
        ...(e.seq !== undefined ? { seq: e.seq, ts: e.ts } : {}),
        size: e.size,
        ...(e.duplicate ? { duplicate: true } : {}),
        ...(e.reorder ? { reorder: true } : {}),
        ...(e.cause ? { cause: e.cause } : {}),
      };
      log.write(JSON.stringify(line) + '\n');
    }
  };

  try {
    relay = await UdpRelay.start({
      listenPort: c.listen,
      forwardPort: c.forward,
      host: c.host,
      forwardHost: c.forwardHost,
      rtcp: c.rtcp,
      rtcpDelayMs: c.rtcpDelayMs,
      impair: c.impair,
      maxEvents: 0, // streamed through onEvent instead: a long run must not grow without bound
      onEvent,
    });
  } catch (e) {
    const m = (e as Error).message;
    process.stderr.write(`${m.startsWith('relay:') ? m : `relay: ${m}`}\n`);
    return 1;
  }
  const r = relay;
  const started = process.hrtime.bigint();
  if (!c.quiet) {
    const rtcp = r.rtcpPort !== undefined ? ` (RTCP ${r.rtcpPort} → ${c.forward + 1})` : '';
    process.stdout.write(`relay: listening on ${r.host}:${r.listenPort} → ${r.forwardHost}:${c.forward}${rtcp}; ${describe(c.impair)}\n`);
  }

  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    if (c.durationS !== undefined) setTimeout(() => resolve('duration'), c.durationS * 1000);
  });
  process.on('SIGINT', () => process.exit(130)); // a second ^C: leave at once

  await r.close();
  if (log) await new Promise<void>((resolve) => log!.end(() => resolve()));
  const s = r.stats();
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const pc = (x: number) => (s.received ? ((100 * x) / s.received).toFixed(2) : '0.00');
  const lines = [
    `relay summary (${reason}, ${secs.toFixed(1)} s; ${describe(c.impair)})`,
    `  received    ${s.received}`,
    `  forwarded   ${s.forwarded} (${pc(s.forwarded)}%), ${s.sent} datagrams sent`,
    `  dropped     ${s.dropped} (${pc(s.dropped)}%): loss ${causes.loss}, burst ${causes.burst}, outage ${causes.outage}`,
    `  duplicated  ${s.duplicated}`,
    `  reordered   ${s.reordered}`,
    `  discarded   ${s.discarded} (still scheduled at exit)`,
    `  rtcp        ${s.rtcp} forwarded, ${s.reverse} sent back to the sender`,
    late.n
      ? `  send timing p50 ${late.pct(50)} µs, p99 ${late.pct(99)} µs, max ${Math.round(late.max)} µs late against the schedule (n=${late.n})`
      : `  send timing no packets sent`,
  ];
  if (s.errors) lines.push(`  errors      ${s.errors} (last: ${r.lastError?.message})`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`relay: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
