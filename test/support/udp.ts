import { createSocket } from 'node:dgram';

/** A real UDP socket that records every datagram with its arrival time. */
export async function dgramReceiver(address: string, port: number) {
  const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  const packets: { at: bigint; data: Buffer }[] = [];
  s.on('message', (data) => packets.push({ at: process.hrtime.bigint(), data }));
  await new Promise<void>((r) => s.bind(port, address, () => r()));
  return { port: s.address().port, packets, close: () => s.close() };
}
