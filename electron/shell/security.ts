// The Electron shell's security decisions as plain functions (no `electron` import, so tests check them directly):
// the window's options, the Content-Security-Policy, which frames may call the API, where the window may navigate,
// and the reply envelope IPC handlers answer with. electron/main.ts only wires these to Electron's objects.
import { isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The one policy for the wizard's page, sent as a header by the loopback host and by Electron's session, and set as
 * a meta tag by the renderer (a file:// page gets no headers). Scripts only from the app's own files (no inline
 * script, no eval); styles from its files plus inline style attributes (React sets them); no plug-ins, frames, forms
 * or base URL changes; network only to its own origin (the loopback host's API and events).
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

/** The renderer's page as the window loads it. */
export function rendererIndexUrl(rendererDir: string): string {
  return pathToFileURL(resolve(rendererDir, 'index.html')).href;
}

/** A file: URL of a file inside rendererDir (never the folder itself, never outside it once "..", "%2e%2e" are resolved). */
function isFileInside(url: string, rendererDir: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'file:' || (u.host !== '' && u.host !== 'localhost') || u.username || u.password) return false;
  let path: string;
  try {
    path = fileURLToPath(u);
  } catch {
    return false;
  }
  const rel = relative(resolve(rendererDir), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The frame behind an IPC call: its URL and whether it is the window's top frame (Electron's WebFrameMain). */
export interface SenderFrame {
  url: string;
  /** Null for a top-level frame. */
  parent: unknown;
}

/**
 * Whether an IPC call comes from the app's own page: the top frame of a document loaded from a file under the
 * renderer folder. Anything else (an iframe, a page that navigated away, a destroyed frame) is ignored.
 */
export function isTrustedSender(frame: SenderFrame | null | undefined, rendererDir: string): boolean {
  if (!frame || typeof frame.url !== 'string') return false;
  if (frame.parent !== null) return false;
  return isFileInside(frame.url, rendererDir) && /\.html$/i.test(new URL(frame.url).pathname);
}

/**
 * The window never navigates: the wizard is one page that changes its own content. Only a reload of the app's own
 * page is let through; every other URL (web pages, other files, javascript:, data:) is refused.
 */
export function isAllowedNavigation(url: string, rendererDir: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  u.hash = '';
  u.search = '';
  return u.href === rendererIndexUrl(rendererDir);
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
