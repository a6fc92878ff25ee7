// "Write several drives" in the wizard (issue 19): off by default (one drive, chosen with a radio button); when on, two
// loop devices are ticked, each confirmed on its own, named by a last dialog, written in one run, and each reported
// on the Completion page, then checked by `tsmedia verify`. A drive made read-only while it is written fails on its own,
// named with its cause, while the others are written and verified; a drive cancelled alone ends cancelled. And the
// same screens in Spanish, with no English sentence of the resources left on them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { formatDriveSize } from '../shared/drives.js';
import { runCli } from '../test/helpers.js';
import { addPackage, copySampleSite, randomFile } from '../test/support/sites.js';
import { browserSuite, servedWizard, skipUnlessReady, Wizard } from './harness.js';
import { bytesWrittenTo, loopDevices } from './loopDevices.js';

const SIZE = 256 * 1024 * 1024;
const idOf = (dev: string): string => dev.replace(/[^A-Za-z0-9]/g, '_');

/**
 * Makes `dev` read-only (blockdev --setro) once `afterBytes` more have been written to it: the write runs in this
 * process (the loopback host's engine), on its writer threads, so a timer here watches the device's own counter.
 * `injectedAt()` is the bytes written when it was done, or null (the run wrote less, or the command failed).
 */
function readOnlyAfter(t: TestContext, dev: string, afterBytes: number): { injectedAt(): number | null; failure(): string | null } {
  const base = bytesWrittenTo(dev);
  let at: number | null = null;
  let failure: string | null = null;
  const timer = setInterval(() => {
    const n = bytesWrittenTo(dev) - base;
    if (n < afterBytes) return;
    clearInterval(timer);
    const r = spawnSync('blockdev', ['--setro', dev], { encoding: 'utf8' });
    if (r.status === 0) at = n;
    else failure = `blockdev --setro ${dev}: ${r.status} ${r.stderr}`;
  }, 2);
  t.after(() => clearInterval(timer));
  return { injectedAt: () => at, failure: () => failure };
}

/** The drive's result line on the Completion page: its status, whether verified, and its text. */
async function driveResult(page: Wizard['page'], dev: string): Promise<{ status: string | null; verified: string | null; text: string }> {
  const r = page.locator(`[data-testid="drive-result"][data-device="${dev}"]`);
  return { status: await r.getAttribute('data-status'), verified: await r.getAttribute('data-verified'), text: await r.innerText() };
}

describe('wizard: several drives in one run', () => {
  const suite = browserSuite();
  const { work } = suite;
  // One site with a package of a few hundred MB, made once for the tests that need the drives still being written.
  let bigSite: Promise<string> | null = null;
  const siteWithBigPackage = (): Promise<string> =>
    (bigSite ??= (async () => {
      const site = copySampleSite(join(work.dir, 'site-big'));
      const big = join(work.dir, 'big.bin');
      randomFile(big, 300 * 1024 * 1024);
      await addPackage(site, 'SMP00099', [{ relativePath: 'big.bin', sourcePath: big }], 'Big package');
      return site;
    })());
  /** From Media Type (several drives ticked and confirmed) to Summary, with the big package. */
  const bigToSummary = (w: Wizard): Promise<void> => w.plainToSummary({ packages: ['SMP00099'] });
  /** From the first page to Media Type with "write several drives" on and each of `devs` ticked and confirmed once. */
  const tickDrives = async (w: Wizard, devs: string[]): Promise<void> => {
    await w.next('mediaType');
    await w.page.locator('#media-usb').check();
    await w.page.locator('#show-all-drives').check();
    await w.page.locator('#several-drives').check();
    for (const d of devs) {
      await w.page.locator(`#drive-${idOf(d)}`).check();
      await w.page.locator(`#confirm-${idOf(d)}-1`).check();
    }
  };

  test('two loop devices ticked with "write several drives", each confirmed, named by the dialog, two results on Completion; one drive stays the default', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const devs = loopDevices(t, work.dir, ['stick-a.img', 'stick-b.img'], SIZE);
    if (!devs) return;
    const [a, b] = devs;
    const { w } = await servedWizard(t, browser, { userDataDir: join(work.dir, 'several-user') }, 'usb-several');
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
    assert.equal(await page.locator('[data-testid="result"] > p').first().getAttribute('class'), 'ok', 'every drive written: a plain success');
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
    const site = await siteWithBigPackage();
    const { w } = await servedWizard(t, browser, { userDataDir: join(work.dir, 'cancel-user'), site }, 'usb-several-cancel');
    const { page } = w;
    await tickDrives(w, devs);
    await bigToSummary(w);
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

  test('three drives ticked, the second made read-only mid-write: it fails on its own, named with its device and cause; the other two are written and verified', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const devs = loopDevices(t, work.dir, ['fail-a.img', 'fail-b.img', 'fail-c.img'], 2 * SIZE);
    if (!devs) return;
    const [a, lost, c] = devs;
    const site = await siteWithBigPackage();
    const { w } = await servedWizard(t, browser, { userDataDir: join(work.dir, 'fail-user'), site }, 'usb-several-failed');
    const { page } = w;
    await tickDrives(w, devs);
    await bigToSummary(w);
    assert.equal(await page.locator('[data-testid="summary-drives"]').innerText(), devs.join(', '));
    await w.nextButton.click();
    // The drive goes read-only once 24 MiB of the write (about 300 MiB) have reached it.
    const fault = readOnlyAfter(t, lost, 24 * 1024 * 1024);
    await page.getByRole('alertdialog').getByRole('button', { name: 'Yes, erase these 3 drives' }).click();
    await w.expectPage('progress');

    await w.expectPage('completion', 180_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    await w.shot('completion-one-failed');
    assert.equal(fault.failure(), null);
    const at = fault.injectedAt();
    assert.ok(at !== null, `${lost} was made read-only while it was written`);
    console.log(`# ${lost} made read-only after ${(at / 1024 / 1024).toFixed(1)} MiB written to it`);
    assert.equal(await page.locator('[data-testid="drive-result"]').count(), 3);
    assert.deepEqual(await page.locator('[data-testid="drive-result"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-device'))), devs, 'in the order ticked');
    for (const d of [a, c]) {
      const r = await driveResult(page, d);
      assert.deepEqual([r.status, r.verified], ['written', 'true'], r.text);
      assert.match(r.text, /written \([\d.]+ MiB\) and verified: every file was read back and matches\./);
    }
    const failed = await driveResult(page, lost);
    assert.deepEqual([failed.status, failed.verified], ['failed', 'false'], failed.text);
    // Named: the device, the cause the system gave, what it means for the drive.
    assert.match(failed.text, /failed; it holds an incomplete volume and must be written again\./);
    const error = await page.locator(`[data-testid="drive-result"][data-device="${lost}"] .engine-text`).innerText();
    assert.match(error, new RegExp(`${lost}.*(read-only|permission denied|not permitted)`, 'i'), 'the failed drive is named with its cause');
    assert.match(error, new RegExp(`${lost} is read-only now`), 'and the drive is read-only now');
    assert.match(error, /The drive holds an incomplete volume: write it again before using it\./);
    assert.equal(await page.locator(`[data-testid="drive-result"][data-device="${lost}"]`).getAttribute('class'), 'error');
    for (const d of [a, c]) assert.doesNotMatch(await driveResult(page, d).then((r) => r.text), new RegExp(lost), `${d}'s line does not carry ${lost}'s error`);
    assert.match(await page.locator('[data-testid="result"]').innerText(), /2 of 3 drives were written\./);
    assert.equal(await page.locator('[data-testid="result"] > p').first().getAttribute('class'), 'warning', 'not shown as a plain success');
    const verified = page.locator('[data-testid="verified"]');
    assert.equal(await verified.getAttribute('data-verified'), 'false', 'not every drive was written and verified');
    assert.match(await verified.innerText(), /2 of 2 drives written were read back and match/);
    // The written drives are the outputs; the failed one is not.
    assert.deepEqual(await page.locator('[data-testid="output-path"]').allInnerTexts(), [a, c]);
    assert.deepEqual(w.errors, []);
    for (const d of [a, c]) {
      const v = runCli(['verify', d]);
      assert.equal(v.status, 0, `${d}: ${v.stdout}${v.stderr}`);
    }
    const v = runCli(['verify', lost]);
    assert.notEqual(v.status, 0, `${lost} holds an incomplete volume: ${v.stdout}`);
  });

  test('in Spanish: the "write several drives" option, each drive\'s confirmation, the dialog naming every drive, a row per drive (one failed, one cancelled alone) and each drive\'s result; no English sentence of the resources', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    // 1.5 GB drives: a size with a decimal, written "1,5 GB" in Spanish. Held to 40 MB/s, so the rows can be read.
    const size = 2_929_664 * 512;
    const devs = loopDevices(t, work.dir, ['es-a.img', 'es-b.img', 'es-c.img'], size, 40_000_000);
    if (!devs) return;
    const [a, b, lost] = devs;
    const site = await siteWithBigPackage();
    const { w } = await servedWizard(t, browser, { userDataDir: join(work.dir, 'es-user'), systemLocale: 'es-ES', site }, 'spanish-several', { locale: 'es-ES' });
    const { page } = w;
    const spanishOnly = (where: string): Promise<void> => w.expectNoEnglish(where);
    await page.locator('#page-heading').filter({ hasText: 'Seleccionar tipo de medio' }).waitFor();
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    await page.locator('#show-all-drives').check();
    assert.equal(await page.locator('label[for="several-drives"]').innerText(), 'Escribir varias unidades');
    assert.match(await page.locator('#several-drives-help').innerText(), /^Desactivado de forma predeterminada\./);
    await page.locator('#several-drives').check();
    assert.equal(await page.locator('fieldset.drives > legend').innerText(), 'Unidades');
    await w.expectBlocked(/\nMarque al menos una unidad\.$/);
    for (const d of devs) {
      await page.locator(`#drive-${idOf(d)}`).check();
      // The drive's size in the list, in Spanish.
      assert.match(await page.locator(`label[for="drive-${idOf(d)}"]`).innerText(), new RegExp(`^${d} .* — 1,5 GB \\(`));
    }
    await w.expectBlocked(new RegExp(`Confirme que se puede borrar ${a}`));
    for (const d of devs) {
      const set = page.locator(`fieldset.confirmations[data-device="${d}"]`);
      assert.equal(await set.locator('legend').innerText(), `Confirme la unidad ${d}`);
      assert.equal(await set.locator(`label[for="confirm-${idOf(d)}-1"]`).innerText(), `Se borrará todo el contenido de ${d} (1,5 GB).`);
      await page.locator(`#confirm-${idOf(d)}-1`).check();
    }
    assert.match(await page.locator('#format-help').innerText(), /^Varias unidades siempre se formatean/);
    await spanishOnly('mediaType (varias unidades)');
    await w.shot('media-type-several-drives');
    await bigToSummary(w);
    assert.equal(await page.locator('[data-testid="summary-drives"]').innerText(), devs.join(', '));
    await spanishOnly('summary');

    // The last question, naming each drive by its device and size.
    await w.nextButton.click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    assert.equal(await dialog.locator('#confirm-title').innerText(), '¿Borrar 3 unidades?');
    assert.match(await dialog.innerText(), /Se borra todo lo que hay en cada una de estas 3 unidades:/);
    assert.deepEqual(await page.locator('[data-testid="erase-drives"] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-device'))), devs);
    for (const d of devs) assert.match(await page.locator(`[data-testid="erase-drives"] li[data-device="${d}"]`).innerText(), new RegExp(`— 1,5 GB — ${d}$`));
    await spanishOnly('confirm dialog');
    await w.shot('confirm-erase-three-drives');
    const fault = readOnlyAfter(t, lost, 24 * 1024 * 1024);
    await dialog.getByRole('button', { name: 'Sí, borrar estas 3 unidades' }).click();

    // Progress: the failed drive's row says so, the others go on; one is cancelled on its own.
    await w.expectPage('progress');
    const row = (d: string) => page.locator(`[data-testid="drive-progress"] tr[data-device="${d}"]`);
    await page.locator(`[data-testid="drive-progress"] tr[data-device="${lost}"][data-state="failed"]`).waitFor({ timeout: 60_000 });
    assert.equal(await row(b).getAttribute('data-state'), 'writing', `${b} is still being written`);
    const table = page.locator('[data-testid="drive-progress"]');
    assert.equal(await table.locator('caption').innerText(), '3 unidades');
    assert.deepEqual((await table.locator('thead th').allInnerTexts()).slice(0, 5), ['Unidad', 'Estado', 'Escrito', 'Velocidad', 'Tiempo restante']);
    assert.match(await row(b).locator('td').first().innerText(), /^Escribiendo$/);
    assert.match(await row(b).locator('td').nth(1).innerText(), /^[\d,]+ (KiB|MiB) de [\d,]+ MiB \(\d+\s%\)$/);
    // The drive's failure in Spanish, by its code (the system's error, what was being done), not the engine's English.
    const cause = `(Permiso denegado al escribir en ${lost}\\.|${lost} está en un sistema de archivos o una unidad de solo lectura)`;
    assert.match(await row(lost).locator('td').first().innerText(), new RegExp(`^Error\\s+El motor informó: ${cause}.* La unidad contiene un volumen incompleto: escríbala de nuevo antes de usarla\\.$`));
    assert.equal(await row(lost).locator('[lang="en"]').count(), 0, 'no English sentence in the failed drive\'s row');
    assert.equal(await row(lost).getByRole('button', { name: `Cancelar solo ${lost}` }).isDisabled(), true, 'a failed drive cannot be cancelled');
    await spanishOnly('progress');
    await w.shot('progress-one-failed');
    await row(b).getByRole('button', { name: `Cancelar solo ${b}` }).click();

    await w.expectPage('completion', 180_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.ok(fault.injectedAt() !== null, `${lost} was made read-only while it was written`);
    assert.equal(await page.locator('[data-testid="result"] > p').first().innerText(), 'Se escribieron 1 de 3 unidades.');
    assert.equal(await page.locator('[data-testid="result"] h3').first().innerText(), 'Cada unidad');
    const written = await driveResult(page, a);
    assert.deepEqual([written.status, written.verified], ['written', 'true'], written.text);
    assert.match(written.text, new RegExp(`^${a} — escrita \\([\\d,]+ MiB\\) y comprobada: cada archivo se volvió a leer y coincide\\.$`));
    const cancelled = await driveResult(page, b);
    assert.deepEqual([cancelled.status, cancelled.verified], ['cancelled', 'false'], cancelled.text);
    assert.equal(cancelled.text, `${b} — cancelada; contiene un volumen incompleto y hay que escribirla de nuevo.`);
    const failed = await driveResult(page, lost);
    assert.deepEqual([failed.status, failed.verified], ['failed', 'false'], failed.text);
    assert.match(failed.text, new RegExp(`^${lost} — error; contiene un volumen incompleto y hay que escribirla de nuevo\\. El motor informó: ${cause}.* ${lost} es ahora de solo lectura \\(.*\\)\\. La unidad contiene un volumen incompleto: escríbala de nuevo antes de usarla\\.$`));
    assert.equal(await page.locator('[data-testid="drive-result"] [lang="en"]').count(), 0, 'no English sentence in the drives\' results');
    assert.equal(await page.locator('[data-testid="verified"]').innerText(), 'Comprobación: se volvió a leer 1 de 1 unidad escrita y coincide.');
    await spanishOnly('completion');
    await w.shot('completion');
    assert.deepEqual(w.errors, []);
  });
});
