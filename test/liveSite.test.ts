// A live site read from the project's own administration service (test/adminService, HTTPS on 127.0.0.1 with NTLM
// sign-in) gives the same task sequence list, catalog, analysis and media as the folder site it was made from, and
// every failure of the service is named with what to do.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { openSiteAt, type LiveSiteContext } from '../electron/engine/site/SiteOpener.js';
import { TrustedServers } from '../electron/engine/site/live/TrustedServers.js';
import { loadFolderSite } from './adminService/AdminServiceData.js';
import { startAdminService, type AdminServiceServer } from './adminService/AdminServiceServer.js';
import { FIXTURES, NO_SHARED, ROOT, SAMPLE_SITE, requireOrSkip, sharedFixturesPresent, tempDir } from './helpers.js';

const USER = 'CONTOSO\\cmadmin';
const PASSWORD = 'Pa55-w0rd!live';
const USERS = { [USER]: { password: PASSWORD, admin: true }, 'CONTOSO\\helpdesk': { password: 'helpdesk-pw', admin: false } };
const TIMESTAMP = '2026-01-02T03:04:05Z';
/** The three files that carry a media's own identity (docs/reference/media.md "Reproducible"). */
const IDENTITY = ['SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'SMS/data/tsmedia-manifest.json'];

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process, without blocking this process's event loop (the server runs in it). */
function runCliAsync(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolvePromise({ status: code ?? -1, stdout, stderr }));
  });
}

/** Fields naming where an object was read from differ by nature (a zip entry, a service URL): left out. */
const normalized = (json: string): unknown => JSON.parse(json, (k, v: unknown) => (k === 'source' ? undefined : v));

/** Every file of an ISO image and its bytes (the engine's reader). */
function isoFiles(image: string): Map<string, Buffer> {
  const v = openIso(image);
  try {
    return new Map(v.files().map((f) => [f.path, v.readFileBuffer(f.path)]));
  } finally {
    v.close();
  }
}

/** A folder whose descriptor names the service and maps its distribution points to the sample site's libraries. */
function liveFolder(dir: string, url: string, libraries: string): string {
  const site = join(dir, 'live-site');
  mkdirSync(site, { recursive: true });
  const dps = readdirSync(libraries).filter((n) => /^SCCMContentLib_/i.test(n)).map((n) => ({ name: n.replace(/^SCCMContentLib_/i, ''), contentLibrary: join(libraries, n) }));
  writeFileSync(join(site, 'tsmedia-site.json'), JSON.stringify({ adminService: url, distributionPoints: dps, osdBinaries: join(libraries, 'OSD', 'bin') }, null, 2));
  return site;
}

describe('a live site against the test administration service', () => {
  let server: AdminServiceServer;
  let work: string;
  let config: string;
  let env: NodeJS.ProcessEnv;
  let site: string;
  const cleanups: (() => void)[] = [];

  before(async () => {
    server = await startAdminService({ data: await loadFolderSite(SAMPLE_SITE), users: USERS, pageSize: 4 });
    work = tempDir({ after: (fn) => cleanups.push(fn) }, 'tsmedia-live-');
    config = join(work, 'config');
    env = { TSMEDIA_CONFIG_DIR: config, TSMEDIA_SITE_USER: USER, TSMEDIA_SITE_PASSWORD: PASSWORD };
    site = liveFolder(work, server.url, SAMPLE_SITE);
  });
  after(async () => {
    await server.close();
    for (const c of cleanups) c();
  });

  test('an untrusted certificate is named with its thumbprint; --trust-certificate pins it once for later runs', async () => {
    const first = await runCliAsync(['sequences', '--site', server.url, '--json'], env);
    assert.equal(first.status, 1, first.stderr);
    assert.match(first.stderr, /is not trusted by this computer/);
    assert.ok(first.stderr.includes(server.thumbprint), first.stderr);
    assert.ok(first.stderr.includes(`--trust-certificate ${server.thumbprint}`));
    const wrong = await runCliAsync(['sequences', '--site', server.url, '--trust-certificate', 'AB'.repeat(32)], env);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /not the ABAB.* you asked to trust/);
    const trusted = await runCliAsync(['sequences', '--site', server.url, '--trust-certificate', server.thumbprint, '--json'], env);
    assert.equal(trusted.status, 0, trusted.stderr);
    const again = await runCliAsync(['sequences', '--site', server.url, '--json'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, trusted.stdout);
  });

  test('sequences, catalog and analyze give the same JSON as the folder site (source fields aside)', async () => {
    for (const args of [['sequences'], ['catalog']]) {
      const live = await runCliAsync([...args, '--site', site, '--json'], env);
      const folder = await runCliAsync([...args, '--site', SAMPLE_SITE, '--json'], env);
      assert.equal(live.status, 0, live.stderr);
      assert.equal(folder.status, 0, folder.stderr);
      assert.deepEqual(normalized(live.stdout), normalized(folder.stdout), args[0]);
    }
    const ids = (JSON.parse((await runCliAsync(['sequences', '--site', SAMPLE_SITE, '--json'], env)).stdout) as { packageId: string | null }[]).map((s) => s.packageId).filter((x): x is string => x !== null);
    assert.ok(ids.length >= 3, `the sample site has task sequences: ${ids.join(', ')}`);
    for (const id of ids) {
      const live = await runCliAsync(['analyze', '--site', site, '--task-sequence', id, '--json'], env);
      const folder = await runCliAsync(['analyze', '--site', SAMPLE_SITE, '--task-sequence', id, '--json'], env);
      assert.equal(live.status, 0, live.stderr);
      assert.deepEqual(normalized(live.stdout), normalized(folder.stdout), id);
    }
  });

  test('create makes the same media from the live site as from the folder (the identity files aside)', async () => {
    const out = join(work, 'media');
    mkdirSync(out, { recursive: true });
    const common = ['--task-sequence', 'SMP00010', '--media', 'iso', '--size', 'unlimited', '--timestamp', TIMESTAMP, '--json'];
    const live = await runCliAsync(['create', '--site', site, ...common, '--out', join(out, 'live.iso')], env);
    assert.equal(live.status, 0, live.stderr);
    const folder = await runCliAsync(['create', '--site', SAMPLE_SITE, ...common, '--out', join(out, 'folder.iso')], env);
    assert.equal(folder.status, 0, folder.stderr);
    const a = isoFiles(join(out, 'live.iso'));
    const b = isoFiles(join(out, 'folder.iso'));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    assert.ok(a.size > 10, `the media holds ${a.size} files`);
    for (const [path, data] of a) {
      if (IDENTITY.includes(path)) continue;
      assert.ok(data.equals(b.get(path) as Buffer), `${path} is the same`);
    }
  });

  test('site snapshot of the live site opens as a folder site and makes the same media', async () => {
    const snap = join(work, 'snapshot');
    const r = await runCliAsync(['site', 'snapshot', '--site', site, '--out', snap, '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    // The snapshot needs no service: it opens with no sign-in and no trusted certificate.
    const offline = { TSMEDIA_CONFIG_DIR: join(work, 'no-config') };
    for (const args of [['sequences'], ['catalog']]) {
      const a = await runCliAsync([...args, '--site', snap, '--json'], offline);
      const b = await runCliAsync([...args, '--site', SAMPLE_SITE, '--json'], offline);
      assert.equal(a.status, 0, a.stderr);
      assert.deepEqual(normalized(a.stdout), normalized(b.stdout), args[0]);
    }
    const out = join(work, 'snapshot-media');
    mkdirSync(out, { recursive: true });
    const common = ['--task-sequence', 'SMP00010', '--media', 'iso', '--size', 'unlimited', '--timestamp', TIMESTAMP];
    const fromSnap = await runCliAsync(['create', '--site', snap, ...common, '--out', join(out, 'snap.iso')], offline);
    assert.equal(fromSnap.status, 0, fromSnap.stderr);
    const fromFolder = await runCliAsync(['create', '--site', SAMPLE_SITE, ...common, '--out', join(out, 'folder.iso')], offline);
    assert.equal(fromFolder.status, 0, fromFolder.stderr);
    const a = isoFiles(join(out, 'snap.iso'));
    const b = isoFiles(join(out, 'folder.iso'));
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [path, data] of a) if (!IDENTITY.includes(path)) assert.ok(data.equals(b.get(path) as Buffer), `${path} is the same`);
  });

  test('the password is in no output', async () => {
    const r = await runCliAsync(['analyze', '--site', site, '--task-sequence', 'SMP00010'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD));
  });

  describe('failures are named (engine)', () => {
    const context = (over: Partial<LiveSiteContext> = {}, user = USER, password = PASSWORD): LiveSiteContext => ({
      signIn: () => Promise.resolve({ kind: 'ntlm', user, password }),
      trust: TrustedServers.inDir(config),
      client: { sleep: () => Promise.resolve(), timeoutMs: 5000 },
      ...over,
    });
    const code = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (err) {
        assert.ok(err instanceof InputError, String(err));
        return `${err.code ?? 'none'}: ${err.message}`;
      }
      return 'opened';
    };

    test('a wrong password: SITE_SIGN_IN_FAILED naming the user; a user without rights: SITE_NOT_ADMIN', async () => {
      assert.match(await code(openSiteAt(server.url, context({}, USER, 'wrong'))), /^SITE_SIGN_IN_FAILED: .*refused the sign-in of CONTOSO\\cmadmin/);
      assert.match(await code(openSiteAt(server.url, context({}, 'CONTOSO\\helpdesk', 'helpdesk-pw'))), /^SITE_NOT_ADMIN: .*not a Configuration Manager administrative user/);
    });

    test('throttling: a 429 with Retry-After is waited out; one that lasts is SITE_BUSY', async () => {
      const waits: number[] = [];
      server.faults.failNext(429, { times: 2, retryAfterSeconds: 7 });
      assert.equal(await code(openSiteAt(server.url, context({ client: { sleep: (ms) => (waits.push(ms), Promise.resolve()) } }))), 'opened');
      assert.deepEqual(waits, [7000, 7000]);
      server.faults.failNext(429, { times: 10, retryAfterSeconds: 0 });
      assert.match(await code(openSiteAt(server.url, context())), /^SITE_BUSY: .*is busy/);
      server.faults.clear();
    });

    test('a server error carries the service\'s own message; a missing class is SITE_CLASS_MISSING', async () => {
      server.faults.failNext(500, { times: 1, className: 'SMS_PackageBaseclass' });
      assert.match(await code(openSiteAt(server.url, context())), /^SITE_SERVER_ERROR: .*SMS_PackageBaseclass \(HTTP 500\)/);
      server.faults.clear();
      server.faults.removeClass('SMS_TaskSequenceAppReferencesInfo');
      assert.match(await code(openSiteAt(server.url, context())), /^SITE_CLASS_MISSING: .*has no SMS_TaskSequenceAppReferencesInfo/);
      server.faults.clear();
    });

    test('slow replies past the time-out: SITE_TIMEOUT; a closed port: SITE_UNREACHABLE', async () => {
      server.faults.delayMs = 1500;
      assert.match(await code(openSiteAt(server.url, context({ client: { timeoutMs: 300, sleep: () => Promise.resolve() } }))), /^SITE_TIMEOUT: .*did not answer within/);
      server.faults.delayMs = 0;
      assert.match(await code(openSiteAt('https://127.0.0.1:1/AdminService', context())), /^SITE_UNREACHABLE: cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    });

    test('a changed certificate: SITE_CERT_CHANGED with both thumbprints, until the new one is trusted', async () => {
      const before = server.thumbprint;
      assert.equal(await code(openSiteAt(server.url, context())), 'opened');
      await server.setCertificate();
      assert.notEqual(server.thumbprint, before);
      const changed = await code(openSiteAt(server.url, context()));
      assert.match(changed, /^SITE_CERT_CHANGED: /);
      assert.ok(changed.includes(before) && changed.includes(server.thumbprint), changed);
      assert.equal(await code(openSiteAt(server.url, context({ trustThumbprint: server.thumbprint }))), 'opened');
    });

    test('paging: a page of 4 rows is followed to the end (more requests, the same site)', async () => {
      server.counters.reset();
      const s = await openSiteAt(server.url, context());
      assert.ok((server.counters.byClass.sms_packagebaseclass ?? server.counters.byClass.SMS_PackageBaseclass ?? 0) > 2, JSON.stringify(server.counters.byClass));
      assert.equal(s.taskSequences.length, (await openSiteAt(SAMPLE_SITE, context())).taskSequences.length);
    });
  });
});

describe('a live site made of the real fixtures\' objects', () => {
  test('the same task sequences and analyses as the folder of exports', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const dir = tempDir(t);
    const folder = join(dir, 'fixtures-site');
    mkdirSync(join(folder, 'exports'), { recursive: true });
    const zips = readdirSync(join(FIXTURES, 'exports')).filter((n) => n.endsWith('.zip'));
    for (const z of zips) cpSync(join(FIXTURES, 'exports', z), join(folder, 'exports', z));
    // The live site names its site server (SMS_Site.ServerName); the folder says the same, so both look for OSD\bin there.
    writeFileSync(join(folder, 'tsmedia-site.json'), JSON.stringify({ siteCode: 'PS1', siteServer: 'CM01.contoso.com' }));
    const server = await startAdminService({ data: await loadFolderSite(folder), users: USERS });
    try {
      const ctx: LiveSiteContext = { signIn: () => Promise.resolve({ kind: 'ntlm', user: USER, password: PASSWORD }), trust: TrustedServers.inDir(join(dir, 'cfg')), trustThumbprint: server.thumbprint };
      const live = await openSiteAt(server.url, ctx);
      const local = await openSiteAt(folder, ctx);
      const ids = (s: typeof live): string[] => s.taskSequences.map((x) => x.packageId ?? '').sort();
      assert.deepEqual(ids(live), ids(local));
      assert.equal(ids(live).length, zips.length);
      const { analyzeForMedia } = await import('../electron/engine/media/BootImageSignatures.js');
      for (const ts of local.taskSequences) {
        const other = live.taskSequence(ts.packageId ?? '');
        assert.ok(other, ts.packageId ?? '');
        const a = JSON.stringify(await analyzeForMedia(live, other, { detectDependencies: true }), (k, v: unknown) => (k === 'source' ? undefined : v));
        const b = JSON.stringify(await analyzeForMedia(local, ts, { detectDependencies: true }), (k, v: unknown) => (k === 'source' ? undefined : v));
        assert.equal(a, b, ts.packageId ?? '');
      }
    } finally {
      await server.close();
    }
  });
});
