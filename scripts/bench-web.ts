/**
 * Benchmark: what browser listeners (`rtpcast send --web`) cost the sender. The same sender
 * (test tone, Opus 128 kb/s stereo, 20 ms) runs with 0, 1 and 10 headless Chromium pages playing,
 * and its CPU (user + system from /proc/PID/stat, over the same window once every page receives)
 * is reported with the cost per listener. Side by side in the same run: ffmpeg encoding the same
 * tone to Opus RTP in real time (-re), i.e. what one more encoding costs on this machine, which is
 * what a design encoding per listener would pay for each. Every page must receive throughout the
 * window (its packet count grows by at least 80% of the window's packets), or the run fails.
 *
 *   npm run bench:web                                       # 20 s per case, writes docs/BENCHMARKS.md
 *   npx tsc -p . && node dist/scripts/bench-web.js --seconds 5 --no-docs   # a quick look
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { writeFileAtomic } from '../src/util/atomic-write';
import { findProgram } from '../src/os/programs';
import { inboundAudio, launchChromium } from '../test/support/chromium';
import { markdownTable, parseProcStat, replaceSection, textTable } from './bench-lib';

const CLI = resolve(__dirname, '..', 'src', 'cli', 'main.js');
const DOC = resolve(__dirname, '..', '..', 'docs', 'BENCHMARKS.md');
const SINK_PORT = 32290; // RTP of every case goes here (a socket of this script absorbs it)
const WEB_PORT = 32280;
const TOKEN = 'bench-web-token';
const CLK_TCK = 100;

function args(): { seconds: number; docs: boolean } {
  const a = process.argv.slice(2);
  const i = a.indexOf('--seconds');
  return { seconds: i >= 0 ? Number(a[i + 1]) : 20, docs: !a.includes('--no-docs') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (!s) throw new Error(`cannot read /proc/${pid}/stat`);
  return (s.utime + s.stime) / CLK_TCK;
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 3000);
  await new Promise((r) => c.once('exit', r));
  clearTimeout(t);
}

interface Row {
  name: string;
  listeners: number;
  cpuPct: number;
  packetsPerPage?: number[];
}

async function measureRtpcast(browser: Browser, listeners: number, seconds: number, port: number): Promise<Row> {
  const child = spawn(process.execPath, [CLI, 'send', '--tone', '630', '--dest', `127.0.0.1:${SINK_PORT}`, '--web', `127.0.0.1:${port}`, '--web-token', TOKEN, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const pages: Page[] = [];
  try {
    const url = `http://127.0.0.1:${port}/?k=${TOKEN}`;
    for (let tries = 0; ; tries++) {
      try {
        if ((await fetch(url)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (tries > 100) throw new Error(`the sender did not start:\n${err}`);
      await sleep(100);
    }
    for (let i = 0; i < listeners; i++) {
      const p = await browser.newPage();
      await p.goto(url);
      pages.push(p);
    }
    await Promise.all(pages.map((p) => p.evaluate("document.getElementById('play').click()")));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = await Promise.all(pages.map((p) => inboundAudio(p)));
      if (st.every((s) => s && s.packetsReceived > 50)) break;
      if (Date.now() > deadline) throw new Error(`not every page receives: ${JSON.stringify(st)}\n${err}`);
      await sleep(250);
    }
    await sleep(2000); // the handshakes' after-effects (GC, JIT) out of the window
    const before = await Promise.all(pages.map((p) => inboundAudio(p)));
    const c0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const c1 = cpuSeconds(child.pid!);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = await Promise.all(pages.map((p) => inboundAudio(p)));
    const got = after.map((s, i) => (s?.packetsReceived ?? 0) - (before[i]?.packetsReceived ?? 0));
    const expected = (wall * 1000) / 20;
    got.forEach((g, i) => {
      if (g < 0.8 * expected) throw new Error(`page ${i + 1} received ${g} packets in ${wall.toFixed(1)} s (expected ~${expected.toFixed(0)})`);
    });
    return { name: `rtpcast send --web, ${listeners} page${listeners === 1 ? '' : 's'} playing`, listeners, cpuPct: (100 * (c1 - c0)) / wall, packetsPerPage: got };
  } finally {
    for (const p of pages) await p.close().catch(() => undefined);
    await stopChild(child);
  }
}

async function measureFfmpeg(seconds: number): Promise<Row> {
  const ffmpeg = findProgram('ffmpeg');
  if (!ffmpeg) throw new Error('ffmpeg not found: sudo apt-get install ffmpeg');
  const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=630:sample_rate=48000', '-ac', '2', '-c:a', 'libopus', '-b:a', '128k', '-frame_duration', '20', '-application', 'audio', '-f', 'rtp', `rtp://127.0.0.1:${SINK_PORT}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await sleep(2000);
    const c0 = cpuSeconds(child.pid!);
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const c1 = cpuSeconds(child.pid!);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    return { name: 'ffmpeg -re, one Opus encoding of the same tone to RTP', listeners: 0, cpuPct: (100 * (c1 - c0)) / wall };
  } finally {
    await stopChild(child);
  }
}

async function main(): Promise<void> {
  const { seconds, docs } = args();
  const sink = createSocket('udp4');
  sink.on('message', () => undefined);
  await new Promise<void>((r) => sink.bind(SINK_PORT, '127.0.0.1', () => r()));
  const browser = await launchChromium();
  const rows: Row[] = [];
  try {
    rows.push(await measureRtpcast(browser, 0, seconds, WEB_PORT));
    rows.push(await measureRtpcast(browser, 1, seconds, WEB_PORT + 1));
    rows.push(await measureRtpcast(browser, 10, seconds, WEB_PORT + 2));
    rows.push(await measureFfmpeg(seconds));
  } finally {
    await browser.close();
    sink.close();
  }
  const [r0, r1, r10, ff] = rows;
  const perListener = (r10.cpuPct - r1.cpuPct) / 9;
  const head = ['case', 'sender CPU (% of one core)', 'vs. no listener'];
  const body = rows.map((r) => [r.name, r.cpuPct.toFixed(1), r === ff ? '' : `${(r.cpuPct / r0.cpuPct).toFixed(2)}x`]);
  const summary =
    `Each further listener costs the sender ${perListener.toFixed(2)} % of a core (from 1 to 10 pages: ${r1.cpuPct.toFixed(1)} -> ${r10.cpuPct.toFixed(1)} %); ` +
    `one more Opus encoding costs ${ff.cpuPct.toFixed(1)} % (ffmpeg), so ten listeners cost ${(r10.cpuPct - r0.cpuPct).toFixed(1)} % where an encoder per listener would add about ${(10 * ff.cpuPct).toFixed(1)} % (10 x ffmpeg's).`;
  console.log(textTable(head, body));
  console.log(summary);
  if (docs) {
    const when = new Date().toISOString().slice(0, 10);
    const md = [
      '## Browser listeners (`send --web`): sender CPU with 0, 1 and 10 pages',
      '',
      `\`npm run bench:web\`, ${when}, ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared with other jobs: noisy), Linux ${release()}, Node ${process.version}; ` +
        `${seconds} s window per case after every page receives; headless Chromium (Debian) on the same machine, its CPU not counted. ` +
        'Each packet is encoded once; werift re-headers and DTLS-SRTP-encrypts it per listener.',
      '',
      markdownTable(head, body),
      '',
      summary,
      '',
      'How to run: `npm run bench:web` (20 s per case, about 2 minutes), or `npx tsc -p . && node dist/scripts/bench-web.js --seconds 5 --no-docs` for a quick look. End-to-end latency and start-up times of browser listeners: docs/WEB.md.',
    ].join('\n');
    writeFileAtomic(DOC, replaceSection(readFileSync(DOC, 'utf8'), '<!-- bench-web:start -->', '<!-- bench-web:end -->', md));
    console.log(`written to ${DOC}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
