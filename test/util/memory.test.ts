import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { memoryStats } from '../../src/util/memory';

const MEMORY_JS = join(__dirname, '..', '..', 'src', 'util', 'memory.js');

/**
 * The new space's sizes seen while a child Node process allocates short-lived strings with some
 * survivors (a player's pattern: packets held for tens of ms), with or without holdYoungGeneration.
 * A child process, so that the flag does not change the test runner's own heap.
 */
function newSpaceSizes(hold: boolean): number[] {
  const script = `
    const v8 = require('node:v8');
    const m = require(${JSON.stringify(MEMORY_JS)});
    if (${hold}) m.holdYoungGeneration();
    const ns = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const seen = [ns()];
    const keep = [];
    for (let r = 0; r < 400; r++) {
      for (let i = 0; i < 20000; i++) { keep.push('x'.repeat(40) + i); if (keep.length > 30000) keep.splice(0, 10000); }
      if (ns() !== seen[seen.length - 1]) seen.push(ns());
    }
    process.stdout.write(JSON.stringify(seen));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })) as number[];
}

test('holdYoungGeneration: the new space grows at most once (V8 doubles it up to 32 MB without it)', () => {
  const free = newSpaceSizes(false);
  const held = newSpaceSizes(true);
  // the control shows the growth the hold prevents (if V8 stopped growing it, this test says so)
  assert.ok(free[free.length - 1] >= 8 * free[0], `without the hold the new space grew ${free.join(' -> ')}`);
  assert.ok(held[held.length - 1] <= 2 * held[0], `with the hold the new space grew ${held.join(' -> ')}`);
});

test('memoryStats: kB figures of this process, heap spaces only when asked', () => {
  const m = memoryStats(65536, false);
  assert.equal(m.wasmKb, 64);
  assert.ok(m.rssKb > m.heapUsedKb && m.heapTotalKb >= m.heapUsedKb && m.heapUsedKb > 0);
  assert.equal(m.spacesKb, undefined);
  const s = memoryStats(0, true);
  assert.ok(s.spacesKb && s.spacesKb.new_space > 0 && s.spacesKb.old_space > 0, JSON.stringify(s.spacesKb));
});
