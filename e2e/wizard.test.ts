// The whole wizard clicked through on the sample site, as a user would: a CD/DVD set, a USB image file (replacing a
// file only after asking by name) and a drive (a loop device) made through the loopback host, each then checked by
// `tsmedia verify`. Every page is photographed (test-results/e2e/).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hasCommand, runCli } from '../test/helpers.js';
import { assertFsckClean, fsckVolume, missingFatTools, mtoolsCopyAll, sha256File } from '../test/support/fat32Tools.js';
import { browserSuite, serve, skipUnlessReady, Wizard } from './harness.js';

/** Where the FAT32 partition starts on a drive tsmedia formats. */
const PARTITION = 1024 * 1024;

describe('wizard: the whole way through on the sample site', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('a CD/DVD set: every page, the report preview and command line, an answer file, then tsmedia verify', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const served = await serve({ userDataDir: join(work.dir, 'iso-user') });
    const w = await Wizard.open(browser, served, 'iso');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const out = join(work.dir, 'out', 'media.iso');
    mkdirSync(join(work.dir, 'out'), { recursive: true });

    // Select Media Type
    await page.locator('#unattended').check();
    await w.shot('select-media-type');
    await w.next('mediaType');

    // Media Type: nothing chosen yet, so Next says why.
    await w.expectBlocked(/Choose a removable USB drive or a CD\/DVD set/);
    await page.locator('#media-iso').check();
    await page.locator('#disc-size').selectOption('cd650');
    await w.expectBlocked(/Enter the media file/);
    await page.locator('input[name="media-file"]').fill(out);
    await page.locator('#media-label').fill('Contoso: bad');
    await w.expectBlocked(/The media label is not valid/);
    await page.locator('#media-label').fill('Contoso Windows 11');
    await w.shot('media-type-iso');
    await w.next('security');

    // Security
    await page.locator('#password').fill('Str0ng-Passw0rd!');
    await page.locator('#password-confirm').fill('Str0ng-Passw0rd!');
    await page.locator('#start-date').fill('2026-01-01');
    await page.locator('#expire-date').fill('2036-12-31');
    assert.match(await page.locator('#password-strength').innerText(), /strong/i);
    await w.shot('security');
    await w.next('taskSequence');

    // Task sequence: the referenced content is listed once the analysis is in.
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    const refs = await page.locator('[data-testid="references"] tbody tr').allInnerTexts();
    assert.ok(refs.some((r) => r.includes('SMP00002') && r.includes('Windows 11 Enterprise')), refs.join('\n'));
    assert.ok(refs.some((r) => r.includes('SMP00007')), 'the dependency of Contoso Reader is listed');
    assert.match(await page.locator('[data-testid="findings"]').innerText(), /No step of this task sequence is a problem/);
    await w.shot('task-sequence');
    await w.next('applications');
    await w.shot('applications');
    await w.next('packages');
    await w.shot('packages');
    await w.next('driverPackages');
    await w.shot('driver-packages');
    await w.next('distributionPoints');

    // Distribution points
    await w.expectBlocked(/Choose at least one distribution point/);
    await page.locator('#dp-DP01').check();
    await w.shot('distribution-points');
    await w.next('customization');

    // Customization: a variable, a secret one, the name checked as it is typed, a prestart command.
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('[data-testid="variable-row-1"] input[type="text"]').first().fill('_SMSTSBad');
    await w.expectBlocked(/Variable 1: the name is not valid/);
    assert.match(await page.locator('[data-testid="variable-row-1"]').innerText(), /read-only and set by ConfigMgr/);
    await page.locator('[data-testid="variable-row-1"] input[type="text"]').first().fill('OSDComputerName');
    await page.locator('[data-testid="variable-row-1"] td').nth(1).locator('input').fill('PC-0001');
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.locator('[data-testid="variable-row-2"] input[type="text"]').first().fill('JoinPassword');
    await page.locator('[data-testid="variable-row-2"] input[type="checkbox"]').check();
    await page.locator('[data-testid="variable-row-2"] td').nth(1).locator('input').fill('s3cret-value');
    assert.equal(await page.locator('[data-testid="variable-row-2"] td').nth(1).locator('input').getAttribute('type'), 'password');
    await page.locator('#prestart').check();
    await page.locator('#prestart-command').fill('cmd /c echo ready');
    await w.shot('customization');
    await w.next('summary');

    // Summary: every choice, the report preview with one disc, the command line, the answer file.
    await page.locator('[data-testid="disc-count"]').waitFor();
    assert.match(await page.locator('[data-testid="disc-count"]').innerText(), /^1 disc is needed/);
    const choices = await page.locator('[data-testid="summary-choices"]').innerText();
    for (const s of ['CD/DVD set', 'Contoso Windows 11', 'SMP00010', 'DP01', 'OSDComputerName=PC-0001', 'JoinPassword=********', 'cmd /c echo ready', '2036-12-31']) assert.ok(choices.includes(s), `${s} in ${choices}`);
    assert.ok(!choices.includes('s3cret-value') && !choices.includes('Str0ng-Passw0rd!'), 'no secret on the page');
    const report = await page.locator('[data-testid="report-packages"]').innerText();
    for (const id of ['SMP00001', 'SMP00002', 'SMP00005', 'SMP00007']) assert.ok(report.includes(id), id);
    const cli = await page.locator('[data-testid="command-line"]').innerText();
    assert.match(cli, /^tsmedia create /);
    for (const s of ['--task-sequence SMP00010', '--media iso', '--size cd650', `--out ${out}`, '--dp DP01', '--unattended', '--password-file', "--label 'Contoso Windows 11'", '--var OSDComputerName=PC-0001', '--secret-var JoinPassword=@']) assert.ok(cli.includes(s), `${s} in ${cli}`);
    assert.ok(!cli.includes('s3cret-value') && !cli.includes('Str0ng-Passw0rd!'));
    const answers = join(work.dir, 'out', 'answers.json');
    await page.getByLabel('Answer file', { exact: true }).fill(answers);
    await page.getByRole('button', { name: 'Save answer file' }).click();
    await page.locator('[data-testid="answers-saved"].ok').waitFor();
    const saved = JSON.parse(readFileSync(answers, 'utf8')) as Record<string, unknown>;
    assert.equal(saved.format, 'tsmedia-answers/1');
    assert.equal(saved.taskSequence, 'SMP00010');
    assert.equal(saved.size, 'cd650');
    assert.ok(!readFileSync(answers, 'utf8').includes('s3cret-value') && !readFileSync(answers, 'utf8').includes('Str0ng-Passw0rd!'));
    await w.shot('summary');

    // Progress, then Completion.
    await w.nextButton.click();
    await w.expectPage('progress').catch(() => undefined);
    await w.shot('progress');
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.equal(await page.locator('[data-testid="verified"]').getAttribute('data-verified'), 'true');
    assert.deepEqual(await page.locator('[data-testid="output-path"]').allInnerTexts(), [out]);
    assert.match(await page.locator('main').innerText(), /CreateTSMedia\.log/);
    await w.shot('completion');
    assert.deepEqual(w.errors, []);

    assert.ok(statSync(out).size > 0);
    const v = runCli(['verify', out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  test('USB media on an image file: drive list, image path and size, then tsmedia verify', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const served = await serve({ userDataDir: join(work.dir, 'usb-user') });
    const w = await Wizard.open(browser, served, 'usb');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const img = join(work.dir, 'usb.img');
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    // The live drive list (whatever this machine has) and "show all drives".
    await page.locator('fieldset.drives').waitFor();
    await w.expectBlocked(/Choose a drive/);
    await page.locator('#show-all-drives').check();
    await w.shot('media-type-usb-drives');
    await page.locator('#usb-target-image').check();
    await page.getByLabel('Image file', { exact: true }).fill(img);
    await w.expectBlocked(/Enter the size of the image/);
    await page.locator('#image-size').fill('128');
    await page.locator('#image-unit').selectOption('MiB');
    assert.ok(await page.locator('#format').isChecked(), '"Format removable USB drive (FAT32) and make bootable" is on by default');
    await w.shot('media-type-usb-image');
    await w.next('security');
    await page.locator('#protect').uncheck();
    assert.match(await page.locator('[data-testid="no-password-warning"]').innerText(), /can be read by anyone who has the media/);
    await w.shot('security-no-password');
    await w.next('taskSequence');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await w.next('applications');
    await w.next('packages');
    await w.next('driverPackages');
    await w.next('distributionPoints');
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await w.next('summary');
    // Back to Media Type: the 4 GiB check is now shown there, and nothing entered was lost.
    for (const p of ['customization', 'distributionPoints', 'driverPackages', 'packages', 'applications', 'taskSequence', 'security', 'mediaType'] as const) await w.previous(p);
    assert.equal(await page.getByLabel('Image file', { exact: true }).inputValue(), img);
    assert.equal(await page.locator('#image-size').inputValue(), '128');
    await page.locator('[data-testid="fat32-ok"]').waitFor();
    await w.shot('media-type-usb-checked');
    for (const p of ['security', 'taskSequence', 'applications', 'packages', 'driverPackages', 'distributionPoints', 'customization', 'summary'] as const) await w.next(p);
    assert.ok(await page.locator('#dp-DP01').count() === 0);
    const cli = await page.locator('[data-testid="command-line"]').innerText();
    assert.ok(cli.includes(`--media usb --image ${img} --image-size ${128 * 1024 * 1024}`), cli);
    await w.shot('summary-usb');
    // A file of that name that is no tsmedia image: the engine refuses to replace it until the user names it, and the
    // wizard asks by name. "No" leaves it as it is; "Yes" replaces it.
    writeFileSync(img, 'not an image\n');
    await w.nextButton.click();
    const ask = page.getByRole('alertdialog');
    await ask.waitFor();
    assert.equal(await ask.locator('#confirm-title').innerText(), `Replace ${img}?`);
    assert.match(await ask.innerText(), /exists and is not a USB image made by tsmedia/);
    await w.shot('replace-image-question');
    await ask.getByRole('button', { name: 'No' }).click();
    assert.match(await page.locator('[data-testid="start-error"]').innerText(), /is not a USB image made by tsmedia: it is replaced only when you confirm it by name/);
    assert.equal(await w.currentPage(), 'summary');
    assert.equal(readFileSync(img, 'utf8'), 'not an image\n', 'left as it was');
    await w.nextButton.click();
    await ask.waitFor();
    await ask.getByRole('button', { name: 'Yes, replace this file' }).click();
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.equal(await page.locator('[data-testid="verified"]').getAttribute('data-verified'), 'true');
    await w.shot('completion-usb');
    assert.deepEqual(w.errors, []);
    assert.equal(statSync(img).size, 128 * 1024 * 1024);
    assert.ok(existsSync(img));
    const v = runCli(['verify', img]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
  test('USB media on a drive (a loop device): listed with "show all drives", confirmed as often as the rule says, written and verified', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    if (process.platform !== 'linux' || process.getuid?.() !== 0 || !hasCommand('losetup')) {
      t.skip('needs root and losetup (a loop device stands in for the drive)');
      return;
    }
    const backing = join(work.dir, 'stick.img');
    writeFileSync(backing, '');
    truncateSync(backing, 256 * 1024 * 1024);
    const lo = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    const dev = lo.stdout.trim();
    const served = await serve({ userDataDir: join(work.dir, 'drive-user') });
    const w = await Wizard.open(browser, served, 'usb-drive');
    t.after(async () => {
      await w.close();
      await served.close();
      spawnSync('losetup', ['-d', dev]);
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    const radio = page.locator(`#drive-${dev.replace(/[^A-Za-z0-9]/g, '_')}`);
    assert.equal(await radio.count(), 0, 'a virtual drive is not listed without "show all drives"');
    await page.locator('#show-all-drives').check();
    await radio.check();
    await w.expectBlocked(new RegExp(`Confirm that ${dev} may be erased`));
    // A virtual drive: one confirmation, naming it (the engine counts the same).
    assert.equal(await page.locator('fieldset.confirmations input[type="checkbox"]').count(), 1);
    await page.locator('#confirm-drive-1').check();
    await w.shot('media-type-drive-confirmed');
    await w.plainToSummary();
    assert.ok((await page.locator('[data-testid="command-line"]').innerText()).includes(`--media usb --drive ${dev} --all`));
    await w.nextButton.click();
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.equal(await page.locator('[data-testid="verified"]').getAttribute('data-verified'), 'true');
    assert.deepEqual(w.errors, []);
    const v = runCli(['verify', dev]);
    assert.equal(v.status, 0, v.stdout + v.stderr);

    // Read back by others than tsmedia: fsck.fat finds nothing wrong, and every file the manifest lists comes out of
    // the drive through mtools with its size and SHA-256.
    const missing = missingFatTools();
    if (missing.length) {
      await t.test('the drive read by fsck.fat and mtools', (s) => s.skip(`missing ${missing.join(', ')}`));
      return;
    }
    assertFsckClean(fsckVolume(dev, PARTITION, work.dir), dev);
    const out = join(work.dir, 'drive-files');
    mkdirSync(out);
    mtoolsCopyAll(dev, PARTITION, out);
    const manifest = JSON.parse(readFileSync(join(out, 'SMS', 'data', 'tsmedia-manifest.json'), 'utf8')) as { files: { path: string; size: number; sha256: string }[] };
    assert.ok(manifest.files.length >= 10, `${manifest.files.length} files in the manifest`);
    for (const f of manifest.files) {
      const p = join(out, ...f.path.split('/'));
      assert.equal(statSync(p).size, f.size, f.path);
      assert.equal(sha256File(p), f.sha256.toLowerCase(), f.path);
    }
  });
});
