// The wizard opens a live site by its server's name (issue 18): the project's test administration service
// (test/adminService) serves the sample site over HTTPS with NTLM sign-in and a self-signed certificate. The user types
// the server, a user and a password; the certificate dialog shows the server's thumbprints; once trusted the site is
// read live and the Task Sequence page lists the sample site's task sequences. A wrong password, an account without
// rights, and a later open of the same server (no dialog: the trust is remembered) follow. Opened by name on Linux, the
// distribution points' libraries (\\DP01.contoso.com\SCCMContentLib$) cannot be read; a folder whose
// tsmedia-site.json names the service and maps the DPs to mounted libraries reads them, and makes media.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Preferences } from '../shared/ipc.js';
import { Site } from '../electron/engine/site/Site.js';
import { loadFolderSite } from '../test/adminService/AdminServiceData.js';
import { startAdminService, type AdminServiceServer } from '../test/adminService/AdminServiceServer.js';
import { SAMPLE_SITE } from '../test/helpers.js';
import { browserSuite, serve, skipUnlessReady, Wizard } from './harness.js';

const ADMIN = 'CONTOSO\\admin';
const READER = 'CONTOSO\\reader';
const PASSWORD = 'Pa55w.rd-live';

/** Fills the "or a server" fields and presses Open server. */
async function openServer(w: Wizard, address: string, user: string, password: string): Promise<void> {
  const { page } = w;
  const form = page.locator('form.server-site');
  if (!(await form.isVisible())) await page.getByText('Open another site', { exact: true }).click();
  await page.getByLabel('Server name or address').fill(address);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Open server' }).click();
}

/** The task sequence IDs the Task Sequence page lists, after walking there from Select Media Type. */
async function listedTaskSequences(w: Wizard, out: string): Promise<string[]> {
  const { page } = w;
  await w.next('mediaType');
  await page.locator('#media-iso').check();
  await page.locator('input[name="media-file"]').fill(out);
  await w.next('security');
  await page.locator('#protect').uncheck();
  await w.next('taskSequence');
  const rows = page.locator('[data-testid^="ts-row-"]');
  await rows.first().waitFor();
  const ids = await rows.evaluateAll((els) => els.map((e) => (e.getAttribute('data-testid') ?? '').replace(/^ts-row-/, '')));
  return ids.sort();
}

describe('wizard: a live site by server name', () => {
  const suite = browserSuite();
  const { work } = suite;
  let server: AdminServiceServer | null = null;
  let sampleIds: string[] = [];

  before(async () => {
    const data = await loadFolderSite(SAMPLE_SITE);
    server = await startAdminService({ data, users: { [ADMIN]: { password: PASSWORD, admin: true }, [READER]: { password: PASSWORD, admin: false } } });
    sampleIds = (await Site.open(SAMPLE_SITE)).taskSequences.map((t) => t.packageId ?? t.name).sort();
  });
  after(async () => {
    await server?.close();
  });

  test('server name, user and password → the certificate dialog (Cancel, then Trust) → the live site and the sample site\'s task sequences', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser || !server) return;
    const userData = join(work.dir, 'user-first');
    const served = await serve({ userDataDir: userData });
    const w = await Wizard.open(browser, served, 'live-site');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const name = `127.0.0.1:${server.port}`;
    const trustFile = join(userData, 'trusted-servers.json');

    await openServer(w, name, ADMIN, PASSWORD);
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('h2').innerText(), new RegExp(`Trust the certificate of ${name.replace(/\./g, '\\.')}\\?`));
    assert.equal(await dialog.locator('[data-testid="cert-sha256"]').innerText(), server.thumbprint);
    const sha1 = new X509Certificate(server.certificate.certPem).fingerprint.replace(/:/g, '');
    assert.equal(await dialog.locator('[data-testid="cert-sha1"]').innerText(), sha1);
    assert.match(await dialog.innerText(), /Compare the thumbprints with the certificate on the server/);
    assert.equal((await w.focused()).text, 'Cancel', 'focus starts on Cancel');
    await w.shot('certificate-dialog');

    // Cancel trusts nothing: the error says what to do, and no certificate is remembered.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    const alert = page.locator('.site-box [role="alert"]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /is not trusted by this computer/);
    assert.equal(await alert.locator('.engine-text').getAttribute('data-code'), 'engineError.SITE_CERT_UNTRUSTED');
    assert.equal(existsSync(trustFile), false, 'nothing trusted after Cancel');
    assert.match(await page.locator('[data-testid="site-root"]').innerText(), /sample site/, 'the sample site stays open');

    await page.getByRole('button', { name: 'Open server' }).click();
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Trust this certificate' }).click();
    await page.locator('[data-testid="site-live"]').waitFor();
    assert.match(await page.locator('[data-testid="site-live"]').innerText(), new RegExp(`^${name.replace(/\./g, '\\.')} live site$`));
    assert.equal(await page.locator('[data-testid="site-user"]').innerText(), ADMIN);
    assert.equal(await page.locator('[data-testid="site-root"]').innerText(), server.url);
    assert.equal(await page.locator('.site-box [role="alert"]').count(), 0);
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '', 'the password field is cleared once the site is open');
    await w.shot('live-site-open');

    // The pin is on disk for the server; the address (never the password) in the preferences.
    const trusted = JSON.parse(readFileSync(trustFile, 'utf8')) as Record<string, { thumbprint: string }>;
    assert.deepEqual(Object.keys(trusted), [name]);
    assert.equal(trusted[name].thumbprint, server.thumbprint);
    const prefs = await served.call<Preferences>('getPreferences');
    assert.equal(prefs.lastSite, server.url);
    assert.doesNotMatch(readFileSync(join(userData, 'preferences.json'), 'utf8'), new RegExp(PASSWORD));

    // Distribution points opened by name only: their libraries are Windows shares this computer cannot open.
    const dps = page.locator('.site-box .facts li');
    assert.deepEqual((await dps.allInnerTexts()).map((s) => s.split(' ')[0]), ['DP01.contoso.com', 'DP02.contoso.com']);
    if (process.platform !== 'win32') assert.match(await dps.first().innerText(), /content library unreadable/);

    assert.deepEqual(await listedTaskSequences(w, join(work.dir, 'first.iso')), sampleIds);
    await w.shot('live-task-sequences');
    assert.deepEqual(w.errors, []);
  });

  test('a later start: the sample site until the user signs in; a wrong password and an account without rights say so; the trusted server opens with no dialog', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser || !server) return;
    const userData = join(work.dir, 'user-later');
    const name = `127.0.0.1:${server.port}`;
    // The first session trusts the certificate and signs in (over the API, as the page does).
    const first = await serve({ userDataDir: userData });
    await first.call('openServerSite', { address: server.url, user: ADMIN, password: PASSWORD, trustThumbprint: server.thumbprint });
    await first.close();

    const served = await serve({ userDataDir: userData });
    const w = await Wizard.open(browser, served, 'live-site-later');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    // The password was that session's only: on Linux the remembered live site is not opened again without it.
    if (process.platform !== 'win32') assert.match(await page.locator('[data-testid="site-root"]').innerText(), /sample site/);

    const alert = page.locator('.site-box [role="alert"]');
    await openServer(w, name, ADMIN, 'not-the-password');
    await alert.waitFor();
    assert.equal(await alert.locator('.engine-text').getAttribute('data-code'), 'engineError.SITE_SIGN_IN_FAILED');
    assert.match(await alert.innerText(), new RegExp(`${name.replace(/\./g, '\\.')} refused the sign-in\\. Check the user name`));
    assert.equal(await page.getByRole('alertdialog').count(), 0, 'no certificate question: it is trusted');
    await w.shot('wrong-password');

    await openServer(w, name, READER, PASSWORD);
    await page.locator('.site-box [role="alert"] [data-code="engineError.SITE_NOT_ADMIN"]').waitFor();
    assert.match(await alert.innerText(), /not a Configuration Manager administrative user/);

    // No user: on Linux the wizard asks for one (on Windows it would sign in as the current user).
    if (process.platform !== 'win32') {
      await openServer(w, name, '', '');
      await page.locator('.site-box [role="alert"] [data-code="engineError.SITE_SIGN_IN_NEEDED"]').waitFor();
    }

    await openServer(w, name, ADMIN, PASSWORD);
    await page.locator('[data-testid="site-live"]').waitFor();
    assert.equal(await page.getByRole('alertdialog').count(), 0);
    assert.equal(await page.locator('[data-testid="site-user"]').innerText(), ADMIN);
    assert.deepEqual(await listedTaskSequences(w, join(work.dir, 'later.iso')), sampleIds);
    assert.deepEqual(w.errors, []);
  });

  test('a server that presents another certificate: the dialog warns with the trusted and the new thumbprints; trusting the new one opens the site', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser || !server) return;
    const userData = join(work.dir, 'user-changed');
    const name = `127.0.0.1:${server.port}`;
    const served = await serve({ userDataDir: userData });
    await served.call('openServerSite', { address: server.url, user: ADMIN, password: PASSWORD, trustThumbprint: server.thumbprint });
    const old = server.thumbprint;
    const w = await Wizard.open(browser, served, 'live-site-changed');
    const renewed = server.setCertificate();
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    assert.notEqual(renewed.thumbprint, old);

    await openServer(w, name, ADMIN, PASSWORD);
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('h2').innerText(), /The certificate of .* changed/);
    assert.match(await dialog.innerText(), /presents another certificate than the one you trusted/);
    assert.equal(await dialog.locator('[data-testid="cert-pinned"]').innerText(), old);
    assert.equal(await dialog.locator('[data-testid="cert-sha256"]').innerText(), renewed.thumbprint);
    assert.equal((await w.focused()).text, 'Cancel', 'focus starts on Cancel');
    await w.shot('certificate-changed');
    await dialog.getByRole('button', { name: 'Trust this certificate' }).click();
    await page.locator('[data-testid="site-live"]').waitFor();
    const trusted = JSON.parse(readFileSync(join(userData, 'trusted-servers.json'), 'utf8')) as Record<string, { thumbprint: string }>;
    assert.equal(trusted[name].thumbprint, renewed.thumbprint);
    assert.deepEqual(w.errors, []);
  });

  test('a folder whose tsmedia-site.json names the service and maps the distribution points: read live, the libraries readable, an ISO made', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser || !server) return;
    const userData = join(work.dir, 'user-folder');
    const folder = join(work.dir, 'live-folder');
    mkdirSync(folder);
    writeFileSync(
      join(folder, 'tsmedia-site.json'),
      JSON.stringify({
        adminService: server.url,
        distributionPoints: [
          // The service names DP01.contoso.com: the map matches the full name and the first label alike.
          { name: 'DP01.contoso.com', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP01') },
          { name: 'DP02', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP02') },
        ],
        osdBinaries: join(SAMPLE_SITE, 'OSD', 'bin'),
      }),
    );
    const served = await serve({ userDataDir: userData });
    const w = await Wizard.open(browser, served, 'live-site-folder');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const name = `127.0.0.1:${server.port}`;

    // The folder signs in as this session did to its server: before that, it asks for a user.
    await page.getByText('Open another site', { exact: true }).click();
    await page.getByRole('textbox', { name: 'Site folder to open' }).fill(folder);
    await page.getByRole('button', { name: 'Open site', exact: true }).click();
    if (process.platform !== 'win32') await page.locator('.site-box [role="alert"] [data-code="engineError.SITE_SIGN_IN_NEEDED"]').waitFor();

    await openServer(w, server.url, ADMIN, PASSWORD);
    await page.getByRole('alertdialog').getByRole('button', { name: 'Trust this certificate' }).click();
    await page.locator('[data-testid="site-live"]').waitFor();
    await page.getByRole('button', { name: 'Open site', exact: true }).click();
    await page.locator('[data-testid="site-root"]', { hasText: folder }).waitFor();
    assert.match(await page.locator('[data-testid="site-live"]').innerText(), new RegExp(name.replace(/\./g, '\\.')));
    assert.equal(await page.locator('[data-testid="site-user"]').innerText(), ADMIN);
    const dps = page.locator('.site-box .facts li');
    assert.deepEqual(await dps.allInnerTexts(), ['DP01.contoso.com', 'DP02'], 'both libraries read (no "unreadable")');
    await w.shot('live-folder');

    // The media run reads the same live site again (the session's sign-in) and the content from the mapped libraries.
    const out = join(work.dir, 'iso-live');
    mkdirSync(out);
    const { page: p } = w;
    await w.next('mediaType');
    await p.locator('#media-iso').check();
    await p.locator('input[name="media-file"]').fill(join(out, 'media.iso'));
    await w.next('security');
    await p.locator('#protect').uncheck();
    await w.next('taskSequence');
    await p.locator('#ts-SMP00010').check();
    await p.locator('[data-testid="references"]').waitFor();
    for (const pg of ['applications', 'packages', 'driverPackages', 'distributionPoints'] as const) await w.next(pg);
    await p.locator('#dp-DP01_contoso_com').check();
    await w.next('customization');
    await w.next('summary');
    await p.locator('[data-testid="disc-count"]').waitFor();
    await w.nextButton.click();
    await w.expectPage('completion', 60_000);
    await p.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.ok(existsSync(join(out, 'media.iso')));
    await w.shot('live-folder-iso');
    assert.deepEqual(w.errors, []);
  });
});
