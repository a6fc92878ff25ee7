// The loopback host: the wizard's page and the engine API over HTTP on 127.0.0.1 only, for machines without an
// Electron runtime and for the end-to-end tests. No cookie, no key in any address: the address tsmedia prints carries a
// one-time code in its fragment (`/#code=…`), which the page exchanges (POST /api/session) for a session secret it
// keeps in memory and sends as the x-tsmedia-session header on every API call and event stream (HostSessions.ts).
// Browsers share cookies between every port of 127.0.0.1, so a cookie would reach any other local server the browser
// visits; a header set by the page's own script reaches only this one. The renderer's files hold nothing secret and
// are served without a session, under the same Host, Origin and Sec-Fetch-Site rules: the Host header must name
// this server (127.0.0.1:PORT or localhost:PORT), an Origin header, when sent, this origin, and Sec-Fetch-Site, when
// sent, same-origin or none (another port of 127.0.0.1 is "same-site"): a page on another site or port, or a DNS
// name rebound to 127.0.0.1, gets 403.
//   POST /api/session   body {"code"} → 200 {"session", "resume"}; 403 {"error", "reason"} for a code unknown, used or expired
//   POST /api/<method>  body: JSON array of arguments → 200 JSON result, 400/500 {"error", "code", "detail"?}, 404 unknown method
//   GET  /api/events    Server-Sent Events, one `data: <MediaEvent JSON>` per event
//   GET  /…             the renderer's files (index.html for /), with the CSP, nosniff and no caching
// Bounded: a request's body must arrive within requestTimeoutMs (408, closed), at most maxEventStreams event streams
// (429), maxApiRequests API requests in flight (503) and maxConnections connections (503, closed) at once.
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import { HOST_API_PREFIX, HOST_CODE_PARAM, HOST_EVENTS_PATH, HOST_SESSION_HEADER, HOST_SESSION_PATH, isApiMethod, type MediaEvent } from '../../shared/ipc.js';
import { contentTypeOf, rendererFile } from '../shell/rendererFiles.js';
import { PAGE_HEADERS } from '../shell/security.js';
import { toApiError, type EngineApi } from './EngineApi.js';
import { HostSessions, NEW_ADDRESS_HINT, type Session } from './HostSessions.js';

/** The host's bounds and lifetimes; every one has a production default below (tests pass small ones). */
export interface HostLimits {
  /** An API request's body must have arrived this long after its headers: 408 and the connection closed. */
  requestTimeoutMs: number;
  /** A request's headers must have arrived within this (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** Event streams open at once, over every session; one more gets 429. */
  maxEventStreams: number;
  /** API requests (and code exchanges) being answered at once; one more gets 503. */
  maxApiRequests: number;
  /** Connections open at once (event streams and idle keep-alive connections count); one more gets 503 and is closed. */
  maxConnections: number;
  /** How long a printed address's one-time code works if unused. */
  codeTtlMs: number;
  /** How long a page's resume code works after the page was last in contact (it reloads well within this). */
  resumeGraceMs: number;
}

export const REQUEST_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 20_000;
export const MAX_EVENT_STREAMS = 16;
export const MAX_API_REQUESTS = 32;
export const MAX_CONNECTIONS = 64;
export const CODE_TTL_MS = 10 * 60_000;
export const RESUME_GRACE_MS = 30_000;

export const DEFAULT_LIMITS: Readonly<HostLimits> = Object.freeze({
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  maxEventStreams: MAX_EVENT_STREAMS,
  maxApiRequests: MAX_API_REQUESTS,
  maxConnections: MAX_CONNECTIONS,
  codeTtlMs: CODE_TTL_MS,
  resumeGraceMs: RESUME_GRACE_MS,
});

export interface LoopbackHostOptions {
  api: EngineApi;
  /** The built renderer (dist/renderer): index.html and its assets. */
  rendererDir: string;
  /** 0 (default): a free port chosen by the system. */
  port?: number;
  /** Any of the bounds to change (tests); the rest keep DEFAULT_LIMITS. */
  limits?: Partial<HostLimits>;
}

export interface LoopbackHost {
  /** http://127.0.0.1:PORT/#code=CODE: the first address to open in a browser; its code works once. */
  url: string;
  port: number;
  /** Another one-time address: for another window, or when the first was used or has expired. */
  newUrl(): string;
  /** A bare one-time code, for a client that exchanges it itself (POST HOST_SESSION_PATH {"code"}). */
  newCode(): string;
  /** The listening socket's address (always 127.0.0.1). */
  address(): AddressInfo;
  close(): Promise<void>;
}

/** Largest API request body: requests are small JSON objects. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest code exchange body: {"code": 64 hex digits}. */
const MAX_EXCHANGE_BYTES = 1024;
const HEARTBEAT_MS = 15_000;
/** How long a refused connection may take to read its refusal before it is dropped. */
const REFUSED_LINGER_MS = 1_000;

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

const sendJson = (res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, JSON.stringify(value === undefined ? null : value), 'application/json; charset=utf-8', extra);

type Body = { kind: 'body'; bytes: Buffer } | { kind: 'too-large' } | { kind: 'timeout' };

/** Reads a request body up to `limit` bytes, within `timeoutMs` of the call. */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Body> {
  return new Promise((ok, fail) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      ok({ kind: 'too-large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const timer = setTimeout(() => {
      req.removeAllListeners('data');
      ok({ kind: 'timeout' });
    }, timeoutMs);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      ok(over ? { kind: 'too-large' } : { kind: 'body', bytes: Buffer.concat(chunks) });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
  });
}

const seconds = (ms: number): string => `${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s`;

export async function startLoopbackHost(options: LoopbackHostOptions): Promise<LoopbackHost> {
  const { api } = options;
  const limits: HostLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const sessions = new HostSessions({ codeTtlMs: limits.codeTtlMs, resumeGraceMs: limits.resumeGraceMs });
  const rendererRoot = resolve(options.rendererDir);
  const sockets = new Set<Socket>();
  const refused = new WeakSet<Socket>();
  const streams = new Set<ServerResponse>();
  let apiRequests = 0;
  let port = 0;

  /** The file under the renderer folder a URL path names, or null (outside it, a folder, absent, a link out). */
  const staticFile = (pathname: string): string | null => rendererFile(rendererRoot, pathname);

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'Method not allowed.\n', undefined, { Allow: 'GET, HEAD' });
      return;
    }
    const file = staticFile(pathname);
    if (!file) {
      send(res, 404, 'Not found.\n');
      return;
    }
    res.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': contentTypeOf(file),
      'Content-Length': String(statSync(file).size),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // pipeline, not pipe: a page that goes away mid-file closes the file too (pipe would leave it open, and Windows
    // would then refuse to delete or replace the renderer's files).
    pipeline(createReadStream(file), res, () => undefined);
  }

  /** The session the request's header opens; otherwise answers 401 (none) or 403 (not a live one) and gives null. */
  function authenticate(req: IncomingMessage, res: ServerResponse): Session | null {
    const header = req.headers[HOST_SESSION_HEADER];
    if (typeof header !== 'string' || header === '') {
      send(res, 401, `Unauthorized: this page has no session with tsmedia. Open the address tsmedia printed (it holds a one-time code); for another window, ${NEW_ADDRESS_HINT}.\n`, undefined, {
        'WWW-Authenticate': 'Session',
      });
      return null;
    }
    const session = sessions.find(header);
    if (!session) {
      send(res, 403, `Forbidden: this session is not open (it ended when its page reloaded, or tsmedia was restarted): ${NEW_ADDRESS_HINT}.\n`);
      return null;
    }
    return session;
  }

  /** Closes the connection after a 408: the rest of a body that came too slowly is not waited for. */
  function timedOut(req: IncomingMessage, res: ServerResponse, what: string): void {
    res.once('finish', () => req.socket.end());
    sendJson(res, 408, { error: `${what}: the request's body did not arrive within ${seconds(limits.requestTimeoutMs)}; the connection is closed.`, reason: 'request-timeout' }, { Connection: 'close' });
  }

  function serveEvents(req: IncomingMessage, res: ServerResponse, session: Session): void {
    if (req.method !== 'GET') {
      send(res, 405, 'Method not allowed.\n', undefined, { Allow: 'GET' });
      return;
    }
    if (streams.size >= limits.maxEventStreams) {
      sendJson(res, 429, { error: `tsmedia already serves ${limits.maxEventStreams} event streams, the most it keeps open at once: close another wizard window or tab.`, reason: 'too-many-event-streams' }, { 'Retry-After': '5' });
      return;
    }
    // An event stream has no body to wait for: Node's request time-out, which ends with the request's headers, leaves it open.
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write(': connected\n\n');
    streams.add(res);
    sessions.streamOpened(session);
    const unsubscribe = api.onMediaEvent((e: MediaEvent) => {
      res.write(`data: ${JSON.stringify(e)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const sessionEnded = (): void => void res.end();
    session.onEnd.add(sessionEnded);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
      session.onEnd.delete(sessionEnded);
      sessions.streamClosed(session);
    };
    req.on('close', end);
    res.on('close', end);
  }

  /** Counts the request among those in flight until its reply is sent; false (and 503 sent) when there are too many. */
  function admit(res: ServerResponse): boolean {
    if (apiRequests >= limits.maxApiRequests) {
      sendJson(res, 503, { error: `tsmedia is already answering ${limits.maxApiRequests} requests, the most it takes at once: try again when they finish.`, reason: 'too-many-requests' }, { 'Retry-After': '1' });
      return false;
    }
    apiRequests += 1;
    res.once('close', () => (apiRequests -= 1));
    return true;
  }

  async function serveExchange(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendJson(res, 405, { error: `${HOST_SESSION_PATH}: use POST with {"${HOST_CODE_PARAM}": "…"}.`, reason: 'invalid' });
      return;
    }
    if (!admit(res)) return;
    const body = await readBody(req, MAX_EXCHANGE_BYTES, limits.requestTimeoutMs);
    if (body.kind === 'timeout') return timedOut(req, res, HOST_SESSION_PATH);
    let code: unknown = null;
    if (body.kind === 'body') {
      try {
        code = (JSON.parse(body.bytes.toString('utf8')) as Record<string, unknown> | null)?.[HOST_CODE_PARAM];
      } catch {
        code = null;
      }
    }
    if (typeof code !== 'string' || code === '') {
      sendJson(res, 400, { error: `${HOST_SESSION_PATH}: the body must be {"${HOST_CODE_PARAM}": "…"} with the one-time code from the address.`, reason: 'code-missing' });
      return;
    }
    const r = sessions.exchange(code);
    if (r.ok) sendJson(res, 200, { session: r.session, resume: r.resume });
    else sendJson(res, 403, { error: `Forbidden: ${r.message}`, reason: r.reason });
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
    if (!admit(res)) return;
    const body = await readBody(req, MAX_BODY_BYTES, limits.requestTimeoutMs);
    if (body.kind === 'timeout') return timedOut(req, res, method);
    if (body.kind === 'too-large') {
      sendJson(res, 413, { error: `the request is larger than ${MAX_BODY_BYTES} bytes.`, code: 'invalid' });
      return;
    }
    let args: unknown;
    try {
      args = body.bytes.length === 0 ? [] : JSON.parse(body.bytes.toString('utf8'));
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
    // A connection over the limit was answered when it opened; what it sends is not served.
    if (refused.has(req.socket)) return;
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
    // Another port of 127.0.0.1 is the "same site" to a browser: only the page's own origin (or the user) may ask.
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
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
    const path = url.pathname;
    if (path === HOST_SESSION_PATH) return serveExchange(req, res);
    if (path === HOST_EVENTS_PATH || path.startsWith(HOST_API_PREFIX)) {
      const session = authenticate(req, res);
      if (!session) return;
      if (path === HOST_EVENTS_PATH) serveEvents(req, res, session);
      else await serveApi(req, res, path.slice(HOST_API_PREFIX.length));
      return;
    }
    // The page and its scripts and styles: public files (the same as in the package), no session needed.
    serveStatic(req, res, path);
  }

  // Node's own request time-out is the backstop for bodies nobody reads (e.g. a POST to a page); it must not fire
  // before the named 408 above, and a request's headers never get longer than its whole.
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs + 1_000,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 4))),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        // Never a stack to the page; a broken handler answers 500 with the message.
        if (!res.headersSent) sendJson(res, 500, { error: toApiError(err).message, code: 'failed' });
        else res.destroy();
      });
    },
  );
  server.on('connection', (s: Socket) => {
    if (sockets.size >= limits.maxConnections) {
      // Answered before its request is read, then closed: the client reads why, and the host holds nothing for it.
      refused.add(s);
      const text = `tsmedia already has ${limits.maxConnections} connections open, the most it keeps at once: this one is closed; try again when others finish.\n`;
      s.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n${text}`);
      setTimeout(() => s.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0, exclusive: true }, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;
  const newUrl = (): string => `http://127.0.0.1:${port}/#${HOST_CODE_PARAM}=${sessions.newCode()}`;

  return {
    url: newUrl(),
    port,
    newUrl,
    newCode: () => sessions.newCode(),
    address: () => server.address() as AddressInfo,
    async close() {
      for (const s of streams) s.end();
      sessions.clear();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
