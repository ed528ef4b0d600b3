import type { Clock } from '../rtp/clock';
import type { Player } from '../player/player';
import type { PlayTap, ReceiveSpec } from '../session/play';
import { SyncClient } from './client';
import { SyncController } from './controller';
import { RtpTimeline, senderReports } from './playout';
import { SYNC_PORT } from './protocol';
import { TimelineWriter } from './timeline';
import { LeaveFilter } from './leave-filter';

export interface SyncPlayOptions {
  /** the sender's time-sync service; host undefined: the address the stream comes from */
  host?: string;
  port?: number;
  /** sender time to output, ms */
  latencyMs: number;
  /** the play clock (also the one the exchanges are timed with) */
  clock: Clock;
  /** play clock -> true monotonic time, for the timeline (identity unless the clock is skewed on purpose) */
  toTrue?: (localNs: bigint) => bigint;
  timelineOut?: string;
  onWarning?(m: string): void;
}

export interface SyncStatus {
  server?: string;
  state: string;
  exchanges: number;
  /** sender clock minus ours, ms */
  offsetMs?: number;
  driftPpm?: number;
  minRttUs?: number;
  /** playout minus where it should be, us */
  errorUs: number;
  jumps: number;
  silentBlocks: number;
  senderReports: number;
}

/** exchanges before playout starts (0.4 s at the start-up rate) */
const MIN_EXCHANGES = 8;

/** How play --sync plugs into runPlay (a PlayTap): see docs/SYNC.md. */
export function createSyncTap(o: SyncPlayOptions): PlayTap & { syncStatus(): SyncStatus } {
  let client: SyncClient | undefined;
  let opening: Promise<void> | undefined;
  let controller: SyncController | undefined;
  let timeline: RtpTimeline | undefined;
  let ssrc: number | undefined;
  let reports = 0;
  let frame = 0;
  let channels = 2;
  let warnTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let lateBlocks = 0;
  let lastJumps = 0;
  let leave: LeaveFilter | undefined;
  const writer = o.timelineOut ? new TimelineWriter(o.timelineOut) : undefined;
  const clockMap = {
    // not before MIN_EXCHANGES: the very first exchanges (the process warming up) were measured up to 6 ms off
    toSender: (ns: bigint) => (client && client.estimator.count >= MIN_EXCHANGES ? client.estimator.toSender(ns) : undefined),
    estimate: () => client?.estimator.estimate(),
  };
  const startClient = (address: string) => {
    const host = o.host ?? address;
    const port = o.port ?? SYNC_PORT;
    opening = SyncClient.open(host, port, o.clock)
      .then((c) => {
        if (closed) return c.close();
        client = c;
        c.start();
        warnTimer = setTimeout(() => {
          if (c.stats.replies === 0) o.onWarning?.(`no answer from the time-sync service at ${host}:${port} after 3 s: playing silence until it answers (start the sender with rtpcast send --sync (and --sync-port if not the default); a firewall on UDP ${port}?)`);
        }, 3000);
      })
      .catch((e: Error) => o.onWarning?.(`cannot reach the time-sync service at ${host}:${port}: ${e.message}`));
  };
  const tap = {
    onPlayer(_p: Player, spec: ReceiveSpec) {
      channels = spec.channels;
      timeline = new RtpTimeline(spec.clockRate);
      controller = new SyncController(spec.clockRate, spec.channels, o.latencyMs, clockMap, timeline);
      writer?.setRate(spec.clockRate);
      leave = new LeaveFilter(spec.clockRate);
    },
    onSender(address: string, s: number) {
      ssrc = s;
      if (!opening) startClient(address);
      else if (o.host === undefined && client && client.host !== address) {
        // another sender (the first one is gone): its clock is another one
        const old = client;
        client = undefined;
        if (warnTimer) clearTimeout(warnTimer);
        opening = old.close().then(() => startClient(address));
      }
    },
    onRtcp(msg: Buffer) {
      for (const sr of senderReports(msg)) {
        if (ssrc !== undefined && sr.ssrc !== ssrc) continue;
        timeline?.update(sr);
        reports++;
      }
    },
    read(p: Player, frames: number, _nowNs: bigint, measuredLeaveNs: bigint): Float32Array {
      const leaveNs = leave ? leave.next(measuredLeaveNs, frames) : measuredLeaveNs;
      const b = controller ? controller.block(p, frames, leaveNs) : { pcm: new Float32Array(frames * channels), firstTs: undefined };
      if (controller?.stats.state === 'late') {
        // the audio due has not arrived: the path is slower than --latency allows (said once per episode, after a second)
        lateBlocks++;
        if (lateBlocks === 100) o.onWarning?.(`the audio due now has not arrived: the sender's packets take longer than --latency ${o.latencyMs} ms (network, sender's buffering, or the sender's clock far off): playing silence; raise --latency (every player of this sender should use the same)`);
      } else lateBlocks = 0;
      if (writer) {
        const st = controller?.stats;
        const jumped = st && st.jumps !== lastJumps;
        lastJumps = st?.jumps ?? 0;
        const e = client?.estimator.estimate();
        const note = `${st?.state === 'locked' ? Math.round(st.errorUs) : st?.state ?? 'waiting'}${jumped ? ' jump' : ''}${e ? ` off=${e.offsetNs} drift=${(e.drift * 1e6).toFixed(2)}` : ''}`;
        writer.add(frame, o.toTrue ? o.toTrue(leaveNs) : leaveNs, b.firstTs, note);
      }
      frame += frames;
      return b.pcm;
    },
    syncStatus(): SyncStatus {
      const e = client?.estimator.estimate();
      const st = controller?.stats;
      return {
        server: client ? `${client.host}:${client.port}` : undefined,
        state: st?.state ?? 'waiting',
        exchanges: client?.stats.replies ?? 0,
        ...(e ? { offsetMs: Number(e.offsetNs) / 1e6, driftPpm: Math.round(e.drift * 1e7) / 10, minRttUs: Math.round(e.minRttNs / 1000) } : {}),
        errorUs: Math.round(st?.errorUs ?? 0),
        jumps: st?.jumps ?? 0,
        silentBlocks: st?.silentBlocks ?? 0,
        senderReports: reports,
      };
    },
    status(): { sync: SyncStatus } {
      return { sync: tap.syncStatus() };
    },
    async close() {
      closed = true;
      if (warnTimer) clearTimeout(warnTimer);
      await opening;
      await client?.close();
      await writer?.close();
    },
  };
  return tap;
}
