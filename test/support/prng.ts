/**
 * Seeded pseudo-random numbers for tests and the impairment relay (test/support/relay.ts).
 *
 * Two kinds:
 * - counter-based (`hash32`, `hashUniform`): the number for (seed, index, stream) is a pure
 *   function of those three, with no state. The relay uses this so that the fate of packet i
 *   depends only on the seed and i, whatever happened to the packets before it and whichever
 *   other impairments are switched on (each impairment draws from its own stream).
 * - sequential (`mulberry32`): a small, fast generator for test data.
 *
 * Seeds are taken modulo 2^32 (non-integers are truncated); indices may go up to 2^53.
 */

/** A 32-bit bijective integer hash with good avalanche ("lowbias32", C. Wellons). */
export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function seed32(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  return Math.trunc(seed) >>> 0;
}

/** A 32-bit unsigned integer determined only by (seed, index, stream). */
export function hash32(seed: number, index: number, stream: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 0x1_0000_0000) >>> 0;
  let h = mix32(seed32(seed) ^ 0x6a09e667);
  h = mix32(h ^ lo);
  h = mix32(h ^ Math.imul(hi + 1, 0x85ebca6b));
  h = mix32(h + Math.imul(stream + 1, 0x9e3779b9));
  return h;
}

/** Uniform in [0, 1), determined only by (seed, index, stream). */
export function hashUniform(seed: number, index: number, stream: number): number {
  return hash32(seed, index, stream) / 0x1_0000_0000;
}

/** Sequential generator (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed32(seed);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}
