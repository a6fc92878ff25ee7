// The wizard against the running host: a run cancelled while it writes (after a confirmation) leaves the existing
// output file untouched, and the host's API refuses whatever comes without a session. And the same built page served
// as Electron serves it (the app:// protocol handler's answers, CSP header included; the API from a preload's
// window.tsmedia).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createEngineApi } from '../electron/host/EngineApi.js';
import { appProtocolResponse } from '../electron/shell/rendererFiles.js';
import { APP_ORIGIN, CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../electron/shell/security.js';
import { runCli } from '../test/helpers.js';
import { addPackage, copySampleSite, randomFile } from '../test/support/sites.js';
import { browserSuite, installPreloadBridge, RENDERER_DIR, serve, skipUnlessReady, Wizard } from './harness.js';

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('wizard: the running host', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('Cancel while writing asks first ("No" goes on), then stops the run; the existing ISO is untouched and no partial file is left', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    // A few hundred MB of content, so the write lasts long enough to be cancelled (about 2.5 s of writing here).
    const site = copySampleSite(join(work.dir, 'site'));
    const big = join(work.dir, 'big.bin');
    randomFile(big, 600 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'big.bin', sourcePath: big }], 'Big payload');
    const outDir = join(work.dir, 'out');
    mkdirSync(outDir);
    const out = join(outDir, 'media.iso');
    writeFileSync(out, 'the earlier media\n');
    const before = sha(out);

    const served = await serve({ userDataDir: join(work.dir, 'user-cancel'), site });
    const w = await Wizard.open(browser, served, 'cancel');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(out);
    await w.plainToSummary({ packages: ['SMP00099'] });
    await page.locator('[data-testid="media-check"]').waitFor();
    await w.nextButton.click();
    await w.expectPage('progress');
    await page.locator('[data-testid="phase"][data-phase="write"]').waitFor({ timeout: 30_000 });

    // "No, continue" keeps the run going.
    await w.cancelButton.click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Cancel media creation\?/);
    assert.match(await dialog.innerText(), /An existing file at the destination is left untouched/);
    assert.equal(await w.focused().then((f) => f.text), 'No, continue', 'focus starts on the safe answer');
    await dialog.getByRole('button', { name: 'No, continue' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await w.currentPage(), 'progress');
    assert.equal(await page.locator('[data-testid="phase"]').getAttribute('data-phase'), 'write', 'still writing');

    await w.cancelButton.click();
    await w.shot('progress-cancel-confirmation');
    await page.getByRole('alertdialog').getByRole('button', { name: 'Yes, cancel' }).click();
    await w.expectPage('completion', 30_000);
    const result = page.locator('[data-testid="result"]');
    assert.equal(await result.getAttribute('data-result'), 'cancelled', await result.innerText());
    assert.match(await result.innerText(), /Media creation was cancelled/);
    await w.shot('completion-cancelled');
    assert.equal(sha(out), before, 'the earlier ISO is untouched');
    assert.deepEqual(
      readdirSync(outDir).filter((f) => f !== 'media.iso' && f !== 'CreateTSMedia.log'),
      [],
      'no partial file, no second disc, no report',
    );
    assert.deepEqual(w.errors, []);
  });

  test('the page needs no session, its API does: without a code the wizard says what to open; a used code opens nothing', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const served = await serve({ userDataDir: join(work.dir, 'user-token') });
    t.after(() => served.close());
    const base = `http://127.0.0.1:${served.host.port}`;
    assert.equal((await fetch(`${base}/`)).status, 200, 'the page itself holds nothing secret');
    const api = await fetch(`${base}/api/getSiteInfo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    assert.equal(api.status, 401);
    const events = await fetch(`${base}/api/events`);
    assert.equal(events.status, 401);
    const wrong = await fetch(`${base}/api/getSiteInfo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-tsmedia-session': 'f'.repeat(64) }, body: '[]' });
    assert.equal(wrong.status, 403);

    // The browser: the address without a code gets the wizard, which says it has no session and what to open.
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    const r = await page.goto(`${base}/`);
    assert.equal(r?.status(), 200);
    await page.getByRole('alert').filter({ hasText: /no session with tsmedia\. Open the address tsmedia printed \(it holds a one-time code\)/ }).waitFor();
    assert.equal(await page.locator('[data-testid="site-root"]').count(), 0);

    // The address with a code, over that page: only its fragment changes, and the page loads again to take the code.
    const address = served.host.newUrl();
    await page.goto(address);
    await page.locator('[data-testid="site-root"]').waitFor();
    const reply = await fetch(address);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(reply.headers.get('set-cookie'), null);
    // The page's own meta tag (kept as a second line of defence) is the same policy.
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8'));
    assert.equal(meta?.[1], CONTENT_SECURITY_POLICY_META);
    assert.doesNotMatch(readFileSync(join(RENDERER_DIR, 'index.html'), 'utf8'), /<script(?![^>]*\ssrc=)[^>]*>|type="module"/, 'no inline or module script');
    assert.doesNotMatch(page.url(), /code=/, 'the code is out of the address bar');
    // The same address in another browser (or from the history) is spent: the wizard says so.
    const other = await browser.newContext();
    t.after(() => other.close());
    const otherPage = await other.newPage();
    await otherPage.goto(address);
    await otherPage.getByRole('alert').filter({ hasText: /this one-time code was already used/ }).waitFor();
    assert.equal(await otherPage.locator('[data-testid="site-root"]').count(), 0);
  });

  test('the built page as Electron serves it (the app:// handler, its CSP header), the API from a preload-like window.tsmedia: a CD/DVD set made', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const api = createEngineApi({ userDataDir: join(work.dir, 'user-file'), systemLocale: () => 'en-GB' });
    // Chromium alone cannot register app://, so every request of the page goes to a stand-in origin and is answered
    // by the app:// protocol handler itself (electron/shell/rendererFiles.ts), headers and all.
    const standIn = 'https://tsmedia.test'; // secure, as app:// is registered
    const requests: string[] = [];
    let pageCsp: string | null = null;
    const w = await Wizard.open(
      browser,
      {
        url: `${standIn}/index.html`,
        prepare: async (page) => {
          page.on('request', (r) => requests.push(r.url()));
          await page.route('**/*', async (route) => {
            const req = route.request();
            const u = new URL(req.url());
            if (u.origin !== standIn) return route.abort();
            const r = await appProtocolResponse({ url: `${APP_ORIGIN}${u.pathname}${u.search}`, method: req.method() }, RENDERER_DIR);
            if (u.pathname === '/index.html') pageCsp = r.headers.get('content-security-policy');
            await route.fulfill({ status: r.status, headers: Object.fromEntries(r.headers), body: Buffer.from(await r.arrayBuffer()) });
          });
          await installPreloadBridge(page, api);
        },
      },
      'app-protocol',
    );
    t.after(async () => {
      await w.close();
      await api.close();
    });
    assert.equal(pageCsp, CONTENT_SECURITY_POLICY, 'the page came with the CSP header');
    const out = join(work.dir, 'from-app-protocol.iso');
    await w.shot('select-media-type');
    await w.makePlainIso(out);
    await w.shot('completion');
    assert.equal(runCli(['verify', out]).status, 0);
    assert.deepEqual(w.errors, []);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(`${standIn}/`)),
      [],
      'nothing but the app\'s own files is fetched: the API goes through window.tsmedia',
    );
  });
});
