// The wizard from the keyboard alone (Tab, Shift+Tab, Space, Enter, Escape; focus always visible), and the whole
// wizard in Spanish: the language follows the system's, can be switched, and is remembered. The several-drives screens
// in Spanish (they need root and loop devices) are in severalDrives.test.ts, checked with the same helpers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '../test/helpers.js';
import { addLargeNonWimPackage, addPackage, copySampleSite, randomFile } from '../test/support/sites.js';
import { browserSuite, englishOnlyFragments, englishOnPage, serve, skipUnlessReady, Wizard, type PageId } from './harness.js';

type Focus = { tag: string; id: string; type: string; text: string };

describe('wizard: keyboard and language', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('keyboard only: every page, from Select Media Type to Completion and back, with visible focus', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const served = await serve({ userDataDir: join(work.dir, 'user-keys') });
    const w = await Wizard.open(browser, served, 'keyboard');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const out = join(work.dir, 'keys.iso');
    const is = (id: string) => (f: Focus) => f.id === id;
    const button = (text: string) => (f: Focus) => f.tag === 'button' && f.text === text;
    const focusVisible = async (): Promise<void> => {
      const style = (await page.evaluate('(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle + " " + s.outlineWidth; })()')) as string;
      assert.ok(!style.startsWith('none') && !style.endsWith(' 0px'), `the focused element shows its focus (${style}, ${JSON.stringify(await w.focused())})`);
    };
    // Next is disabled, so out of the tab order, while the page still checks what was typed (the media path goes to the
    // engine) or plans (Summary): wait for it rather than for a number of Tab presses.
    const nextEnabled = (): Promise<void> => page.locator('button:enabled', { hasText: 'Next >' }).waitFor({ state: 'visible', timeout: 30_000 });
    const next = async (expected: PageId): Promise<void> => {
      await nextEnabled();
      await w.tabTo(button('Next >'), 'Next');
      await focusVisible();
      await page.keyboard.press('Enter');
      await w.expectPage(expected);
      // The new page's heading has the focus: Tab goes on from the top of the page.
      assert.equal((await w.focused()).id, 'page-heading');
    };

    // Select Media Type: Space ticks a check box.
    await w.tabTo(is('unattended'), 'the unattended check box');
    await focusVisible();
    await page.keyboard.press('Space');
    assert.ok(await page.locator('#unattended').isChecked());
    await next('mediaType');

    // Media Type: arrows move within the radio group; typing fills the path.
    await w.tabTo(is('media-usb'), 'the media type radio group');
    await focusVisible();
    await page.keyboard.press('ArrowDown');
    assert.ok(await page.locator('#media-iso').isChecked(), 'ArrowDown chose CD/DVD set');
    await w.tabTo((f) => f.tag === 'input' && f.text === 'Media file', 'the media file');
    await page.keyboard.type(out);
    // Shift+Tab goes back through the same order.
    await w.tabTo(is('disc-size'), 'the media size (backwards)', 10, true);
    await w.shot('media-type-keyboard');
    await next('security');

    // Security: the confirmation follows the password in the tab order.
    await w.tabTo(is('password'), 'the password');
    await page.keyboard.type('Keyboard-0nly!');
    await page.keyboard.press('Tab');
    assert.equal((await w.focused()).id, 'password-confirm');
    await page.keyboard.type('Keyboard-0nly!');
    await next('taskSequence');

    // Task sequence: the first selectable one takes Space; the disabled one is skipped.
    await w.tabTo((f) => f.type === 'radio', 'the task sequence list');
    assert.equal((await w.focused()).id, 'ts-SMP00010');
    await page.keyboard.press('Space');
    await page.locator('[data-testid="references"]').waitFor();
    await next('applications');
    await w.tabTo(is('applications-SMP00006'), 'an application');
    await page.keyboard.press('Space');
    assert.ok(await page.locator('#applications-SMP00006').isChecked());
    await page.keyboard.press('Space');
    await next('packages');
    await next('driverPackages');
    await next('distributionPoints');
    await w.tabTo(is('dp-DP01'), 'DP01');
    await page.keyboard.press('Space');
    await next('customization');

    // Customization: Enter on "Add variable" puts the focus in the new name field.
    await w.tabTo(button('Add variable'), 'Add variable');
    await page.keyboard.press('Enter');
    assert.match((await w.focused()).id, /^var-name-/);
    await page.keyboard.type('1Bad');
    await w.expectBlocked(/Variable 1: the name is not valid/);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('OSDComputerName');
    await page.keyboard.press('Tab');
    await page.keyboard.type('KEYS-01');
    await w.shot('customization-keyboard');

    // Cancel opens a confirmation that Escape dismisses, keeping every answer.
    await w.tabTo(button('Cancel'), 'Cancel');
    await page.keyboard.press('Enter');
    await page.getByRole('alertdialog').waitFor();
    assert.equal((await w.focused()).text, 'No');
    await page.keyboard.press('Escape');
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    assert.equal(await page.locator('[data-testid="variable-row-1"] input').first().inputValue(), 'OSDComputerName');
    await next('summary');
    await page.locator('[data-testid="disc-count"]').waitFor();
    await nextEnabled();
    await w.tabTo(button('Next >'), 'Next');
    await page.keyboard.press('Enter');
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    // "Open the log": the loopback host has no desktop, so the page says where the log is.
    await w.tabTo((f) => f.tag === 'button' && f.text.startsWith('Open the log'), 'Open the log');
    await page.keyboard.press('Enter');
    await page.getByText(/It cannot be opened from here; the file is .*CreateTSMedia\.log/).first().waitFor();
    await w.shot('completion-keyboard');
    await w.tabTo(button('Close'), 'Close');
    await page.keyboard.press('Enter');
    await w.expectPage('selectMediaType');
    assert.equal(runCli(['verify', out]).status, 0);
    assert.deepEqual(w.errors, []);
  });

  test('in Spanish (the system language): every page, findings, drive constraints, rule and engine messages, phases and the result translated; the choice is remembered', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    // A package of a few hundred MB, so the Progress page stays long enough to be read.
    const site = copySampleSite(join(work.dir, 'site-es'));
    const big = join(work.dir, 'grande.bin');
    randomFile(big, 250 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'grande.bin', sourcePath: big }], 'Paquete grande');
    // And a 4.5 GiB file that is no WIM (as in pages.test.ts), for the FAT32 refusal; chosen only for a moment.
    await addLargeNonWimPackage(site, work.dir, { name: 'Archivo grande' });
    const served = await serve({ userDataDir: join(work.dir, 'user-es'), systemLocale: 'es-ES', site });
    const w = await Wizard.open(browser, served, 'spanish', { locale: 'es-ES' });
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    const fragments = englishOnlyFragments();
    const seen: string[] = [];
    /** No sentence of the English resources on the page (engine messages aside, which come as they are). */
    const spanishOnly = async (where: string): Promise<void> => {
      assert.deepEqual(await englishOnPage(page, fragments), [], `${where}: English text on the Spanish page`);
      seen.push(where);
    };
    await page.locator('#page-heading').filter({ hasText: 'Seleccionar tipo de medio' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'es');
    assert.equal(await w.nextButton.innerText(), 'Siguiente >');
    await spanishOnly('selectMediaType');
    await w.shot('select-media-type');
    await w.next('mediaType');
    await w.expectBlocked(/Elija una unidad USB extraíble o un conjunto de CD\/DVD/);
    await page.locator('#media-usb').check();
    await page.locator('#show-all-drives').check();
    // Whatever drives this machine has: each constraint is named in Spanish by its code.
    await page.locator('fieldset.drives ul.drive-list, fieldset.drives p[role="status"]').first().waitFor();
    const constraints = await page.locator('.constraints li strong').allInnerTexts();
    for (const c of constraints) assert.ok(['Unidad del sistema', 'Solo lectura', 'Demasiado pequeña', 'No extraíble', 'Dispositivo virtual', 'Contiene el origen', 'Unidad muy grande'].includes(c), c);
    await spanishOnly('mediaType (USB)');
    await w.shot('media-type-usb');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'medio.iso'));
    // A bad media label: the shared rule's sentence in Spanish, by its code; the English one nowhere.
    await page.locator('#media-label').fill('Medio:1');
    await w.expectBlocked(/La etiqueta del medio no es válida\..*La etiqueta del medio no puede contener caracteres de control ni ninguno de estos: " \* \/ : < > \? \\ \|/s);
    const labelProblem = await page.locator('#media-label-problem').innerText();
    assert.match(labelProblem, /^Regla: La etiqueta del medio no puede contener caracteres de control/);
    assert.doesNotMatch(await page.locator('body').innerText(), /cannot hold control characters/);
    await spanishOnly('mediaType (bad label)');
    await page.locator('#media-label').fill('L'.repeat(33));
    assert.match(await page.locator('#media-label-problem').innerText(), /La etiqueta del medio tiene como máximo 32 caracteres \(es el nombre del volumen ISO\); esta tiene 33\./);
    await page.locator('#media-label').fill('Medio de prueba');
    await spanishOnly('mediaType (CD/DVD)');
    await w.shot('media-type-iso');
    await w.next('security');
    await page.locator('#password').fill('Contraseña-1');
    await page.locator('#password-confirm').fill('Contraseña-2');
    await w.expectBlocked(/Las contraseñas no coinciden/);
    await page.locator('#password-confirm').fill('Contraseña-1');
    await spanishOnly('security');
    await w.shot('security');
    await w.next('taskSequence');
    await page.locator('#ts-SMP00011').check();
    await page.locator('[data-testid="findings"] .finding').first().waitFor();
    const findings = await page.locator('[data-testid="findings"]').innerText();
    assert.match(findings, /El paso Aplicar controladores automáticamente no se admite en medios independientes/);
    assert.match(findings, /Advertencia/);
    assert.match(await page.locator('[data-testid="ts-reason-SMP00012"]').innerText(), /No está asociada a una imagen de arranque/);
    await w.expectBlocked(/Acepte las advertencias para continuar/);
    await spanishOnly('taskSequence (findings)');
    await w.shot('task-sequence-findings');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await spanishOnly('taskSequence');
    for (const p of ['applications', 'packages', 'driverPackages', 'distributionPoints'] as const) {
      await w.next(p);
      if (p === 'packages') {
        await page.locator('#packages-SMP00099').check();
        // The 4.5 GiB file on a USB drive: refused on the Media Type page, the engine's sentence in Spanish.
        await page.locator('#packages-SMP00098').check();
        for (const back of ['applications', 'taskSequence', 'security', 'mediaType'] as const) await w.previous(back);
        await page.locator('#media-usb').check();
        await page.locator('[data-testid="fat32-refused"]').waitFor();
        await w.expectBlocked(/1 archivo es demasiado grande para una unidad USB: cree un conjunto de CD\/DVD/);
        const check = await page.locator('[data-testid="media-check"]').innerText();
        assert.match(check, /Este medio no se puede crear tal como está\. El motor informó: Los medios independientes usan el sistema de archivos FAT32, que no admite archivos de 4 GB o más, y solo los archivos WIM se pueden dividir: SMS\/PKG\/SMP00098\/archive\.7z\. Cree el medio como un conjunto de CD\/DVD/);
        assert.doesNotMatch(check, /FAT32 cannot hold a file|Make the media as a CD\/DVD set/);
        assert.equal(await page.locator('[data-testid="media-check"] [lang="en"]').count(), 0, 'no engine sentence left in English');
        await spanishOnly('mediaType (FAT32 refused)');
        await w.shot('media-type-fat32-refused');
        await page.locator('#media-iso').check();
        for (const forward of ['security', 'taskSequence', 'applications', 'packages'] as const) await w.next(forward);
        await page.locator('#packages-SMP00098').uncheck();
      }
      await spanishOnly(p);
      await w.shot(p);
    }
    assert.match(await page.locator('[data-testid="dp-DP02"]').innerText(), /una versión anterior \(tiene 1, se necesita la versión 2\)/);
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await page.getByRole('button', { name: 'Agregar variable' }).click();
    const nameField = page.locator('[data-testid="variable-row-1"] input[type="text"]').first();
    await nameField.fill('Nombre Malo');
    // The shared rule's sentence in Spanish, beside the field and beside Next; the English one nowhere.
    await w.expectBlocked(/Variable 1: el nombre no es válido\..*"Nombre Malo" debe empezar por una letra y contener solo letras, dígitos, "_" y "-"\./s);
    assert.match(await page.locator('[data-testid="variable-row-1"]').innerText(), /Regla: "Nombre Malo" debe empezar por una letra y contener solo letras, dígitos, "_" y "-"\./);
    assert.doesNotMatch(await page.locator('body').innerText(), /must start with a letter and hold only letters/);
    await spanishOnly('customization (bad name)');
    await nameField.fill('_SMSTSIdioma');
    assert.match(await page.locator('[data-testid="variable-row-1"]').innerText(), /"_SMSTSIdioma" empieza por "_": estas variables son de solo lectura y las establece Configuration Manager\./);
    assert.doesNotMatch(await page.locator('body').innerText(), /read-only and set by ConfigMgr/);
    await page.locator('[data-testid="variable-row-1"] input[type="text"]').first().fill('Idioma');
    await spanishOnly('customization');
    await w.shot('customization');
    await w.next('summary');
    await page.locator('[data-testid="disc-count"]').waitFor();
    assert.match(await page.locator('[data-testid="disc-count"]').innerText(), /Se necesita 1 disco/);
    await spanishOnly('summary');
    await w.shot('summary');
    await w.nextButton.click();
    await w.expectPage('progress');
    await page.locator('[data-testid="phase"][data-phase="write"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid="phase"]').innerText(), 'Escribiendo');
    await spanishOnly('progress');
    await w.shot('progress');
    await w.cancelButton.click();
    assert.match(await page.getByRole('alertdialog').innerText(), /¿Cancelar la creación del medio\?/);
    await w.shot('progress-cancel-confirmation');
    // "No, continuar" (Escape): the run goes on. Had it ended meanwhile, the question has closed by itself.
    await page.keyboard.press('Escape');
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    await w.expectPage('completion', 60_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    assert.match(await page.locator('main').innerText(), /Se creó el medio: 1 archivo ISO/);
    assert.match(await page.locator('main').innerText(), /Comprobación: se volvieron a leer todos los archivos y coinciden/);
    await spanishOnly('completion');
    await w.shot('completion');

    // Switched to English and back: remembered with setPreferences, and kept over a reload.
    await page.locator('#language').selectOption('en');
    await page.locator('#page-heading').filter({ hasText: 'Completion' }).waitFor();
    assert.equal((await served.call<{ language: string }>('getPreferences')).language, 'en');
    await page.locator('#language').selectOption('es');
    await page.locator('#page-heading').filter({ hasText: 'Finalización' }).waitFor();
    assert.equal((await served.call<{ language: string }>('getPreferences')).language, 'es');
    await page.reload();
    await page.locator('#page-heading').filter({ hasText: 'Seleccionar tipo de medio' }).waitFor();
    assert.equal(seen.length, 17);
    assert.deepEqual(w.errors, []);
  });
});
