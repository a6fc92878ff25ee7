// The project's own test AdminService (test/adminService/), driven by plain node:https and @ewsjs/ntlm-client as any
// client would: the sign-in handshake and its refusals, the OData envelope and paging, lazy and typed properties,
// the faults, a changed certificate, and the rows it builds from the sample site, the real exports and a large
// made-up site.
import assert from 'node:assert/strict';
import { X509Certificate, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findClass, loadFolderSite, type AdminServiceData, type Row } from './adminService/AdminServiceData.js';
import { startAdminService, type AdminServiceServer } from './adminService/AdminServiceServer.js';
import { cimDateTimeToIso, cimScalar } from './adminService/CimRows.js';
import { NtlmServer } from './adminService/NtlmServer.js';
import { syntheticSite } from './adminService/SyntheticSite.js';
import { makeTestCertificate } from './adminService/TestCertificates.js';
import { FIXTURES, NO_SHARED, SAMPLE_SITE, requireOrSkip, sharedFixturesPresent, tempDir } from './helpers.js';

/** The part of @ewsjs/ntlm-client (plain JavaScript) used here. */
interface Type2Message {
  flags: number;
  version: 1 | 2;
  challenge: Buffer;
  targetName: string;
  targetInfo?: { parsed: Record<string, string>; buffer: Buffer };
}
interface NtlmClient {
  createType1Message(workstation?: string, target?: string): string;
  decodeType2Message(str: string): Type2Message;
  createType3Message(type2: Type2Message, username: string, password: string, workstation?: string, target?: string): string;
}
const ntlm = createRequire(import.meta.url)('@ewsjs/ntlm-client') as NtlmClient;

const USERS = {
  'CONTOSO\\admin': { password: 'Adm1n!pass', admin: true },
  'CONTOSO\\reader': { password: 'Re@der-1', admin: false },
};

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** Each WWW-Authenticate header on its own. */
  authenticate: string[];
  body: string;
  /** SHA-256 of the certificate the server presented, uppercase hex without colons. */
  peer: string;
}

function get(url: string, agent: Agent, authorization?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: authorization ? { Authorization: authorization } : {} }, (res) => {
      // Read now: once the reply ends, a keep-alive socket goes back to the agent and res.socket is gone.
      const peer = ((res.socket as TLSSocket).getPeerCertificate().fingerprint256 ?? '').replace(/:/g, '');
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const authenticate: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === 'www-authenticate') authenticate.push(res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, authenticate, body: Buffer.concat(chunks).toString('utf8'), peer });
      });
    });
    // A server that never answers fails the test rather than stalling the run.
    req.setTimeout(20_000, () => req.destroy(new Error(`no reply from ${url} in 20 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** One keep-alive connection trusting the server's certificate: NTLM signs a connection in, not a request. */
const agentFor = (server: AdminServiceServer, ca = server.certificate.certPem): Agent => new Agent({ keepAlive: true, maxSockets: 1, ca });

/** NTLM type 1 → type 2 → type 3 on the agent's connection; the reply to the type 3 request. */
async function signIn(url: string, agent: Agent, user: string, password: string, domain = 'CONTOSO'): Promise<Reply> {
  const first = await get(url, agent, ntlm.createType1Message('WS01', ''));
  assert.equal(first.status, 401, first.body);
  assert.equal(first.authenticate.length, 1, 'the challenge comes alone');
  const type2 = ntlm.decodeType2Message(first.authenticate[0]);
  return get(url, agent, ntlm.createType3Message(type2, user, password, 'WS01', domain));
}

interface Envelope {
  '@odata.context': string;
  value: Row[];
  '@odata.nextLink'?: string;
}
const envelope = (r: Reply): Envelope => {
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as Envelope;
};
const odataError = (r: Reply): { code: string; message: string } => (JSON.parse(r.body) as { error: { code: string; message: string } }).error;

describe('AdminServiceServer', () => {
  let sample: AdminServiceData;
  let server: AdminServiceServer;
  let admin: Agent;
  let base: string;

  before(async () => {
    sample = await loadFolderSite(SAMPLE_SITE);
    server = await startAdminService({ data: sample, users: USERS });
    base = server.url;
    admin = agentFor(server);
    assert.equal(envelope(await signIn(`${base}/wmi/SMS_Site`, admin, 'admin', 'Adm1n!pass')).value.length, 1);
  });
  after(async () => {
    admin.destroy();
    await server.close();
  });

  test('a request without credentials gets 401 offering Negotiate and NTLM as two headers', async () => {
    const agent = agentFor(server);
    try {
      const r = await get(`${base}/wmi/SMS_Site`, agent);
      assert.equal(r.status, 401);
      assert.deepEqual(r.authenticate, ['Negotiate', 'NTLM']);
      assert.match(base, /^https:\/\/127\.0\.0\.1:\d+\/AdminService$/);
    } finally {
      agent.destroy();
    }
  });

  test('the NTLM handshake on one connection answers the request; the connection stays signed in, another is not', async () => {
    const before = server.counters.ntlmHandshakes;
    const agent = agentFor(server);
    try {
      const first = await get(`${base}/wmi/SMS_ProviderLocation?$filter=ProviderForLocalSite eq true`, agent, ntlm.createType1Message('WS01', ''));
      const type2 = ntlm.decodeType2Message(first.authenticate[0]);
      assert.match(first.authenticate[0], /^NTLM [A-Za-z0-9+/=]+$/);
      assert.equal(type2.targetName, 'CONTOSO');
      assert.equal(type2.version, 2, 'extended session security: the client answers NTLMv2');
      assert.equal(type2.targetInfo?.parsed.DOMAIN, 'CONTOSO');
      assert.equal(type2.challenge.length, 8);
      const r = await get(`${base}/wmi/SMS_ProviderLocation?$filter=ProviderForLocalSite eq true`, agent, ntlm.createType3Message(type2, 'admin', 'Adm1n!pass', 'WS01', 'CONTOSO'));
      const e = envelope(r);
      assert.equal(r.headers['odata-version'], '4.0');
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(e['@odata.context'], `${base}/wmi/$metadata#SMS_ProviderLocation`);
      assert.deepEqual(e.value, [{ Machine: 'CM01.contoso.com', NamespacePath: '\\\\CM01.contoso.com\\root\\sms\\site_SMP', ProviderForLocalSite: true, SiteCode: 'SMP' }]);
      assert.equal('@odata.nextLink' in e, false);
      assert.equal(server.counters.ntlmHandshakes, before + 1);
      // The same connection, no Authorization header: still signed in.
      assert.equal(envelope(await get(`${base}/wmi/SMS_Site?$filter=SiteCode eq 'SMP'`, agent)).value[0].Type, 2);
    } finally {
      agent.destroy();
    }
    const fresh = agentFor(server);
    try {
      assert.equal((await get(`${base}/wmi/SMS_Site`, fresh)).status, 401);
      // A type 3 on a connection that was never challenged is refused.
      const other = agentFor(server);
      const challenge = await get(`${base}/wmi/SMS_Site`, other, ntlm.createType1Message('WS01', ''));
      other.destroy();
      const r = await get(`${base}/wmi/SMS_Site`, fresh, ntlm.createType3Message(ntlm.decodeType2Message(challenge.authenticate[0]), 'admin', 'Adm1n!pass', 'WS01', 'CONTOSO'));
      assert.equal(r.status, 401);
      assert.match(odataError(r).message, /No NTLM challenge was given on this connection/);
    } finally {
      fresh.destroy();
    }
  });

  test('a raw NTLM token inside Negotiate is answered under Negotiate', async () => {
    const agent = agentFor(server);
    try {
      const type1 = ntlm.createType1Message('WS01', '').replace(/^NTLM /, 'Negotiate ');
      const first = await get(`${base}/wmi/SMS_Site`, agent, type1);
      assert.match(first.authenticate[0], /^Negotiate [A-Za-z0-9+/=]+$/);
      const type2 = ntlm.decodeType2Message(first.authenticate[0].replace(/^Negotiate /, ''));
      const type3 = ntlm.createType3Message(type2, 'admin', 'Adm1n!pass', 'WS01', 'CONTOSO').replace(/^NTLM /, 'Negotiate ');
      assert.equal(envelope(await get(`${base}/wmi/SMS_Site`, agent, type3)).value[0].SiteCode, 'SMP');
    } finally {
      agent.destroy();
    }
  });

  test('a wrong password or an unknown user gets 401 again; a user who is not an administrative user gets 403', async () => {
    const before = server.counters.ntlmHandshakes;
    for (const [user, password, domain] of [
      ['admin', 'wrong', 'CONTOSO'],
      ['nobody', 'Adm1n!pass', 'CONTOSO'],
      ['admin', 'Adm1n!pass', 'FABRIKAM'],
    ]) {
      const agent = agentFor(server);
      try {
        const r = await signIn(`${base}/wmi/SMS_Site`, agent, user, password, domain);
        assert.equal(r.status, 401, `${domain}\\${user}`);
        assert.deepEqual(r.authenticate, ['Negotiate', 'NTLM']);
        assert.match(odataError(r).message, /Sign-in failed: (wrong password|unknown user)/);
      } finally {
        agent.destroy();
      }
    }
    assert.equal(server.counters.ntlmHandshakes, before);
    const agent = agentFor(server);
    try {
      const r = await signIn(`${base}/wmi/SMS_Site`, agent, 'READER', 'Re@der-1', 'contoso');
      assert.equal(r.status, 403);
      assert.equal(odataError(r).code, 'Forbidden');
      assert.match(odataError(r).message, /CONTOSO\\reader is not a Configuration Manager administrative user/);
      assert.equal(server.counters.ntlmHandshakes, before + 1, 'the sign-in itself succeeded');
    } finally {
      agent.destroy();
    }
  });

  test('the NTLMv2 check matches MS-NLMP 4.2.4 and refuses a changed byte', () => {
    // The specification's example: User/Domain/Password, server challenge 0123456789abcdef, client challenge aa…,
    // time 0, AV pairs (NbDomainName "Domain", NbComputerName "Server"): NTProofStr 68cd0ab851e51c96aabc927bebef6a1c.
    const challenge = Buffer.from('0123456789abcdef', 'hex');
    const av = Buffer.from('02000c0044006f006d00610069006e0001000c005300650072007600650072000000 0000'.replace(/ /g, ''), 'hex');
    const temp = Buffer.concat([Buffer.from('0101000000000000', 'hex'), Buffer.alloc(8), Buffer.alloc(8, 0xaa), Buffer.alloc(4), av, Buffer.alloc(4)]);
    const proof = Buffer.from('68cd0ab851e51c96aabc927bebef6a1c', 'hex');
    const message = (nt: Buffer): Buffer => {
      const domain = Buffer.from('Domain', 'utf16le');
      const user = Buffer.from('User', 'utf16le');
      const ws = Buffer.from('COMPUTER', 'utf16le');
      const head = Buffer.alloc(64);
      Buffer.from('NTLMSSP\0', 'ascii').copy(head);
      head.writeUInt32LE(3, 8);
      let at = 64;
      const put = (field: number, b: Buffer): void => {
        head.writeUInt16LE(b.length, field);
        head.writeUInt16LE(b.length, field + 2);
        head.writeUInt32LE(at, field + 4);
        at += b.length;
      };
      const lm = Buffer.alloc(24);
      put(12, lm);
      put(20, nt);
      put(28, domain);
      put(36, user);
      put(44, ws);
      head.writeUInt32LE(0xe2888215, 60);
      return Buffer.concat([head, lm, nt, domain, user, ws]);
    };
    const server = new NtlmServer({ users: { 'Domain\\User': { password: 'Password', admin: true } }, domain: 'DOMAIN' });
    const good = server.authenticate(message(Buffer.concat([proof, temp])), challenge);
    assert.deepEqual(good, { ok: true, identity: { domain: 'Domain', user: 'User', admin: true } });
    const bent = Buffer.concat([proof, temp]);
    bent[30] ^= 1;
    assert.deepEqual(server.authenticate(message(bent), challenge), { ok: false, reason: 'wrong password for Domain\\User' });
    assert.equal(server.authenticate(message(Buffer.concat([proof, temp])), Buffer.from('0123456789abcdee', 'hex')).ok, false, 'another challenge');
    // An NTLMv1 response (24 bytes) is refused whatever it holds.
    assert.match(JSON.stringify(server.authenticate(message(Buffer.alloc(24, 1)), challenge)), /only NTLMv2 is accepted/);
    // The HMAC chain itself, written out: NTOWFv2 of the example is 0c868a403bfd7a93a3001ef22ef02e3f.
    const ntowf = createHmac('md5', Buffer.from('a4f49c406510bdcab6824ee7c30fd852', 'hex')).update(Buffer.from('USERDomain', 'utf16le')).digest('hex');
    assert.equal(ntowf, '0c868a403bfd7a93a3001ef22ef02e3f');
  });

  test('paging: a page size of 3 gives nextLinks whose pages join to the whole class, each row once, $select kept', async () => {
    const small = await startAdminService({ data: sample, users: USERS, pageSize: 3 });
    const agent = agentFor(small);
    try {
      let url: string | undefined = `${small.url}/wmi/SMS_PackageBaseclass?$select=PackageID,Name`;
      const r = await signIn(url, agent, 'admin', 'Adm1n!pass');
      let e = envelope(r);
      const seen: string[] = [];
      let pages = 0;
      for (;;) {
        pages += 1;
        assert.ok(e.value.length <= 3 && e.value.length > 0, `page ${pages}: ${e.value.length} rows`);
        for (const row of e.value) {
          assert.deepEqual(Object.keys(row).sort(), ['Name', 'PackageID']);
          seen.push(String(row.PackageID));
        }
        url = e['@odata.nextLink'];
        if (!url) break;
        assert.match(url, new RegExp(`^${small.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/wmi/SMS_PackageBaseclass\\?.*\\$skiptoken=`));
        e = envelope(await get(url, agent));
      }
      const all = (findClass(sample, 'SMS_PackageBaseclass')?.rows ?? []).map((x) => String(x.PackageID));
      assert.equal(all.length, 14);
      assert.deepEqual(seen, all);
      assert.equal(new Set(seen).size, seen.length);
      assert.equal(pages, 5);
      // $top asks for smaller pages; never larger than the server's own limit.
      assert.equal(envelope(await get(`${small.url}/wmi/SMS_PackageBaseclass?$top=2`, agent)).value.length, 2);
      assert.equal(envelope(await get(`${small.url}/wmi/SMS_PackageBaseclass?$top=50`, agent)).value.length, 3);
      // A filter pages too, over the matching rows only.
      const ts = envelope(await get(`${small.url}/wmi/SMS_PackageBaseclass?$filter=PackageType eq 4&$top=2`, agent));
      assert.deepEqual(ts.value.map((x) => x.PackageID), ['SMP00010', 'SMP00011']);
      assert.match(ts['@odata.nextLink'] ?? '', /\$filter=PackageType%20eq%204/);
    } finally {
      agent.destroy();
      await small.close();
    }
  });

  test('lazy properties are absent from collection reads and present on single-instance reads; class names ignore case', async () => {
    const all = envelope(await get(`${base}/wmi/SMS_TaskSequencePackage`, admin));
    assert.deepEqual(all.value.map((x) => x.PackageID), ['SMP00010', 'SMP00011', 'SMP00012', 'SMP00013', 'SMP00014']);
    for (const row of all.value) {
      assert.equal('Sequence' in row, false);
      assert.equal('References' in row, false);
      assert.equal(typeof row.Name, 'string');
    }
    // Even when asked for by $select.
    const selected = envelope(await get(`${base}/wmi/SMS_TaskSequencePackage?$select=PackageID,Sequence`, admin));
    assert.deepEqual(selected.value[0], { PackageID: 'SMP00010' });

    const one = envelope(await get(`${base}/wmi/sms_tasksequencepackage('smp00013')`, admin));
    assert.equal(one['@odata.context'], `${base}/wmi/$metadata#SMS_TaskSequencePackage`);
    assert.equal(one.value.length, 1);
    assert.match(String(one.value[0].Sequence), /^<sequence version="3\.10">/);
    assert.deepEqual(one.value[0].References, [
      { Package: 'SMP00002', Program: '*', Type: 0 },
      { Package: 'SMP00003', Program: '*', Type: 0 },
      { Package: 'SMP00005', Program: '*', Type: 0 },
      { Package: 'ScopeId_7E1B6C2A-4F3D-4E59-9A80-1C2D3E4F5A6B/Application_6A1E0C52-7B3D-4C8E-9F21-0D4A5B6C7D81', Program: '', Type: 1 },
    ]);

    const apps = envelope(await get(`${base}/wmi/SMS_Application?$filter=IsLatest eq true&$select=CI_ID,ModelName,PackageID,IsLatest`, admin));
    assert.deepEqual(apps.value.map((a) => [a.CI_ID, a.PackageID, a.IsLatest]), [
      [16777217, 'SMP00006', true],
      [16777218, 'SMP00007', true],
    ]);
    assert.equal(envelope(await get(`${base}/wmi/SMS_Application`, admin)).value.some((a) => 'SDMPackageXML' in a), false);
    const app = envelope(await get(`${base}/wmi/SMS_Application(16777218)`, admin)).value[0];
    assert.equal(app.PackageID, 'SMP00007');
    assert.match(String(app.SDMPackageXML), /<AppMgmtDigest /);

    const missing = await get(`${base}/wmi/SMS_TaskSequencePackage('SMP99999')`, admin);
    assert.equal(missing.status, 404);
    assert.equal(odataError(missing).code, 'NotFound');
  });

  test("the sample site's rows carry their CIM types, without WMI's system properties", async () => {
    const ts = envelope(await get(`${base}/wmi/SMS_TaskSequencePackage('SMP00010')`, admin)).value[0];
    assert.equal(ts.SourceVersion, 1);
    assert.equal(ts.PackageType, 4);
    assert.equal(ts.Duration, 360);
    assert.equal(ts.LastRefreshTime, '2025-01-01T00:00:00Z');
    assert.deepEqual(ts.SecuredScopeNames, ['Default']);
    assert.equal(ts.BootImageID, 'SMP00001');
    assert.equal(Object.keys(ts).some((k) => k.startsWith('__')), false);
    const refs = envelope(await get(`${base}/wmi/SMS_TaskSequenceReferencesInfo?$filter=PackageID eq 'smp00010'`, admin)).value;
    assert.ok(refs.length >= 5);
    assert.ok(refs.every((r) => r.PackageID === 'SMP00010' && typeof r.ReferencePackageType === 'number'));
    const appRefs = envelope(await get(`${base}/wmi/SMS_TaskSequenceAppReferencesInfo`, admin)).value;
    assert.deepEqual(appRefs.map((r) => [r.PackageID, r.RefAppPackageID, r.RefAppCI_ID]), [
      ['SMP00010', 'SMP00006', 16777217],
      ['SMP00013', 'SMP00006', 16777217],
    ]);
    const pkgs = envelope(await get(`${base}/wmi/SMS_PackageBaseclass?$select=PackageID,PackageType,SourceVersion`, admin)).value;
    assert.deepEqual(
      pkgs.map((p) => [p.PackageID, p.PackageType, p.SourceVersion]),
      [
        ['SMP00001', 258, 1], ['SMP00002', 257, 1], ['SMP00003', 0, 1], ['SMP00004', 0, 1], ['SMP00005', 3, 2], ['SMP00006', 8, 1], ['SMP00007', 8, 1],
        ['SMP00008', 0, 1], ['SMP00009', 259, 1], ['SMP00010', 4, 1], ['SMP00011', 4, 1], ['SMP00012', 4, 1], ['SMP00013', 4, 1], ['SMP00014', 4, 1],
      ],
    );
    const dps = envelope(await get(`${base}/wmi/SMS_DistributionPointInfo?$select=ServerName,NALPath,SiteCode,IsPXE,IsActive`, admin)).value;
    assert.deepEqual(dps, [
      { ServerName: 'DP01.contoso.com', NALPath: '["Display=\\\\DP01.contoso.com\\"]MSWNET:["SMS_SITE=SMP"]\\\\DP01.contoso.com\\', SiteCode: 'SMP', IsPXE: false, IsActive: true },
      { ServerName: 'DP02.contoso.com', NALPath: '["Display=\\\\DP02.contoso.com\\"]MSWNET:["SMS_SITE=SMP"]\\\\DP02.contoso.com\\', SiteCode: 'SMP', IsPXE: false, IsActive: true },
    ]);
    // DP02's library lacks SMP00008 (the sample site's "what a distribution point lacks" case).
    const status = envelope(await get(`${base}/wmi/SMS_PackageStatusDistPointsSummarizer?$select=PackageID,ServerNALPath,State,SourceVersion`, admin)).value;
    const on = (dp: string): string[] => status.filter((s) => String(s.ServerNALPath).includes(`\\\\${dp}.contoso.com\\`)).map((s) => String(s.PackageID));
    assert.equal(on('DP01').includes('SMP00008'), true);
    assert.equal(on('DP02').includes('SMP00008'), false);
    assert.equal(status.find((s) => s.PackageID === 'SMP00005')?.SourceVersion, 2);
    assert.ok(status.every((s) => s.State === 0));
  });

  test('CIM values convert by type', () => {
    assert.equal(cimDateTimeToIso('20250101000000.000000+000'), '2025-01-01T00:00:00Z');
    assert.equal(cimDateTimeToIso('20250101003000.000000+060'), '2024-12-31T23:30:00Z');
    assert.equal(cimDateTimeToIso('20250615120000.250000-120'), '2025-06-15T14:00:00.250000Z');
    assert.equal(cimDateTimeToIso('00000001000000.000000:000'), '00000001000000.000000:000', 'an interval stays as written');
    assert.equal(cimScalar('TRUE', 'boolean'), true);
    assert.equal(cimScalar('false', 'boolean'), false);
    assert.equal(cimScalar('4294967295', 'uint32'), 4294967295);
    assert.equal(cimScalar('-5', 'sint32'), -5);
    assert.equal(cimScalar('0042', 'string'), '0042');
  });

  test('queries outside the contract are 400 with an OData error', async () => {
    for (const q of ["$filter=Name ne 'x'", '$orderby=Name', '$select=NoSuchProperty', "$filter=PackageType eq 'x'", '$skiptoken=garbage']) {
      const r = await get(`${base}/wmi/SMS_PackageBaseclass?${q}`, admin);
      assert.equal(r.status, 400, q);
      assert.ok(odataError(r).message.length > 10, q);
    }
  });

  test('faults: 429 with Retry-After, 500 on one class, a slow reply, a missing class or property, a dropped connection', async () => {
    const site = `${base}/wmi/SMS_Site`;
    server.faults.failNext(429, { retryAfterSeconds: 7 });
    const busy = await get(site, admin);
    assert.equal(busy.status, 429);
    assert.equal(busy.headers['retry-after'], '7');
    assert.equal(odataError(busy).code, 'TooManyRequests');
    assert.equal((await get(site, admin)).status, 200, 'only the next one');

    server.faults.failNext(500, { className: 'sms_site', times: 2 });
    assert.equal((await get(`${base}/wmi/SMS_ProviderLocation`, admin)).status, 200, 'another class is unaffected');
    assert.equal((await get(site, admin)).status, 500);
    assert.equal((await get(site, admin)).status, 500);
    assert.equal((await get(site, admin)).status, 200);

    // A 401 fault forgets the connection's sign-in, as a recycled application pool does.
    server.faults.failNext(401);
    const forgot = await get(site, admin);
    assert.deepEqual([forgot.status, forgot.authenticate], [401, ['Negotiate', 'NTLM']]);
    assert.equal((await get(site, admin)).status, 401, 'the connection must sign in again');
    assert.equal((await signIn(site, admin, 'admin', 'Adm1n!pass')).status, 200);

    server.faults.failNext(503, { retryAfterSeconds: 1 });
    const unavailable = await get(site, admin);
    assert.deepEqual([unavailable.status, unavailable.headers['retry-after']], [503, '1']);

    server.faults.delayMs = 300;
    const t0 = Date.now();
    assert.equal((await get(site, admin)).status, 200);
    assert.ok(Date.now() - t0 >= 290, `${Date.now() - t0} ms`);
    server.faults.delayMs = 0;

    server.faults.removeClass('SMS_PackageStatusDistPointsSummarizer');
    const gone = await get(`${base}/wmi/SMS_PackageStatusDistPointsSummarizer`, admin);
    assert.equal(gone.status, 404);
    assert.deepEqual(Object.keys(JSON.parse(gone.body) as object), ['error']);
    assert.match(odataError(gone).message, /SMS_PackageStatusDistPointsSummarizer/);
    const meta = await get(`${base}/wmi/$metadata`, admin);
    assert.equal(meta.status, 200);
    assert.match(meta.body, /<EntitySet Name="SMS_TaskSequencePackage"/);
    assert.doesNotMatch(meta.body, /SMS_PackageStatusDistPointsSummarizer/);
    assert.equal((await get(`${base}/wmi/SMS_NoSuchClass`, admin)).status, 404);

    server.faults.dropProperty('SMS_TaskSequencePackage', 'BootImageID');
    assert.equal((await get(`${base}/wmi/SMS_TaskSequencePackage?$select=PackageID,BootImageID`, admin)).status, 400);
    assert.equal('BootImageID' in envelope(await get(`${base}/wmi/SMS_TaskSequencePackage('SMP00010')`, admin)).value[0], false);
    server.faults.clear();
    assert.equal(envelope(await get(`${base}/wmi/SMS_TaskSequencePackage('SMP00010')`, admin)).value[0].BootImageID, 'SMP00001');

    server.faults.dropNext();
    const dropped = await get(site, admin).then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    assert.match(dropped, /ECONNRESET|socket hang up/);

    const counted = server.counters.byClass.SMS_Site;
    const bytes = server.counters.bytesSent;
    const requests = server.counters.requests;
    // The drop closed the signed-in connection: sign in again.
    envelope(await signIn(site, admin, 'admin', 'Adm1n!pass'));
    assert.equal(server.counters.byClass.SMS_Site, counted + 1);
    assert.ok(server.counters.bytesSent > bytes);
    assert.equal(server.counters.requests, requests + 2);
  });

  test('a changed certificate changes the thumbprint; a client trusting the old one is refused', async () => {
    const own = await startAdminService({ data: sample, users: USERS });
    const old = agentFor(own);
    try {
      const first = own.thumbprint;
      assert.match(first, /^[0-9A-F]{64}$/);
      const x509 = new X509Certificate(own.certificate.der);
      assert.equal(x509.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost');
      assert.equal(x509.fingerprint256.replace(/:/g, ''), first);
      assert.ok(new Date(x509.validTo) > new Date() && new Date(x509.validFrom) < new Date());
      assert.ok(new Date(new X509Certificate(makeTestCertificate({ days: -1 }).der).validTo) < new Date(), 'an expired one on request');
      const r = await signIn(`${own.url}/wmi/SMS_Site`, old, 'admin', 'Adm1n!pass');
      assert.equal(r.peer, first);
      const oldPem = own.certificate.certPem;
      const next = own.setCertificate();
      assert.notEqual(own.thumbprint, first);
      assert.equal(own.thumbprint, next.thumbprint);
      // A client pinning the old certificate (a new connection: the server closed the open ones).
      const pinnedOld = agentFor(own, oldPem);
      const refused = await get(`${own.url}/wmi/SMS_Site`, pinnedOld).then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => err.code ?? err.message,
      );
      pinnedOld.destroy();
      assert.match(refused, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
      const fresh = agentFor(own);
      try {
        const again = await signIn(`${own.url}/wmi/SMS_Site`, fresh, 'admin', 'Adm1n!pass');
        assert.equal(again.status, 200);
        assert.equal(again.peer, next.thumbprint);
      } finally {
        fresh.destroy();
      }
      // A certificate made for a name the client does not use fails the host check.
      const other = makeTestCertificate({ hostNames: ['cm01.contoso.com'] });
      own.setCertificate(other);
      const wrongName = agentFor(own, other.certPem);
      try {
        const err = await get(`${own.url}/wmi/SMS_Site`, wrongName).then(
          () => 'answered',
          (e: NodeJS.ErrnoException) => e.code ?? e.message,
        );
        assert.equal(err, 'ERR_TLS_CERT_ALTNAME_INVALID');
      } finally {
        wrongName.destroy();
      }
    } finally {
      old.destroy();
      await own.close();
    }
  });

  test('the real exports become typed rows, one SMS_TaskSequencePackage each, their references kept', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const root = tempDir(t);
    const zips = readdirSync(join(FIXTURES, 'exports')).filter((n) => n.endsWith('.zip')).sort().map((n) => join(FIXTURES, 'exports', n));
    writeFileSync(join(root, 'tsmedia-site.json'), JSON.stringify({ exports: zips }));
    const data = await loadFolderSite(root);
    const ts = findClass(data, 'SMS_TaskSequencePackage')?.rows ?? [];
    assert.deepEqual(ts.map((r) => r.PackageID), ['MCM00029', 'MEM000F8', 'PS10000E', 'PS10016B', 'PS10017A', 'PS100294']);
    for (const r of ts) {
      assert.equal(typeof r.SourceVersion, 'number', String(r.PackageID));
      assert.equal(r.PackageType, 4);
      assert.match(String(r.Sequence), /^\s*<sequence[\s>]/);
      assert.ok(r.References === null || Array.isArray(r.References), 'References: an array, or null (WMI NULL) where there are none');
      assert.equal(Object.keys(r).some((k) => k.startsWith('__')), false);
    }
    const bitlocker = ts.find((r) => r.PackageID === 'PS100294');
    assert.equal(bitlocker?.TsEnabled === true || bitlocker?.TsEnabled === false, true, 'a CIM boolean is a JSON boolean');
    const refs = findClass(data, 'SMS_TaskSequenceReferencesInfo')?.rows ?? [];
    assert.ok(refs.length > 0);
    assert.deepEqual([...new Set(refs.map((r) => r.PackageID))].sort(), ['MEM000F8', 'PS10000E']);
    assert.ok(refs.every((r) => typeof r.ReferencePackageType === 'number' && !('__RELPATH' in r)));
    // A referenced boot image the site knows only by reference is in SMS_PackageBaseclass with its type.
    const base = findClass(data, 'SMS_PackageBaseclass')?.rows ?? [];
    assert.equal(base.find((r) => r.PackageID === 'MEM00003')?.PackageType, 258);
  });

  test('a descriptor naming a central administration site and its distribution points; bare server names on request', async (t) => {
    const root = tempDir(t);
    writeFileSync(
      join(root, 'tsmedia-site.json'),
      JSON.stringify({
        siteCode: 'CAS',
        siteName: 'Contoso central',
        centralAdministrationSite: true,
        exports: [join(SAMPLE_SITE, 'exports')],
        distributionPoints: [{ name: 'BRANCH7', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP02') }],
      }),
    );
    const data = await loadFolderSite(root, { dnsSuffix: null });
    assert.deepEqual(
      (findClass(data, 'SMS_Site')?.rows ?? []).map((r) => [r.SiteCode, r.SiteName, r.Type, r.ServerName]),
      [['CAS', 'Contoso central', 4, 'CM01']],
    );
    assert.deepEqual((findClass(data, 'SMS_DistributionPointInfo')?.rows ?? []).map((r) => [r.ServerName, r.NALPath]), [
      ['BRANCH7', '["Display=\\\\BRANCH7\\"]MSWNET:["SMS_SITE=CAS"]\\\\BRANCH7\\'],
    ]);
    const held = (findClass(data, 'SMS_PackageStatusDistPointsSummarizer')?.rows ?? []).map((r) => r.PackageID);
    assert.equal(held.length, 8);
    assert.equal(held.includes('SMP00008'), false);
    assert.equal(findClass(data, 'sms_distributionpointinfo')?.name, 'SMS_DistributionPointInfo');
  });

  test('a 5,000-package, 300-task-sequence site is generated in well under two seconds, its references resolving', () => {
    const t0 = performance.now();
    const big = syntheticSite(sample, { packages: 5000, taskSequences: 300, applications: 200 });
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
    const ts = findClass(big, 'SMS_TaskSequencePackage')?.rows ?? [];
    const base = findClass(big, 'SMS_PackageBaseclass')?.rows ?? [];
    const apps = findClass(big, 'SMS_Application')?.rows ?? [];
    assert.equal(ts.length, 300);
    assert.equal(base.filter((r) => r.PackageType !== 4 && r.PackageType !== 8).length, 5000);
    assert.equal(apps.length, 200);
    assert.equal(new Set(base.map((r) => r.PackageID)).size, base.length, 'package IDs are unique');
    const ids = new Set(base.map((r) => String(r.PackageID)));
    const models = new Set(apps.map((r) => String(r.ModelName)));
    for (const r of ts) {
      const seq = String(r.Sequence);
      assert.doesNotMatch(seq, /SMP[0-9A-F]{5}|7E1B6C2A/, `${String(r.PackageID)} still names the template's objects`);
      for (const ref of r.References as Row[]) assert.ok(ids.has(String(ref.Package)) || models.has(String(ref.Package)), String(ref.Package));
      if (r.BootImageID) assert.equal(base.find((b) => b.PackageID === r.BootImageID)?.PackageType, 258);
    }
    const refs = findClass(big, 'SMS_TaskSequenceReferencesInfo')?.rows ?? [];
    assert.ok(refs.length >= 300);
    assert.ok(refs.every((r) => ids.has(String(r.ReferencePackageID))));
    const status = findClass(big, 'SMS_PackageStatusDistPointsSummarizer')?.rows ?? [];
    assert.ok(status.length > 5000 * 1.8);
  });
});
