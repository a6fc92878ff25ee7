// Where a live site is: the administration service's address, from `--site https://…/AdminService` or `--provider host`.
import { InputError } from '../../errors.js';

export interface SiteAddress {
  host: string;
  port: number;
  /** "https://cm01.contoso.com" (with the port when not 443). */
  origin: string;
  /** "https://cm01.contoso.com/AdminService": everything is read below it. */
  base: string;
  /** host, or host:port: how messages name the server and how trusted certificates are remembered. */
  server: string;
}

/** True when a --site value is an address, not a folder. */
export const isSiteUrl = (s: string): boolean => /^https?:\/\//i.test(s.trim());

/** An address from a URL ("https://cm01/AdminService", any trailing slash) or a bare provider name ("cm01.contoso.com[:port]"). */
export function parseSiteAddress(input: string): SiteAddress {
  const raw = input.trim();
  if (/^http:\/\//i.test(raw)) throw new InputError(`${raw}: the administration service answers only over HTTPS; use https://.`);
  const withScheme = isSiteUrl(raw) ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InputError(`"${input}" is not a server name or an https:// address of the administration service (e.g. https://cm01.contoso.com/AdminService).`);
  }
  if (!url.hostname || url.username || url.password) {
    throw new InputError(`"${input}": give the server's address without a user name or password in it (e.g. https://cm01.contoso.com/AdminService); credentials are asked separately.`);
  }
  let path = url.pathname.replace(/\/+$/, '');
  if (!isSiteUrl(raw) || path === '') path = '/AdminService';
  const port = url.port ? Number(url.port) : 443;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const server = port === 443 ? host : `${host}:${port}`;
  return { host, port, origin: url.origin, base: `${url.origin}${path}`, server: server.toLowerCase() };
}
