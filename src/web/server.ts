import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ExitCode, RtpcastError, usageError } from '../errors';
import { renderPage } from './page';
import { encodeQr, qrSvg, type QrCode } from './qr';
import { WebListenerError, WebListeners, type ListenerInfo } from './send-web';

/** Where `--web` listens: `--web` alone is this machine only; `:8080` every interface. */
export const DEFAULT_WEB_PORT = 8080;
export const DEFAULT_WEB_HOST = '127.0.0.1';
export const DEFAULT_MAX_LISTENERS = 50;
const MAX_BODY = 64 * 1024;

export interface WebAddress {
  host: string;
  port: number;
}

/**
 * `--web` argument: `true` (no value) = 127.0.0.1:8080; `:PORT` or `PORT` = every interface;
 * `HOST:PORT`, `HOST`, `[IPv6]:PORT`.
 */
export function parseWebAddress(v: string | true): WebAddress {
  if (v === true || v === '') return { host: DEFAULT_WEB_HOST, port: DEFAULT_WEB_PORT };
  const bad = () => usageError(`--web ${v}: expected [HOST]:PORT, e.g. --web :8080 (every interface), --web 192.168.1.5:8080, or --web alone (this machine only, port ${DEFAULT_WEB_PORT})`);
  let host: string;
  let portText: string | undefined;
  const m6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(v);
  if (m6) {
    host = m6[1];
    portText = m6[2];
  } else if (/^\d+$/.test(v)) {
    host = '0.0.0.0';
    portText = v;
  } else {
    const i = v.lastIndexOf(':');
    if (i >= 0 && v.indexOf(':') !== i) throw bad(); // a bare IPv6 address needs brackets
    host = i >= 0 ? v.slice(0, i) : v;
    portText = i >= 0 ? v.slice(i + 1) : undefined;
    if (host === '') host = '0.0.0.0';
    if (i >= 0 && portText === '') throw bad();
  }
  const port = portText === undefined ? DEFAULT_WEB_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw bad();
  if (host === '*') host = '0.0.0.0';
  return { host, port };
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** The page URLs a listener can open: the bound address, or each interface's for a wildcard. */
export function pageUrls(addr: WebAddress, token: string, interfaces = networkInterfaces()): string[] {
  const url = (h: string) => `http://${h.includes(':') ? `[${h}]` : h}:${addr.port}/?k=${token}`;
  if (!isWildcard(addr.host)) return [url(addr.host)];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const i of list ?? []) {
      if (i.internal) continue;
      if (i.family === 'IPv4') v4.push(i.address);
      else if (addr.host === '::' && !i.address.toLowerCase().startsWith('fe80')) v6.push(i.address);
    }
  }
  const all = [...v4, ...v6].map(url);
  return all.length ? all : [url('127.0.0.1')];
}

export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

export interface WebServerOptions {
  address: WebAddress;
  /** the access token in the URL (`?k=`); a new random one when not given */
  token?: string;
  title: string;
  format: string;
  stereo: boolean;
  maxListeners?: number;
  icePorts?: [number, number];
  connectTimeoutMs?: number;
}

export interface WebInfo {
  /** every URL a listener may open; the first is in the QR code */
  urls: string[];
  qr: QrCode;
  host: string;
  port: number;
  maxListeners: number;
}

/**
 * The `--web` server: serves the page and takes a browser's WebRTC offer (POST /connect, JSON),
 * answering with our SDP. Every request needs the URL's token: whoever has the URL (or scans the
 * QR code) can listen; others on the network get 403.
 */
export class WebServer {
  readonly listeners: WebListeners;
  private readonly token: string;
  private server: Server | undefined;
  private info: WebInfo | undefined;
  private readonly nonce = () => randomBytes(12).toString('base64');
  requests = 0;
  refused = 0;

  constructor(private readonly o: WebServerOptions) {
    this.token = o.token ?? newToken();
    this.listeners = new WebListeners({
      host: o.address.host,
      icePorts: o.icePorts,
      // one UDP port per listener: a range of N ports takes N listeners
      maxListeners: Math.min(o.maxListeners ?? DEFAULT_MAX_LISTENERS, o.icePorts ? o.icePorts[1] - o.icePorts[0] + 1 : Infinity),
      connectTimeoutMs: o.connectTimeoutMs ?? 15_000,
      stereo: o.stereo,
    });
  }

  onListener(fn: (kind: 'join' | 'leave', l: ListenerInfo, count: number) => void): void {
    this.listeners.onListener(fn);
  }

  async start(): Promise<WebInfo> {
    await this.listeners.prepare();
    const server = createServer((req, res) => void this.handle(req, res));
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.address.host, port: this.o.address.port }, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((e: NodeJS.ErrnoException) => {
      const where = `${this.o.address.host}:${this.o.address.port}`;
      if (e.code === 'EADDRINUSE') throw new RtpcastError(`--web: port ${this.o.address.port} is already in use (${where})`, ExitCode.network, `choose another port, e.g. --web ${isWildcard(this.o.address.host) ? '' : this.o.address.host}:${this.o.address.port + 1} (ss -ltnp shows which program holds it)`);
      if (e.code === 'EADDRNOTAVAIL') throw new RtpcastError(`--web: ${this.o.address.host} is not an address of this machine`, ExitCode.network, 'use one of this machine\'s addresses (ip addr), or --web :PORT for every interface');
      if (e.code === 'EACCES') throw new RtpcastError(`--web: not allowed to listen on port ${this.o.address.port}`, ExitCode.network, 'ports below 1024 need root: use a port such as 8080');
      throw new RtpcastError(`--web: cannot listen on ${where}: ${e.message}`, ExitCode.network);
    });
    this.server = server;
    const port = (server.address() as { port: number }).port;
    const urls = pageUrls({ host: this.o.address.host, port }, this.token);
    this.info = { urls, qr: encodeQr(urls[0]), host: this.o.address.host, port, maxListeners: this.listeners.maxListeners };
    return this.info;
  }

  private authorized(url: URL): boolean {
    const k = Buffer.from(url.searchParams.get('k') ?? '');
    const t = Buffer.from(this.token);
    return k.length === t.length && timingSafeEqual(k, t);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      return this.json(res, 400, { error: 'bad request' });
    }
    if (url.pathname === '/favicon.ico') return this.text(res, 404, 'not found');
    if (url.pathname !== '/' && url.pathname !== '/connect' && url.pathname !== '/leave') return this.text(res, 404, 'not found: open the URL the sender printed (or scan its QR code)');
    if (!this.authorized(url)) {
      this.refused++;
      return this.text(res, 403, 'this page needs the full URL the sender printed, with its ?k=... part (scan the QR code in the sender\'s terminal)');
    }
    if (url.pathname === '/') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.text(res, 405, 'use GET');
      const nonce = this.nonce();
      const info = this.info!;
      const html = renderPage({ title: this.o.title, format: this.o.format, url: info.urls[0], qrSvg: qrSvg(info.qr, 220), token: this.token, nonce });
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      });
      res.end(req.method === 'HEAD' ? undefined : html);
      return;
    }
    if (req.method !== 'POST') return this.json(res, 405, { error: 'use POST' });
    if (url.pathname === '/leave') {
      // POST /leave?k=TOKEN&id=N&s=SECRET (navigator.sendBeacon from the page; its body is ignored)
      req.resume();
      const id = Number(url.searchParams.get('id'));
      return this.json(res, Number.isInteger(id) && this.listeners.leave(id, url.searchParams.get('s') ?? '') ? 200 : 404, {});
    }
    // POST /connect {sdp: offer} -> {id, type: 'answer', sdp: answer}
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return this.json(res, 415, { error: 'send the offer as application/json: {"sdp": "..."}' });
    let body: string;
    try {
      body = await readBody(req, MAX_BODY);
    } catch (e) {
      res.setHeader('Connection', 'close');
      return this.json(res, 413, { error: (e as Error).message });
    }
    let offer: unknown;
    try {
      offer = (JSON.parse(body) as { sdp?: unknown }).sdp;
    } catch {
      return this.json(res, 400, { error: 'the body is not JSON' });
    }
    if (typeof offer !== 'string' || !offer.startsWith('v=0')) return this.json(res, 400, { error: 'expected {"sdp": "<an SDP offer>"}' });
    try {
      const answer = await this.listeners.answer(offer, `${req.socket.remoteAddress ?? '?'}`);
      this.json(res, 200, { id: answer.id, secret: answer.secret, type: 'answer', sdp: answer.sdp });
    } catch (e) {
      const status = e instanceof WebListenerError ? e.status : 500;
      this.json(res, status, { error: (e as Error).message });
    }
  }

  private text(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
  }

  private json(res: ServerResponse, status: number, v: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(v));
  }

  async close(): Promise<void> {
    await this.listeners.close();
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

/** The body, up to `max` bytes; beyond that it rejects at once and discards the rest (bounded by the request timeout). */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      n += c.length;
      if (n > max) {
        over = true;
        chunks.length = 0;
        reject(new Error(`the offer is larger than ${max} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
