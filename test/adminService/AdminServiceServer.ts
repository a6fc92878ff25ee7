// The project's own stand-in for Configuration Manager's administration service (the SMS Provider's OData REST API),
// for the tests and the benchmark: HTTPS on 127.0.0.1 with a self-signed certificate made at start, NTLM sign-in on
// keep-alive connections, the contract's OData reads (see HELPERS18.md "The contract"), and faults set at run time.
//
// Use:
//   const data = await loadFolderSite(SAMPLE_SITE);      // AdminServiceData.ts; or syntheticSite(data, {…}) (SyntheticSite.ts)
//   const server = await startAdminService({ data, users: { 'CONTOSO\\admin': { password: 'P@ss', admin: true } } });
//   server.url          https://127.0.0.1:PORT/AdminService   (server.port; options.hostNames for the certificate)
//   server.thumbprint   SHA-256 of the current certificate, uppercase hex (server.certificate.certPem to trust it)
//   server.faults       .failNext(status, { times, className, retryAfterSeconds }), .delayMs = D, .dropNext(n),
//                       .removeClass(name), .dropProperty(className, property), .clear()
//   server.counters     .requests, .ntlmHandshakes, .kerberosHandshakes, .byClass[name], .bytesSent, .reset()
//   options.kerberos    Kerberos inside Negotiate, for a realm made by KerberosRealm.ts
//   server.setCertificate(cert?)   serve another certificate (a new one when none is given); open connections close
//   await server.close()
//
// Sign-in: a request without Authorization gets 401 with `WWW-Authenticate: Negotiate` and `WWW-Authenticate: NTLM`;
// `NTLM <type 1>` (or `Negotiate <raw NTLMSSP type 1>`) gets 401 with the type 2 challenge; the type 3 on the same
// connection is checked (NTLMv2) and the connection stays signed in (as IIS does). A bad password: 401 again; a user
// who is not an administrative user: 403. Faults apply to requests that passed sign-in, so a client's handshake is
// not what they break; only the delay applies to every reply.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { findClass, type AdminServiceData, type ClassTable, type Row } from './AdminServiceData.js';
import { NtlmServer, ntlmFromAuthorization, type NtlmIdentity, type UserTable } from './NtlmServer.js';
import {
  ODataError,
  checkProperty,
  errorBody,
  filterRows,
  metadataXml,
  nextLink,
  parseQuery,
  parseTarget,
  project,
  propertiesOf,
} from './ODataQuery.js';
import { makeTestCertificate, type TestCertificate } from './TestCertificates.js';

export type { UserTable } from './NtlmServer.js';

export interface AdminServiceOptions {
  data: AdminServiceData;
  users: UserTable;
  /** Rows per page at most (the service's own limit); default 1000. */
  pageSize?: number;
  /** Names the certificate is made for (CN and subjectAltName); default 127.0.0.1 and localhost. */
  hostNames?: string[];
  /** The certificate to serve; default a new one for hostNames. */
  certificate?: TestCertificate;
  /** Port to listen on; default 0 (any free one). A test restarting "the same server" passes the old port. */
  port?: number;
  /** NTLM target domain; default the first user's domain. */
  domain?: string;
  /**
   * Kerberos inside Negotiate (SPNEGO), accepted with the `kerberos` module for `service` (e.g. "HTTP@localhost", its
   * key in the keytab KRB5_KTNAME names) from the principals listed ("user@REALM"): test/adminService/KerberosRealm.ts.
   */
  kerberos?: { service: string; principals: Record<string, { admin: boolean }> };
}

interface KerberosServer {
  step(token: string): Promise<unknown>;
  username: string;
  response: string;
}
interface KerberosAcceptor {
  initializeServer(service: string): Promise<KerberosServer>;
}

interface StatusFault {
  status: number;
  remaining: number;
  /** Lower-case class name the fault is for; null for every request. */
  className: string | null;
  retryAfterSeconds: number | null;
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

/** Faults set at run time; each takes effect from the next request. */
export class Faults {
  /** Every reply waits this long first (a slow server). */
  delayMs = 0;
  private statuses: StatusFault[] = [];
  private drops = 0;
  private readonly missing = new Set<string>();
  private readonly dropped = new Map<string, Set<string>>();

  /** Answers `status` to the next `times` requests (Infinity: until cleared), or only those on `className`. */
  failNext(status: number, options: { times?: number; className?: string; retryAfterSeconds?: number } = {}): void {
    this.statuses.push({
      status,
      remaining: options.times ?? 1,
      className: options.className?.toLowerCase() ?? null,
      retryAfterSeconds: options.retryAfterSeconds ?? null,
    });
  }

  /** Closes the connection without answering, for the next `n` requests. */
  dropNext(n = 1): void {
    this.drops += n;
  }

  /** The class answers 404, as on a site whose version lacks it. */
  removeClass(className: string): void {
    this.missing.add(className.toLowerCase());
  }

  /** The class's rows lose the property, as on a site whose version lacks it ($select/$filter on it: 400). */
  dropProperty(className: string, property: string): void {
    const k = className.toLowerCase();
    const set = this.dropped.get(k) ?? new Set<string>();
    set.add(property);
    this.dropped.set(k, set);
  }

  clear(): void {
    this.delayMs = 0;
    this.statuses = [];
    this.drops = 0;
    this.missing.clear();
    this.dropped.clear();
  }

  /** @internal The status fault this request meets, counted down. */
  takeStatus(className: string | null): StatusFault | null {
    const c = className?.toLowerCase() ?? null;
    const f = this.statuses.find((s) => s.remaining > 0 && (s.className === null || s.className === c));
    if (!f) return null;
    f.remaining -= 1;
    return f;
  }

  /** @internal */
  takeDrop(): boolean {
    if (this.drops <= 0) return false;
    this.drops -= 1;
    return true;
  }

  isMissing(className: string): boolean {
    return this.missing.has(className.toLowerCase());
  }

  droppedFrom(className: string): ReadonlySet<string> {
    return this.dropped.get(className.toLowerCase()) ?? new Set<string>();
  }
}

export class Counters {
  /** Every request received, answered or not. */
  requests = 0;
  /** NTLM sign-ins that succeeded (type 3 checked good). */
  ntlmHandshakes = 0;
  kerberosHandshakes = 0;
  /** Requests on each class (as the class is spelled in the data), after sign-in. */
  byClass: Record<string, number> = {};
  /** Bytes of reply bodies sent. */
  bytesSent = 0;

  reset(): void {
    this.requests = 0;
    this.ntlmHandshakes = 0;
    this.kerberosHandshakes = 0;
    this.byClass = {};
    this.bytesSent = 0;
  }
}

/** Per connection: the challenge given (between type 2 and type 3) and who signed in. */
interface Connection {
  challenge: Buffer | null;
  identity: NtlmIdentity | null;
}

export class AdminServiceServer {
  readonly faults = new Faults();
  readonly counters = new Counters();
  private readonly connections = new WeakMap<Socket, Connection>();
  private readonly ntlm: NtlmServer;
  private readonly pageSize: number;
  private readonly hostNames: string[] | undefined;
  private cert: TestCertificate;

  private constructor(
    private readonly server: Server,
    private readonly data: AdminServiceData,
    private readonly options: AdminServiceOptions,
    cert: TestCertificate,
  ) {
    this.cert = cert;
    this.pageSize = options.pageSize ?? 1000;
    this.hostNames = options.hostNames;
    this.ntlm = new NtlmServer({ users: options.users, ...(options.domain ? { domain: options.domain } : {}) });
  }

  static async start(options: AdminServiceOptions): Promise<AdminServiceServer> {
    const cert = options.certificate ?? makeTestCertificate({ hostNames: options.hostNames });
    const server = createServer({ key: cert.keyPem, cert: cert.certPem });
    const self = new AdminServiceServer(server, options.data, options, cert);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      self.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) self.send(res, 500, errorBody('InternalServerError', `test server: ${String(err)}`));
        else res.destroy();
      });
    });
    // IIS keeps an idle connection two minutes; long enough here that a signed-in connection outlives a test's pauses.
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}/AdminService`;
  }

  get certificate(): TestCertificate {
    return this.cert;
  }

  get thumbprint(): string {
    return this.cert.thumbprint;
  }

  /** Serves another certificate from now on (a new one when none is given); open connections are closed. */
  setCertificate(cert?: TestCertificate): TestCertificate {
    this.cert = cert ?? makeTestCertificate({ hostNames: this.hostNames });
    this.server.setSecureContext({ key: this.cert.keyPem, cert: this.cert.certPem });
    this.server.closeAllConnections();
    return this.cert;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}, type = 'application/json; odata.metadata=minimal'): void {
    const buf = Buffer.from(body, 'utf8');
    this.counters.bytesSent += buf.length;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.length), 'OData-Version': '4.0', ...headers });
    res.end(buf);
  }

  private challengeAgain(res: ServerResponse, why: string): void {
    this.send(res, 401, errorBody('Unauthorized', why), { 'WWW-Authenticate': ['Negotiate', 'NTLM'] });
  }

  /** The signed-in identity of this request's connection, or null when a 401 has been sent. */
  private signIn(req: IncomingMessage, res: ServerResponse): NtlmIdentity | null {
    let conn = this.connections.get(req.socket);
    if (!conn) {
      conn = { challenge: null, identity: null };
      this.connections.set(req.socket, conn);
    }
    const header = req.headers.authorization;
    if (!header) {
      if (conn.identity) return conn.identity;
      this.challengeAgain(res, 'Sign in with NTLM or Negotiate.');
      return null;
    }
    const msg = ntlmFromAuthorization(header);
    if (!msg) {
      this.challengeAgain(res, 'Only NTLM (raw or inside Negotiate) is accepted by this server.');
      return null;
    }
    if (msg.type === 1) {
      conn.identity = null;
      const { challenge, message } = this.ntlm.challenge(msg.message);
      conn.challenge = challenge;
      this.send(res, 401, errorBody('Unauthorized', 'NTLM challenge.'), { 'WWW-Authenticate': `${msg.scheme} ${message.toString('base64')}` });
      return null;
    }
    if (msg.type !== 3 || !conn.challenge) {
      this.challengeAgain(res, msg.type === 3 ? 'No NTLM challenge was given on this connection.' : 'Unexpected NTLM message.');
      return null;
    }
    const result = this.ntlm.authenticate(msg.message, conn.challenge);
    conn.challenge = null;
    if (!result.ok) {
      this.challengeAgain(res, `Sign-in failed: ${result.reason}.`);
      return null;
    }
    this.counters.ntlmHandshakes += 1;
    conn.identity = result.identity;
    return conn.identity;
  }

  /** A Kerberos token under Negotiate: accepted as the service, the client's principal looked up; null after a 401. */
  private async kerberosSignIn(req: IncomingMessage, res: ServerResponse, token: string): Promise<NtlmIdentity | null> {
    const options = this.options.kerberos;
    if (!options) return this.signIn(req, res);
    const k = ((await import('kerberos')) as { default?: KerberosAcceptor } & Partial<KerberosAcceptor>);
    const acceptor = (k.initializeServer ? k : k.default) as KerberosAcceptor;
    const server = await acceptor.initializeServer(options.service);
    try {
      await server.step(token);
    } catch (err) {
      this.challengeAgain(res, `Kerberos sign-in failed: ${(err as Error).message}`);
      return null;
    }
    const entry = Object.entries(options.principals).find(([p]) => p.toLowerCase() === server.username.toLowerCase());
    if (!entry) {
      this.challengeAgain(res, `${server.username} is not a user of this site.`);
      return null;
    }
    const [user, realm] = entry[0].split('@');
    const identity = { domain: realm ?? '', user, admin: entry[1].admin };
    const conn = this.connections.get(req.socket) ?? { challenge: null, identity: null };
    conn.identity = identity;
    this.connections.set(req.socket, conn);
    this.counters.kerberosHandshakes += 1;
    // The acceptor's last token goes back with the answer: the client checks it (mutual authentication).
    if (server.response) res.setHeader('WWW-Authenticate', `Negotiate ${server.response}`);
    return identity;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests += 1;
    if (this.faults.delayMs > 0) await sleep(this.faults.delayMs);
    const auth = req.headers.authorization ?? '';
    const negotiate = /^Negotiate\s+(\S+)/i.exec(auth);
    const identity = negotiate && !ntlmFromAuthorization(auth) && this.options.kerberos ? await this.kerberosSignIn(req, res, negotiate[1]) : this.signIn(req, res);
    if (!identity) return;
    if (!identity.admin) {
      this.send(res, 403, errorBody('Forbidden', `${identity.domain}\\${identity.user} is not a Configuration Manager administrative user.`));
      return;
    }
    if (this.faults.takeDrop()) {
      req.socket.destroy();
      return;
    }
    try {
      this.route(req, res);
    } catch (err) {
      if (!(err instanceof ODataError)) throw err;
      this.send(res, err.status, errorBody(err.code, err.message));
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `https://${req.headers.host ?? `127.0.0.1:${this.port}`}`);
    const m = /^\/adminservice\/(.*)$/i.exec(url.pathname);
    const target = m ? parseTarget(m[1]) : null;
    if (!target) throw new ODataError(404, 'NotFound', `No resource at ${url.pathname}; this server answers /AdminService/wmi/<Class>.`);
    if (req.method !== 'GET') throw new ODataError(405, 'MethodNotAllowed', `${req.method ?? ''} is not supported; the reads are GET.`);
    const base = `${url.origin}/AdminService`;
    const table = target.kind === 'class' ? findClass(this.data, target.className) : undefined;
    const className = target.kind === 'class' ? (table?.name ?? target.className) : null;
    if (className) this.counters.byClass[className] = (this.counters.byClass[className] ?? 0) + 1;

    const fault = this.faults.takeStatus(className);
    if (fault) {
      const headers: Record<string, string | string[]> = fault.retryAfterSeconds !== null ? { 'Retry-After': String(fault.retryAfterSeconds) } : {};
      if (fault.status === 401) {
        // As when the server forgot the sign-in (an application pool recycled): the connection must sign in again.
        const conn = this.connections.get(req.socket);
        if (conn) conn.identity = null;
        headers['WWW-Authenticate'] = ['Negotiate', 'NTLM'];
      }
      this.send(res, fault.status, errorBody(REASONS[fault.status] ?? 'Error', `test server fault: ${fault.status}`), headers);
      return;
    }
    if (target.kind === 'metadata') {
      const served = this.data.classes.filter((t) => !this.faults.isMissing(t.name)).map((t) => {
        const rows = this.rowsOf(t);
        return { table: t, rows, properties: propertiesOf(t, rows).filter((p) => !this.faults.droppedFrom(t.name).has(p)) };
      });
      this.send(res, 200, metadataXml(served), {}, 'application/xml');
      return;
    }
    if (!table || this.faults.isMissing(table.name)) {
      throw new ODataError(404, 'NotFound', `Resource not found for the segment '${target.className}'.`);
    }
    const rows = this.rowsOf(table);
    const known = propertiesOf(table, rows).filter((p) => !this.faults.droppedFrom(table.name).has(p));
    const q = parseQuery(url.searchParams);
    if (q.select) for (const p of q.select) checkProperty(table, known, p, rows);
    const context = `${base}/wmi/$metadata#${table.name}`;

    if (target.key) {
      if (!table.key) throw new ODataError(400, 'BadRequest', `${table.name} has no single key; read the collection with $filter.`);
      const key = table.key;
      const want = target.key.value;
      const row = rows.find((r) => {
        const v = r[key];
        return typeof want === 'string' ? typeof v === 'string' && v.toLowerCase() === want.toLowerCase() : v === want;
      });
      if (!row) throw new ODataError(404, 'NotFound', `No ${table.name} instance with ${key} ${typeof want === 'string' ? `'${want}'` : want}.`);
      this.send(res, 200, JSON.stringify({ '@odata.context': context, value: [project(table, row, q, true)] }));
      return;
    }
    const matching = filterRows(table, rows, known, q);
    const size = Math.min(q.top ?? Infinity, this.pageSize);
    const page = matching.slice(q.skip, q.skip + size).map((r) => project(table, r, q, false));
    const body: Record<string, unknown> = { '@odata.context': context, value: page };
    if (size > 0 && q.skip + size < matching.length) body['@odata.nextLink'] = nextLink(url, q.skip + size);
    this.send(res, 200, JSON.stringify(body));
  }

  /** The class's rows as served now: without the properties a fault dropped. */
  private rowsOf(table: ClassTable): Row[] {
    const dropped = this.faults.droppedFrom(table.name);
    if (dropped.size === 0) return table.rows;
    return table.rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !dropped.has(k))));
  }
}

/** Starts the test AdminService; see the header of this file. */
export function startAdminService(options: AdminServiceOptions): Promise<AdminServiceServer> {
  return AdminServiceServer.start(options);
}
