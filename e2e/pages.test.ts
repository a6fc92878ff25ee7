// What the pages refuse, and say why: a task sequence with unsupported steps (findings to acknowledge), one without a
// boot image (not selectable), a file of 4.5 GB that is no WIM (USB refused on the Media Type page), a media file that
// cannot be written where it is typed (and one on a share that does not report its free space, which can), a password
// and a confirmation that differ, a distribution point lacking content.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FuseMirror, Scratch, fusePython, isRoot } from '../test/support/failingStorage.js';
import { addLargeNonWimPackage, copySampleSite } from '../test/support/sites.js';
import { cannotRun, launchChromium, scratch, serve, skipUnlessReady, Wizard, type Served } from './harness.js';

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('wizard: pages that refuse, with the reason shown', () => {
  let browser: Browser | null = null;
  const work = scratch();
  process.env.XDG_STATE_HOME = join(work.dir, 'state');
  let n = 0;

  before(async () => {
    if (cannotRun() === null) browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    work.remove();
  });

  async function open(t: { after: (fn: () => Promise<void>) => void }, name: string, site?: string): Promise<{ w: Wizard; served: Served }> {
    n += 1;
    const served = await serve({ userDataDir: join(work.dir, `user-${n}`), site });
    const w = await Wizard.open(browser as Browser, served, name);
    t.after(async () => {
      await w.close();
      await served.close();
    });
    return { w, served };
  }

  /** Select Media Type → Media Type (a CD/DVD set) → Security (no password) → the task sequence page. */
  async function toTaskSequence(w: Wizard): Promise<void> {
    await w.next('mediaType');
    await w.page.locator('#media-iso').check();
    await w.page.locator('input[name="media-file"]').fill(join(work.dir, 'never-written.iso'));
    await w.next('security');
    await w.page.locator('#protect').uncheck();
    await w.next('taskSequence');
  }

  test('SMP00011 (unsupported steps): findings shown by code, Next only once they are acknowledged; SMP00012 (no boot image) not selectable, with the reason', async (t) => {
    if (!skipUnlessReady(t) || !browser) return;
    const { w } = await open(t, 'findings');
    const { page } = w;
    await toTaskSequence(w);

    // No boot image: listed, not selectable, the reason beside it.
    assert.equal(await page.locator('#ts-SMP00012').isDisabled(), true);
    const reason = await page.locator('[data-testid="ts-reason-SMP00012"]').innerText();
    assert.match(reason, /Not associated with a boot image/);
    assert.match(reason, /stand-alone media needs one/, 'the engine\'s sentence, inside the translated frame');
    assert.equal(await page.locator('#ts-SMP00012').getAttribute('aria-describedby'), await page.locator('[data-testid="ts-reason-SMP00012"]').evaluate((e) => e.parentElement?.id ?? ''));

    await page.locator('#ts-SMP00011').check();
    await page.locator('[data-testid="findings"] .finding').first().waitFor();
    const codes = await page.locator('[data-testid="findings"] .finding').evaluateAll((els) => els.map((e) => String(e.getAttribute('data-code'))));
    assert.deepEqual(
      [...codes].sort(),
      ['AUTO_APPLY_DRIVERS', 'DOWNLOAD_PACKAGE_CONTENT', 'DYNAMIC_APPLICATION_INSTALL', 'DYNAMIC_PACKAGE_INSTALL', 'PRE_PRODUCTION_CLIENT', 'SOFTWARE_BEFORE_OS', 'SOFTWARE_UPDATES', 'USER_DEVICE_AFFINITY'],
    );
    const text = await page.locator('[data-testid="findings"]').innerText();
    assert.match(text, /Auto Apply Drivers is not supported on stand-alone media \(use Apply Driver Package\)/);
    assert.match(text, /step "Auto Apply Drivers"/);
    await w.expectBlocked(/Acknowledge the warnings to continue/);
    await w.shot('task-sequence-findings');
    await page.locator('#acknowledge').check();
    await w.expectNextEnabled();
    // Choosing again (dependencies off) asks for the acknowledgement again.
    await page.locator('#detect-dependencies').uncheck();
    await w.expectBlocked(/Acknowledge the warnings to continue/);
    await page.locator('#acknowledge').check();
    await w.next('applications');
    await w.previous('taskSequence');
    assert.ok(await page.locator('#ts-SMP00011').isChecked(), 'Previous keeps the choice');
    assert.ok(await page.locator('#acknowledge').isChecked(), 'and the acknowledgement');
    await w.shot('task-sequence-acknowledged');
    assert.deepEqual(w.errors, []);
  });

  test('a 4.5 GB file that is no WIM: USB refused on the Media Type page, naming the file; a CD/DVD set is fine', async (t) => {
    if (!skipUnlessReady(t) || !browser) return;
    // As test/mediaUsb.test.ts: the content library describes a 4.5 GiB file whose blob is sparse (never read).
    const site = copySampleSite(join(work.dir, 'big-site'));
    await addLargeNonWimPackage(site, work.dir);
    const { w } = await open(t, 'fat32-refused', site);
    const { page } = w;
    assert.equal(await page.locator('[data-testid="site-root"] code').innerText(), site);
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    await page.locator('#usb-target-image').check();
    await page.getByLabel('Image file', { exact: true }).fill(join(work.dir, 'never.img'));
    await page.locator('#image-size').fill('16');
    await page.locator('#image-unit').selectOption('GiB');
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await w.next('applications');
    await w.next('packages');
    await page.locator('#packages-SMP00098').check();
    for (const p of ['applications', 'taskSequence', 'security', 'mediaType'] as const) await w.previous(p);

    const refused = page.locator('[data-testid="fat32-refused"]');
    await refused.waitFor();
    const text = await refused.innerText();
    assert.match(text, /FAT32 cannot hold a file of 4 GB or more, and only WIM files can be split/);
    assert.match(text, /SMS\/PKG\/SMP00098\/archive\.7z — SMP00098 — 4\.5 GiB \(4,831,838,208 bytes\)/);
    assert.match(text, /Make a CD\/DVD set instead/);
    await w.expectBlocked(/1 file is too large for a USB drive: make a CD\/DVD set/);
    await w.shot('media-type-fat32-refused');

    // A CD/DVD set holds it (UDF): the same page then plans the discs.
    await page.locator('#media-iso').check();
    await page.locator('#disc-size').selectOption('dvd');
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'big.iso'));
    await page.locator('[data-testid="disc-count"]').waitFor();
    assert.match(await page.locator('[data-testid="disc-count"]').innerText(), /^2 discs are needed/);
    await w.expectNextEnabled();
    await w.shot('media-type-big-iso');
    assert.deepEqual(w.errors, []);
  });

  test('the media file: under the field, whether it can be written and where, with the free space against the media; a file that cannot be written blocks Next', async (t) => {
    if (!skipUnlessReady(t) || !browser) return;
    const { w } = await open(t, 'media-file-check');
    const { page } = w;
    const line = page.locator('[data-testid="output-check"]');
    const field = page.locator('input[name="media-file"]');
    /** Types the path and waits until the line under the field says what `re` expects (the engine's answer to it). */
    const typePath = async (path: string, re: RegExp): Promise<string> => {
      await field.fill(path);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const text = await line.innerText();
        if (re.test(text)) return text;
        if (Date.now() > deadline) throw new Error(`under the field: ${JSON.stringify(text)}, not ${re}`);
        await page.waitForTimeout(50);
      }
    };
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    assert.equal(await line.getAttribute('data-state'), 'none', 'nothing to say before a path is typed');
    assert.match(await field.getAttribute('aria-describedby') ?? '', /\bmedia-file-check\b/, 'the field names the line');

    // A folder that is not there: said under the field in the engine's words, and Next stays disabled.
    const nowhere = join(work.dir, 'nowhere');
    await typePath(join(nowhere, 'media.iso'), new RegExp(`^Cannot be written: The folder ${escapeRe(nowhere)} does not exist\\. Create it first\\.$`));
    assert.equal(await line.getAttribute('data-state'), 'problem');
    const reason = await w.expectBlocked(/The file cannot be written there\./);
    assert.match(reason, /does not exist/, 'the blocker carries the reason');
    await w.shot('media-file-missing-folder');
    await typePath(join(work.dir, 'media.img'), /^Cannot be written: .*media\.img: the media file must end in \.iso\.$/);
    await w.expectBlocked(/The file cannot be written there\./);
    await typePath('media.iso', /^Cannot be written: media\.iso is not a full path/);
    await w.expectBlocked(/The file cannot be written there\./);

    // A folder that is: where, and its free space (the media's size is not known before a task sequence is chosen).
    const fine = join(work.dir, 'media.iso');
    await typePath(fine, new RegExp(`^Can be written: the folder ${escapeRe(work.dir)} — [\\d.,]+ (MiB|GiB|TiB) free$`));
    assert.equal(await line.getAttribute('data-state'), 'ok');
    await w.expectNextEnabled();

    // Once a task sequence is chosen, the media's size stands beside the free space.
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await w.previous('security');
    await w.previous('mediaType');
    await page.locator('[data-testid="disc-count"]').waitFor();
    await page.getByText(/free, the media needs/).waitFor();
    assert.match(await line.innerText(), /^Can be written: the folder .* — [\d.,]+ (MiB|GiB|TiB) free, the media needs [\d.,]+ MiB$/);
    await w.expectNextEnabled();
    await w.shot('media-file-fits');

    // A share that does not report its size (as smbnetfs mounts one): it can be written; the size is said to be unknown.
    if (isRoot() && process.platform === 'linux' && fusePython() !== null) {
      const s = new Scratch(t);
      const m = new FuseMirror(s, fusePython() as string, s.path('backing'), s.path('net'), { unknownSize: true, subtype: 'smbnetfs' });
      await m.mount();
      mkdirSync(join(m.backing, 'fileserver', 'osd$', 'Win11'), { recursive: true });
      const said = `Can be written: network share //fileserver/osd$ (mounted at ${join(m.mountpoint, 'fileserver', 'osd$')}) — free space not reported (the run writes, and stops with a clear message if the share fills up)`;
      await typePath(join(m.mountpoint, 'fileserver', 'osd$', 'Win11', 'media.iso'), new RegExp(`^${escapeRe(said)}$`));
      await w.expectNextEnabled();
      await w.shot('media-file-share');
    } else await t.test('a share that does not report its size', (s) => s.skip('needs root on Linux and python3-fuse to mount a FUSE file system'));
    assert.deepEqual(w.errors, []);
  });

  test('a password and a confirmation that differ block Next until they match', async (t) => {
    if (!skipUnlessReady(t) || !browser) return;
    const { w } = await open(t, 'password');
    const { page } = w;
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work.dir, 'x.iso'));
    await w.next('security');
    await w.expectBlocked(/Enter a password, or clear "Protect media with a password"/);
    await page.locator('#password').fill('Contoso-2024!');
    await page.locator('#password-confirm').fill('Contoso-2025!');
    await w.expectBlocked(/The passwords do not match/);
    assert.equal(await page.locator('#password-confirm').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#password-confirm-problem').innerText(), /The passwords do not match/);
    await w.shot('security-mismatch');
    await page.locator('#password-confirm').fill('Contoso-2024!');
    await w.expectNextEnabled();
    // Dates in the wrong order are refused too.
    await page.locator('#start-date').fill('2027-01-01');
    await page.locator('#expire-date').fill('2026-01-01');
    await w.expectBlocked(/The expiration date must be after the start date/);
    await page.locator('#expire-date').fill('2028-01-01');
    await w.next('taskSequence');
    await w.previous('security');
    assert.equal(await page.locator('#password').inputValue(), 'Contoso-2024!', 'Previous keeps what was entered');
    assert.deepEqual(w.errors, []);
  });

  test('DP02 lacks content: listed, not selectable, with what it lacks; DP01 can be chosen', async (t) => {
    if (!skipUnlessReady(t) || !browser) return;
    const { w } = await open(t, 'distribution-points');
    const { page } = w;
    await toTaskSequence(w);
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    for (const p of ['applications', 'packages', 'driverPackages', 'distributionPoints'] as const) await w.next(p);
    assert.equal(await page.locator('#dp-DP02').isDisabled(), true);
    assert.equal(await page.locator('#dp-DP01').isDisabled(), false);
    const lacks = await page.locator('[data-testid="dp-DP02"]').innerText();
    assert.match(lacks, /Cannot be chosen: it lacks 2 items/);
    assert.match(lacks, /SMP00005 \(Contoso Laptop 14 drivers\): an older version \(it has 1, version 2 is needed\)/);
    assert.match(lacks, /SMP00008 \(Contoso Scripts\): not on this distribution point/);
    assert.match(await page.locator('[data-testid="dp-DP01"]').innerText(), /Holds all the content/);
    await w.expectBlocked(/Choose at least one distribution point/);
    await w.shot('distribution-points-lacking');
    await page.locator('#dp-DP01').check();
    await w.next('customization');
    assert.deepEqual(w.errors, []);
  });
});
