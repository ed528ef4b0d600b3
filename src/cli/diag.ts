import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { DIAG_EXIT_HELP, exitCodeOf, type DiagReport } from '../diag/report';
import { ExitCode, RtpcastError } from '../errors';
import { devicesCommand } from './devices';
import { intArg, numberArg } from './parse';

/** Prints a report (table or JSON) and sets the documented exit code. */
function finish(r: DiagReport, json: boolean, extra?: string): void {
  const { renderReport, reportJson } = require('./diag-render') as typeof import('./diag-render');
  process.stdout.write((json ? reportJson(r) : renderReport(r) + (extra ? `\n${extra}` : '')) + '\n');
  process.exitCode = exitCodeOf(r);
}

function readText(path: string): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    throw new RtpcastError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, ExitCode.input);
  }
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address));
}

/** Ctrl-C ends a capture early; the report covers what arrived. */
function abortOnSigint(): AbortController {
  const a = new AbortController();
  process.once('SIGINT', () => a.abort());
  return a;
}

function ports(v: string, prev: number[] = []): number[] {
  return [...prev, ...v.split(',').map((x) => intArg('--port', 1, 65535)(x.trim()))];
}

export function diagCommand(): Command {
  const diag = new Command('diag')
    .summary('find what is wrong: packets, format, SDP, ports, firewall, devices')
    .description('Each check prints what it found, the cause, and the command that fixes it (--json for scripts).')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`);

  diag
    .command('sdp')
    .summary('lint an SDP (RFC 4566/3551/7587 and the players\' quirks) and print the commands that play it')
    .argument('<file>', 'the SDP file, or - for stdin')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action((file: string, o: { json?: boolean }) => {
      const { lintSdp } = require('../diag/sdp') as typeof import('../diag/sdp');
      const r = lintSdp(readText(file), { name: file, localAddresses: localAddresses() });
      const cmds = (r.data as { commands?: { player: string; command: string; note?: string }[] } | undefined)?.commands ?? [];
      finish(r, !!o.json, cmds.length ? 'Play it with:\n' + cmds.map((c) => `  ${c.player.padEnd(10)} ${c.command}${c.note ? `\n  ${''.padEnd(10)} (${c.note})` : ''}`).join('\n') : undefined);
    });

  diag
    .command('ports')
    .summary('is each UDP port free to bind? if not, which process holds it')
    .addOption(new Option('-p, --port <ports>', 'ports (repeat or comma-separate; default 5004,5005)').argParser(ports))
    .argument('[ports...]', 'ports, as an alternative to --port')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action(async (args: string[], o: { port?: number[]; json?: boolean }) => {
      const list = [...(o.port ?? []), ...args.flatMap((a) => ports(a))];
      const { checkPorts } = require('../diag/ports') as typeof import('../diag/ports');
      finish(await checkPorts(list.length ? list : [5004, 5005]), !!o.json);
    });

  diag
    .command('firewall')
    .summary('would inbound UDP to the port be accepted? which rule decides, and the command that opens it')
    .addOption(new Option('-p, --port <port>', 'RTP port (RTCP port+1 is checked too)').default(5004).argParser(intArg('--port', 1, 65534)))
    .option('--no-rtcp', 'do not check port+1')
    .option('--ipv6', 'check IPv6 rules')
    .option('--program <name>', 'the receiving program (Windows/macOS application rules), e.g. vlc.exe')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action(async (o: { port: number; rtcp: boolean; ipv6?: boolean; program?: string; json?: boolean }) => {
      const { checkFirewall } = require('../diag/firewall') as typeof import('../diag/firewall');
      finish(await checkFirewall(o.port, { rtcp: o.rtcp, family: o.ipv6 ? 'ipv6' : undefined, program: o.program } as Parameters<typeof checkFirewall>[1]), !!o.json);
    });

  const packetsLike = (name: string, summary: string, only?: (id: string) => boolean) =>
    diag
      .command(name)
      .summary(summary)
      .addOption(new Option('-p, --port <port>', 'UDP port to listen on').default(5004).argParser(intArg('--port', 1, 65535)))
      .addOption(new Option('-d, --duration <s>', 'how long to listen').default(10).argParser(numberArg('--duration', 0.1, 86400)))
      .option('--group <address>', 'multicast group to join')
      .option('--source <address>', 'only this sender')
      .option('--bind <address>', 'local address to listen on')
      .option('--sdp <file>', 'the stream\'s SDP (clock rates of dynamic payload types; with a=crypto, SRTP packets are authenticated with its key)')
      .option('--json', 'machine-readable output')
      .addHelpText('after', `\nCtrl-C ends the capture early and reports what arrived.\n\n${DIAG_EXIT_HELP}`)
      .action(async (o: { port: number; duration: number; group?: string; source?: string; bind?: string; sdp?: string; json?: boolean }) => {
        const live = process.stderr.isTTY && !o.json;
        const { capturePackets } = require('../diag/packets') as typeof import('../diag/packets');
        const Table = require('cli-table3') as typeof import('cli-table3');
        const r = await capturePackets({
          port: o.port, durationSec: o.duration, group: o.group, source: o.source, bind: o.bind,
          sdp: o.sdp ? readText(o.sdp).toString('utf8') : undefined, signal: abortOnSigint().signal,
          onUpdate: live
            ? (u) => {
                const t = new Table({ head: u.table.head, style: { head: [], border: [] } });
                t.push(...u.table.rows);
                process.stderr.write(`\x1b[H\x1b[2Jrtpcast diag ${name}: ${u.elapsedSec.toFixed(0)} s of ${o.duration}\n${t.toString()}\n`);
              }
            : undefined,
        });
        if (only) r.findings = r.findings.filter((f) => only(f.id));
        finish(r, !!o.json);
      });

  packetsLike('packets', 'count what arrives on a port, per sender and SSRC: loss, jitter, drift, non-RTP traffic; if nothing arrives, why');
  packetsLike('jitter', 'measure jitter and loss and recommend a playout latency (and whether Opus FEC helps)', (id) => id.startsWith('jitter.') || id === 'packets.none' || id === 'packets.summary' || id === 'packets.loss');

  diag
    .command('format')
    .summary('does the payload match what the SDP says? rate, byte order, channels (the "slowed-down sound")')
    .addOption(new Option('-p, --port <port>', 'UDP port').default(5004).argParser(intArg('--port', 1, 65535)))
    .addOption(new Option('-d, --duration <s>', 'how long to listen').default(5).argParser(numberArg('--duration', 0.5, 3600)))
    .option('--sdp <file>', 'the SDP the receiver uses')
    .addOption(new Option('-c, --codec <codec>', 'or what the receiver assumes').choices(['l16', 'opus']))
    .addOption(new Option('-r, --rate <hz>', 'assumed rate').argParser(intArg('--rate', 1000, 384000)))
    .addOption(new Option('--channels <n>', 'assumed channels').argParser(intArg('--channels', 1, 8)))
    .addOption(new Option('--pt <type>', 'assumed payload type').argParser(intArg('--pt', 0, 127)))
    .option('--bind <address>', 'local address')
    .option('--group <address>', 'multicast group')
    .option('--source <address>', 'only this sender')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action(async (o: { port: number; duration: number; sdp?: string; codec?: string; rate?: number; channels?: number; pt?: number; bind?: string; group?: string; source?: string; json?: boolean }) => {
      const { checkFormat } = require('../diag/format') as typeof import('../diag/format');
      const expect = o.codec ? { codec: o.codec, rate: o.rate ?? (o.codec === 'opus' ? 48000 : 44100), channels: o.channels ?? 2, payloadType: o.pt } : undefined;
      finish(await checkFormat({ port: o.port, durationSec: o.duration, sdp: o.sdp ? readText(o.sdp).toString('utf8') : undefined, expect, bind: o.bind, group: o.group, source: o.source, signal: abortOnSigint().signal }), !!o.json);
    });

  diag
    .command('cpu')
    .summary('measure this machine\'s encode/decode speed and headroom per codec; recommend settings')
    .addOption(new Option('--seconds <s>', 'audio to encode per configuration').default(5).argParser(numberArg('--seconds', 0.5, 120)))
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action((o: { seconds: number; json?: boolean }) => finish((require('../diag/cpu') as typeof import('../diag/cpu')).checkCpu(o.seconds), !!o.json));

  diag
    .command('doctor', { isDefault: true })
    .summary('run the checks that apply on this side as a checklist and name the most likely cause (the default)')
    .addOption(new Option('-p, --port <port>', 'RTP port').default(5004).argParser(intArg('--port', 1, 65534)))
    .addOption(new Option('-d, --duration <s>', 'how long to listen for packets').default(5).argParser(numberArg('--duration', 0.5, 600)))
    .option('--sender', 'check the sending side (capture sources, CPU) instead of the receiving side (ports, firewall, packets)')
    .option('--sdp <file>', 'the stream\'s SDP, as the receiver has it (what a dynamic payload type means)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `\n${DIAG_EXIT_HELP}`)
    .action(async (o: { port: number; duration: number; sender?: boolean; sdp?: string; json?: boolean }) => finish(await (require('../diag/doctor') as typeof import('../diag/doctor')).runDoctor({ port: o.port, durationSec: o.duration, side: o.sender ? 'sender' : 'receiver', sdp: o.sdp ? readText(o.sdp).toString('utf8') : undefined }), !!o.json));

  diag.addCommand(devicesCommand('devices'));
  return diag;
}
