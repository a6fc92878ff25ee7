// The bench's `long-tasks-p95` figure: the wizard, served by the loopback host (in this process, as the end-to-end
// harness does), driven by Debian's Chromium through playwright-core to write an ISO with the benchmark payload
// (SMP00090); every main-thread long task the page's own PerformanceObserver ('longtask', buffered) reports from the
// click that starts the write until the Completion page shows is kept, with how many progress updates the page rendered.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createEngineApi, type EngineApi } from '../../electron/host/EngineApi.js';
import { startLoopbackHost, type LoopbackHost } from '../../electron/host/LoopbackHost.js';
import { packageRoot } from '../../electron/engine/paths.js';

export const CHROMIUM = process.env.TSMEDIA_CHROMIUM ?? '/usr/bin/chromium';
const RENDERER_DIR = join(packageRoot(), 'dist', 'renderer');

export interface WizardLongTasks {
  /** Long-task durations (ms) from the start of the write to the Completion page, in the order they happened. */
  durations: number[];
  /** 95th percentile (nearest rank) of `durations`; 0 when there were none. */
  p95: number;
  max: number;
  count: number;
  /** From the click on Next (Summary) to the Completion page, as the page's clock saw it. */
  seconds: number;
  /** Long tasks the page had before the write (loading, clicking through): a check that the observer works. */
  before: number;
  /** Progress updates the page rendered (a change of the bar, its numbers or the phase). */
  progressRenders: number;
  /** How the run ended, as the Completion page says ('done', else the failure's code). */
  result: string;
  /** The Completion page's text when the run did not end with 'done'. */
  failure: string | null;
}

/** Why the figure cannot be measured here, or null. */
export function cannotMeasureWizard(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (Debian: apt-get install chromium)`;
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return `${RENDERER_DIR}/index.html is missing: run "npm run build"`;
  return null;
}

/** Nearest-rank percentile; 0 for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

// Installed before the page's own scripts: the long-task observer, and a mutation observer that counts rendered
// progress updates and notes when the Completion page first shows (page clock, performance.now()).
const INIT_SCRIPT = `(() => {
  const b = { longTasks: [], progressRenders: 0, completionAt: null, observerError: null };
  Object.defineProperty(window, '__tsmediaBench', { value: b });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    b.observerError = String(e);
  }
  let last = null;
  const look = () => {
    const page = document.querySelector('#page-heading');
    const at = page ? page.getAttribute('data-page') : null;
    if (at === 'completion' && b.completionAt === null) b.completionAt = performance.now();
    if (at !== 'progress') return;
    const bar = document.querySelector('#progress-bar');
    const numbers = document.querySelector('.progress-numbers');
    const phase = document.querySelector('[data-testid="phase"]');
    const key = (bar ? bar.getAttribute('value') : '') + '|' + (numbers ? numbers.textContent : '') + '|' + (phase ? phase.getAttribute('data-phase') : '');
    if (key !== last) {
      last = key;
      b.progressRenders += 1;
    }
  };
  const start = () => new MutationObserver(look).observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['value', 'data-page', 'data-phase'] });
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})()`;

interface PageFigures {
  longTasks: { start: number; duration: number }[];
  progressRenders: number;
  completionAt: number | null;
  observerError: string | null;
}

/** Rejects after `ms` with `what` named, unless `p` settles first. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no end after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function clickThrough(page: Page, out: string, log: (s: string) => void): Promise<{ t0: number }> {
  const expectPage = (id: string, timeout?: number): Promise<unknown> => page.locator(`#page-heading[data-page="${id}"]`).waitFor(timeout === undefined ? {} : { timeout });
  const next = async (id: string): Promise<void> => {
    await page.locator('footer .button-row button').nth(1).click();
    await expectPage(id);
  };
  await expectPage('selectMediaType');
  await page.locator('[data-testid="site-root"]').waitFor();
  await next('mediaType');
  await page.locator('#media-iso').check();
  await page.locator('#disc-size').selectOption('unlimited');
  await page.locator('input[name="media-file"]').fill(out);
  await page.locator('#media-label').fill('Bench');
  await next('security');
  await page.locator('#protect').uncheck();
  await next('taskSequence');
  await page.locator('#ts-SMP00010').check();
  await page.locator('[data-testid="references"]').waitFor();
  await next('applications');
  await next('packages');
  await page.locator('#packages-SMP00090').check();
  await next('driverPackages');
  await next('distributionPoints');
  await page.locator('#dp-DP01').check();
  await next('customization');
  await next('summary');
  await page.locator('[data-testid="command-line"]').waitFor();
  const cli = await page.locator('[data-testid="command-line"]').innerText();
  if (!cli.includes('SMP00090')) throw new Error(`the wizard's request does not include SMP00090: ${cli}`);
  log('bench: wizard: starting the write from the Summary page');
  const t0 = (await page.evaluate('performance.now()')) as number;
  await page.locator('footer .button-row button').nth(1).click();
  return { t0 };
}

/**
 * Serves the wizard on `site`, writes an ISO (the sample task sequence plus SMP00090) by clicking through it in
 * Chromium, and returns the long tasks seen during the write. Everything it starts is stopped and every file it
 * writes (under `work`) removed, also on failure or after `timeoutMs`.
 */
export async function measureWizardLongTasks(options: { site: string; work: string; timeoutMs: number; log: (s: string) => void; trace?: string }): Promise<WizardLongTasks> {
  const { site, log } = options;
  const dir = join(options.work, 'wizard');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'w.iso');
  // The engine's CreateTSMedia.log goes under XDG_STATE_HOME: kept in the scratch folder, as in the e2e harness.
  const savedState = process.env.XDG_STATE_HOME;
  process.env.XDG_STATE_HOME = join(dir, 'state');
  let api: EngineApi | null = null;
  let host: LoopbackHost | null = null;
  let browser: Browser | null = null;
  let context: BrowserContext | null = null;
  const errors: string[] = [];
  try {
    api = createEngineApi({ userDataDir: join(dir, 'user'), systemLocale: () => 'en-US' });
    await api.call('openSite', [site]);
    host = await startLoopbackHost({ api, rendererDir: RENDERER_DIR });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1200, height: 900 } });
    context.setDefaultTimeout(60_000);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // A missing favicon is no error of the page's.
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 404/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    await page.addInitScript(INIT_SCRIPT);
    const url = host.url;
    const run = async (): Promise<WizardLongTasks> => {
      await page.goto(url);
      const supported = (await page.evaluate(`PerformanceObserver.supportedEntryTypes.includes('longtask')`)) as boolean;
      if (!supported) throw new Error(`this Chromium has no 'longtask' performance entries`);
      // A Chromium trace of the write (bench --trace FILE), to see what a long task was.
      if (options.trace && browser) await browser.startTracing(page, { path: options.trace, categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline'] });
      const { t0 } = await clickThrough(page, out, log);
      // Light polling from here (4 times a second) so that the waiting adds next to nothing to the page's main thread
      // (page.waitForFunction with an expression evaluates it in the page, which the page's CSP forbids).
      while (((await page.evaluate('window.__tsmediaBench.completionAt')) as number | null) === null) await new Promise((r) => setTimeout(r, 250));
      // Entries are delivered to the observer a little after the task ends.
      await page.waitForTimeout(500);
      if (options.trace && browser) await browser.stopTracing();
      const figures = (await page.evaluate('window.__tsmediaBench')) as PageFigures;
      if (figures.observerError) throw new Error(`the long-task observer failed: ${figures.observerError}`);
      const end = figures.completionAt ?? Infinity;
      const during = figures.longTasks.filter((t) => t.start + t.duration >= t0 && t.start <= end);
      const durations = during.map((t) => t.duration);
      // When each fell (from the click, and before the Completion page showed), to tell rendering pages from progress.
      for (const t of during) log(`bench: wizard: long task of ${t.duration.toFixed(0)} ms at +${((t.start - t0) / 1000).toFixed(2)} s (${((end - t.start) / 1000).toFixed(2)} s before Completion)`);
      const result = (await page.locator('[data-testid="result"]').getAttribute('data-result', { timeout: 5_000 }).catch(() => null)) ?? 'unknown';
      const failure = result === 'done' ? null : await page.locator('main').innerText({ timeout: 5_000 }).catch(() => null);
      return {
        durations,
        p95: percentile(durations, 95),
        max: durations.length ? Math.max(...durations) : 0,
        count: durations.length,
        before: figures.longTasks.filter((t) => t.start + t.duration < t0).length,
        seconds: (end - t0) / 1000,
        progressRenders: figures.progressRenders,
        result,
        failure,
      };
    };
    const r = await within(run(), options.timeoutMs, 'the wizard run');
    if (r.result !== 'done') throw new Error(`the wizard's write ended with "${r.result}": ${(r.failure ?? '').replace(/\s+/g, ' ').trim()}${errors.length ? ` (${errors.join('; ')})` : ''}`);
    if (errors.length) log(`bench: wizard: the page reported: ${errors.join('; ')}`);
    return r;
  } finally {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    // Aborts a write still running (a timeout) and waits for it to end.
    await api?.close().catch(() => undefined);
    if (savedState === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = savedState;
    rmSync(dir, { recursive: true, force: true });
  }
}
