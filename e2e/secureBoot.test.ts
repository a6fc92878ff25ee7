// Secure Boot readiness in the wizard: on a site whose boot image carries EFI files signed by test CAs (sbsigntool),
// one inside efisys.bin and one unsigned, the Stand-Alone CD/DVD page shows each boot file with its class and signer
// beside the findings before anything is written, and the Summary shows the media's overall class.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { hasCommand } from '../test/helpers.js';
import { signedBootImageSite } from '../test/support/secureBootFixtures.js';
import { browserSuite, serve, skipUnlessReady, Wizard } from './harness.js';

describe('wizard: Secure Boot readiness', () => {
  const suite = browserSuite();

  test('the task sequence page lists the boot files with their CA and signer; the Summary gives the overall class', async (t) => {
    if (!skipUnlessReady(t) || !suite.browser()) return;
    if (!hasCommand('openssl') || !hasCommand('sbsign')) {
      t.skip('needs openssl and sbsign (apt-get install openssl sbsigntool; scripts/setup.sh installs them)');
      return;
    }
    const { site } = await signedBootImageSite(join(suite.work.dir, 'signed'));
    const served = await serve({ userDataDir: join(suite.work.dir, 'user'), site });
    const w = await Wizard.open(suite.browser() as Browser, served, 'secure-boot');
    t.after(async () => {
      await w.close();
      await served.close();
    });
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(suite.work.dir, 'never-written.iso'));
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00010').check();
    const section = page.locator('[data-testid="secure-boot"]');
    await section.locator('tbody tr').first().waitFor();
    assert.equal(await section.getAttribute('data-overall'), 'unsigned');
    const rows = await section.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.querySelector('code')?.textContent ?? '', tr.getAttribute('data-class') ?? '', tr.lastElementChild?.textContent ?? '']));
    assert.deepEqual(
      rows.map(([path, cls]) => [path, cls]),
      [
        ['bootmgr.efi', 'other-ca'],
        ['efi/boot/bootx64.efi', 'other-ca'],
        ['efi/microsoft/boot/efisys.bin:EFI/BOOT/BOOTX64.EFI', 'other-ca'],
        ['efi/microsoft/boot/memtest.efi', 'unsigned'],
      ],
    );
    assert.match(rows[0]?.[2] ?? '', /signer Test Windows \(old\); CA "Test PCA 2011 stand-in" \(a CA not recognised by thumbprint\); root Test PCA 2011 stand-in/);
    const text = await section.innerText();
    assert.match(text, /Overall: unsigned/);
    assert.match(text, /another CA/);
    await w.shot('task-sequence-secure-boot');

    await page.locator('[data-testid="references"]').waitFor();
    for (const p of ['applications', 'packages', 'driverPackages', 'distributionPoints'] as const) await w.next(p);
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    await w.next('summary');
    const summary = page.locator('[data-testid="summary-secure-boot"]');
    assert.equal(await summary.getAttribute('data-overall'), 'unsigned');
    assert.match(await summary.innerText(), /^unsigned \(bootmgr\.efi: another CA; .*efi\/microsoft\/boot\/memtest\.efi: unsigned\)$/);
    assert.deepEqual(w.errors, []);
  });
});
