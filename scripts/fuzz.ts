/**
 * The long fuzz pass (npm run fuzz): at least 1,000,000 generated and mutated inputs per target,
 * each timed, the heap sampled after full GCs along the run, failures saved with their inputs.
 *
 *   npm run fuzz                                   every target, 1,000,000 inputs each, seed 1
 *   npm run fuzz -- --target rtp,sdp --count 5e6 --seed 7
 *   npm run fuzz -- --target sdp --seed 1 --start 123456 --count 1     replay one input
 *   npm run fuzz -- --save fuzz-findings           write failing inputs there (else shown as hex)
 *   npm run fuzz -- --json                         one JSON object per target on stdout
 *
 * A watchdog thread ends the run (exit 3) naming the input if one input runs longer than
 * --hang-sec (default 10). Exit status: 0 clean, 1 failures found, 2 usage, 3 hang.
 * Inputs are addressable: input i of a target is a pure function of (seed, target, i).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { runTarget, type FuzzResult } from '../test/fuzz/runner';
import { TARGETS, target } from '../test/fuzz/targets';

interface Args {
  targets: string[];
  count: number;
  seed: number;
  start: number;
  save?: string;
  json: boolean;
  hangSec: number;
}

function usage(msg?: string): never {
  if (msg) console.error(`fuzz: ${msg}`);
  console.error(`usage: node dist/scripts/fuzz.js [--target ${TARGETS.map((t) => t.name).join(',')}] [--count N] [--seed N] [--start N] [--save DIR] [--hang-sec S] [--json]`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { targets: TARGETS.map((t) => t.name), count: 1_000_000, seed: 1, start: 0, json: false, hangSec: 10 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) usage(`${k} needs a value`);
      return x;
    };
    const num = (s: string) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n < 0) usage(`${k} ${s} is not a number`);
      return Math.floor(n);
    };
    if (k === '--target' || k === '--targets') a.targets = v().split(',').filter(Boolean);
    else if (k === '--count') a.count = num(v());
    else if (k === '--seed') a.seed = num(v());
    else if (k === '--start') a.start = num(v());
    else if (k === '--save') a.save = v();
    else if (k === '--hang-sec') a.hangSec = num(v());
    else if (k === '--json') a.json = true;
    else if (k === '--help' || k === '-h') usage();
    else usage(`unknown option ${k}`);
  }
  for (const t of a.targets) {
    try {
      target(t);
    } catch (e) {
      usage((e as Error).message);
    }
  }
  return a;
}

/** Watches the shared progress counter from another thread: a stuck input cannot stop it. */
function startWatchdog(shared: SharedArrayBuffer, names: string[], hangSec: number): Worker {
  const code = `
    const { workerData } = require('node:worker_threads');
    const cur = new Int32Array(workerData.shared);
    let last = -1, since = Date.now();
    setInterval(() => {
      const n = Atomics.load(cur, 1);
      if (n !== last) { last = n; since = Date.now(); return; }
      if (Date.now() - since > workerData.hangSec * 1000) {
        const t = workerData.names[Atomics.load(cur, 2)];
        process.stderr.write('fuzz: HANG: target ' + t + ' input ' + Atomics.load(cur, 0) + ' (seed ' + workerData.seed + ') has run for more than ' + workerData.hangSec + ' s\\n');
        process.kill(process.pid, 'SIGKILL');
      }
    }, 250).unref();
  `;
  const w = new Worker(code, { eval: true, workerData: { shared, names, hangSec, seed: 0 } });
  w.unref();
  return w;
}

function mb(b: number): string {
  return (b / 1048576).toFixed(2);
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const shared = new SharedArrayBuffer(12);
  const cur = new Int32Array(shared);
  const watchdog = startWatchdog(shared, a.targets, a.hangSec);
  const results: FuzzResult[] = [];
  let failed = false;
  for (const [ti, name] of a.targets.entries()) {
    Atomics.store(cur, 2, ti);
    const t = target(name);
    if (!a.json) console.log(`${name}: ${t.what}`);
    const r = runTarget(t, {
      seed: a.seed,
      start: a.start,
      count: a.count,
      current: cur,
      onProgress: a.json ? undefined : (done, p) => console.log(`  ${done.toLocaleString('en')} inputs, ${(p.elapsedMs / 1000).toFixed(0)} s, max ${p.maxInputMs.toFixed(2)} ms, failures ${p.failuresTotal}`),
    });
    results.push(r);
    const h0 = r.heap[0]?.[1] ?? 0;
    const h1 = r.heap[r.heap.length - 1]?.[1] ?? 0;
    const hmax = Math.max(...r.heap.map((x) => x[1]));
    if (a.json) {
      console.log(JSON.stringify({ ...r, failures: r.failures.map((f) => ({ ...f, input: Buffer.from(f.input).toString('hex') })) }));
    } else {
      console.log(
        `  ${r.count.toLocaleString('en')} inputs (seed ${r.seed}, from ${r.start}) in ${(r.elapsedMs / 1000).toFixed(1)} s; ` +
          `max per input ${r.maxInputMs.toFixed(2)} ms (input ${r.maxInputIndex}), ${r.slowInputs} over 10 ms, the 5 slowest re-run alone: max ${r.retimedMaxMs.toFixed(2)} ms; ` +
          `heap after GC ${mb(h0)} -> ${mb(h1)} MB (max ${mb(hmax)}); failures: ${r.failuresTotal} (${r.failures.length} distinct)`,
      );
    }
    for (const f of r.failures) {
      failed = true;
      let where = `hex ${Buffer.from(f.input).subarray(0, 256).toString('hex')}${f.input.length > 256 ? '...' : ''}`;
      if (a.save) {
        mkdirSync(a.save, { recursive: true });
        const p = join(a.save, `${f.target}-seed${f.seed}-${f.index}.bin`);
        writeFileSync(p, f.input);
        where = p;
      }
      console.error(`  FAIL ${f.target} input ${f.index} (replay: --target ${f.target} --seed ${f.seed} --start ${f.index} --count 1): ${f.message}\n    ${f.stack.split('\n').slice(1, 4).join('\n    ')}\n    input: ${where}`);
    }
  }
  void watchdog.terminate();
  process.exitCode = failed ? 1 : 0;
}

main();
