// Media started from a running Windows (issue 15), as the wizard shows it: the "Starts from" column and the analysed
// start on the Stand-Alone CD/DVD page, the OSD binaries behind autorun.inf and the i386 option on the Media Type page,
// and what the Summary and the media then hold. On the sample site (which has OSD\bin\x64 and \i386), on a copy
// without its OSD folder (refresh and upgrade refused with OSD_BINARIES_MISSING, autorun.inf not offered), and on a
// copy without the i386 folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCommand, ROOT, runCli } from '../test/helpers.js';
import { copySampleSite } from '../test/support/sites.js';
import type { Browser } from 'playwright-core';
import { browserSuite, serve, skipUnlessReady, Wizard, type Served } from './harness.js';

describe('the OSD binaries\' texts in both languages', () => {
  test('the finding\'s title and the engine codes the wizard translates (AUTORUN_NEEDS_OSD_BINARIES, OSD_BINARIES_ABSENT, OSD_BINARIES_NO_I386), with their values', () => {
    const codes: Record<string, string[]> = { AUTORUN_NEEDS_OSD_BINARIES: ['problem'], OSD_BINARIES_ABSENT: ['problem'], OSD_BINARIES_NO_I386: ['location'] };
    for (const lang of ['en', 'es']) {
      const r = JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', `${lang}.json`), 'utf8')) as { finding: Record<string, string>; engineError: Record<string, string> };
      assert.ok(r.finding.OSD_BINARIES_MISSING, `${lang}: finding.OSD_BINARIES_MISSING`);
      for (const [code, params] of Object.entries(codes)) {
        assert.ok(r.engineError[code], `${lang}: engineError.${code}`);
        for (const p of params) assert.ok(r.engineError[code].includes(`{{${p}}}`), `${lang}: engineError.${code} says {{${p}}}`);
      }
    }
  });
});

describe('wizard: media that start from Windows', () => {
  const suite = browserSuite();
  const { work } = suite;
  let n = 0;

  async function open(t: { after: (fn: () => Promise<void>) => void }, browser: Browser, name: string, site?: string): Promise<Wizard> {
    n += 1;
    const served: Served = await serve({ userDataDir: join(work.dir, `user-${n}`), site });
    const w = await Wizard.open(browser, served, name);
    t.after(async () => {
      await w.close();
      await served.close();
    });
    return w;
  }

  /** A copy of the sample site with `remove` (a path inside it) deleted. */
  function siteWithout(name: string, remove: string): string {
    const site = copySampleSite(join(work.dir, name));
    rmSync(join(site, remove), { recursive: true });
    return site;
  }

  /** Media Type (a CD/DVD set at `out`) → Security (no password) → the task sequence page. */
  async function toTaskSequence(w: Wizard, out: string): Promise<void> {
    await w.next('mediaType');
    await w.page.locator('#media-iso').check();
    await w.page.locator('input[name="media-file"]').fill(out);
    await w.next('security');
    await w.page.locator('#protect').uncheck();
    await w.next('taskSequence');
  }

  /** Chooses a task sequence and waits for its analysis (not the previous one's, still shown a moment). */
  async function choose(w: Wizard, id: string): Promise<void> {
    await w.page.locator(`#ts-${id}`).check();
    await w.page.locator(`[data-testid="start"][data-package="${id}"]`).waitFor();
    await w.page.locator('[data-testid="findings"]').waitFor();
  }

  const findingCodes = (w: Wizard): Promise<string[]> => w.page.locator('[data-testid="findings"] .finding').evaluateAll((els) => els.map((e) => String(e.getAttribute('data-code'))));

  test('sample site: the "Starts from" column; SMP00010 starts from Windows with the site\'s OSD binaries, no OSD finding; SMP00013 is booted', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const w = await open(t, browser, 'start-sample');
    const { page } = w;
    await toTaskSequence(w, join(work.dir, 'never.iso'));

    const headers = await page.locator('table.grid').first().locator('thead th').allInnerTexts();
    assert.deepEqual(headers, ['Name', 'Package ID', 'Boot image', 'Starts from', 'Status']);
    const column = async (id: string): Promise<string> => (await page.locator(`[data-testid="ts-start-${id}"]`).innerText()).trim();
    assert.equal(await column('SMP00010'), 'Windows');
    assert.equal(await column('SMP00013'), 'Boot');
    assert.equal(await column('SMP00014'), 'Windows');
    assert.match((await page.locator('#ts-help').innerText()).trim(), /Starts from: Boot, the computer boots from the media; Windows/);

    await choose(w, 'SMP00010');
    const start = page.locator('[data-testid="start"]');
    assert.equal(await start.getAttribute('data-starts-from'), 'windows');
    const startText = await start.innerText();
    assert.match(startText, /Starts from Windows: in the running Windows, open the media and run SMS\\bin\\x64\\TSMBAutorun\.exe/);
    assert.match(startText, /Scenario: refresh an existing computer\./);
    // The engine's reason, in English inside the translated frame.
    assert.match(startText, /Details: "Capture Windows Settings" runs in the full operating system before any restart into Windows PE/);
    assert.equal(await start.locator('.engine-text[lang="en"]').count(), 1);
    const osd = start.locator('[data-testid="osd-binaries"]');
    assert.equal(await osd.getAttribute('data-usable'), 'true');
    assert.match(await osd.innerText(), /OSD[/\\]bin \(the site folder's OSD\\bin\): x64, 7 files, [\d.,]+ KiB; i386, 7 files, [\d.,]+ KiB$/);
    assert.ok(!(await findingCodes(w)).includes('OSD_BINARIES_MISSING'));
    assert.match(await page.locator('[data-testid="findings"]').innerText(), /No step of this task sequence is a problem/);
    await w.expectNextEnabled();
    await w.shot('refresh');

    await choose(w, 'SMP00013');
    await page.locator('[data-testid="start"][data-starts-from="boot"]').waitFor();
    const boot = await start.innerText();
    assert.match(boot, /Starts from boot: the computer boots from the media into Windows PE\./);
    assert.match(boot, /Scenario: install on a new computer\./);
    assert.match(boot, /"Partition Disk 0 - UEFI" needs Windows PE/);
    assert.equal(await start.locator('[data-testid="osd-binaries"]').count(), 0, 'a booted medium does not need the OSD binaries');
    assert.deepEqual(await findingCodes(w), []);
    await w.expectNextEnabled();
    await w.shot('new-computer');

    await choose(w, 'SMP00014');
    await page.locator('[data-testid="start"][data-starts-from="windows"]').waitFor();
    assert.match(await start.innerText(), /Scenario: upgrade Windows in place\./);
    assert.deepEqual(w.errors, []);
  });

  test('sample site: autorun.inf and the i386 binaries offered; the Summary, the command line and the media hold them', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const w = await open(t, browser, 'start-i386');
    const { page } = w;
    const out = join(work.dir, 'i386', 'media.iso');
    mkdirSync(join(work.dir, 'i386'), { recursive: true });
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(out);
    for (const id of ['autorun', 'i386-binaries']) {
      assert.equal(await page.locator(`#${id}`).isEnabled(), true, id);
      assert.equal(await page.locator(`#${id}`).isChecked(), false, `${id} is off by default`);
      assert.equal(await page.locator(`#${id}`).getAttribute('aria-describedby'), `${id}-help`);
    }
    assert.equal(await page.getByLabel('Also include the 32-bit (i386) OSD binaries (to start from 32-bit Windows)').count(), 1);
    assert.equal(await page.locator('[data-testid="autorun-unavailable"], [data-testid="i386-unavailable"]').count(), 0);
    await page.locator('#autorun').check();
    await page.locator('#i386-binaries').check();
    await w.shot('media-type');
    await w.plainToSummary();

    const choices = page.locator('[data-testid="summary-choices"]');
    await page.locator('[data-testid="disc-count"]').waitFor();
    assert.equal((await choices.locator('[data-testid="summary-start"]').innerText()).trim(), 'Windows (refresh an existing computer)');
    assert.equal((await choices.locator('[data-testid="summary-sms-bin"]').innerText()).trim(), 'x64, i386');
    assert.equal((await choices.locator('[data-testid="summary-autorun"]').innerText()).trim(), 'Yes (it opens SMS\\bin\\i386\\TSMBAutorun.exe)');
    const cli = await page.locator('[data-testid="command-line"]').innerText();
    assert.match(cli, / --autorun( |$)/);
    assert.match(cli, / --i386-binaries( |$)/);
    await w.shot('summary');

    await w.nextButton.click();
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    // The Completion page says how the administrator starts the media just made.
    const how = page.locator('[data-testid="how-to-start"]');
    assert.equal(await how.getAttribute('data-starts-from'), 'windows');
    assert.match(await how.innerText(), /run SMS\\bin\\x64\\TSMBAutorun\.exe.*refresh an existing computer/s);
    const v = runCli(['verify', out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    if (hasCommand('7z')) {
      const list = spawnSync('7z', ['l', '-ba', out], { encoding: 'utf8' }).stdout.replace(/\\/g, '/');
      for (const f of ['SMS/bin/x64/TSMBAutorun.exe', 'SMS/bin/i386/TSMBAutorun.exe', 'SMS/bin/i386/TsmBootstrap.exe', 'autorun.inf']) assert.ok(list.includes(f), `${f} on the media: ${list}`);
      const inf = spawnSync('7z', ['e', '-so', out, 'autorun.inf'], { encoding: 'utf8' }).stdout;
      assert.match(inf, /^\[autorun\]\r\nopen=SMS\\bin\\i386\\TSMBAutorun\.exe\r\n/);
    } else await t.test('the media listing by 7z', (s) => s.skip('7z is not installed'));
    assert.deepEqual(w.errors, []);
  });

  test('a site without OSD binaries: SMP00010 refused with OSD_BINARIES_MISSING (Next blocked), SMP00013 fine; autorun.inf and i386 not offered, with the reason', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const site = siteWithout('no-osd', 'OSD');
    const w = await open(t, browser, 'start-no-osd', site);
    const { page } = w;
    assert.equal(await page.locator('[data-testid="site-root"] code').innerText(), site);
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'never.iso'));

    const autorun = page.locator('#autorun');
    assert.equal(await autorun.isDisabled(), true);
    assert.equal(await autorun.isChecked(), false);
    assert.equal(await autorun.getAttribute('aria-describedby'), 'autorun-help autorun-unavailable');
    const why = await page.locator('#autorun-unavailable').innerText();
    assert.match(why, /^Not available: autorun\.inf opens SMS\\bin\\x64\\TSMBAutorun\.exe, which comes from the site server's OSD binaries, and this site has none usable\./);
    assert.match(why, /Details: the site has no OSD\\bin folder and tsmedia-site\.json names none\./, 'the engine names the problem');
    const i386 = page.locator('#i386-binaries');
    assert.equal(await i386.isDisabled(), true);
    assert.match(await page.locator('#i386-binaries-unavailable').innerText(), /^Not available: this site has no usable OSD binaries\.$/);
    assert.match(String(await i386.getAttribute('aria-describedby')), /\bi386-binaries-unavailable\b.*\bautorun-unavailable\b/, 'the problem is read out for it too');
    await w.expectNextEnabled();
    await w.shot('media-type');
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');

    assert.match(await page.locator('[data-testid="ts-row-SMP00010"]').innerText(), /1 finding/);
    await choose(w, 'SMP00010');
    await page.locator('[data-testid="findings"] .finding[data-code="OSD_BINARIES_MISSING"]').waitFor();
    assert.deepEqual(await findingCodes(w), ['OSD_BINARIES_MISSING']);
    const finding = page.locator('[data-testid="findings"] .finding[data-code="OSD_BINARIES_MISSING"]');
    assert.match(await finding.getAttribute('class') ?? '', /\berror\b/);
    const text = await finding.innerText();
    assert.equal(await finding.locator('.severity').textContent(), 'Error');
    assert.equal(await finding.locator('strong').first().textContent(), 'The task sequence starts from Windows, and the site has no OSD binaries to start it with');
    assert.match(text, /— step "Capture Windows Settings"/);
    assert.match(text, /SMS\\bin\\x64\\TSMBAutorun\.exe, which comes from the site server's OSD\\bin folder/);
    assert.equal(await page.locator('#acknowledge').count(), 0, 'an error is not acknowledged away');
    await w.expectBlocked(/The task sequence has 1 error: it cannot be put on stand-alone media/);
    const osd = page.locator('[data-testid="start"] [data-testid="osd-binaries"]');
    assert.equal(await osd.getAttribute('data-usable'), 'false');
    assert.match(await osd.innerText(), /^None usable: media made from this site cannot be started from Windows\. Details: the site has no OSD\\bin folder/);
    await w.shot('refresh-refused');

    await choose(w, 'SMP00013');
    await page.locator('[data-testid="start"][data-starts-from="boot"]').waitFor();
    assert.deepEqual(await findingCodes(w), []);
    await w.expectNextEnabled();
    await w.shot('new-computer');
    assert.deepEqual(w.errors, []);
  });

  test('autorun.inf and i386 ticked, then a site without OSD binaries opened: both are dropped, and the Summary says so', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const site = siteWithout('no-osd-later', 'OSD');
    const w = await open(t, browser, 'start-site-switch');
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'switch.iso'));
    await page.locator('#autorun').check();
    await page.locator('#i386-binaries').check();
    await w.previous('selectMediaType');
    await page.locator('details summary').click();
    await page.getByLabel('Site folder to open', { exact: true }).fill(site);
    await page.getByRole('button', { name: 'Open site', exact: true }).click();
    await page.locator('[data-testid="site-root"] code').filter({ hasText: site }).waitFor();
    await w.next('mediaType');
    assert.equal(await page.locator('#autorun').isChecked(), false);
    assert.equal(await page.locator('#i386-binaries').isChecked(), false);
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await choose(w, 'SMP00013');
    for (const p of ['applications', 'packages', 'driverPackages', 'distributionPoints'] as const) await w.next(p);
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await w.next('summary');
    const choices = page.locator('[data-testid="summary-choices"]');
    assert.equal((await choices.locator('[data-testid="summary-start"]').innerText()).trim(), 'Boot (install on a new computer)');
    assert.equal((await choices.locator('[data-testid="summary-sms-bin"]').innerText()).trim(), 'None: the site has no usable OSD binaries');
    assert.equal((await choices.locator('[data-testid="summary-autorun"]').innerText()).trim(), 'No');
    const cli = await page.locator('[data-testid="command-line"]').innerText();
    assert.ok(!cli.includes('--autorun') && !cli.includes('--i386-binaries'), cli);
    assert.deepEqual(w.errors, []);
  });

  test('a site whose OSD binaries have no i386 folder: autorun.inf offered, i386 not, naming the folder', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const site = siteWithout('no-i386', join('OSD', 'bin', 'i386'));
    const w = await open(t, browser, 'start-no-i386', site);
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    assert.equal(await page.locator('#autorun').isEnabled(), true);
    assert.equal(await page.locator('#i386-binaries').isDisabled(), true);
    assert.equal(await page.locator('#i386-binaries').getAttribute('aria-describedby'), 'i386-binaries-help i386-binaries-unavailable');
    assert.equal(
      (await page.locator('#i386-binaries-unavailable').innerText()).trim(),
      `Not available: ${join(site, 'OSD', 'bin')} has no i386 folder. Copy the site server's OSD\\bin\\i386 there to offer this option.`,
    );
    await w.shot('media-type');
    assert.deepEqual(w.errors, []);
  });

  test('in Spanish: the column, the start, the refused task sequence and the autorun.inf reason', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const site = siteWithout('no-osd-es', 'OSD');
    n += 1;
    const served = await serve({ userDataDir: join(work.dir, `user-${n}`), site, systemLocale: 'es-ES' });
    const w = await Wizard.open(browser, served, 'start-es', { locale: 'es-ES' });
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    assert.match(await page.locator('#autorun-unavailable').innerText(), /^No disponible: autorun\.inf abre SMS\\bin\\x64\\TSMBAutorun\.exe/);
    assert.match(await page.locator('label[for="i386-binaries"]').innerText(), /^Incluir también los binarios de OSD de 32 bits \(i386\)/);
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'nunca.iso'));
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    assert.ok((await page.locator('table.grid').first().locator('thead th').allInnerTexts()).includes('Se inicia desde'));
    assert.equal((await page.locator('[data-testid="ts-start-SMP00013"]').innerText()).trim(), 'Arranque');
    await choose(w, 'SMP00010');
    await page.locator('[data-testid="findings"] .finding[data-code="OSD_BINARIES_MISSING"]').waitFor();
    assert.equal(
      await page.locator('.finding[data-code="OSD_BINARIES_MISSING"] strong').first().textContent(),
      'La secuencia de tareas se inicia desde Windows y el sitio no tiene binarios de OSD para iniciarla',
    );
    assert.match(await page.locator('[data-testid="start"]').innerText(), /Se inicia desde Windows: .*Escenario: renovar un equipo existente\./s);
    await w.expectBlocked(/La secuencia de tareas tiene 1 error/);
    await w.shot('refresh-refused');
    assert.deepEqual(w.errors, []);
  });
});
