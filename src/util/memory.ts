import { getHeapSpaceStatistics } from 'node:v8';

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
