// The loopback host: the wizard's page and the engine API over HTTP on 127.0.0.1 only, for machines without an
// Electron runtime and for the end-to-end tests. Every request must carry the run's random token: the page load as
// `?token=` (the reply then sets an HttpOnly, SameSite=Strict cookie for the page's assets, fetches and events), API
// calls may send it as the x-tsmedia-token header. No token: 401; a wrong one: 403. The Host header must name this
// server (127.0.0.1:PORT or localhost:PORT) and an Origin header, when sent, this origin: a page on another site, or
// a DNS name rebound to 127.0.0.1, gets 403 whatever it carries.
//   POST /api/<method>  body: JSON array of arguments → 200 JSON result, 400/500 {"error", "code", "detail"?}, 404 unknown method
//   GET  /api/events    Server-Sent Events, one `data: <MediaEvent JSON>` per event
//   GET  /…             the renderer's files (index.html for /), with the CSP, nosniff and no caching
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { HOST_API_PREFIX, HOST_EVENTS_PATH, HOST_TOKEN_HEADER, isApiMethod, type MediaEvent } from '../../shared/ipc.js';
import { contentTypeOf, rendererFile } from '../shell/rendererFiles.js';
import { PAGE_HEADERS } from '../shell/security.js';
import { toApiError, type EngineApi } from './EngineApi.js';

export interface LoopbackHostOptions {
  api: EngineApi;
  /** The built renderer (dist/renderer): index.html and its assets. */
  rendererDir: string;
  /** 0 (default): a free port chosen by the system. */
  port?: number;
}

export interface LoopbackHost {
  /** http://127.0.0.1:PORT/?token=TOKEN — the address to open in a browser. */
  url: string;
  port: number;
  token: string;
  /** The listening socket's address (always 127.0.0.1). */
  address(): AddressInfo;
  close(): Promise<void>;
}

/** Largest API request body: requests are small JSON objects. */
export const MAX_BODY_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/** Headers every response carries: the same as the app:// protocol's (the CSP, nosniff, no framing, no caching). */
const BASE_HEADERS = PAGE_HEADERS;

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown): void => send(res, status, JSON.stringify(value === undefined ? null : value), 'application/json; charset=utf-8');

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(token, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** Reads a request body up to `limit` bytes; null when it is larger (the rest is discarded). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((ok, fail) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      ok(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => ok(over ? null : Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

export async function startLoopbackHost(options: LoopbackHostOptions): Promise<LoopbackHost> {
  const { api } = options;
  const token = randomBytes(32).toString('hex');
  const rendererRoot = resolve(options.rendererDir);
  const sockets = new Set<Socket>();
  const streams = new Set<ServerResponse>();
  let port = 0;
  // Cookies are shared by every port of a host name: the port in the name keeps two hosts (or two runs) apart.
  const cookieName = (): string => `tsmedia_token_${port}`;

  /** The file under the renderer folder a URL path names, or null (outside it, a folder, absent, a link out). */
  const staticFile = (pathname: string): string | null => rendererFile(rendererRoot, pathname);

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string, setCookie: boolean): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method not allowed.\n', undefined, { Allow: 'GET, HEAD' });
      return;
    }
    const file = staticFile(pathname);
    if (!file) {
      send(res, 404, 'Not found.\n');
      return;
    }
    const headers: Record<string, string> = {
      ...BASE_HEADERS,
      'Content-Type': contentTypeOf(file),
      'Content-Length': String(statSync(file).size),
    };
    if (setCookie) headers['Set-Cookie'] = `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  function serveEvents(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') {
      send(res, 405, 'Method not allowed.\n', undefined, { Allow: 'GET' });
      return;
    }
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(': connected\n\n');
    streams.add(res);
    const unsubscribe = api.onMediaEvent((e: MediaEvent) => {
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const end = (): void => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', end);
    res.on('close', end);
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    if (!isApiMethod(method)) {
      sendJson(res, 404, { error: `"${method}" is not a method of the API.`, code: 'invalid' });
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendJson(res, 405, { error: `${method}: use POST with a JSON array of arguments.`, code: 'invalid' });
      return;
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) {
      sendJson(res, 413, { error: `the request is larger than ${MAX_BODY_BYTES} bytes.`, code: 'invalid' });
      return;
    }
    let args: unknown;
    try {
      args = body.length === 0 ? [] : JSON.parse(body.toString('utf8'));
    } catch {
      sendJson(res, 400, { error: `${method}: the body is not JSON (a JSON array of arguments is expected).`, code: 'invalid' });
      return;
    }
    try {
      sendJson(res, 200, await api.call(method, args));
    } catch (err) {
      const e = toApiError(err);
      // `detail` (the error's own code and values) only for errors that have one.
      sendJson(res, e.code === 'failed' ? 500 : 400, e.detail ? { error: e.message, code: e.code, detail: e.detail } : { error: e.message, code: e.code });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only this server's own names: a rebound DNS name (evil.example → 127.0.0.1) arrives with its own Host.
    const host = req.headers.host ?? '';
    const allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!allowedHosts.includes(host.toLowerCase())) {
      send(res, 403, 'Forbidden: this server answers only to its own address.\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts.some((h) => origin.toLowerCase() === `http://${h}`)) {
      send(res, 403, 'Forbidden: requests from other sites are refused.\n');
      return;
    }
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      send(res, 403, 'Forbidden: requests from other sites are refused.\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${host}`);
    } catch {
      send(res, 400, 'Bad request.\n');
      return;
    }
    const header = req.headers[HOST_TOKEN_HEADER];
    const fromHeader = typeof header === 'string' ? header : null;
    const fromQuery = url.searchParams.get('token');
    const fromCookie = cookieValue(req.headers.cookie, cookieName());
    const given = fromHeader ?? fromQuery ?? fromCookie;
    if (given === null) {
      send(res, 401, 'Unauthorized: open the address tsmedia printed, with its token.\n', undefined, { 'WWW-Authenticate': 'Token' });
      return;
    }
    if (!sameSecret(given, token)) {
      send(res, 403, 'Forbidden: wrong token.\n');
      return;
    }

    const path = url.pathname;
    if (path === HOST_EVENTS_PATH) serveEvents(req, res);
    else if (path.startsWith(HOST_API_PREFIX)) await serveApi(req, res, path.slice(HOST_API_PREFIX.length));
    // The cookie is (re)set whenever the token came another way: the page load with ?token=.
    else serveStatic(req, res, path, fromHeader !== null || fromQuery !== null);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Never a stack to the page; a broken handler answers 500 with the message.
      if (!res.headersSent) sendJson(res, 500, { error: toApiError(err).message, code: 'failed' });
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // the event stream stays open

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0, exclusive: true }, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    address: () => server.address() as AddressInfo,
    async close() {
      for (const s of streams) s.end();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
