/**
 * bench-web-join: what ten browser listeners joining `rtpcast send --web` at once cost the
 * sender's pacing (issue #7). One real `rtpcast send --tone --web`, a UDP receiver of its plain
 * RTP on loopback (it times every packet's arrival), and ten Chromium pages pressing Play in the
 * same moment. Measured: the largest gap between two RTP packets on the wire around the join
 * (one packet time when nothing disturbs the pacing), the packets more than 20 ms late against the 5 ms
 * grid, the sender's "fell more than 200 ms behind" warnings, and how long until all ten played.
 *
 *   node dist/scripts/bench-web-join.js [--runs 3] [--port 33220] [--pages 10]
 */
import type { Browser, Page } from 'playwright-core';
import { RTPCAST_CLI } from '../test/support/peers';
import { Procs, sleep } from '../test/support/procs';
import { inboundAudio, launchChromium } from '../test/support/chromium';

const TOKEN = 'bench-join-token-1234';

/** a UDP receiver that notes each packet's arrival (monotonic ns) between two SIGUSR2, printed as JSON on SIGINT */
const RECEIVER = `
const s = require('node:dgram').createSocket('udp4');
const t = []; let on = false;
s.on('message', () => { if (on) t.push(String(process.hrtime.bigint())); });
process.on('SIGUSR2', () => { on = !on; });
process.on('SIGINT', () => { console.log(JSON.stringify(t)); process.exit(0); });
s.bind(Number(process.argv[1]), '127.0.0.1', () => console.log('bound'));
`;

function events(stdout: string): Record<string, unknown>[] {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitFor<T>(ms: number, f: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(100);
  }
}

interface RunResult {
  maxGapMs: number;
  late20: number;
  packets: number;
  warnings: number;
  allPlayingMs: number;
}

async function once(port: number, pagesN: number, extra: string[], prof?: string): Promise<RunResult> {
  const procs = new Procs();
  let browser: Browser | undefined;
  // the receiver runs in its own process: this one drives Chromium, and its event loop would add its own delays
  const rx = procs.start([process.execPath, '-e', RECEIVER, String(port)]);
  await waitFor(5000, () => (rx.stdout.includes('bound') ? true : undefined));
  const mark = (): Promise<void> => new Promise((r) => { rx.signal('SIGUSR2'); setTimeout(r, 50); });
  try {
    const sender = procs.start([process.execPath, ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), RTPCAST_CLI, 'send', '--tone', '630', '--dest', `127.0.0.1:${port}`, '--web', `127.0.0.1:${port + 10}`, '--web-token', TOKEN, '--web-udp-ports', `${port + 11}-${port + 30}`, '--json', ...extra]);
    const start = await waitFor(15_000, () => events(sender.stdout).find((e) => e.event === 'start') as { web?: { urls: string[] }; stream: { ptimeMs: number } } | undefined);
    const ptime = start.stream.ptimeMs;
    const url = start.web!.urls[0];
    browser = await launchChromium();
    const pages: Page[] = [];
    for (let i = 0; i < pagesN; i++) {
      const p = await browser.newPage();
      await p.goto(url);
      pages.push(p);
    }
    await sleep(1500);
    const warnedBefore = events(sender.stdout).filter((e) => e.event === 'warning' && /fell more than/.test(String(e.message))).length;
    await mark(); // recording from here
    await sleep(1000);
    const t0 = Date.now();
    await Promise.all(pages.map((p) => p.evaluate("document.getElementById('play').click()")));
    await Promise.all(pages.map((p) => waitFor(30_000, async () => {
      const s = await inboundAudio(p);
      return s && s.packetsReceived >= 5 ? s : undefined;
    })));
    const allPlayingMs = Date.now() - t0;
    await sleep(2000);
    await mark(); // until here
    const warnings = events(sender.stdout).filter((e) => e.event === 'warning' && /fell more than/.test(String(e.message))).length - warnedBefore;
    await sender.stop('SIGINT', 5000);
    await rx.stop('SIGINT', 3000);
    const arrivals = (JSON.parse(rx.stdout.split('\n').find((l) => l.startsWith('['))!) as string[]).map((x) => BigInt(x));
    let maxGap = 0n;
    let late20 = 0;
    for (let i = 1; i < arrivals.length; i++) {
      const g = arrivals[i] - arrivals[i - 1];
      if (g > maxGap) maxGap = g;
    }
    // lateness against the packet-time grid anchored on the earliest packet (the sender's schedule)
    const t = arrivals.map((a) => Number(a - arrivals[0]) / 1e6);
    let anchor = Infinity;
    t.forEach((x, i) => (anchor = Math.min(anchor, x - i * ptime)));
    t.forEach((x, i) => {
      if (x - i * ptime - anchor > 20) late20++;
    });
    return { maxGapMs: Number(maxGap) / 1e6, late20, packets: arrivals.length, warnings, allPlayingMs };
  } finally {
    await browser?.close();
    await procs.cleanup();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (k: string, d: number) => (argv.includes(k) ? Number(argv[argv.indexOf(k) + 1]) : d);
  const runs = arg('--runs', 3);
  const port = arg('--port', 33220);
  const pages = arg('--pages', 10);
  const rows: RunResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(port, pages, [], argv.includes('--prof') ? argv[argv.indexOf('--prof') + 1] : undefined);
    console.log(JSON.stringify(r));
    rows.push(r);
  }
  const med = (k: keyof RunResult) => [...rows.map((r) => r[k])].sort((a, b) => a - b)[rows.length >> 1];
  console.log(`median of ${runs}: max gap ${med('maxGapMs').toFixed(1)} ms, packets > 20 ms late ${med('late20')}, warnings ${med('warnings')}, all ${pages} playing after ${med('allPlayingMs')} ms`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
