import { InvalidArgumentError } from 'commander';

/** Option value parsers for commander: each rejects with a sentence that says what is allowed. */
export function intArg(what: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${what} must be a whole number (got "${v}")`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${what} must be from ${min} to ${max} (got ${n})`);
    return n;
  };
}

export function numberArg(what: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number (got "${v}")`);
    if (n < min || n > max) throw new InvalidArgumentError(`${what} must be from ${min} to ${max} (got ${n})`);
    return n;
  };
}

/** 128000, 128k, 1.5M. */
export function bitrateArg(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`bitrate must look like 128000, 128k or 1.5M (got "${v}")`);
  const mult = m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1000 : 1_000_000;
  return Math.round(Number(m[1]) * mult);
}

export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}
