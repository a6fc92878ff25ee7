// The wizard's built files (dist/renderer) as both ways of serving them see them: the loopback host over HTTP and
// Electron's app:// protocol. One rule for which file a URL path names (nothing outside the folder, however the path
// is written or where a symbolic link points), one table of types, and the app:// protocol's answer. No `electron`
// import: electron/main.ts hands this function to protocol.handle, tests call it directly.
import { realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { PAGE_HEADERS, parseAppUrl } from './security.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/** The Content-Type a renderer file is served with (nosniff is always sent, so it must be right). */
export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The real file a URL path names under the renderer folder ("/" is index.html), or null: the folder itself, anything
 * that resolves outside it ("..", "%2e%2e", "..%2f"), a backslash or NUL, an undecodable path, a folder, a missing
 * file, or a symbolic link that leads out of the folder.
 */
export function rendererFile(rendererDir: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const root = resolve(rendererDir);
  const wanted = resolve(root, `.${decoded === '/' ? '/index.html' : decoded}`);
  const rel = relative(root, wanted);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  try {
    // Symbolic links must not lead out of the folder either.
    const real = realpathSync(wanted);
    const realRoot = realpathSync(root);
    if (!real.startsWith(realRoot + sep)) return null;
    return statSync(real).isFile() ? real : null;
  } catch {
    return null;
  }
}

/** The part of a fetch Request the app:// handler reads (Electron passes a whole Request). */
export interface AppRequest {
  url: string;
  method: string;
}

const refusal = (status: number, text: string, extra: Record<string, string> = {}): Response =>
  new Response(text, { status, headers: { ...PAGE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra } });

/**
 * The app:// protocol's answer (protocol.handle): a GET or HEAD of app://tsmedia/<file> is the file from the renderer
 * folder with the page headers (the CSP, nosniff, no framing, no caching); any other host, a path outside the folder
 * or a method other than GET/HEAD is refused without saying more.
 */
export async function appProtocolResponse(request: AppRequest, rendererDir: string): Promise<Response> {
  const u = parseAppUrl(request.url);
  if (!u) return refusal(404, 'Not found.\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return refusal(405, 'Method not allowed.\n', { Allow: 'GET, HEAD' });
  const file = rendererFile(rendererDir, u.pathname);
  if (!file) return refusal(404, 'Not found.\n');
  const headers = { ...PAGE_HEADERS, 'Content-Type': contentTypeOf(file) };
  if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
  try {
    return new Response(await readFile(file), { status: 200, headers });
  } catch {
    return refusal(404, 'Not found.\n');
  }
}
