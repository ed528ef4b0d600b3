import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * Where this process's memory is, in kB, for `--json` status events: the long-run soak reads it to
 * tell a growing JavaScript heap from native or WebAssembly growth when the RSS steps up.
 */
export interface MemoryStats {
  rssKb: number;
  heapUsedKb: number;
  heapTotalKb: number;
  externalKb: number;
  arrayBuffersKb: number;
  /** WebAssembly memory of the Opus decoder (0 without one) */
  wasmKb: number;
  /** V8 heap spaces' committed size (space_size), by name: only with RTPCAST_HEAP_SPACES=1 */
  spacesKb?: Record<string, number>;
}

export function memoryStats(wasmBytes = 0, spaces = process.env.RTPCAST_HEAP_SPACES === '1'): MemoryStats {
  const m = process.memoryUsage();
  const kb = (x: number) => Math.round(x / 1024);
  const out: MemoryStats = { rssKb: kb(m.rss), heapUsedKb: kb(m.heapUsed), heapTotalKb: kb(m.heapTotal), externalKb: kb(m.external), arrayBuffersKb: kb(m.arrayBuffers), wasmKb: kb(wasmBytes) };
  if (spaces) out.spacesKb = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, kb(s.space_size)]));
  return out;
}

/**
 * Keeps V8's young generation at the size it has now. V8 doubles the new space each time the bytes
 * that survived scavenges since its last growth exceed its capacity, so a process that runs for
 * hours steps up its RSS by 2, 4, 8, 16 MB at intervals that double (play: +8.4 MB at 25 minutes
 * of a soak), up to 32 MB, although nothing leaks. With a growth factor of 1 the new space stays
 * small: scavenges come more often but each is as short (they copy only what survives), which
 * suits a real-time player. V8 reads this flag when it grows the space, so setting it at run time
 * works (unlike --max-semi-space-size, read once at start-up).
 */
export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
