// "Write several drives" in the wizard (issue 19): off by default (one drive, chosen with a radio button); when on, two
// loop devices are ticked, each confirmed on its own, named by a last dialog, written in one run, and each reported
// on the Completion page, then checked by `tsmedia verify`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { formatDriveSize } from '../shared/drives.js';
import { hasCommand, runCli } from '../test/helpers.js';
import { addPackage, copySampleSite, randomFile } from '../test/support/sites.js';
import { browserSuite, serve, skipUnlessReady, Wizard } from './harness.js';

const SIZE = 256 * 1024 * 1024;
const idOf = (dev: string): string => dev.replace(/[^A-Za-z0-9]/g, '_');

/** Loop devices of `size` bytes on files in `dir`, detached when the test ends; null (the test skipped) without root. */
function loopDevices(t: TestContext, dir: string, names: string[], size: number): string[] | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !hasCommand('losetup')) {
    t.skip('needs root and losetup (loop devices stand in for the drives)');
    return null;
  }
  const devs: string[] = [];
  t.after(() => {
    for (const d of devs) spawnSync('losetup', ['-d', d]);
  });
  for (const name of names) {
    const backing = join(dir, name);
    writeFileSync(backing, '');
    truncateSync(backing, size);
    const lo = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    devs.push(lo.stdout.trim());
  }
  return devs;
}

describe('wizard: several drives in one run', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('two loop devices ticked with "write several drives", each confirmed, named by the dialog, two results on Completion; one drive stays the default', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const devs = loopDevices(t, work.dir, ['stick-a.img', 'stick-b.img'], SIZE);
    if (!devs) return;
    const [a, b] = devs;
    const served = await serve({ userDataDir: join(work.dir, 'several-user') });
    const w = await Wizard.open(browser, served, 'usb-several');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    await page.locator('#show-all-drives').check();
    const boxA = page.locator(`#drive-${idOf(a)}`);
    const boxB = page.locator(`#drive-${idOf(b)}`);
    await boxA.waitFor();

    // The default: one drive, a single choice.
    assert.equal(await page.locator('#several-drives').isChecked(), false, '"write several drives" is off by default');
    assert.equal(await boxA.getAttribute('type'), 'radio');
    assert.equal(await page.locator('#format').isDisabled(), false);

    await page.locator('#several-drives').check();
    assert.equal(await boxA.getAttribute('type'), 'checkbox');
    await w.expectBlocked(/Tick at least one drive/);
    await boxA.check();
    await boxB.check();
    // Hidden again (no "show all drives"), a ticked drive is named and can be unticked; it is not written unseen.
    await page.locator('#show-all-drives').uncheck();
    await w.expectBlocked(new RegExp(`${b} is no longer connected`));
    await page.getByRole('button', { name: `Untick ${b}` }).click();
    await page.locator('#show-all-drives').check();
    await boxA.waitFor();
    assert.equal(await boxA.isChecked(), true);
    assert.equal(await boxB.isChecked(), false);
    await boxB.check();
    // Each drive keeps its own confirmation (a virtual drive: one each), and Next waits for both.
    await w.expectBlocked(new RegExp(`Confirm that ${a} may be erased[\\s\\S]*Confirm that ${b} may be erased`));
    assert.equal(await page.locator('fieldset.confirmations input[type="checkbox"]').count(), 2);
    await page.locator(`#confirm-${idOf(a)}-1`).check();
    await w.expectBlocked(new RegExp(`Confirm that ${b} may be erased`));
    await page.locator(`#confirm-${idOf(b)}-1`).check();
    // Several drives are always formatted: the option shows it and cannot be changed.
    assert.equal(await page.locator('#format').isChecked(), true);
    assert.equal(await page.locator('#format').isDisabled(), true);
    await w.shot('media-type-several-drives');
    await w.plainToSummary();
    assert.ok((await page.locator('[data-testid="command-line"]').innerText()).includes(`--media usb --drive ${a} --drive ${b} --all`));
    assert.equal(await page.locator('[data-testid="summary-drives"]').innerText(), `${a}, ${b}`);

    // The last question names every drive: its device and size; "No" writes nothing.
    await w.nextButton.click();
    const dialog = page.locator('[role="alertdialog"]');
    await dialog.waitFor();
    const listed = page.locator('[data-testid="erase-drives"] li');
    assert.deepEqual(await listed.evaluateAll((els) => els.map((e) => e.getAttribute('data-device'))), [a, b]);
    for (const d of devs) assert.match(await page.locator(`[data-testid="erase-drives"] li[data-device="${d}"]`).innerText(), new RegExp(`${formatDriveSize(SIZE)}[\\s\\S]*${d}$`));
    await w.shot('confirm-erase-two-drives');
    await dialog.getByRole('button', { name: 'No' }).click();
    await dialog.waitFor({ state: 'detached' });
    await w.expectPage('summary');
    await w.nextButton.click();
    await dialog.getByRole('button', { name: 'Yes, erase these 2 drives' }).click();

    await w.expectPage('completion', 120_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    const results = page.locator('[data-testid="drive-result"]');
    assert.equal(await results.count(), 2);
    for (const d of devs) {
      const r = page.locator(`[data-testid="drive-result"][data-device="${d}"]`);
      assert.equal(await r.getAttribute('data-status'), 'written', await r.innerText());
      assert.equal(await r.getAttribute('data-verified'), 'true');
    }
    assert.equal(await page.locator('[data-testid="verified"]').getAttribute('data-verified'), 'true');
    assert.match(await page.locator('[data-testid="verified"]').innerText(), /2 of 2 drives written were read back and match/);
    await w.shot('completion-two-drives');
    assert.deepEqual(w.errors, []);
    for (const d of devs) {
      const v = runCli(['verify', d]);
      assert.equal(v.status, 0, `${d}: ${v.stdout}${v.stderr}`);
    }
  });

  test('the Progress page: a row per drive with its own bytes, speed, time left and state; its Cancel stops that drive only, the other is written', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const devs = loopDevices(t, work.dir, ['slow-a.img', 'slow-b.img'], 2 * SIZE);
    if (!devs) return;
    const [a, b] = devs;
    // A package of a few hundred MB, so the drives are still being written when Cancel is pressed.
    const site = copySampleSite(join(work.dir, 'site-big'));
    const big = join(work.dir, 'big.bin');
    randomFile(big, 300 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'big.bin', sourcePath: big }], 'Big package');
    const served = await serve({ userDataDir: join(work.dir, 'cancel-user'), site });
    const w = await Wizard.open(browser, served, 'usb-several-cancel');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    await page.locator('#show-all-drives').check();
    await page.locator('#several-drives').check();
    for (const d of devs) {
      await page.locator(`#drive-${idOf(d)}`).check();
      await page.locator(`#confirm-${idOf(d)}-1`).check();
    }
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await w.next('applications');
    await w.next('packages');
    await page.locator('#packages-SMP00099').check();
    await w.next('driverPackages');
    await w.next('distributionPoints');
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await w.next('summary');
    await w.nextButton.click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Yes, erase these 2 drives' }).click();
    await w.expectPage('progress');
    const rows = page.locator('[data-testid="drive-progress"] tbody tr');
    await page.locator(`[data-testid="drive-progress"] tr[data-device="${b}"][data-state="writing"]`).waitFor({ timeout: 60_000 });
    assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-device'))), [a, b]);
    assert.match(await rows.first().innerText(), /of 30\d(\.\d+)? MiB/, 'the drive\'s own bytes');
    await w.shot('progress-two-drives');
    await page.getByRole('button', { name: `Cancel ${b} only` }).click();

    await w.expectPage('completion', 120_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    await w.shot('completion-one-cancelled');
    const status = async (d: string): Promise<[string | null, string | null]> => {
      const r = page.locator(`[data-testid="drive-result"][data-device="${d}"]`);
      return [await r.getAttribute('data-status'), await r.getAttribute('data-verified')];
    };
    assert.deepEqual(await status(a), ['written', 'true']);
    assert.deepEqual(await status(b), ['cancelled', 'false']);
    assert.match(await page.locator('[data-testid="result"]').innerText(), /1 of 2 drives were written/);
    assert.match(await page.locator('[data-testid="verified"]').innerText(), /1 of 1 drive written was read back and matches/);
    assert.deepEqual(w.errors, []);
    const v = runCli(['verify', a]);
    assert.equal(v.status, 0, `${a}: ${v.stdout}${v.stderr}`);
  });
});
