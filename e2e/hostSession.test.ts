// What the browser keeps of a loopback host's session, and where it goes (issue 11, items 2 and 8). The address carries a
// one-time code; the page trades it for a session secret it holds in memory and sends as a header. So a second local
// server the same browser visits gets nothing of the session (a cookie would reach every port of 127.0.0.1), and the
// profile's files (History, Session Storage, Cache…) never hold the secret; the spent code they hold opens nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { HOST_CODE_PARAM, HOST_SESSION_PATH } from '../shared/ipc.js';
import { exchangeCode } from '../test/support/hostSession.js';
import { requireOrSkip } from '../test/helpers.js';
import { browserSuite, CDP_ENDPOINT, CHROMIUM, scratch, serve, skipUnlessReady, Wizard } from './harness.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A second local web server, as another user could run one: it records every request, and its page reports what it can see. */
async function recorder(): Promise<{ port: number; seen: Seen[]; report: Promise<Record<string, unknown>>; close(): Promise<void> }> {
  const seen: Seen[] = [];
  let reported!: (r: Record<string, unknown>) => void;
  const report = new Promise<Record<string, unknown>>((r) => (reported = r));
  const probe = `fetch('/report', { method: 'POST', body: JSON.stringify({ cookie: document.cookie, session: Object.entries(sessionStorage), local: Object.entries(localStorage), name: window.name, href: location.href, referrer: document.referrer }) });`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/probe.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(probe);
      } else if (req.url === '/report') {
        res.writeHead(204).end();
        reported(JSON.parse(body) as Record<string, unknown>);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another server</title><script src="/probe.js"></script>');
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: (server.address() as AddressInfo).port, seen, report, close: () => new Promise((ok) => server.close(() => ok())) };
}

/**
 * Every secret of the host's sessions a page sees: session secrets and resume codes from the exchanges into `secrets`,
 * and the value of any x-tsmedia-* header it sends into both `secrets` and `sent`.
 */
function watchSecrets(page: Page, secrets: Set<string>, exchanges: { session: string; resume: string }[], sent = new Set<string>()): Set<string> {
  page.on('request', (r) => {
    for (const [k, v] of Object.entries(r.headers())) {
      if (!k.startsWith('x-tsmedia')) continue;
      secrets.add(v);
      sent.add(v);
    }
  });
  page.on('response', (r) => {
    if (new URL(r.url()).pathname !== HOST_SESSION_PATH || r.status() !== 200) return;
    void r.json().then((o: { session: string; resume: string }) => {
      exchanges.push(o);
      secrets.add(o.session);
      secrets.add(o.resume);
    });
  });
  return sent;
}

const codeOf = (address: string): string => new URLSearchParams(new URL(address).hash.slice(1)).get(HOST_CODE_PARAM) ?? '';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** The files under `dir` whose bytes hold `text` (as UTF-8/ASCII or UTF-16LE, as Chromium's databases store it). */
function filesHolding(dir: string, text: string): string[] {
  const forms = [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le')];
  return filesUnder(dir).filter((f) => {
    const bytes = readFileSync(f);
    return forms.some((b) => bytes.includes(b));
  });
}

describe('wizard: the session stays with the page', () => {
  const suite = browserSuite();
  const { work } = suite;

  test('another local server the browser visits gets nothing of the session: no cookie, no header, no code', async (t) => {
    const browser = suite.browser();
    if (!skipUnlessReady(t) || !browser) return;
    const served = await serve({ userDataDir: join(work.dir, 'user-leak') });
    const rec = await recorder();
    t.after(async () => {
      await rec.close();
      await served.close();
    });
    const address = served.host.newUrl();
    const secrets = new Set<string>([codeOf(address)]);
    const exchanges: { session: string; resume: string }[] = [];
    const sent = new Set<string>();
    const w = await Wizard.open(browser, { url: address, prepare: async (page) => void watchSecrets(page, secrets, exchanges, sent) }, 'session-leak');
    t.after(() => w.close());
    const { page } = w;

    // The wizard works: its API calls, and its event stream (the Completion page waits for the run's last event).
    const out = join(work.dir, 'leak.iso');
    await w.makePlainIso(out);
    assert.deepEqual(w.errors, []);
    assert.ok(sent.size > 0, 'the page sent its session');

    // Then the same tab, and a new one in the same browser, visit another server on another port of 127.0.0.1.
    await page.goto(`http://127.0.0.1:${rec.port}/`);
    const report = await rec.report;
    const second = await w.context.newPage();
    await second.goto(`http://127.0.0.1:${rec.port}/second`);
    assert.deepEqual(report, { cookie: '', session: [], local: [], name: '', href: `http://127.0.0.1:${rec.port}/`, referrer: '' });
    assert.ok(rec.seen.length >= 4, `requests seen: ${rec.seen.length}`);
    for (const r of rec.seen) {
      assert.equal(r.headers.cookie, undefined, `${r.method} ${r.url} carried a cookie: ${r.headers.cookie}`);
      assert.deepEqual(Object.keys(r.headers).filter((k) => k.startsWith('x-tsmedia')), [], `${r.method} ${r.url}`);
      const all = JSON.stringify(r);
      for (const s of secrets) assert.ok(!all.includes(s), `${r.method} ${r.url} carried a secret of the session`);
    }
    assert.deepEqual(await w.context.cookies(), [], 'the browser holds no cookie at all');
    assert.equal(exchanges.length, 1, 'one exchange: the code from the address');
    assert.ok(sent.has(exchanges[0].session), 'the page sent its session as the header');
    // The code in the address is spent.
    assert.equal((await exchangeCode(served.host.port, codeOf(address))).reason, 'code-used');
  });

  test("the profile's files keep no session secret; the address in its history holds a spent code; a reload keeps the session", async (t) => {
    if (!skipUnlessReady(t)) return;
    if (!requireOrSkip(t, CDP_ENDPOINT === null, 'launches a browser of its own on a profile folder it scans; here the tests drive a running Chromium (TSMEDIA_CDP_ENDPOINT, the Windows run)')) return;
    const profile = scratch('tsmedia-e2e-profile-');
    const served = await serve({ userDataDir: join(work.dir, 'user-profile'), limits: { resumeGraceMs: 2_000 } });
    t.after(async () => {
      await served.close();
      profile.remove();
    });
    const context = await chromium.launchPersistentContext(profile.dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    let open = true;
    t.after(async () => {
      if (open) await context.close();
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const secrets = new Set<string>();
    const exchanges: { session: string; resume: string }[] = [];
    const sentHeaders = watchSecrets(page, secrets, exchanges);
    const address = served.host.newUrl();
    const code = codeOf(address);
    await page.goto(address);
    await page.locator('[data-testid="site-root"]').waitFor({ timeout: 20_000 });
    // A reload: the page left its resume code for itself, and starts a new session with it.
    await page.reload();
    await page.locator('[data-testid="site-root"]').waitFor({ timeout: 20_000 });
    await page.locator('#page-heading[data-page="selectMediaType"]').waitFor();
    await context.close();
    open = false;

    const files = filesUnder(profile.dir);
    assert.ok(files.some((f) => f.endsWith('History')), `no History file in the profile: ${files.length} files`);
    // The scan finds what is there: the address, with its code, is in the history.
    assert.ok(filesHolding(profile.dir, code).some((f) => f.endsWith('History')), 'the visited address is not in History');
    // Every secret the page sent as a header (its sessions, before and after the reload).
    const sent = [...sentHeaders];
    assert.ok(sent.length > 0, 'the page sent no session');
    for (const s of sent) assert.deepEqual(filesHolding(profile.dir, s), [], 'a session secret is in the profile');
    assert.equal(exchanges.length, 2, 'the address, then the reload');
    for (const e of exchanges) assert.ok(sent.includes(e.session), 'each session was sent as the header');
    // What the profile holds opens nothing now: the address's code is spent, and the resume codes too once the grace
    // after the page's last contact (2 s here) has passed.
    assert.equal((await exchangeCode(served.host.port, code)).reason, 'code-used');
    await new Promise((r) => setTimeout(r, 2_500));
    for (const e of exchanges) {
      const r = await exchangeCode(served.host.port, e.resume);
      assert.equal(r.status, 403, r.body);
      assert.match(String(r.reason), /^code-(used|expired)$/);
    }
  });
});
