// End-to-end harness: the real engine API behind the real loopback host, the built renderer (dist/renderer), and
// Debian's Chromium driven by playwright-core. Screenshots go to test-results/e2e/ (gitignored).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { API_METHODS } from '../shared/ipc.js';
import { createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { startLoopbackHost, type HostLimits, type LoopbackHost } from '../electron/host/LoopbackHost.js';
import { ROOT } from '../test/helpers.js';
import { openSession, sessionHeader } from '../test/support/hostSession.js';
import type { PageId } from '../shared/wizard.js';

/** The wizard's pages, as the page heading's data-page names them. */
export type { PageId };

export const CHROMIUM = process.env.TSMEDIA_CHROMIUM ?? '/usr/bin/chromium';
/**
 * A running Chromium's DevTools endpoint to connect to instead of launching one: the Windows run (scripts/test-windows.js)
 * starts Debian's Chromium on Linux and the tests, under Wine's node.exe, drive it over the loopback.
 */
export const CDP_ENDPOINT = process.env.TSMEDIA_CDP_ENDPOINT ?? null;
export const RENDERER_DIR = join(ROOT, 'dist', 'renderer');
export const SHOTS_DIR = join(ROOT, 'test-results', 'e2e');

/** Why the end-to-end tests cannot run here, or null. */
export function cannotRun(): string | null {
  if (CDP_ENDPOINT === null && !existsSync(CHROMIUM)) return `${CHROMIUM} is missing (Debian: apt-get install chromium; ./scripts/setup.sh installs it as root)`;
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return `${RENDERER_DIR}/index.html is missing: run "npm run build" (it builds the renderer)`;
  return null;
}

/** Skips the test with a printed reason when the browser or the built page is missing. */
export function skipUnlessReady(t: TestContext): boolean {
  const why = cannotRun();
  if (why === null) return true;
  console.log(`# skipped: ${t.name}: ${why}`);
  t.skip(why);
  return false;
}

/** A folder removed after the test (or suite). */
export function scratch(prefix = 'tsmedia-e2e-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function launchChromium(): Promise<Browser> {
  // Connected, not launched: closing it closes this test file's contexts and leaves the browser to the runner.
  if (CDP_ENDPOINT !== null) return chromium.connectOverCDP(CDP_ENDPOINT);
  // playwright gives every launch a fresh, temporary user-data dir; no first-run, sync or update traffic.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export interface Served {
  api: EngineApi;
  host: LoopbackHost;
  /** Calls the API over HTTP with a session of its own, as the page does. */
  call<T>(method: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

/** The engine API (preferences under `userDataDir`) behind a loopback host serving the built renderer. */
export async function serve(options: { userDataDir: string; systemLocale?: string; site?: string; limits?: Partial<HostLimits> }): Promise<Served> {
  const api = createEngineApi({ userDataDir: options.userDataDir, systemLocale: () => options.systemLocale ?? 'en-US' });
  const host = await startLoopbackHost({ api, rendererDir: RENDERER_DIR, limits: options.limits });
  // A session of the test's own, from a one-time code as the page gets one.
  const session = await openSession(host.port, host.newCode());
  const call = async <T>(method: string, ...args: unknown[]): Promise<T> => {
    const r = await fetch(`http://127.0.0.1:${host.port}/api/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sessionHeader(session) },
      body: JSON.stringify(args),
    });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${method}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  };
  if (options.site) await call('openSite', options.site);
  return {
    api,
    host,
    call,
    async close() {
      await host.close();
      await api.close();
    },
  };
}

/**
 * A loopback host (as `serve`) and the wizard opened on it, both closed when the test ends: the way most tests begin.
 */
export async function servedWizard(t: TestContext, browser: Browser, serveOptions: Parameters<typeof serve>[0], name: string, openOptions: { locale?: string } = {}): Promise<{ w: Wizard; served: Served }> {
  const served = await serve(serveOptions);
  const w = await Wizard.open(browser, served, name, openOptions);
  t.after(async () => {
    await w.close();
    await served.close();
  });
  return { w, served };
}

/**
 * What Electron's preload gives the page, for a page loaded without the loopback host: `window.tsmedia` with every API
 * method (each call goes to the engine API's `call`, as the IPC handlers do) and onMediaEvent fed from the engine.
 * Installed before any of the page's scripts run, like a preload; neither is subject to the page's CSP.
 */
export async function installPreloadBridge(page: Page, api: EngineApi): Promise<void> {
  await page.exposeFunction('__tsmediaInvoke', async (method: string, args: unknown[]) => {
    try {
      return { ok: true, value: await api.call(method, args) };
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  });
  await page.addInitScript(`(() => {
    const listeners = new Set();
    const api = {};
    for (const m of ${JSON.stringify(API_METHODS)}) {
      api[m] = async (...args) => {
        const r = await window.__tsmediaInvoke(m, args);
        if (r.ok) return r.value;
        throw new Error(r.error);
      };
    }
    api.onMediaEvent = (l) => { listeners.add(l); return () => listeners.delete(l); };
    Object.defineProperty(window, '__tsmediaEmit', { value: (e) => { for (const l of listeners) l(e); } });
    Object.defineProperty(window, 'tsmedia', { value: Object.freeze(api) });
  })()`);
  const unsubscribe = api.onMediaEvent((e) => {
    page.evaluate(`window.__tsmediaEmit && window.__tsmediaEmit(${JSON.stringify(e)})`).catch(() => undefined);
  });
  page.once('close', unsubscribe);
}

let shotCounter = 0;

/** The wizard in a page, with the steps the tests repeat. */
export class Wizard {
  private shotIndex = 0;
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly name: string,
    readonly errors: string[],
  ) {}

  /**
   * Opens the wizard: from the loopback host (`served`), or from any address (`{ url }`, e.g. the page as the app://
   * protocol handler serves it) after `prepare` has set the page up (a preload-like bridge).
   */
  static async open(browser: Browser, target: Served | { url: string; prepare?: (page: Page) => Promise<void> }, name: string, options: { locale?: string } = {}): Promise<Wizard> {
    const context = await browser.newContext({ locale: options.locale ?? 'en-US', viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    // Each page its own one-time address (a code works once).
    const url = 'host' in target ? target.host.newUrl() : target.url;
    if (!('host' in target) && target.prepare) await target.prepare(page);
    const errors: string[] = [];
    // Any CSP violation or uncaught error in the page fails the test that saw it.
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|404)/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    const w = new Wizard(context, page, name, errors);
    await w.expectPage('selectMediaType');
    await page.locator('[data-testid="site-root"]').waitFor();
    return w;
  }

  get heading(): Locator {
    return this.page.locator('#page-heading');
  }

  get nextButton(): Locator {
    return this.page.locator('footer .button-row button').nth(1);
  }

  get previousButton(): Locator {
    return this.page.locator('footer .button-row button').nth(0);
  }

  get cancelButton(): Locator {
    return this.page.locator('footer .button-row button').nth(2);
  }

  get reason(): Locator {
    return this.page.locator('#next-reason');
  }

  async expectPage(id: PageId, timeout = 20_000): Promise<void> {
    await this.page.locator(`#page-heading[data-page="${id}"]`).waitFor({ timeout });
  }

  async currentPage(): Promise<string | null> {
    return this.heading.getAttribute('data-page');
  }

  /** Clicks Next (waiting until it is enabled) and waits for the page that follows. */
  async next(expected: PageId): Promise<void> {
    await this.nextButton.click();
    await this.expectPage(expected);
  }

  /**
   * From Media Type to Summary as most runs go: no password, task sequence SMP00010 (`taskSequence` null keeps the one
   * already chosen), the `packages` ticked, distribution point DP01.
   */
  async plainToSummary(o: { packages?: string[]; taskSequence?: string | null } = {}): Promise<void> {
    await this.next('security');
    await this.page.locator('#protect').uncheck();
    await this.next('taskSequence');
    if (o.taskSequence !== null) await this.page.locator(`#ts-${o.taskSequence ?? 'SMP00010'}`).check();
    await this.page.locator('[data-testid="references"]').waitFor();
    await this.next('applications');
    await this.next('packages');
    for (const id of o.packages ?? []) await this.page.locator(`#packages-${id}`).check();
    await this.next('driverPackages');
    await this.next('distributionPoints');
    await this.page.locator('#dp-DP01').check();
    await this.next('customization');
    await this.next('summary');
  }

  /** From Select Media Type, a CD/DVD set at `out` made as plainToSummary goes, to its Completion page. */
  async makePlainIso(out: string): Promise<void> {
    await this.next('mediaType');
    await this.page.locator('#media-iso').check();
    await this.page.locator('input[name="media-file"]').fill(out);
    await this.plainToSummary();
    await this.page.locator('[data-testid="disc-count"]').waitFor();
    await this.nextButton.click();
    await this.expectPage('completion', 60_000);
    await this.page.locator('[data-testid="result"][data-result="done"]').waitFor();
  }

  /** No English sentence of the resources on the page (a Spanish page): `where` names the screen in the failure. */
  async expectNoEnglish(where: string, fragments: string[] = englishOnlyFragments()): Promise<void> {
    assert.deepEqual(await englishOnPage(this.page, fragments), [], `${where}: English text on the Spanish page`);
  }

  async previous(expected: PageId): Promise<void> {
    await this.previousButton.click();
    await this.expectPage(expected);
  }

  /** Waits until Next is disabled with a reason matching `re`; returns the reason's text. */
  async expectBlocked(re: RegExp): Promise<string> {
    const deadline = Date.now() + 15_000;
    let text = '';
    for (;;) {
      text = await this.reason.innerText();
      if (re.test(text) && (await this.nextButton.isDisabled())) return text;
      if (Date.now() > deadline) throw new Error(`Next is not blocked with ${re} (disabled: ${await this.nextButton.isDisabled()}; reason: ${JSON.stringify(text)})`);
      await this.page.waitForTimeout(50);
    }
  }

  async expectNextEnabled(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (await this.nextButton.isDisabled()) {
      if (Date.now() > deadline) throw new Error(`Next stays disabled: ${await this.reason.innerText()}`);
      await this.page.waitForTimeout(50);
    }
  }

  /** Saves a full-page screenshot as test-results/e2e/<test>-<nn>-<label>.png. */
  async shot(label: string): Promise<string> {
    mkdirSync(SHOTS_DIR, { recursive: true });
    // A test's first screenshot clears what an earlier run of the same test left.
    if (this.shotIndex === 0) for (const f of readdirSync(SHOTS_DIR)) if (f.startsWith(`${this.name}-`)) rmSync(join(SHOTS_DIR, f), { force: true });
    this.shotIndex += 1;
    shotCounter += 1;
    const file = join(SHOTS_DIR, `${this.name}-${String(this.shotIndex).padStart(2, '0')}-${label}.png`);
    // The whole page at once: the viewport is stretched to the content's height (a full-page screenshot would leave
    // the sticky button bar in the middle), then set back.
    const size = this.page.viewportSize() ?? { width: 1200, height: 900 };
    const height = (await this.page.evaluate('document.documentElement.scrollHeight')) as number;
    await this.page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 6000)) });
    await this.page.screenshot({ path: file });
    await this.page.setViewportSize(size);
    return file;
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  /** The text of the element that has the keyboard focus, with its tag, id and accessible label. */
  async focused(): Promise<{ tag: string; id: string; type: string; text: string }> {
    return (await this.page.evaluate(
      `(() => { const e = document.activeElement; if (!e) return { tag: '', id: '', type: '', text: '' };
        const label = e.id ? document.querySelector('label[for="' + CSS.escape(e.id) + '"]') : null;
        return { tag: e.tagName.toLowerCase(), id: e.id || '', type: e.getAttribute('type') || '', text: ((e.getAttribute('aria-label') || (label && label.textContent) || e.textContent || '') + '').trim() }; })()`,
    )) as { tag: string; id: string; type: string; text: string };
  }

  /** Presses Tab (or Shift+Tab) until the focused element matches, at most `max` times; fails otherwise. */
  async tabTo(match: (f: { tag: string; id: string; type: string; text: string }) => boolean, what: string, max = 60, backwards = false): Promise<void> {
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
      if (match(await this.focused())) return;
    }
    throw new Error(`Tab never reached ${what} (now on ${JSON.stringify(await this.focused())})`);
  }
}

/** Sentences of the English resource file that the Spanish one translates differently (placeholders cut out). */
export function englishOnlyFragments(): string[] {
  const flat = (o: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> => {
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      if (typeof v === 'string') out.set(prefix + k, v);
      else flat(v, `${prefix}${k}.`, out);
    }
    return out;
  };
  const en = flat(JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', 'en.json'), 'utf8')));
  const es = flat(JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', 'es.json'), 'utf8')));
  const out = new Set<string>();
  for (const [k, v] of en) {
    if (es.get(k) === v) continue;
    const longest = v
      .split(/\{\{[^}]+\}\}/)
      .map((s) => s.trim())
      .sort((a, b) => b.length - a.length)[0];
    // Whole phrases only: a single word ("Applications") may well be part of the site's own names.
    if (longest && longest.length >= 12 && longest.includes(' ')) out.add(longest);
  }
  return [...out];
}

/**
 * Which of `fragments` the page shows, leaving out what is marked lang="en" (an engine sentence with no code, which
 * comes as the engine wrote it, inside a translated frame).
 */
export async function englishOnPage(page: Page, fragments: string[]): Promise<string[]> {
  const text = await page.locator('body').evaluate((body) => {
    const copy = body.cloneNode(true) as typeof body;
    copy.querySelectorAll('[lang="en"]').forEach((e: { remove(): void }) => e.remove());
    return String(copy.innerText);
  });
  return fragments.filter((f) => text.includes(f));
}

export const totalShots = (): number => shotCounter;

/**
 * One browser and one scratch folder for a describe block: Chromium starts before its tests (when it can run here)
 * and both are gone after them. Call it inside `describe`.
 */
export function browserSuite(): { work: { dir: string; remove(): void }; browser(): Browser | null } {
  let browser: Browser | null = null;
  const work = scratch();
  process.env.XDG_STATE_HOME = join(work.dir, 'state');
  before(async () => {
    if (cannotRun() === null) browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    work.remove();
  });
  return { work, browser: () => browser };
}
