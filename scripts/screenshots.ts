// The user guide's pictures: walks the built wizard, served by the loopback host on the bundled sample site, through
// every page in Debian's Chromium and saves each as docs/images/<language>/<nn>-<page>.png — English throughout, and
// the pages the Spanish guide shows in Spanish. Run with `npm run screenshots` after changing the wizard, so the guide
// shows it as it is. The pictures are kept small (PNG, at most MAX_BYTES each): a narrow window at one device pixel,
// saved with a palette.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { cannotRun, launchChromium, serve, Wizard, type Served } from '../e2e/harness.js';
import { ROOT } from '../test/helpers.js';
import { addPackage, copySampleSite, randomFile } from '../test/support/sites.js';

export const DOCS_IMAGES = join(ROOT, 'docs', 'images');
export const MAX_BYTES = 150 * 1024;
const VIEWPORT = { width: 1024, height: 720 };

/** One picture: the whole page (the viewport stretched to its content, at most 1,800 px) as a PNG. */
async function shoot(page: Page, file: string): Promise<void> {
  const height = (await page.evaluate('document.documentElement.scrollHeight')) as number;
  await page.setViewportSize({ width: VIEWPORT.width, height: Math.max(VIEWPORT.height, Math.min(height, 1800)) });
  const png = await page.screenshot();
  await page.setViewportSize(VIEWPORT);
  // A palette of at most 128 colours (libimagequant, dithered): text and flat colours keep their look at a third of
  // the size of Chromium's full-colour PNG.
  await sharp(png).png({ palette: true, colours: 128, compressionLevel: 9, effort: 10 }).toFile(file);
  const bytes = statSync(file).size;
  console.log(`${file.slice(ROOT.length + 1)}  ${(bytes / 1024).toFixed(0)} KiB`);
  if (bytes > MAX_BYTES) throw new Error(`${file} is ${bytes} bytes, over ${MAX_BYTES}: make the page or the window smaller`);
}

type Shot = (name: string) => Promise<void>;

/** Waits until the line under the media file's field says it can be written (the engine's answer, not "Checking…"). */
async function writable(page: Page): Promise<void> {
  await page.locator('[data-testid="output-check"][data-state="ok"]').waitFor();
}

/** Opens the wizard in `locale`, runs `steps` with a way to save the page as out/<name>.png, and closes it. */
async function walk(browser: Browser, served: Served, locale: string, out: string, steps: (w: Wizard, page: Page, shot: Shot) => Promise<void>): Promise<void> {
  const w = await Wizard.open(browser, served, `docs-${locale}`, { locale });
  try {
    await w.page.setViewportSize(VIEWPORT);
    await steps(w, w.page, (name) => shoot(w.page, join(out, `${name}.png`)));
  } finally {
    await w.close();
  }
}

/** A loop device of 16 GiB (sparse) so the USB page shows a drive, or null when this machine cannot make one. */
function loopDrive(dir: string): { device: string; detach(): void } | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  try {
    const file = join(dir, 'stick.img');
    execFileSync('truncate', ['-s', '16G', file]);
    const device = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
    return { device, detach: () => execFileSync('losetup', ['-d', device]) };
  } catch {
    return null;
  }
}

async function english(browser: Browser, served: Served, out: string, work: string): Promise<void> {
  await walk(browser, served, 'en-US', out, async (w, page, shot) => {
    await shot('01-select-media-type');
    await w.next('mediaType');
    await page.locator('#media-usb').check();
    await page.locator('fieldset.drives').waitFor();
    await page.locator('#show-all-drives').check();
    await page.locator('fieldset.drives ul.drive-list li, fieldset.drives p[role="status"]').first().waitFor();
    await shot('02-media-type-usb-drive');
    await page.locator('#usb-target-image').check();
    await page.getByLabel('Image file', { exact: true }).fill(join(work, 'usb.img'));
    await page.locator('#image-size').fill('8');
    await page.locator('#image-unit').selectOption('GiB');
    await writable(page);
    await shot('03-media-type-usb-image');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work, 'share', 'media.iso'));
    await writable(page);
    await shot('04-media-type-iso');
    await w.next('security');
    await page.locator('#password').fill('Correct-Horse-7-Battery');
    await page.locator('#password-confirm').fill('Correct-Horse-7-Battery');
    await shot('05-security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00011').check();
    await page.locator('[data-testid="findings"] .finding').first().waitFor();
    await shot('06-task-sequence-findings');
    await page.locator('#ts-SMP00010').check();
    await page.locator('[data-testid="references"]').waitFor();
    await shot('07-task-sequence');
    await w.next('applications');
    await shot('08-applications');
    await w.next('packages');
    await page.locator('#packages-SMP00099').check();
    await shot('09-packages');
    await w.next('driverPackages');
    await shot('10-driver-packages');
    await w.next('distributionPoints');
    await page.locator('#dp-DP01').check();
    await shot('11-distribution-points');
    await w.next('customization');
    await page.getByRole('button', { name: 'Add variable' }).click();
    const row = page.locator('[data-testid="variable-row-1"] input[type="text"]');
    await row.nth(0).fill('OSDTimeZone');
    await row.nth(1).fill('W. Europe Standard Time');
    await shot('12-customization');
    await w.next('summary');
    await page.locator('[data-testid="disc-count"]').waitFor();
    // The media file's check runs again once the media's size is known: the picture shows its answer, not the wait.
    for (let i = 0; i < 300 && !(await w.nextButton.isEnabled()); i++) await page.waitForTimeout(100);
    await shot('13-summary');
    await w.nextButton.click();
    await w.expectPage('progress');
    await page.locator('[data-testid="phase"][data-phase="write"]').waitFor({ timeout: 60_000 });
    // Some way in, so the bar, speed and time left show figures.
    // (Polled from here: the page's CSP forbids evaluating a string in it.)
    for (let i = 0; i < 1200; i++) {
      const [value, max] = await page.locator('#progress-bar').evaluate((b) => [(b as unknown as { value: number }).value, (b as unknown as { max: number }).max]);
      if (max > 0 && value / max > 0.2) break;
      await page.waitForTimeout(100);
    }
    await shot('14-progress');
    await w.expectPage('completion', 300_000);
    await page.locator('[data-testid="result"][data-result="done"]').waitFor();
    await shot('15-completion');
  });
}

/** The Spanish guide's pages: the first three, in Spanish (the first shows the language choice). */
async function spanish(browser: Browser, served: Served, out: string, work: string): Promise<void> {
  await walk(browser, served, 'es-ES', out, async (w, page, shot) => {
    await shot('01-seleccionar-tipo-de-medio');
    await w.next('mediaType');
    await page.locator('#media-iso').check();
    await page.locator('input[name="media-file"]').fill(join(work, 'recurso', 'medio.iso'));
    await writable(page);
    await shot('02-tipo-de-medio');
    await w.next('security');
    await page.locator('#protect').uncheck();
    await w.next('taskSequence');
    await page.locator('#ts-SMP00011').check();
    await page.locator('[data-testid="findings"] .finding').first().waitFor();
    await shot('03-secuencia-de-tareas');
  });
}

async function main(): Promise<void> {
  const why = cannotRun();
  if (why) {
    console.error(`tsmedia screenshots: ${why}`);
    process.exit(1);
  }
  // One fixed folder, so the paths the pictures show do not change from run to run.
  const dir = join(tmpdir(), 'tsmedia-docs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const work = { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
  process.env.XDG_STATE_HOME = join(work.dir, 'state');
  const loop = loopDrive(work.dir);
  const browser = await launchChromium();
  try {
    // The sample site and one large package, so the Progress page is seen while it writes.
    const site = copySampleSite(join(work.dir, 'site'));
    const big = join(work.dir, 'big.bin');
    randomFile(big, 400 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'Payload\\big.bin', sourcePath: big }], 'Line-of-business payload');
    mkdirSync(join(work.dir, 'share'), { recursive: true });
    mkdirSync(join(work.dir, 'recurso'), { recursive: true });
    for (const [language, run] of [
      ['en', english],
      ['es', spanish],
    ] as const) {
      const out = join(DOCS_IMAGES, language);
      mkdirSync(out, { recursive: true });
      for (const f of readdirSync(out)) if (f.endsWith('.png')) rmSync(join(out, f));
      const served = await serve({ userDataDir: join(work.dir, `user-${language}`), site, systemLocale: language === 'es' ? 'es-ES' : 'en-US' });
      try {
        await run(browser, served, out, work.dir);
      } finally {
        await served.close();
      }
    }
  } finally {
    await browser.close();
    loop?.detach();
    work.remove();
  }
}

await main();
