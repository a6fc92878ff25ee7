// The Electron shell's security decisions as plain functions (no `electron` import, so tests check them directly):
// the window's options, the Content-Security-Policy, the app:// origin the page is served from, which IPC senders may
// call the API, where the window may navigate, and the reply envelope IPC handlers answer with. electron/main.ts only
// wires these to Electron's objects.
import { isAbsolute } from 'node:path';

/**
 * The one policy for the wizard's page, sent as a header by the loopback host and by the app:// protocol handler
 * (electron/shell/rendererFiles.ts), and set as a meta tag by the renderer as well. Scripts only from the app's own
 * files (no inline script, no eval); styles from its files plus inline style attributes (React sets them); no
 * plug-ins, frames, forms or base URL changes; network only to its own origin ('self' is http://127.0.0.1:PORT on the
 * loopback host, app://tsmedia in Electron).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** The policy as a meta tag accepts it: frame-ancestors is ignored (and warned about) in a meta tag. */
export const CONTENT_SECURITY_POLICY_META = CONTENT_SECURITY_POLICY.split('; ')
  .filter((d) => !d.startsWith('frame-ancestors'))
  .join('; ');

/** Headers on every response serving the wizard, from the loopback host and from Electron's app:// protocol alike. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
});

/**
 * Electron serves the wizard from its own scheme, not file://: a file:// page gets no response headers (so no CSP
 * header), shares its origin with every local file, and gets Chromium's extra file-protocol privileges. The app://
 * protocol answers only for this host, from the built renderer folder.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'tsmedia';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The one page the window loads, and the only page whose calls the IPC handlers answer. */
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * protocol.registerSchemesAsPrivileged's entry for the scheme: standard (relative URLs, an origin of its own, web
 * storage) and secure (treated like https). Not bypassCSP: the policy applies. Not supportFetchAPI, serviceWorkers or
 * stream: in Electron the page reaches the engine through the preload's IPC, never with fetch.
 */
export const APP_SCHEME_PRIVILEGES = Object.freeze({ scheme: APP_SCHEME, privileges: Object.freeze({ standard: true, secure: true }) });

/** Structurally the subset of Electron's BrowserWindowConstructorOptions the shell sets (main.ts passes it as is). */
export interface SecureWindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  title: string;
  autoHideMenuBar: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    nodeIntegrationInWorker: false;
    nodeIntegrationInSubFrames: false;
    webSecurity: true;
    allowRunningInsecureContent: false;
    webviewTag: false;
    experimentalFeatures: false;
    navigateOnDragDrop: false;
    spellcheck: false;
    safeDialogs: true;
    devTools: boolean;
  };
}

export function mainWindowOptions(preloadPath: string, options: { devTools: boolean }): SecureWindowOptions {
  if (!isAbsolute(preloadPath)) throw new Error(`the preload script must be given by a full path, not ${preloadPath}`);
  return {
    width: 1100,
    height: 760,
    minWidth: 800,
    minHeight: 600,
    show: false,
    title: 'tsmedia',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
      devTools: options.devTools,
    },
  };
}

/** An app://tsmedia URL's parts, or null for anything else (another scheme or host, a port, user info, no URL). */
export function parseAppUrl(url: string): URL | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST || u.username || u.password) return null;
  return u;
}

/** Whether a URL is the app's one page (any #fragment or ?query of it). */
export function isAppPage(url: string): boolean {
  return parseAppUrl(url)?.pathname === '/index.html';
}

/** A URL's scheme and host only, for logs: never its path, query or fragment (a query may carry a token). */
export function originForLog(url: string): string {
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : u.protocol;
  } catch {
    return 'an unreadable address';
  }
}

/** The parts of Electron's WebFrameMain the sender check reads. */
export interface SenderFrame {
  url: string;
  /** Null for a top-level frame. */
  parent: unknown;
  /** With routingId, identifies the frame: distinct WebFrameMain objects of one frame share both. */
  processId: number;
  routingId: number;
  /** True while an unloading page is being replaced. */
  detached?: boolean;
}

/** An IPC call's sender (IpcMainInvokeEvent: `sender` is the web contents, `senderFrame` the frame or null). */
export interface IpcSender {
  sender: unknown;
  senderFrame: SenderFrame | null | undefined;
}

/** The wizard's window as the sender check sees it: its web contents and their main frame. */
export interface AppWindow {
  webContents: unknown;
  mainFrame: SenderFrame;
}

/**
 * Why an IPC call is refused, or null when it may be answered: it must come from the wizard's window (its web
 * contents, not another window's or a webview's), from that window's main frame (not a frame inside the page, not a
 * frame that has gone), showing the app's one page (app://tsmedia/index.html, not a page it navigated to). The reason
 * names the sender's origin at most, never a path, query or argument.
 */
export function ipcSenderRefusal(event: IpcSender, win: AppWindow | null): string | null {
  if (!win) return "the wizard's window is not open";
  if (event.sender !== win.webContents) return "the call comes from another web contents than the wizard's window";
  const frame = event.senderFrame;
  if (!frame || frame.detached === true) return 'the calling frame has gone (navigated away or closed)';
  if (frame.parent !== null) return 'the call comes from a frame inside the page';
  if (frame.processId !== win.mainFrame.processId || frame.routingId !== win.mainFrame.routingId) return "the call does not come from the window's main frame";
  if (typeof frame.url !== 'string' || !isAppPage(frame.url)) return `the calling page is ${typeof frame.url === 'string' ? originForLog(frame.url) : 'unknown'}, not ${APP_INDEX_URL}`;
  return null;
}

/**
 * The window never navigates: the wizard is one page that changes its own content. Only a reload of the app's own
 * page is let through; every other URL (web pages, files, other app:// paths or hosts, javascript:, data:) is refused.
 */
export function isAllowedNavigation(url: string): boolean {
  return isAppPage(url);
}

/** Response headers with the policy and nosniff added (session.webRequest.onHeadersReceived). */
export function withSecurityHeaders(headers: Record<string, string[] | string> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const lower = k.toLowerCase();
    if (lower === 'content-security-policy' || lower === 'x-content-type-options') continue;
    out[k] = Array.isArray(v) ? v : [v];
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  out['X-Content-Type-Options'] = ['nosniff'];
  return out;
}

/**
 * What an IPC handler answers: the preload turns `ok: false` into a rejection with the message, the code and, for
 * errors that have one, `detail` (the error's own code and values, for the wizard to translate).
 */
export type IpcReply =
  | { ok: true; value: unknown }
  | { ok: false; code: 'invalid' | 'failed' | 'cancelled'; error: string; detail?: { code: string; params: Record<string, string | number | string[]> } };

/** Permission requests (camera, notifications, geolocation …): the wizard needs none. */
export function isPermissionAllowed(_permission: string): boolean {
  return false;
}
