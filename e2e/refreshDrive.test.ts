// "Refresh existing media" in the wizard (issue 20): a loop device written with `tsmedia create`, a package of it
// changed in the site, then the wizard: the drive is found to hold tsmedia media, "refresh the media on this drive" is
// offered (and shown disabled, with the reason, once another task sequence is chosen), Next on the Summary shows the
// change list while the drive is untouched (its bytes hashed, the kernel's write counter unchanged), Cancel there writes
// nothing, the refresh confirmed by naming the drive runs and Completion reports it; `tsmedia verify` passes and a new
// dry run finds nothing left to change. And the Media Type page and the change list in Spanish, with no English.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { runCli } from '../test/helpers.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from '../test/support/sites.js';
import { browserSuite, servedWizard, skipUnlessReady, Wizard } from './harness.js';
import { bytesWrittenTo, loopDevices, throttle } from './loopDevices.js';

const SIZE = 256 * 1024 * 1024;
const MiB = 1024 * 1024;
const idOf = (dev: string): string => dev.replace(/[^A-Za-z0-9]/g, '_');

/** SHA-256 of every byte of a block device. */
function hashDevice(dev: string): string {
  const h = createHash('sha256');
  const fd = openSync(dev, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * A copy of the sample site with package SMP00091 (two files), written to `dev` by `tsmedia create` for task sequence
 * SMP00010; then one of the package's files is changed in the site (a new source version), unless `change` is
 * 'environment' (then only the media's environment files differ: rewritten in place). Returns the site.
 */
async function mediaOnDrive(dir: string, dev: string, change: 'package' | 'environment' = 'package'): Promise<string> {
  const site = copySampleSite(join(dir, 'site'));
  const v1 = join(dir, 'payload-v1.bin');
  const same = join(dir, 'same.bin');
  randomFile(v1, 3 * MiB);
  randomFile(same, 2 * MiB);
  await addPackage(site, 'SMP00091', [{ relativePath: 'payload.bin', sourcePath: v1 }, { relativePath: 'same.bin', sourcePath: same }], 'Refreshed package');
  const made = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091', '--media', 'usb', '--drive', dev, '--yes-erase', dev, '--all']);
  assert.equal(made.status, 0, `${made.stdout}${made.stderr}`);
  if (change === 'environment') return site;
  const v2 = join(dir, 'payload-v2.bin');
  randomFile(v2, 3 * MiB + 4321);
  await updatePackage(site, 'SMP00091', [{ relativePath: 'payload.bin', sourcePath: v2 }, { relativePath: 'same.bin', sourcePath: same }]);
  return site;
}

/** Media Type: a USB drive, "show all drives", the loop device chosen; waits until its tsmedia media is found. */
async function chooseDrive(w: Wizard, dev: string): Promise<void> {
  const { page } = w;
  await w.next('mediaType');
  await page.locator('#media-usb').check();
  await page.locator('#show-all-drives').check();
  await page.locator(`#drive-${idOf(dev)}`).check();
  await page.locator('[data-testid="existing-media"][data-found="true"]').waitFor({ timeout: 30_000 });
}

describe('wizard: refresh the media on a drive', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('a drive holding tsmedia media: "refresh" is offered, the change list is shown before anything is written, Cancel writes nothing, the confirmed refresh writes only the change, verified', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const dev = loopDevices(t, work.dir, ['stick-refresh.img'], SIZE)?.[0];
    if (!dev) return;
    const site = await mediaOnDrive(join(work.dir), dev);
    const { w } = await servedWizard(t, browser, { userDataDir: join(work.dir, 'refresh-user'), site }, 'usb-refresh');
    const { page } = w;
    await chooseDrive(w, dev);
    const facts = await page.locator('#existing-media-facts').innerText();
    assert.match(facts, new RegExp(`^${dev} holds tsmedia media "Configuration Manager" for task sequence SMP00010 \\(Windows 11 Refresh \\(stand-alone\\)\\), made `));
    // The whole write is the default, with its erase confirmation; "refresh" is offered beside it.
    assert.equal(await page.locator('#write-whole').isChecked(), true);
    assert.equal(await page.locator('#write-refresh').isDisabled(), false);
    assert.equal(await page.locator('#confirm-drive-1').count(), 1);
    await page.locator('#write-refresh').check();
    // A refresh is confirmed in the change list's dialog, not with the erase box; there is nothing to format.
    assert.equal(await page.locator('#confirm-drive-1').count(), 0);
    assert.equal(await page.locator('#format').isVisible(), false);
    await w.expectNextEnabled();
    await w.shot('media-type-refresh');

    // The media's task sequence is chosen for it; another one makes the refresh impossible, said on both pages.
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    assert.equal(await page.locator('#ts-SMP00010').isChecked(), true, 'the media\'s task sequence is chosen');
    await page.locator('#ts-SMP00014').check();
    await w.expectBlocked(new RegExp(`The media on ${dev} is for task sequence SMP00010, not SMP00014: a refresh keeps the task sequence\\.`));
    await w.previous('security');
    await w.previous('mediaType');
    assert.equal(await page.locator('#write-refresh').isDisabled(), true);
    assert.match(await page.locator('[data-testid="refresh-unavailable"]').innerText(), /^Not available: the media on this drive is for task sequence SMP00010, not SMP00014\./);
    await w.shot('media-type-refresh-other-sequence');
    // Said here, put right on the Task Sequence page, which blocks until it is.
    await w.next('security');
    await w.next('taskSequence');
    await w.expectBlocked(/is for task sequence SMP00010, not SMP00014/);
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await w.next('applications');
    await w.next('packages');
    await page.locator('#packages-SMP00091').check();
    await w.next('driverPackages');
    await w.next('distributionPoints');
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await w.next('summary');
    assert.equal(await page.locator('[data-testid="summary-write-how"]').getAttribute('data-refresh'), 'true');
    assert.match(await page.locator('[data-testid="command-line"]').innerText(), new RegExp(`^tsmedia refresh ${dev} --site \\S+ --task-sequence SMP00010 --all `));

    // Next: the change list, and the drive untouched.
    const hashBefore = hashDevice(dev);
    const writtenBefore = bytesWrittenTo(dev);
    await w.nextButton.click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    await page.locator('[data-testid="refresh-changes"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await w.shot('refresh-change-list');
    const replaced = await page.locator('[data-testid="refresh-replaced"] tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-path'), Number(r.getAttribute('data-size'))] as const));
    assert.ok(replaced.some(([p, size]) => p === 'SMS/PKG/SMP00091/payload.bin' && size === 3 * MiB + 4321), JSON.stringify(replaced));
    assert.ok(!replaced.some(([p]) => p === 'SMS/PKG/SMP00091/same.bin'), 'an unchanged file is not replaced');
    assert.equal(await page.locator('[data-testid="refresh-added"]').count(), 0, 'nothing added');
    assert.equal(await page.locator('[data-testid="refresh-removed"]').count(), 0, 'nothing removed');
    assert.match(await page.locator('[data-testid="refresh-counts"]').innerText(), new RegExp(`^Files added: 0; replaced: ${replaced.length}; removed: 0\\. \\d+ files stay as they are \\(`));
    const bytes = page.locator('[data-testid="refresh-bytes"]');
    const toWrite = Number(await bytes.getAttribute('data-bytes'));
    const full = Number(await bytes.getAttribute('data-full'));
    assert.ok(toWrite > 3 * MiB && toWrite < full / 2, `${toWrite} bytes to write of ${full}`);
    assert.match(await bytes.innerText(), / to write, instead of .* for a whole write \(\d+\s?%\)\.$/);
    assert.equal(await page.locator('[data-testid="refresh-interrupted"]').count(), 0);
    assert.equal(await page.locator('[data-testid="refresh-rewrite"]').count(), 0, 'a changed package goes beside the old files, not in place');
    // Nothing is written before the drive is confirmed by name.
    const confirmButton = dialog.getByRole('button', { name: `Refresh ${dev}` });
    assert.equal(await confirmButton.isDisabled(), true, 'the refresh waits for the drive to be confirmed');
    assert.match(await page.locator('label[for="confirm-refresh-1"]').innerText(), new RegExp(`^Write these changes to ${dev} \\(`));
    assert.equal(bytesWrittenTo(dev), writtenBefore, 'the dry run wrote nothing to the drive');
    assert.equal(hashDevice(dev), hashBefore, 'the drive\'s bytes are unchanged by the change list');

    // Cancel: the dialog goes, the drive stays as it was.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await w.expectPage('summary');
    assert.equal(hashDevice(dev), hashBefore, 'Cancel wrote nothing');

    // Again, confirmed this time: the refresh runs, with progress, to Completion.
    await w.nextButton.click();
    await page.locator('[data-testid="refresh-changes"][data-state="ready"]').waitFor({ timeout: 60_000 });
    assert.equal(bytesWrittenTo(dev), writtenBefore);
    await page.locator('#confirm-refresh-1').check();
    await confirmButton.click();
    await w.expectPage('completion', 120_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    await w.shot('completion-refreshed');
    assert.equal(await page.locator('[data-testid="result"] > p').first().innerText(), `The media on ${dev} was refreshed.`);
    const result = page.locator('[data-testid="refresh-result"]');
    assert.equal(await result.getAttribute('data-replaced'), String(replaced.length));
    const written = Number(await result.getAttribute('data-bytes-written'));
    // The confirmed run plans again with a new media key: its encrypted Variables.dat can differ from the dry run's by
    // an AES block or two (the key's DER length varies), so the bytes written match the list shown to within 64.
    assert.ok(Math.abs(written - toWrite) <= 64 && written < full, `${written} bytes written (${toWrite} planned, ${full} whole)`);
    assert.equal(await page.locator('[data-testid="verified"]').getAttribute('data-verified'), 'true');
    assert.deepEqual(await page.locator('[data-testid="output-path"]').allInnerTexts(), [dev]);
    assert.notEqual(hashDevice(dev), hashBefore, 'the refresh wrote the drive');
    assert.deepEqual(w.errors, []);

    const v = runCli(['verify', dev]);
    assert.equal(v.status, 0, `${dev}: ${v.stdout}${v.stderr}`);
    // The drive holds the new package now: a refresh of it has nothing left to change.
    const again = runCli(['refresh', dev, '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091', '--dp', 'DP01', '--all', '--dry-run', '--json']);
    assert.equal(again.status, 0, `${again.stdout}${again.stderr}`);
    const after = JSON.parse(again.stdout.slice(again.stdout.indexOf('{'))) as { changes: { added: unknown[]; replaced: { path: string }[]; removed: unknown[]; method: string } };
    assert.ok(!after.changes.replaced.some((f) => f.path === 'SMS/PKG/SMP00091/payload.bin'), JSON.stringify(after.changes.replaced));
    assert.equal(after.changes.method, 'rewrite', 'what is left (the environment) is rewritten in place');
    assert.deepEqual([after.changes.added, after.changes.removed], [[], []]);
  });

  test('a refresh cancelled while it writes (the drive held to 300 kB/s): Completion says so, the drive holds the old media or a named in-between state, and the next refresh finishes and verifies', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const dir = join(work.dir, 'cancel');
    spawnSync('mkdir', ['-p', dir]);
    const dev = loopDevices(t, dir, ['stick-cancel.img'], SIZE)?.[0];
    if (!dev) return;
    const site = await mediaOnDrive(dir, dev);
    // Held to 300 kB/s, the refresh's 3 MiB take about ten seconds: time to cancel in the middle, however slow the
    // page is under load (at 1 MB/s a loaded machine finished the refresh before the cancel arrived).
    if (!throttle(t, [dev], 300_000)) return;
    const { w } = await servedWizard(t, browser, { userDataDir: join(dir, 'user'), site }, 'usb-refresh-cancel');
    const { page } = w;
    await chooseDrive(w, dev);
    await page.locator('#write-refresh').check();
    await w.plainToSummary({ packages: ['SMP00091'], taskSequence: null });
    await w.nextButton.click();
    const dialog = page.getByRole('alertdialog');
    await page.locator('[data-testid="refresh-changes"][data-state="ready"]').waitFor({ timeout: 60_000 });
    await page.locator('#confirm-refresh-1').check();
    await dialog.getByRole('button', { name: `Refresh ${dev}` }).click();
    await w.expectPage('progress');
    await page.locator('[data-testid="phase"][data-phase="write"]').waitFor({ timeout: 60_000 });
    // Cancelled as soon as the writing shows: the drive's own write counter moves only as the throttle lets requests
    // complete, too late to aim by. At 300 kB/s the content takes seconds; the boot sector's first switch takes
    // milliseconds, so the cancel lands inside the content (or, at worst, before the switch: the old media either way).
    await w.cancelButton.click();
    const ask = page.getByRole('alertdialog');
    await ask.waitFor();
    assert.match(await ask.innerText(), /The refresh stops\. The drive keeps the old media or the new one/);
    await ask.getByRole('button', { name: 'Yes, cancel' }).click();
    await w.expectPage('completion', 60_000);
    const result = page.locator('[data-testid="result"]');
    assert.equal(await result.getAttribute('data-result'), 'cancelled', await result.innerText());
    assert.match(await result.innerText(), /The refresh was cancelled\.[\s\S]*finishes or rolls back by itself/);
    await w.shot('completion-refresh-cancelled');
    assert.deepEqual(w.errors, []);

    // The drive: a clean volume holding the old media whole (the old payload), named as an interrupted refresh.
    const v = runCli(['verify', dev]);
    assert.equal(v.status, 0, `${dev}: ${v.stdout}${v.stderr}`);
    const named = /note: an interrupted refresh left this volume \(old-alone\): it holds the old media whole/.test(v.stdout);
    console.log(`# cancelled ${named ? 'in the old-alone state (named by verify)' : 'before the first switch'}`);
    const vol = openFat32(dev);
    try {
      assert.equal(vol.find('SMS/PKG/SMP00091/payload.bin')?.size, 3 * MiB, 'the old payload');
    } finally {
      vol.close();
    }
    const again = runCli(['refresh', dev, '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091', '--all', '--yes-refresh', dev]);
    assert.equal(again.status, 0, `${again.stdout}${again.stderr}`);
    if (named) assert.match(again.stdout, /interrupted: it is rolled back first/);
    assert.match(again.stdout, /~ SMS\/PKG\/SMP00091\/payload\.bin/);
    assert.match(again.stdout, new RegExp(`refreshed ${dev}, verified`));
    const after = runCli(['verify', dev]);
    assert.equal(after.status, 0, after.stdout);
    assert.doesNotMatch(after.stdout, /interrupted/);
  });

  test('in Spanish: the media found on the drive, the refresh option and the change list; no English sentence of the resources', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const dir = join(work.dir, 'es');
    spawnSync('mkdir', ['-p', dir]);
    const dev = loopDevices(t, dir, ['stick-es.img'], SIZE)?.[0];
    if (!dev) return;
    const site = await mediaOnDrive(dir, dev, 'environment');
    const { w } = await servedWizard(t, browser, { userDataDir: join(dir, 'user'), systemLocale: 'es-ES', site }, 'spanish-refresh', { locale: 'es-ES' });
    const { page } = w;
    const spanishOnly = (where: string): Promise<void> => w.expectNoEnglish(where);
    await page.locator('#page-heading').filter({ hasText: 'Seleccionar tipo de medio' }).waitFor();
    await chooseDrive(w, dev);
    assert.match(await page.locator('#existing-media-facts').innerText(), new RegExp(`^${dev} contiene los medios de tsmedia «Configuration Manager» para la secuencia de tareas SMP00010 `));
    assert.equal(await page.locator('label[for="write-refresh"]').innerText(), 'Actualizar los medios de esta unidad (escribir solo lo que cambió)');
    await page.locator('#write-refresh').check();
    await spanishOnly('mediaType');
    await w.shot('media-type-refresh');
    await w.plainToSummary({ packages: ['SMP00091'], taskSequence: null });
    await spanishOnly('summary');
    const hashBefore = hashDevice(dev);
    await w.nextButton.click();
    const dialog = page.getByRole('alertdialog');
    await page.locator('[data-testid="refresh-changes"][data-state="ready"]').waitFor({ timeout: 60_000 });
    assert.equal(await dialog.locator('#confirm-title').innerText(), `¿Actualizar los medios de ${dev}?`);
    assert.match(await page.locator('[data-testid="refresh-counts"]').innerText(), /^Archivos agregados: 0; reemplazados: \d+; quitados: 0\. \d+ archivos se quedan como están \(/);
    assert.match(await page.locator('[data-testid="refresh-bytes"]').innerText(), / por escribir, en lugar de .* para escribirla entera \(\d+\s?%\)\.$/);
    // Only the environment changed: its files are rewritten where they are.
    assert.match(await page.locator('[data-testid="refresh-rewrite"]').innerText(), /^Los archivos cambiados se reescriben donde están/);
    assert.equal(await dialog.getByRole('button', { name: `Actualizar ${dev}` }).isDisabled(), true);
    await spanishOnly('change list');
    await w.shot('refresh-change-list');
    await dialog.getByRole('button', { name: 'Cancelar' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(hashDevice(dev), hashBefore, 'nothing was written');
    assert.deepEqual(w.errors, []);
  });
});
