// The one way the renderer reaches the engine: Electron's preload (`window.tsmedia`) when present, otherwise the
// loopback host over HTTP (POST /api/<method> with a JSON array of arguments; media events over Server-Sent Events),
// with the session the page starts from the one-time code in its address.
// Both implement TsMediaApi from shared/ipc.ts; nothing else crosses from the page to the engine.
import { API_METHODS, HOST_API_PREFIX, HOST_CODE_PARAM, HOST_EVENTS_PATH, HOST_SESSION_HEADER, HOST_SESSION_PATH } from '../../shared/ipc.js';
import type { ApiMethod, ErrorDetail, MediaEvent, TsMediaApi } from '../../shared/ipc.js';

declare global {
  interface Window {
    tsmedia?: TsMediaApi;
  }
}

/**
 * An error the engine (or the way to it) reported: the English sentence, and for errors that have one the error's
 * code and values (`detail`), which the page translates (messages.ts); without it the sentence is shown as it comes.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly status: number | null,
    readonly detail: ErrorDetail | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A well-formed `detail` ({code, params}) from whatever a reply holds, else null. */
export function detailOf(v: unknown): ErrorDetail | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.code !== 'string' || !o.params || typeof o.params !== 'object' || Array.isArray(o.params)) return null;
  const params: ErrorDetail['params'] = {};
  for (const [k, p] of Object.entries(o.params as Record<string, unknown>)) {
    if (typeof p === 'string' || typeof p === 'number') params[k] = p;
    else if (Array.isArray(p)) params[k] = p.map(String);
  }
  return { code: o.code, params };
}

/** Where a page about to reload leaves its resume code (and nothing else); read and removed on the next load. */
const RESUME_KEY = 'tsmedia-resume';

/**
 * The one-time code this load starts its session with: the address's `#code=` (then taken out of the address bar,
 * though the history keeps the address: the code is spent by then), else the resume code the page left for its own
 * reload. Null when there is neither: every call then gets the host's 401, which says what to open.
 */
function takeCode(): string | null {
  try {
    const url = new URL(window.location.href);
    const params = new URLSearchParams(url.hash.slice(1));
    const fromAddress = params.get(HOST_CODE_PARAM);
    const resume = window.sessionStorage.getItem(RESUME_KEY);
    window.sessionStorage.removeItem(RESUME_KEY);
    if (fromAddress) {
      params.delete(HOST_CODE_PARAM);
      const rest = params.toString();
      window.history.replaceState(null, '', url.pathname + url.search + (rest ? `#${rest}` : ''));
      return fromAddress;
    }
    return resume;
  } catch {
    return null;
  }
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (typeof o.message === 'string') return o.message;
    if (typeof o.error === 'string') return o.error;
    if (o.error && typeof o.error === 'object' && typeof (o.error as Record<string, unknown>).message === 'string') return (o.error as Record<string, string>).message;
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim();
  return fallback;
}

/** TsMediaApi over the loopback host. */
export function createHttpApi(base = ''): TsMediaApi {
  // The session secret lives in this closure only: not in storage (Chromium writes even sessionStorage to the profile's
  // files), not in a cookie (every port of 127.0.0.1 would get it), not in an address (the history keeps those).
  let resume: string | null = null;
  const code = takeCode();
  const session: Promise<string | null> =
    code === null
      ? Promise.resolve(null)
      : fetch(`${base}${HOST_SESSION_PATH}`, { method: 'POST', credentials: 'omit', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [HOST_CODE_PARAM]: code }) }).then(
          async (res) => {
            const body = await readBody(res);
            if (!res.ok) throw new ApiError(messageOf(body, `${res.status} ${res.statusText}`), 'session', res.status);
            const o = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
            if (typeof o.session !== 'string') throw new ApiError('the host gave no session.', 'session', res.status);
            resume = typeof o.resume === 'string' ? o.resume : null;
            return o.session;
          },
          (e: unknown) => {
            throw new ApiError(e instanceof Error ? e.message : String(e), 'session', null);
          },
        );
  // Rejections are reported by the calls that wait for it.
  session.catch(() => undefined);
  if (typeof window !== 'undefined') {
    // Only while the page goes away (a reload): the next load takes it and the host lets it work once, for a short while.
    window.addEventListener('pagehide', () => {
      if (resume) window.sessionStorage.setItem(RESUME_KEY, resume);
    });
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) window.sessionStorage.removeItem(RESUME_KEY);
    });
    // An address with a code pasted over this page's own only changes its fragment: load again to take the code.
    window.addEventListener('hashchange', () => {
      if (new URLSearchParams(window.location.hash.slice(1)).has(HOST_CODE_PARAM)) window.location.reload();
    });
  }
  const headersWith = async (extra: Record<string, string>): Promise<Record<string, string>> => {
    const secret = await session;
    return secret ? { ...extra, [HOST_SESSION_HEADER]: secret } : extra;
  };

  const call = async (method: ApiMethod, args: unknown[]): Promise<unknown> => {
    let res: Response;
    try {
      const headers = await headersWith({ 'content-type': 'application/json' });
      res = await fetch(`${base}${HOST_API_PREFIX}${method}`, { method: 'POST', credentials: 'omit', headers, body: JSON.stringify(args) });
    } catch (e) {
      if (e instanceof ApiError) throw new ApiError(e.message, method, e.status);
      throw new ApiError(e instanceof Error ? e.message : String(e), method, null);
    }
    const body = await readBody(res);
    // 200: the result as JSON; otherwise {"error", "code"} (or a line of text before the API is reached, e.g. 401).
    if (!res.ok) throw new ApiError(messageOf(body, `${res.status} ${res.statusText}`), method, res.status, body && typeof body === 'object' ? detailOf((body as Record<string, unknown>).detail) : null);
    return body === undefined ? null : body;
  };

  // One event stream for every listener, opened with the first and closed with the last. EventSource cannot send a
  // header, so the stream is a fetch whose body is read as Server-Sent Events.
  const listeners = new Set<(e: MediaEvent) => void>();
  let stream: AbortController | null = null;
  const deliver = (data: string): void => {
    let ev: MediaEvent;
    try {
      ev = JSON.parse(data) as MediaEvent;
    } catch {
      return;
    }
    if (!ev || typeof ev !== 'object' || typeof ev.jobId !== 'string') return;
    for (const l of [...listeners]) l(ev);
  };
  const follow = async (abort: AbortController): Promise<void> => {
    let delay = 1_000;
    while (!abort.signal.aborted) {
      let retry = true;
      try {
        const res = await fetch(`${base}${HOST_EVENTS_PATH}`, { credentials: 'omit', headers: await headersWith({ accept: 'text/event-stream' }), signal: abort.signal, cache: 'no-store' });
        if (!res.ok || !res.body) {
          const why = messageOf(await readBody(res), `${res.status} ${res.statusText}`);
          // No session, or not a live one: nothing a retry changes. Too many streams: later.
          retry = res.status !== 401 && res.status !== 403;
          if (res.status === 429) delay = 5_000;
          console.warn(`media events: ${why}`);
        } else {
          delay = 1_000;
          await readEvents(res.body, deliver);
        }
      } catch (e) {
        if (abort.signal.aborted) return;
        if (e instanceof ApiError) retry = false;
      }
      if (!retry) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  const open = (): void => {
    stream = new AbortController();
    void follow(stream);
  };

  const api = {} as Record<string, unknown>;
  for (const m of API_METHODS) api[m] = (...args: unknown[]) => call(m, args);
  api.onMediaEvent = (listener: (e: MediaEvent) => void): (() => void) => {
    listeners.add(listener);
    if (!stream) open();
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && stream) {
        stream.abort();
        stream = null;
      }
    };
  };
  return api as unknown as TsMediaApi;
}

/** A reply's body: JSON when it parses, else its text; undefined when empty. */
async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Reads a Server-Sent Events body to its end, handing each event's `data` to `deliver`. */
async function readEvents(body: ReadableStream<Uint8Array>, deliver: (data: string) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
      if (data.length) deliver(data.join('\n'));
    }
  }
}

/** Wraps the preload's API so its errors carry the method's name like the HTTP client's. */
function wrapPreload(p: TsMediaApi): TsMediaApi {
  const api = {} as Record<string, unknown>;
  for (const m of API_METHODS) {
    api[m] = async (...args: unknown[]) => {
      try {
        return await (p[m] as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (e) {
        // The preload rejects with {name, message, code, detail?}; anything else is an Error (or a value) with a
        // message, which Electron may prefix with "Error invoking remote method '…': Error: ".
        const o = e && typeof e === 'object' ? (e as Record<string, unknown>) : null;
        const raw = e instanceof Error ? e.message : typeof o?.message === 'string' ? o.message : String(e);
        throw new ApiError(raw.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, ''), m, null, detailOf(o?.detail));
      }
    };
  }
  api.onMediaEvent = (l: (e: MediaEvent) => void) => p.onMediaEvent(l);
  return api as unknown as TsMediaApi;
}

export const api: TsMediaApi = typeof window !== 'undefined' && window.tsmedia ? wrapPreload(window.tsmedia) : createHttpApi();

/** Whether the engine's own message should be shown (every error the API gives is). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The error's code and values, when the engine gave them. */
export function errorDetail(e: unknown): ErrorDetail | null {
  return e instanceof ApiError ? e.detail : null;
}
