// The wizard's engine API opens a live site by server name (openServerSite): the request is checked, the sign-in is
// kept for the session only (reused by later reads, never written), errors keep their codes, the address is
// remembered like a folder, and at start-up a remembered live site opens again only where no password is typed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SiteInfo } from '../shared/ipc.js';
import { ApiError, createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { loadFolderSite } from './adminService/AdminServiceData.js';
import { startAdminService, type AdminServiceServer } from './adminService/AdminServiceServer.js';
import { SAMPLE_SITE, tempDir } from './helpers.js';

const USER = 'CONTOSO\\cmadmin';
const PASSWORD = 'Pa55-w0rd!wizard';
const USERS = { [USER]: { password: PASSWORD, admin: true }, 'CONTOSO\\helpdesk': { password: 'helpdesk-pw', admin: false } };

/** The ApiError a call rejects with: its code and, when it has one, the error's own code. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; detail: string | null; message: string }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiError, `an ApiError, not ${String(err)}`);
    return { code: err.code, detail: err.detail?.code ?? null, message: err.message };
  }
  assert.fail('the call succeeded');
}

describe('openServerSite', () => {
  let server: AdminServiceServer;
  let work: string;
  const cleanups: (() => void)[] = [];
  const apis: EngineApi[] = [];
  const api = (dir: string): EngineApi => {
    const a = createEngineApi({ userDataDir: join(work, dir) });
    apis.push(a);
    return a;
  };

  before(async () => {
    server = await startAdminService({ data: await loadFolderSite(SAMPLE_SITE), users: USERS });
    work = tempDir({ after: (fn) => cleanups.push(fn) }, 'tsmedia-wizard-live-');
  });
  after(async () => {
    for (const a of apis) await a.close();
    await server.close();
    for (const c of cleanups) c();
  });

  test('a request is checked field by field before anything is opened', async () => {
    const a = api('checks');
    const ok = { address: server.url, user: USER, password: PASSWORD, trustThumbprint: null };
    const cases: [unknown, RegExp][] = [
      ['cm01', /openServerSite must be an object/],
      [{ ...ok, extra: 1 }, /"extra" is not a field of it/],
      [{ address: server.url, user: USER, password: PASSWORD }, /field "trustThumbprint" is missing/],
      [{ ...ok, address: '' }, /openServerSite.address cannot be empty/],
      [{ ...ok, user: 5 }, /openServerSite.user must be text/],
      [{ ...ok, trustThumbprint: 'not a thumbprint' }, /must be a certificate thumbprint/],
      [{ ...ok, address: 'http://cm01/AdminService' }, /answers only over HTTPS/],
    ];
    for (const [req, re] of cases) {
      const r = await refusal(a.call('openServerSite', [req]));
      assert.equal(r.code, 'invalid');
      assert.match(r.message, re);
    }
    // A user without a password: asked for, before the server is reached.
    const before = server.counters.requests;
    const none = await refusal(a.call('openServerSite', [{ ...ok, password: '' }]));
    assert.equal(none.detail, 'SITE_SIGN_IN_NEEDED');
    assert.equal(server.counters.requests, before);
    if (process.platform !== 'win32') {
      // No user and no sign-in this session: only Windows can sign in as the current user.
      const noUser = await refusal(a.call('openServerSite', [{ ...ok, user: null, password: null }]));
      assert.equal(noUser.detail, 'SITE_SIGN_IN_NEEDED');
      assert.match(noUser.message, /needs a sign-in: give a user name/);
    }
  });

  test('untrusted, then trusted: the live site; the sign-in serves later reads; a wrong password is not kept; nothing secret is written', async () => {
    const a = api('session');
    const server_ = `127.0.0.1:${server.port}`;
    const untrusted = await refusal(a.openServerSite({ address: server_, user: USER, password: PASSWORD, trustThumbprint: null }));
    assert.equal(untrusted.detail, 'SITE_CERT_UNTRUSTED');

    const info: SiteInfo = await a.openServerSite({ address: server_, user: USER, password: PASSWORD, trustThumbprint: server.thumbprint });
    assert.deepEqual(info.live, { address: server.url, server: server_, user: USER });
    assert.equal(info.root, server.url);
    assert.equal(info.isSample, false);
    assert.equal(info.siteCode, 'SMP');
    assert.equal(info.taskSequences, 5);
    assert.deepEqual((await a.getSiteInfo()).live, info.live);
    assert.equal((await a.listSequences()).length, 5);

    // A wrong password fails with its code; the good sign-in stays the session's.
    const wrong = await refusal(a.openServerSite({ address: server.url, user: USER, password: 'wrong', trustThumbprint: null }));
    assert.equal(wrong.detail, 'SITE_SIGN_IN_FAILED');
    const reader = await refusal(a.openServerSite({ address: server.url, user: 'CONTOSO\\helpdesk', password: 'helpdesk-pw', trustThumbprint: null }));
    assert.equal(reader.detail, 'SITE_NOT_ADMIN');
    const again = await a.openServerSite({ address: server.url, user: null, password: null, trustThumbprint: null });
    assert.equal(again.live?.user, USER, 'no user typed: the one this session signed in with');

    // The address is remembered like a folder; the password nowhere on disk.
    const userData = join(work, 'session');
    assert.equal((await a.getPreferences()).lastSite, server.url);
    for (const f of ['preferences.json', 'trusted-servers.json']) assert.doesNotMatch(readFileSync(join(userData, f), 'utf8'), new RegExp(PASSWORD.replace(/[!]/g, '\\$&')));

    // A new start (the sign-in gone): on Linux the sample site until the user signs in again.
    const later = api('session');
    const start = await later.getSiteInfo();
    if (process.platform !== 'win32') {
      assert.equal(start.isSample, true);
      assert.equal(start.live, null);
    }
    assert.equal((await later.getPreferences()).lastSite, server.url, 'still remembered');
  });

  test('a media request may name the live site by its address; a relative one is refused', async () => {
    const a = api('media');
    assert.equal(existsSync(join(work, 'media', 'trusted-servers.json')), false);
    const base = { taskSequenceId: 'SMP00010', distributionPoints: [], password: null, unattended: false, startDate: null, expireDate: null, label: 'L', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: [], driverPackages: [], staging: null, detectDependencies: false, timestamp: null, skipVerify: false, size: 'dvd', out: join(work, 'x.iso') };
    const relative = await refusal(a.call('startMedia', [{ kind: 'iso', request: { ...base, site: 'relative/site' } }]));
    assert.match(relative.message, /must be a full path or an https:\/\/ address/);
    // The address passes the check and is opened with this session's sign-in: none yet here, so it is asked for.
    const live = await refusal(a.call('startMedia', [{ kind: 'iso', request: { ...base, site: server.url } }]));
    assert.doesNotMatch(live.message, /full path/);
    if (process.platform !== 'win32') assert.equal(live.detail, 'SITE_SIGN_IN_NEEDED');
  });
});
