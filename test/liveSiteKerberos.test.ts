// Signing in as the user already signed in (HTTP Negotiate with Kerberos, what Windows does with the logon's ticket),
// against a real MIT Kerberos realm: a KDC, the user's ticket from kinit, the service's key in a keytab. The
// administration service here accepts SPNEGO with the `kerberos` module's GSSAPI acceptor; the client uses the same
// module's initiator (SSPI on Windows), checks the server's last token, and reads the sample site.
// Its own process: GSSAPI reads KRB5_CONFIG and the cache's name once per process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { createEngineApi } from '../electron/host/EngineApi.js';
import type { SiteInfo } from '../shared/ipc.js';
import { openSiteAt, type LiveSiteContext } from '../electron/engine/site/SiteOpener.js';
import { TrustedServers } from '../electron/engine/site/live/TrustedServers.js';
import { loadFolderSite } from './adminService/AdminServiceData.js';
import { startAdminService, type AdminServiceServer } from './adminService/AdminServiceServer.js';
import { kerberosUnavailable, startKerberosRealm, type KerberosRealm } from './adminService/KerberosRealm.js';
import { ROOT, SAMPLE_SITE, tempDir } from './helpers.js';

async function kerberosModule(): Promise<boolean> {
  try {
    await import('kerberos');
    return true;
  } catch {
    return false;
  }
}

const why = kerberosUnavailable() ?? ((await kerberosModule()) ? null : 'the optional "kerberos" module is not installed (it needs libkrb5-dev to build; scripts/setup.sh installs it)');

describe('Negotiate sign-in with Kerberos', { skip: why ?? false }, () => {
  let realm: KerberosRealm;
  let server: AdminServiceServer;
  let url: string;
  let config: string;
  const cleanups: (() => void)[] = [];

  before(async () => {
    realm = await startKerberosRealm();
    Object.assign(process.env, realm.env);
    server = await startAdminService({
      data: await loadFolderSite(SAMPLE_SITE),
      users: { 'CONTOSO\\other': { password: 'x', admin: true } },
      hostNames: ['localhost'],
      kerberos: { service: 'HTTP@localhost', principals: { [realm.user]: { admin: true } } },
    });
    // The service principal is HTTP/localhost: the client must name the server so.
    url = `https://localhost:${server.port}/AdminService`;
    config = tempDir({ after: (fn) => cleanups.push(fn) }, 'tsmedia-krb-config-');
  });
  after(async () => {
    await server?.close();
    realm?.close();
    for (const c of cleanups) c();
  });

  const context = (over: Partial<LiveSiteContext> = {}): LiveSiteContext => ({
    signIn: () => Promise.resolve({ kind: 'negotiate' }),
    trust: TrustedServers.inDir(config),
    trustThumbprint: server.thumbprint,
    ...over,
  });

  test('the ticket signs in: no password, the server proves itself, the sample site is read', async () => {
    server.counters.reset();
    const site = await openSiteAt(url, context());
    assert.deepEqual(site.taskSequences.map((t) => t.packageId).sort(), (await openSiteAt(SAMPLE_SITE, context())).taskSequences.map((t) => t.packageId).sort());
    assert.ok(server.counters.kerberosHandshakes >= 1, 'signed in with Kerberos');
    assert.equal(server.counters.ntlmHandshakes, 0, 'and not with NTLM');
  });

  test('the CLI: --site-negotiate reads the site with the ticket; the password options are not needed', async () => {
    const r = await new Promise<{ status: number; stdout: string; stderr: string }>((resolvePromise) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), 'sequences', '--site', url, '--site-negotiate', '--trust-certificate', server.thumbprint, '--json'], { env: { ...process.env, TSMEDIA_CONFIG_DIR: join(config, 'cli') } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolvePromise({ status: code ?? -1, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as unknown[]).length >= 3);
  });

  test('the wizard: a server opened with no user name signs in with the ticket (off Windows too)', async () => {
    const api = createEngineApi({ userDataDir: join(config, 'wizard') });
    try {
      const info = (await api.call('openServerSite', [{ address: `localhost:${server.port}`, user: null, password: null, trustThumbprint: server.thumbprint }])) as SiteInfo;
      assert.equal(info.live?.server, `localhost:${server.port}`);
      assert.equal(info.live?.user, null);
      assert.ok(info.taskSequences >= 3, `${info.taskSequences} task sequences`);
    } finally {
      await api.close();
    }
  });

  test('a server name with no service principal fails with GSSAPI\'s reason and what to do', async () => {
    // 127.0.0.1 is the same server, but the KDC knows only HTTP/localhost.
    try {
      await openSiteAt(`https://127.0.0.1:${server.port}/AdminService`, context());
      assert.fail('opened without a service principal');
    } catch (err) {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.code, 'SITE_SIGN_IN_FAILED');
      assert.match(err.message, /as the current user failed \(.+\)\. Sign in to the domain \(kinit off Windows\), check that the service principal HTTP@127\.0\.0\.1 exists/);
    }
  });
});
