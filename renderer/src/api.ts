// The one way the renderer reaches the engine: Electron's preload (`window.tsmedia`) when present, otherwise the
// loopback host over HTTP (POST /api/<method> with a JSON array of arguments; media events over Server-Sent Events).
// Both implement TsMediaApi from shared/ipc.ts; nothing else crosses from the page to the engine.
import { API_METHODS, HOST_API_PREFIX, HOST_EVENTS_PATH, HOST_TOKEN_HEADER } from '../../shared/ipc.js';
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

const TOKEN_KEY = 'tsmedia-token';

/** The host's token: from the page address on the first load (then kept for this tab), else none (the cookie carries it). */
function hostToken(): string | null {
  try {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get('token');
    if (fromUrl) {
      window.sessionStorage.setItem(TOKEN_KEY, fromUrl);
      // Out of the address bar (screenshots, shared screens, history); the host's cookie carries it on a reload.
      url.searchParams.delete('token');
      window.history.replaceState(null, '', url.pathname + url.search + url.hash);
      return fromUrl;
    }
    return window.sessionStorage.getItem(TOKEN_KEY);
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
  const token = hostToken();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers[HOST_TOKEN_HEADER] = token;

  const call = async (method: ApiMethod, args: unknown[]): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base}${HOST_API_PREFIX}${method}`, { method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(args) });
    } catch (e) {
      throw new ApiError(e instanceof Error ? e.message : String(e), method, null);
    }
    const text = await res.text();
    let body: unknown = text;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    } else {
      body = undefined;
    }
    // 200: the result as JSON; otherwise {"error", "code"} (or a line of text before the API is reached, e.g. 401).
    if (!res.ok) throw new ApiError(messageOf(body, `${res.status} ${res.statusText}`), method, res.status, body && typeof body === 'object' ? detailOf((body as Record<string, unknown>).detail) : null);
    return body === undefined ? null : body;
  };

  // One EventSource for every listener, opened with the first and closed with the last.
  const listeners = new Set<(e: MediaEvent) => void>();
  let source: EventSource | null = null;
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
  const open = (): void => {
    const url = `${base}${HOST_EVENTS_PATH}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    source = new EventSource(url, { withCredentials: false });
    // One `data: <MediaEvent JSON>` per event; EventSource reconnects by itself if the stream drops.
    source.onmessage = (m) => deliver(m.data as string);
  };

  const api = {} as Record<string, unknown>;
  for (const m of API_METHODS) api[m] = (...args: unknown[]) => call(m, args);
  api.onMediaEvent = (listener: (e: MediaEvent) => void): (() => void) => {
    listeners.add(listener);
    if (!source) open();
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && source) {
        source.close();
        source = null;
      }
    };
  };
  return api as unknown as TsMediaApi;
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
