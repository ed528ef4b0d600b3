import { readSync } from 'node:fs';
import type { L16FileRun } from '../../src/transport/udp';

/** One packet of a file run as the native pacer must send it. */
export interface RunPacket {
  due: bigint;
  packet: Buffer;
  /** per-channel peak |sample| (16-bit) and the packet's peak over all channels */
  peaks: number[];
  peak: number;
}

/**
 * The reference model of an L16 file run (the contract in src/transport/udp.ts, which
 * native/pacer/src/pacer.c implements): what each packet carries and when it is due. Written
 * from the contract, not from the C code, so a test can hold the C code to it.
 */
export function expandL16FileRun(run: L16FileRun): RunPacket[] {
  const out: RunPacket[] = [];
  const seq0 = run.header.readUInt16BE(2);
  const ts0 = run.header.readUInt32BE(4);
  for (let k = 0; k < run.count; k++) {
    const packet = Buffer.alloc(12 + run.payload);
    run.header.copy(packet, 0, 0, 12);
    if (k > 0) packet[1] &= 0x7f;
    packet.writeUInt16BE((seq0 + k) & 0xffff, 2);
    packet.writeUInt32BE((ts0 + k * run.ticks) % 0x100000000, 4);
    const at = run.offset + k * run.payload;
    const want = Math.max(0, Math.min(run.payload, run.end - at));
    let got = 0;
    while (got < want) {
      const n = readSync(run.fd, packet, 12 + got, want - got, at + got);
      if (n <= 0) break;
      got += n;
    }
    const peaks = new Array<number>(run.channels).fill(0);
    let peak = 0;
    for (let i = 0; i < run.payload / 2; i++) {
      const v = Math.abs(packet.readInt16LE(12 + 2 * i));
      const c = i % run.channels;
      if (v > peaks[c]) peaks[c] = v;
      if (v > peak) peak = v;
    }
    packet.subarray(12).swap16(); // L16 is big-endian
    const due = run.anchorNs + (BigInt(run.first + k) * BigInt(run.frame) * 1_000_000_000n) / BigInt(run.rate);
    out.push({ due, packet, peaks, peak });
  }
  return out;
}
