/**
 * diag ports: the parsers on recorded (ss, lsof on Linux) and documented (Windows, macOS lsof)
 * outputs, the decisions with fake programs, and the real thing: a child process holds a UDP port
 * on 127.0.0.1 and checkPorts names it (loopback only, no root needed).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { checkPorts, tryBindUdp, type BindOutcome } from '../../src/diag/ports';
import type { Runner } from '../../src/diag/firewall';
import { exitCodeOf, type DiagReport, type Finding } from '../../src/diag/report';
import {
  parseExcludedRanges,
  parseGetProcessJson,
  parseLsofUdp,
  parseNetUdpEndpointJson,
  parseSsUdp,
  parseSsUsers,
  rangeContaining,
  splitSsAddress,
} from '../../src/os/ports-parse';
import { RtpcastError } from '../../src/errors';
import { findProgram } from '../../src/os/programs';

const DIR = join(__dirname, '../../../test/fixtures/ports');
const fx = (name: string): string => readFileSync(join(DIR, name), 'utf8');

function only(r: DiagReport, id: string): Finding {
  const f = r.findings.filter((x) => x.id === id);
  assert.equal(f.length, 1, `expected one ${id}, got:\n${JSON.stringify(r.findings, null, 2)}`);
  return f[0];
}

function fake(answers: Record<string, string | { code: number; stdout?: string; stderr?: string }>): { run: Runner; calls: string[] } {
  const calls: string[] = [];
  const run: Runner = async (exe, args) => {
    const key = [basename(exe.replace(/\\/g, '/')), ...args].join(' ');
    calls.push(key);
    const a = answers[key];
    if (a === undefined) return { code: 1, signal: null, stdout: '', stderr: `fake: no answer for ${key}`, timedOut: false };
    if (typeof a === 'string') return { code: 0, signal: null, stdout: a, stderr: '', timedOut: false };
    return { signal: null, timedOut: false, stdout: '', stderr: '', ...a };
  };
  return { run, calls };
}

const binds =
  (table: Record<number, BindOutcome>) =>
  async (port: number): Promise<BindOutcome> =>
    table[port] ?? 'free';

// =================================================================================================
describe('parsers', () => {
  test('ss (recorded, iproute2 6.1): addresses, several sockets and processes, nothing', () => {
    assert.deepEqual(parseSsUdp(fx('ss-5004.txt')), [
      { state: 'UNCONN', localAddress: '0.0.0.0', localPort: 5004, peer: '0.0.0.0:*', holders: [{ name: 'node', pid: 4497, fd: 18 }] },
      { state: 'UNCONN', localAddress: '::', localPort: 5004, peer: '[::]:*', holders: [{ name: 'node', pid: 4497, fd: 19 }] },
    ]);
    assert.deepEqual(
      parseSsUdp(fx('ss-5008.txt')).map((s) => s.holders[0].pid),
      [4505, 4497],
    );
    assert.equal(parseSsUdp(fx('ss-5010.txt'))[0].localAddress, '*');
    assert.deepEqual(parseSsUdp(fx('ss-5012.txt')), []);
    // with the header and the connected socket of another process (its local port is not 5006)
    const all = parseSsUdp(fx('ss-all-with-header.txt'));
    assert.equal(all.length, 7);
    const estab = all.filter((s) => s.state === 'ESTAB');
    assert.equal(estab.length, 1);
    assert.equal(estab[0].peer, '127.0.0.1:5006');
    assert.notEqual(estab[0].localPort, 5006);
  });

  test('ss details: interface suffixes, names with spaces and quotes, sockets no one may see', () => {
    assert.deepEqual(splitSsAddress('127.0.0.1%lo:5004'), { address: '127.0.0.1', port: 5004, iface: 'lo' });
    assert.deepEqual(splitSsAddress('[fe80::1]%eth0:5004'), { address: 'fe80::1', port: 5004, iface: 'eth0' });
    assert.deepEqual(splitSsAddress('*:5004'), { address: '*', port: 5004 });
    assert.deepEqual(parseSsUsers('users:(("Web Content",pid=7,fd=3),("a\\"b",pid=8,fd=4))'), [
      { name: 'Web Content', pid: 7, fd: 3 },
      { name: 'a"b', pid: 8, fd: 4 },
    ]);
    assert.deepEqual(parseSsUdp('UNCONN 0      0      0.0.0.0:5004 0.0.0.0:*\n')[0].holders, []);
  });

  test('lsof -F pcn (recorded on Linux; the macOS sample adds fd lines)', () => {
    assert.deepEqual(parseLsofUdp(fx('lsof-5004.txt')), [
      { localAddress: '*', localPort: 5004, holders: [{ pid: 4497, name: 'node' }] },
      { localAddress: '*', localPort: 5004, holders: [{ pid: 4497, name: 'node' }] },
    ]);
    const s6 = parseLsofUdp(fx('lsof-5006.txt'));
    assert.deepEqual(s6.map((s) => [s.localPort, s.peer ?? null, s.holders[0].pid]), [
      [5006, null, 4497],
      [s6[1].localPort, '127.0.0.1:5006', 4505],
    ]);
    assert.notEqual(s6[1].localPort, 5006, 'the client socket is not a holder of 5006');
    assert.deepEqual(parseLsofUdp(fx('lsof-5012.txt')), []);
    assert.deepEqual(parseLsofUdp(fx('lsof-macos-5004.txt')), [
      { localAddress: '*', localPort: 5004, holders: [{ pid: 812, name: 'VLC', fd: 23 }] },
      { localAddress: '127.0.0.1', localPort: 5004, holders: [{ pid: 1377, name: 'node', fd: 21 }] },
    ]);
  });

  test('Get-NetUDPEndpoint / Get-Process JSON: one object or an array', () => {
    assert.deepEqual(parseNetUdpEndpointJson(fx('netudpendpoint-one.json')), [{ localAddress: '0.0.0.0', localPort: 5004, holders: [{ pid: 7312 }] }]);
    assert.deepEqual(parseNetUdpEndpointJson(fx('netudpendpoint-two.json')).map((s) => [s.localAddress, s.holders[0].pid]), [
      ['::', 7312],
      ['192.168.1.20', 9140],
    ]);
    assert.deepEqual(parseNetUdpEndpointJson(''), []);
    assert.deepEqual([...parseGetProcessJson(fx('getprocess-one.json'))], [[7312, 'vlc']]);
    assert.deepEqual([...parseGetProcessJson('\uFEFF' + fx('getprocess-two.json'))], [
      [7312, 'vlc'],
      [9140, 'node'],
    ]);
    assert.throws(() => parseNetUdpEndpointJson('Get-NetUDPEndpoint : Access denied'), /not JSON/);
  });

  test('netsh excluded port ranges: the numbers, whatever the language', () => {
    const en = parseExcludedRanges(fx('netsh-excludedportrange-udp-en.txt'));
    assert.deepEqual(en, [
      { start: 5004, end: 5004, administered: false },
      { start: 5353, end: 5353, administered: false },
      { start: 50000, end: 50059, administered: true },
      { start: 52100, end: 52199, administered: false },
    ]);
    assert.deepEqual(parseExcludedRanges(fx('netsh-excludedportrange-udp-zh.txt')), [
      { start: 4911, end: 5010, administered: false },
      { start: 50000, end: 50059, administered: true },
    ]);
    assert.deepEqual(parseExcludedRanges(fx('netsh-excludedportrange-udp-empty.txt')), []);
    assert.equal(rangeContaining(en, 52150)?.start, 52100);
    assert.equal(rangeContaining(en, 5005), undefined);
  });
});

// =================================================================================================
describe('checkPorts decisions (fake programs)', () => {
  test('Linux: a busy port names the process and pid, suggests the next free even port', async () => {
    const { run, calls } = fake({ "ss -H -u -a -n -p sport = :5004": fx('ss-5004.txt') });
    const r = await checkPorts([5004], { platform: 'linux', run, which: (n) => `/usr/bin/${n}`, tryBind: binds({ 5004: 'busy', 5006: 'busy' }) });
    const f = only(r, 'port.busy');
    assert.equal(f.severity, 'problem');
    assert.equal(f.title, 'UDP port 5004 is in use by node (pid 4497) on 0.0.0.0:5004 and [::]:5004');
    assert.match(f.fix!, /^stop it: kill 4497\n/);
    assert.match(f.fix!, /rtpcast send --dest HOST:5008/, '5006 is busy too, 5008 is the next even pair');
    assert.deepEqual(calls, ['ss -H -u -a -n -p sport = :5004']);
    assert.equal(exitCodeOf(r), 1);
  });

  test('Linux: a holder this user cannot see', async () => {
    const { run } = fake({ "ss -H -u -a -n -p sport = :5004": 'UNCONN 0      0      0.0.0.0:5004 0.0.0.0:*\n' });
    const r = await checkPorts([5004], { platform: 'linux', run, which: (n) => `/usr/bin/${n}`, tryBind: binds({ 5004: 'busy' }) });
    const f = only(r, 'port.busy');
    assert.equal(f.title, 'UDP port 5004 is in use by a program this user cannot see');
    assert.match(f.detail!, /sudo rtpcast diag ports --port 5004/);
  });

  test('free and privileged ports', async () => {
    const r = await checkPorts([5004, 80], { platform: 'linux', run: fake({}).run, which: () => undefined, tryBind: binds({}) });
    assert.deepEqual(
      r.findings.map((f) => [f.id, f.severity]),
      [
        ['port.free', 'ok'],
        ['port.free', 'ok'],
        ['port.privileged', 'info'],
      ],
    );
    const denied = await checkPorts([80], { platform: 'linux', run: fake({}).run, which: () => undefined, tryBind: binds({ 80: 'denied' }) });
    assert.equal(only(denied, 'port.privileged').severity, 'problem');
    const other = await checkPorts([5004], { platform: 'linux', run: fake({}).run, which: () => undefined, tryBind: binds({ 5004: 'denied' }) });
    assert.equal(only(other, 'port.denied').severity, 'problem');
  });

  test('macOS: lsof names the holders', async () => {
    const { run } = fake({ 'lsof -nP -iUDP:5004 -F pcn': fx('lsof-macos-5004.txt') });
    const r = await checkPorts([5004], { platform: 'darwin', run, which: (n) => `/usr/sbin/${n}`, tryBind: binds({ 5004: 'busy' }) });
    assert.equal(only(r, 'port.busy').title, 'UDP port 5004 is in use by VLC (pid 812) on *:5004, node (pid 1377) on 127.0.0.1:5004');
    assert.match(only(r, 'port.busy').fix!, /kill 812 1377/);
  });

  test('Windows: excluded range (bind refused though nothing listens), busy port named by PowerShell', async () => {
    const endpoints = 'Get-NetUDPEndpoint -LocalPort 5006 -ErrorAction SilentlyContinue | Select-Object LocalAddress,LocalPort,OwningProcess | ConvertTo-Json';
    const { run, calls } = fake({
      'netsh interface ipv4 show excludedportrange protocol=udp': fx('netsh-excludedportrange-udp-en.txt'),
      [`powershell -NoProfile -NonInteractive -Command ${endpoints}`]: fx('netudpendpoint-two.json').replace(/5004/g, '5006'),
      'powershell -NoProfile -NonInteractive -Command Get-Process -Id 7312,9140 -ErrorAction SilentlyContinue | Select-Object Name,Id | ConvertTo-Json': fx('getprocess-two.json'),
    });
    const r = await checkPorts([5004, 5006, 5010], { platform: 'win32', run, which: () => undefined, tryBind: binds({ 5004: 'denied', 5006: 'busy' }) });
    const ex = only(r, 'port.excluded');
    assert.equal(ex.title, 'UDP port 5004 is inside the range 5004-5004 that Windows reserves');
    assert.equal(ex.detail?.startsWith('the port is inside a range Windows reserves (Hyper-V/WinNAT): a bind fails though nothing listens'), true);
    const busy = only(r, 'port.busy');
    assert.equal(busy.title, 'UDP port 5006 is in use by vlc (pid 7312) on [::]:5006, node (pid 9140) on 192.168.1.20:5006');
    assert.match(busy.fix!, /Stop-Process -Id 7312,9140/);
    assert.equal(only(r, 'port.free').title, 'UDP port 5010 is free');
    assert.ok(calls.every((c) => !c.includes('"')), 'no double quotes travel on a Windows command line');
  });

  test('invalid ports are a usage error', async () => {
    for (const bad of [0, 65536, 1.5]) {
      await assert.rejects(checkPorts([bad]), (e: unknown) => e instanceof RtpcastError && e.exitCode === 2);
    }
  });
});

// =================================================================================================
describe('checkPorts for real (loopback)', () => {
  test('a UDP port held by another process is busy, and that process is named', { timeout: 20_000 }, async (t) => {
    if (process.platform !== 'linux' && process.platform !== 'darwin') return t.skip('ss/lsof are Linux/macOS tools');
    if (process.platform === 'linux' && !findProgram('ss') && !findProgram('lsof')) throw new Error('ss is missing: sudo apt-get install iproute2');
    // the holder binds an ephemeral port on loopback and says which
    const child = spawn(process.execPath, ['-e', "const s=require('dgram').createSocket('udp4');s.bind(0,'127.0.0.1',()=>console.log(s.address().port));setTimeout(()=>process.exit(0),15000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => {
      child.kill('SIGKILL');
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
      child.once('exit', () => reject(new Error('the holder exited before binding')));
    });
    assert.ok(port > 0);
    const r = await checkPorts([port], { hosts: ['127.0.0.1'] });
    const f = only(r, 'port.busy');
    assert.match(f.title, new RegExp(`^UDP port ${port} is in use by node \\(pid ${child.pid}\\) on 127\\.0\\.0\\.1:${port}$`));
    assert.match(f.fix!, new RegExp(`kill ${child.pid}`));
    child.kill('SIGKILL');
    await new Promise((r2) => child.once('exit', r2));
    const free = await checkPorts([port], { hosts: ['127.0.0.1'] });
    assert.equal(only(free, 'port.free').severity, 'ok');
  });

  test('tryBindUdp: free, then busy while this process holds it', async () => {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    try {
      assert.equal(await tryBindUdp(port, '127.0.0.1'), 'busy');
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
    assert.equal(await tryBindUdp(port, '127.0.0.1'), 'free');
  });
});
