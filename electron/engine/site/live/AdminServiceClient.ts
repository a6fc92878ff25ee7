// A client of Configuration Manager's administration service (the SMS Provider's OData REST API): TLS that trusts the
// system's roots or a certificate the user pinned, and nothing else; NTLM (typed credentials, @ewsjs/ntlm-client) or
// Negotiate (the signed-in user, the optional `kerberos` module: SSPI on Windows, GSSAPI elsewhere) on keep-alive
// connections, since both authenticate a connection rather than a request; paged, bounded reads; errors that name
// the server and say what to do.
import { createHash, X509Certificate } from 'node:crypto';
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { checkServerIdentity, connect as tlsConnect, createSecureContext, rootCertificates, type DetailedPeerCertificate } from 'node:tls';
import { hostname as osHostname } from 'node:os';
import ntlm from '@ewsjs/ntlm-client';
import { InputError, codedInputError } from '../../errors.js';
import { normalizeThumbprint, type TrustedServers } from './TrustedServers.js';
import type { SiteAddress } from './SiteAddress.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

/** How to sign in: typed credentials over NTLM, or the signed-in user's own (Negotiate). */
export type SignIn = { kind: 'ntlm'; user: string; password: string } | { kind: 'negotiate' };

export interface AdminServiceOptions {
  signIn: SignIn;
  trust: TrustedServers;
  /** A thumbprint the user confirmed for this server now: pinned when the server presents exactly that certificate. */
  trustThumbprint?: string | null;
  /** Per request, waiting for the server: default 60 s. */
  timeoutMs?: number;
  /** Connections (each signed in once): default 6. */
  connections?: number;
  /** Rows per page asked with $top: default 1000. */
  pageSize?: number;
  /** A read of more rows than this stops with an error rather than filling memory: default 250,000. */
  maxRows?: number;
  /** Replies larger than this are refused: default 64 MiB. */
  maxReplyBytes?: number;
  signal?: AbortSignal;
  /** Waits before a retry (429/503); tests shorten them. */
  sleep?: (ms: number) => Promise<void>;
}

interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  authenticate: string[];
  body: Buffer;
}

interface Slot {
  agent: Agent;
  signedIn: boolean;
}

const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const RETRIES = 3;

/** Colon-free uppercase hex of a certificate's DER bytes. */
export const certificateThumbprint = (der: Buffer, algorithm: 'sha256' | 'sha1' = 'sha256'): string => createHash(algorithm).update(der).digest('hex').toUpperCase();

export interface PresentedCertificate {
  thumbprint: string;
  /** SHA-1, as Windows' certificate dialogs and IIS show it. */
  sha1: string;
  subject: string;
  issuer: string;
  validTo: string;
  /** The anchor to pin: the server's certificate when self-signed, else the top of the chain it sends. */
  pem: string;
}

const toPem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;

/** Opens a TLS connection that sends nothing, to read the certificate a server presents. */
export function presentedCertificate(address: SiteAddress, timeoutMs = 15000): Promise<PresentedCertificate> {
  return new Promise((resolvePromise, reject) => {
    const socket = tlsConnect({ host: address.host, port: address.port, servername: isIp(address.host) ? undefined : address.host, rejectUnauthorized: false });
    const timer = setTimeout(() => socket.destroy(new Error('ETIMEDOUT')), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const leaf = socket.getPeerCertificate(true);
      socket.end();
      if (!leaf || !leaf.raw) return reject(new Error('the server sent no certificate'));
      let top: DetailedPeerCertificate = leaf;
      for (let i = 0; i < 10 && top.issuerCertificate && top.issuerCertificate !== top && top.issuerCertificate.raw; i++) top = top.issuerCertificate;
      const x = new X509Certificate(leaf.raw);
      resolvePromise({
        thumbprint: certificateThumbprint(leaf.raw),
        sha1: certificateThumbprint(leaf.raw, 'sha1'),
        subject: x.subject.replace(/\n/g, ', '),
        issuer: x.issuer.replace(/\n/g, ', '),
        validTo: new Date(x.validTo).toISOString(),
        pem: toPem(top.raw),
      });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

const isIp = (h: string): boolean => /^[\d.]+$/.test(h) || h.includes(':');

/** The WWW-Authenticate headers one by one (Node joins repeated headers into one string). */
function authenticateHeaders(res: IncomingMessage): string[] {
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === 'www-authenticate') out.push(res.rawHeaders[i + 1]);
  return out;
}

/** The service's OData error message, when the body is one: {"error":{"code","message"}}. */
function odataMessage(body: Buffer): string | null {
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown; code?: unknown } };
    const m = j.error?.message;
    return typeof m === 'string' && m.trim() ? m.trim() : null;
  } catch {
    return null;
  }
}

interface KerberosClient {
  step(challenge: string): Promise<string>;
}
interface KerberosModule {
  initializeClient(service: string, options?: { mechOID?: unknown }): Promise<KerberosClient>;
  GSS_MECH_OID_SPNEGO: unknown;
}

/** MongoDB's `kerberos` module, when this installation has it (an optional dependency: a native addon). */
async function loadKerberos(): Promise<KerberosModule | null> {
  try {
    const name = 'kerberos';
    const m = (await import(name)) as Partial<KerberosModule> & { default?: Partial<KerberosModule> };
    const k = m.initializeClient ? m : m.default;
    return k?.initializeClient ? (k as KerberosModule) : null;
  } catch {
    return null;
  }
}

export class AdminServiceClient {
  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private readonly timeoutMs: number;
  private readonly pageSize: number;
  private readonly maxRows: number;
  private readonly maxReplyBytes: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Requests sent, for the benchmark and tests. */
  requests = 0;

  private constructor(
    readonly address: SiteAddress,
    private readonly options: AdminServiceOptions,
    pinnedPem: string | null,
    pinnedThumbprint: string | null,
  ) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.pageSize = options.pageSize ?? 1000;
    this.maxRows = options.maxRows ?? 250_000;
    this.maxReplyBytes = options.maxReplyBytes ?? 64 * 1024 * 1024;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const n = Math.max(1, options.connections ?? 6);
    // One secure context for every connection: an agent names its connection pools by its TLS options, and a CA list
    // given as `ca` would be joined into that name on every request (seconds for a few hundred requests).
    const secureContext = pinnedPem ? createSecureContext({ ca: [...rootCertificates, pinnedPem] }) : undefined;
    for (let i = 0; i < n; i++) {
      // One socket per agent: NTLM and Negotiate sign a connection in, so each slot keeps its own.
      const agent = new Agent({
        keepAlive: true,
        maxSockets: 1,
        maxFreeSockets: 1,
        secureContext,
        servername: isIp(address.host) ? undefined : address.host,
        // A pinned certificate names the server by the user's choice, whatever host name it carries.
        checkServerIdentity: (host, cert) => (pinnedThumbprint && cert.raw && certificateThumbprint(cert.raw) === pinnedThumbprint ? undefined : checkServerIdentity(host, cert)),
      });
      const slot = { agent, signedIn: false };
      this.slots.push(slot);
      this.free.push(slot);
    }
  }

  /** Connects (checking the certificate) and signs in with a first read; throws the coded errors of the module header. */
  static async connect(address: SiteAddress, options: AdminServiceOptions): Promise<AdminServiceClient> {
    const server = address.server;
    let pin = options.trust.get(server);
    if (options.trustThumbprint) {
      const wanted = normalizeThumbprint(options.trustThumbprint);
      const presented = await presentedCertificate(address).catch((err: unknown) => {
        throw unreachable(address, err);
      });
      if (presented.thumbprint !== wanted && presented.sha1 !== wanted) {
        throw codedInputError('SITE_CERT_CHANGED', { server, thumbprint: presented.thumbprint, pinned: wanted }, `${server} presents the certificate ${presented.thumbprint}, not the ${wanted} you asked to trust. Check the thumbprint on the server (IIS or the site's certificate) and try again.`);
      }
      options.trust.trust(server, { thumbprint: presented.thumbprint, pem: presented.pem });
      pin = options.trust.get(server);
    }
    return new AdminServiceClient(address, options, pin?.pem ?? null, pin?.thumbprint ?? null);
  }

  close(): void {
    for (const s of this.slots) s.agent.destroy();
  }

  private async take(): Promise<Slot> {
    const s = this.free.pop();
    if (s) return s;
    return new Promise((r) => this.waiting.push(r));
  }

  private give(s: Slot): void {
    const w = this.waiting.shift();
    if (w) w(s);
    else this.free.push(s);
  }

  /** One GET on one slot's connection. */
  private send(slot: Slot, url: URL, authorization: string | null): Promise<Reply> {
    this.options.signal?.throwIfAborted();
    this.requests++;
    return new Promise((resolvePromise, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          agent: slot.agent,
          headers: { Accept: 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
          timeout: this.timeoutMs,
          signal: this.options.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > this.maxReplyBytes) {
              req.destroy(new InputError(`${this.address.server} sent a reply larger than ${this.maxReplyBytes} bytes for ${url.pathname}; tsmedia stops there.`));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, authenticate: authenticateHeaders(res), body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'SITE_TIMEOUT' })));
      req.on('error', reject);
      req.end();
    });
  }

  /** Signs a slot's connection in, answering with the reply to `url` once signed in. */
  private async signIn(slot: Slot, url: URL): Promise<Reply> {
    const s = this.options.signIn;
    if (s.kind === 'ntlm') {
      const { user, domain } = splitUser(s.user);
      const first = await this.send(slot, url, ntlm.createType1Message(osHostname(), domain));
      if (first.status !== 401) {
        slot.signedIn = first.status < 400;
        return first;
      }
      const challenge = first.authenticate.find((h) => /^NTLM\s+\S+/i.test(h));
      if (!challenge) {
        const offered = first.authenticate.map((h) => h.split(/\s/)[0]).join(', ') || 'none';
        throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: s.user }, `${this.address.server} does not offer NTLM sign-in (it offers: ${offered}). Sign in on a Windows computer of the domain, where tsmedia uses your own account.`);
      }
      const second = await this.send(slot, url, ntlm.createType3Message(ntlm.decodeType2Message(challenge), user, s.password, osHostname(), domain));
      if (second.status === 401) {
        throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: s.user }, `${this.address.server} refused the sign-in of ${s.user}: check the user name (DOMAIN\\user) and the password.`);
      }
      slot.signedIn = second.status < 400;
      return second;
    }
    const kerberos = await loadKerberos();
    if (!kerberos) {
      throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: '' }, `signing in to ${this.address.server} as the current user needs the "kerberos" module, which this installation lacks. Give a user name (--site-user DOMAIN\\user) and a password instead.`);
    }
    // SSPI takes "HTTP/host", GSSAPI a host-based name "HTTP@host" (as MongoDB's driver builds them for this module).
    const spn = `HTTP${process.platform === 'win32' ? '/' : '@'}${this.address.host}`;
    // GSSAPI/SSPI failures (no ticket, no KDC, an unknown service principal) say so in their own words: kept, and framed.
    const noCredentials = (err: unknown): InputError =>
      codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: '' }, `signing in to ${this.address.server} as the current user failed (${(err as Error).message}). Sign in to the domain (kinit off Windows), check that the service principal ${spn} exists, or give --site-user and a password.`);
    let client: KerberosClient;
    let token: string;
    try {
      client = await kerberos.initializeClient(spn, { mechOID: kerberos.GSS_MECH_OID_SPNEGO });
      token = await client.step('');
    } catch (err) {
      throw noCredentials(err);
    }
    for (let round = 0; round < 4; round++) {
      const reply = await this.send(slot, url, `Negotiate ${token}`);
      const next = reply.authenticate.map((h) => /^Negotiate\s+(\S+)/i.exec(h)?.[1]).find((t) => t !== undefined);
      if (reply.status !== 401 || !next) {
        if (reply.status === 401) throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: '' }, `${this.address.server} refused your Windows account. Check that you are signed in to the site's domain, or give --site-user and a password.`);
        // The server's last token proves it holds the service's key (mutual authentication): check it.
        if (next) {
          await client.step(next).catch((err: unknown) => {
            throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: '' }, `${this.address.server} did not prove it is the service HTTP/${this.address.host} (${(err as Error).message}); do not go on.`);
          });
        }
        slot.signedIn = reply.status < 400;
        return reply;
      }
      token = await client.step(next).catch((err: unknown) => {
        throw noCredentials(err);
      });
    }
    throw codedInputError('SITE_SIGN_IN_FAILED', { server: this.address.server, user: '' }, `${this.address.server} did not finish the Negotiate sign-in.`);
  }

  /** A GET with sign-in, retries of 429/503 and coded errors; answers the parsed JSON. */
  async get(url: URL, what: string): Promise<JsonObject> {
    if (url.origin !== this.address.origin) {
      throw new InputError(`${this.address.server} pointed a reply at ${url.origin}; tsmedia only reads from the server you named.`);
    }
    for (let attempt = 0; ; attempt++) {
      const slot = await this.take();
      let reply: Reply;
      try {
        reply = slot.signedIn ? await this.send(slot, url, null) : await this.signIn(slot, url);
        // A connection the server closed comes back signed out: sign in again once.
        if (reply.status === 401 && slot.signedIn) {
          slot.signedIn = false;
          reply = await this.signIn(slot, url);
        }
      } catch (err) {
        slot.signedIn = false;
        throw await this.transportError(err);
      } finally {
        this.give(slot);
      }
      if (reply.status === 200) {
        try {
          return JSON.parse(reply.body.toString('utf8')) as JsonObject;
        } catch {
          throw codedInputError('SITE_SERVER_ERROR', { server: this.address.server, status: 200 }, `${this.address.server} answered ${what} with something that is not JSON: is ${this.address.base} the administration service?`);
        }
      }
      if ((reply.status === 429 || reply.status === 503) && attempt < RETRIES) {
        const after = Number(reply.headers['retry-after']);
        await this.sleep(Math.min(30, Number.isFinite(after) && after >= 0 ? after : 2 ** attempt) * 1000);
        continue;
      }
      throw this.statusError(reply, what);
    }
  }

  private statusError(reply: Reply, what: string): InputError {
    const server = this.address.server;
    const detail = odataMessage(reply.body);
    const said = detail ? ` (the service says: ${detail})` : '';
    switch (reply.status) {
      case 401:
        return codedInputError('SITE_SIGN_IN_FAILED', { server, user: this.options.signIn.kind === 'ntlm' ? this.options.signIn.user : '' }, `${server} refused the sign-in${said}. Check the user name and password.`);
      case 403:
        return codedInputError('SITE_NOT_ADMIN', { server }, `${server} refused ${what}${said}: the account is not a Configuration Manager administrative user with rights to it. Ask for a security role (for example Read-only Analyst) that covers task sequences, packages and distribution points.`);
      case 404:
        return codedInputError('SITE_CLASS_MISSING', { server, className: what }, `${server} has no ${what}${said}: the site's version lacks it, or the address is not the administration service (${this.address.base}).`);
      case 429:
      case 503:
        return codedInputError('SITE_BUSY', { server }, `${server} is busy (HTTP ${reply.status}) and asked tsmedia to wait; it still was after ${RETRIES} tries. Try again in a few minutes.`);
      default:
        return codedInputError('SITE_SERVER_ERROR', { server, status: reply.status }, `${server} failed to answer ${what} (HTTP ${reply.status})${said}. The SMS Provider's log (AdminService.log on the provider) says why.`);
    }
  }

  private async transportError(err: unknown): Promise<Error> {
    if (err instanceof InputError) return err;
    const code = (err as { code?: string }).code ?? '';
    const server = this.address.server;
    if (code === 'ABORT_ERR' || (err as Error).name === 'AbortError') return err as Error;
    if (code === 'SITE_TIMEOUT') {
      return codedInputError('SITE_TIMEOUT', { server, seconds: Math.round(this.timeoutMs / 1000) }, `${server} did not answer within ${Math.round(this.timeoutMs / 1000)} s. The provider may be overloaded; try again, or later.`);
    }
    if (TLS_TRUST_ERRORS.has(code)) {
      const presented = await presentedCertificate(this.address).catch(() => null);
      const pinned = this.options.trust.get(server);
      if (presented && pinned && pinned.thumbprint !== presented.thumbprint) {
        return codedInputError('SITE_CERT_CHANGED', { server, thumbprint: presented.thumbprint, pinned: pinned.thumbprint }, `the certificate of ${server} changed since you trusted it (it was ${pinned.thumbprint}, it is now ${presented.thumbprint}, SHA-1 ${presented?.sha1}). If the site renewed its certificate, check the new thumbprint on the server and trust it again (--trust-certificate ${presented.thumbprint}); otherwise something is in between: do not go on.`);
      }
      const tp = presented?.thumbprint ?? 'unknown';
      return codedInputError('SITE_CERT_UNTRUSTED', { server, thumbprint: tp, sha1: presented?.sha1 ?? '', subject: presented?.subject ?? '' }, `the certificate of ${server} is not trusted by this computer (${code}${presented ? `; subject ${presented.subject}; SHA-256 ${tp}; SHA-1 ${presented.sha1}` : ''}). If it is your site's own certificate (compare the thumbprint on the server), trust it once with --trust-certificate ${tp}.`);
    }
    // Refused, unknown name, reset, a TLS handshake that failed: the message carries the system's own code.
    return unreachable(this.address, err);
  }

  /** Every row of a collection, following @odata.nextLink; bounded by maxRows. */
  async collection(className: string, query: { filter?: string; select?: readonly string[] } = {}): Promise<JsonObject[]> {
    const url = new URL(`${this.address.base}/wmi/${className}`);
    if (query.filter) url.searchParams.set('$filter', query.filter);
    if (query.select) url.searchParams.set('$select', query.select.join(','));
    url.searchParams.set('$top', String(this.pageSize));
    const rows: JsonObject[] = [];
    let next: URL | null = url;
    for (let page = 0; next; page++) {
      const body = await this.get(next, className);
      const value = body.value;
      if (!Array.isArray(value)) throw codedInputError('SITE_SERVER_ERROR', { server: this.address.server, status: 200 }, `${this.address.server} answered ${className} without a "value" list: is ${this.address.base} the administration service?`);
      for (const v of value) if (v !== null && typeof v === 'object' && !Array.isArray(v)) rows.push(v);
      if (rows.length > this.maxRows) throw new InputError(`${this.address.server} has more than ${this.maxRows} ${className} rows; tsmedia stops reading there.`);
      const link = body['@odata.nextLink'];
      next = typeof link === 'string' && link ? new URL(link, next) : null;
      // A server that repeats the same link would never end.
      if (next && next.href === url.href) throw codedInputError('SITE_SERVER_ERROR', { server: this.address.server, status: 200 }, `${this.address.server} paged ${className} in a loop.`);
    }
    return rows;
  }

  /** One instance by key, with its lazy properties; null when the service has none by that key. */
  async instance(className: string, key: string | number): Promise<JsonObject | null> {
    const k = typeof key === 'number' ? String(key) : `'${key.replace(/'/g, "''")}'`;
    const body = await this.get(new URL(`${this.address.base}/wmi/${className}(${k})`), `${className}(${k})`).catch((err: unknown) => {
      if (err instanceof InputError && err.code === 'SITE_CLASS_MISSING') return null;
      throw err;
    });
    if (body === null) return null;
    const value = body.value;
    if (Array.isArray(value)) {
      const first = value[0];
      return first !== undefined && first !== null && typeof first === 'object' && !Array.isArray(first) ? first : null;
    }
    // Some versions answer a key read with the bare object.
    return typeof body.PackageID === 'string' || typeof body.CI_ID === 'number' ? body : null;
  }
}

function unreachable(address: SiteAddress, err: unknown): InputError {
  const code = (err as { code?: string }).code ?? (err as Error).message;
  return codedInputError('SITE_UNREACHABLE', { server: address.server, reason: code }, `cannot reach ${address.server} (${code}). Check the server name and port, that the SMS Provider's administration service runs, and that a firewall lets HTTPS through.`);
}

/** "DOMAIN\user" → user and domain; "user@domain" is sent whole with no domain (NTLM accepts a UPN so). */
export function splitUser(s: string): { user: string; domain: string } {
  const i = s.indexOf('\\');
  return i > 0 ? { user: s.slice(i + 1), domain: s.slice(0, i) } : { user: s, domain: '' };
}
