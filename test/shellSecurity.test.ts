// The Electron shell's security decisions (electron/shell/security.ts) and the preload, run here without Electron: the
// window's options, the CSP, which frames may call the API, where the window may go, and that the compiled preload
// exposes exactly the contract's methods on the contract's channels.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { API_METHODS, MEDIA_EVENT_CHANNEL, ipcChannel, type MediaEvent } from '../shared/ipc.js';
import {
  CONTENT_SECURITY_POLICY,
  CONTENT_SECURITY_POLICY_META,
  isAllowedNavigation,
  isPermissionAllowed,
  isTrustedSender,
  mainWindowOptions,
  rendererIndexUrl,
  withSecurityHeaders,
  type IpcReply,
} from '../electron/shell/security.js';
import { ROOT, tempDir } from './helpers.js';

const RENDERER = join(ROOT, 'dist', 'renderer');

// electron/main.ts run by Node with a stand-in `electron` module (a module resolve hook): the wiring without the binary.
const STUB = `import { EventEmitter } from 'node:events';
const fake = (globalThis.__fake = { handlers: new Map(), windows: [], sent: [], errors: [] });
class App extends EventEmitter {
  isPackaged = true;
  enableSandbox() { fake.sandbox = true; }
  requestSingleInstanceLock() { return true; }
  whenReady() { return Promise.resolve(); }
  getPath() { return process.env.STUB_USER_DATA; }
  getLocale() { return 'es-ES'; }
  quit() { fake.quit = true; }
}
export const app = new App();
class Contents extends EventEmitter {
  setWindowOpenHandler(h) { this.openHandler = h; }
  isLoading() { return true; }
  send(channel, e) { fake.sent.push([channel, e]); }
}
export class BrowserWindow extends EventEmitter {
  constructor(options) { super(); this.options = options; this.webContents = new Contents(); app.emit('web-contents-created', {}, this.webContents); fake.windows.push(this); }
  loadURL(url) { this.url = url; return Promise.resolve(); }
  isDestroyed() { return false; }
}
export const ipcMain = { handle: (channel, fn) => fake.handlers.set(channel, fn) };
export const session = { defaultSession: { webRequest: { onHeadersReceived: (fn) => (fake.headers = fn) }, setPermissionRequestHandler: (fn) => (fake.permission = fn), setPermissionCheckHandler() {} } };
export const dialog = { showErrorBox: (title, text) => fake.errors.push(text), showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }) };
export const shell = { openPath: async () => '' };
`;

const DRIVER = `await import(process.env.MAIN_JS);
await new Promise((r) => setTimeout(r, 50));
const fake = globalThis.__fake;
const win = fake.windows[0];
const out = { sandbox: fake.sandbox, quit: fake.quit === true, errors: fake.errors, handlers: [...fake.handlers.keys()].sort() };
if (win) {
  out.webPreferences = win.options.webPreferences;
  out.url = win.url;
  const own = { senderFrame: { url: win.url, parent: null } };
  out.trusted = await fake.handlers.get('tsmedia:systemLocale')(own);
  out.invalid = await fake.handlers.get('tsmedia:analyze')(own, { taskSequenceId: 1 });
  out.iframe = (await fake.handlers.get('tsmedia:systemLocale')({ senderFrame: { url: win.url, parent: {} } })) ?? 'ignored';
  out.foreign = (await fake.handlers.get('tsmedia:systemLocale')({ senderFrame: { url: 'https://evil.example/', parent: null } })) ?? 'ignored';
  out.noFrame = (await fake.handlers.get('tsmedia:systemLocale')({ senderFrame: null })) ?? 'ignored';
  const nav = { prevented: false, preventDefault() { this.prevented = true; } };
  win.webContents.emit('will-navigate', nav, 'https://evil.example/');
  out.navigationPrevented = nav.prevented;
  out.windowOpen = win.webContents.openHandler({ url: 'https://example.com/' });
  fake.headers({ responseHeaders: { 'content-security-policy': ['default-src *'] } }, (r) => (out.headers = r.responseHeaders));
  fake.permission(null, 'media', (allowed) => (out.permissionAllowed = allowed));
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
`;
const directives = (csp: string): Map<string, string> => new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));

describe('shell security', () => {
  test('the window: context isolation, sandbox, no Node, web security, no webview, an absolute preload', () => {
    const o = mainWindowOptions('/opt/tsmedia/dist/electron/preload.cjs', { devTools: false });
    const w = o.webPreferences;
    assert.equal(w.contextIsolation, true);
    assert.equal(w.sandbox, true);
    assert.equal(w.nodeIntegration, false);
    assert.equal(w.nodeIntegrationInWorker, false);
    assert.equal(w.nodeIntegrationInSubFrames, false);
    assert.equal(w.webSecurity, true);
    assert.equal(w.allowRunningInsecureContent, false);
    assert.equal(w.webviewTag, false);
    assert.equal(w.experimentalFeatures, false);
    assert.equal(w.navigateOnDragDrop, false);
    assert.equal(w.devTools, false);
    assert.equal(w.preload, '/opt/tsmedia/dist/electron/preload.cjs');
    assert.throws(() => mainWindowOptions('preload.cjs', { devTools: false }), /full path/);
  });

  test('the CSP: scripts only from the app, no inline script or eval, nothing framed, network to itself only', () => {
    const d = directives(CONTENT_SECURITY_POLICY);
    assert.equal(d.get('default-src'), "'none'");
    assert.equal(d.get('script-src'), "'self'");
    assert.equal(d.get('connect-src'), "'self'");
    assert.equal(d.get('frame-ancestors'), "'none'");
    assert.equal(d.get('object-src'), "'none'");
    assert.equal(d.get('base-uri'), "'none'");
    assert.equal(d.get('form-action'), "'none'");
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-eval|https?:|\*/);
    assert.doesNotMatch(d.get('script-src') ?? '', /unsafe-inline/);
    // A meta tag ignores frame-ancestors; the rest is the same policy.
    assert.doesNotMatch(CONTENT_SECURITY_POLICY_META, /frame-ancestors/);
    assert.equal(directives(CONTENT_SECURITY_POLICY_META).get('script-src'), "'self'");
  });

  test('response headers: the CSP and nosniff replace whatever a response carried', () => {
    const h = withSecurityHeaders({ 'content-security-policy': ["default-src *"], 'Content-Type': 'text/html', 'X-Content-Type-Options': ['sniff'] });
    assert.deepEqual(h['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
    assert.deepEqual(h['X-Content-Type-Options'], ['nosniff']);
    assert.deepEqual(h['Content-Type'], ['text/html']);
    assert.equal(h['content-security-policy'], undefined);
    assert.deepEqual(withSecurityHeaders(undefined)['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
  });

  test('IPC senders: only the top frame of a page under the renderer folder', () => {
    const index = rendererIndexUrl(RENDERER);
    assert.equal(index, pathToFileURL(join(RENDERER, 'index.html')).href);
    assert.equal(isTrustedSender({ url: index, parent: null }, RENDERER), true);
    assert.equal(isTrustedSender({ url: `${index}#/summary`, parent: null }, RENDERER), true);
    const refused: [string, unknown][] = [
      [index, {}], // an iframe inside the page
      ['https://evil.example/index.html', null],
      ['http://127.0.0.1:1234/index.html', null],
      [pathToFileURL(join(ROOT, 'dist', 'evil.html')).href, null],
      [`${pathToFileURL(RENDERER).href}/../evil.html`, null],
      [`${pathToFileURL(RENDERER).href}/%2e%2e/evil.html`, null],
      [pathToFileURL(RENDERER).href, null],
      [pathToFileURL(join(RENDERER, 'assets', 'app.js')).href, null],
      [`file://evil-host${join(RENDERER, 'index.html')}`, null],
      [`${pathToFileURL(RENDERER).href}-evil/index.html`, null],
      ['data:text/html,<script>1</script>', null],
      ['about:blank', null],
      ['', null],
    ];
    for (const [url, parent] of refused) assert.equal(isTrustedSender({ url, parent }, RENDERER), false, url);
    assert.equal(isTrustedSender(null, RENDERER), false);
    assert.equal(isTrustedSender(undefined, RENDERER), false);
  });

  test('navigation: only the app\'s own page; permissions: none', () => {
    const index = rendererIndexUrl(RENDERER);
    assert.equal(isAllowedNavigation(index, RENDERER), true);
    assert.equal(isAllowedNavigation(`${index}?lang=es#x`, RENDERER), true);
    for (const url of ['https://example.com/', 'http://127.0.0.1:80/', 'javascript:alert(1)', 'data:text/html,x', pathToFileURL('/etc/passwd').href, pathToFileURL(join(RENDERER, 'other.html')).href, 'not a url']) {
      assert.equal(isAllowedNavigation(url, RENDERER), false, url);
    }
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) assert.equal(isPermissionAllowed(p), false);
  });

  test('the compiled preload exposes exactly the API methods and onMediaEvent, on the contract\'s channels', async () => {
    const code = readFileSync(join(ROOT, 'dist', 'electron', 'preload.cjs'), 'utf8');
    const invoked: { channel: string; args: unknown[] }[] = [];
    const handlers = new Map<string, Set<(...a: unknown[]) => void>>();
    let exposed: { key: string; api: Record<string, unknown> } | null = null;
    let reply: IpcReply = { ok: true, value: 42 };
    const electron = {
      contextBridge: {
        exposeInMainWorld: (key: string, api: Record<string, unknown>) => {
          exposed = { key, api };
        },
      },
      ipcRenderer: {
        invoke: async (channel: string, ...args: unknown[]) => {
          invoked.push({ channel, args });
          return reply;
        },
        on: (channel: string, h: (...a: unknown[]) => void) => {
          if (!handlers.has(channel)) handlers.set(channel, new Set());
          handlers.get(channel)?.add(h);
        },
        removeListener: (channel: string, h: (...a: unknown[]) => void) => {
          handlers.get(channel)?.delete(h);
        },
      },
    };
    const required: string[] = [];
    // As Electron runs a sandboxed preload: a function of require, process, exports and module.
    const sandbox = {
      require: (name: string) => {
        required.push(name);
        if (name === 'electron') return electron;
        throw new Error(`module not found: ${name}`);
      },
      exports: {},
      module: { exports: {} },
    };
    runInNewContext(code, sandbox, { filename: 'preload.cjs' });
    assert.deepEqual(required, ['electron']);
    const got = exposed as { key: string; api: Record<string, unknown> } | null;
    assert.ok(got, 'exposeInMainWorld was called');
    assert.equal(got.key, 'tsmedia');
    assert.ok(Object.isFrozen(got.api));
    assert.deepEqual(Object.keys(got.api).sort(), [...API_METHODS, 'onMediaEvent'].sort());
    for (const k of Object.keys(got.api)) assert.equal(typeof got.api[k], 'function', k);

    for (const m of API_METHODS) {
      reply = { ok: true, value: { method: m } };
      const fn = got.api[m] as (...a: unknown[]) => Promise<unknown>;
      assert.deepEqual(await fn('a', 1), { method: m });
      assert.deepEqual(invoked.pop(), { channel: ipcChannel(m), args: ['a', 1] });
    }
    reply = { ok: false, code: 'invalid', error: 'analyze.taskSequenceId must be text, not number.' };
    await assert.rejects((got.api.analyze as (r: unknown) => Promise<unknown>)({}), (err: Error) => err.message === 'analyze.taskSequenceId must be text, not number.');
    // An error with a code: the rejection is a plain object (the context bridge would drop an Error's other properties).
    const detail = { code: 'DRIVE_NOT_CONNECTED', params: { device: '/dev/sdz' } };
    reply = { ok: false, code: 'invalid', error: 'drive /dev/sdz is not connected (any more).', detail };
    await assert.rejects((got.api.startMedia as (r: unknown) => Promise<unknown>)({}), (err: unknown) => {
      assert.deepEqual(JSON.parse(JSON.stringify(err)), { name: 'InvalidRequest', message: 'drive /dev/sdz is not connected (any more).', code: 'invalid', detail });
      return true;
    });

    const seen: unknown[] = [];
    const unsubscribe = (got.api.onMediaEvent as (l: (e: MediaEvent) => void) => () => void)((e) => seen.push(e));
    const event: MediaEvent = { jobId: 'j1', type: 'error', code: 'failed', message: 'disk full' };
    const subscribers = [...(handlers.get(MEDIA_EVENT_CHANNEL) ?? [])];
    assert.equal(subscribers.length, 1);
    subscribers[0]({ sender: 'the IpcRendererEvent must not reach the page' }, event);
    assert.deepEqual(seen, [event], 'the listener gets the event only');
    unsubscribe();
    assert.equal(handlers.get(MEDIA_EVENT_CHANNEL)?.size, 0);
    assert.throws(() => (got.api.onMediaEvent as (l: unknown) => unknown)('not a function'), /needs a function/);
  });

  test('only the shell imports electron: the engine, the host, the shell\'s rules and shared/ never do', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const n of readdirSync(dir)) {
        const p = join(dir, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(c|m)?ts$/.test(n) && /from ['"]electron['"]|require\(['"]electron['"]\)/.test(readFileSync(p, 'utf8'))) offenders.push(relative(ROOT, p));
      }
    };
    for (const d of ['electron/engine', 'electron/host', 'electron/shell', 'electron/cli', 'shared']) walk(join(ROOT, d));
    assert.deepEqual(offenders, []);
    // The shell's own files do, and every IPC handler checks its sender.
    const main = readFileSync(join(ROOT, 'electron', 'main.ts'), 'utf8');
    assert.match(main, /from 'electron'/);
    assert.match(main, /ipcMain\.handle\(ipcChannel\(method\)[\s\S]{0,200}isTrustedSender\(event\.senderFrame, rendererDir\)/);
    assert.match(main, /setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
  });

  test('main.ts with a stand-in electron module: a locked-down window, IPC only from its own page, errors as replies', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'electron.mjs'), STUB);
    writeFileSync(join(dir, 'hooks.mjs'), `export async function resolve(spec, ctx, next) { return spec === 'electron' ? { url: ${JSON.stringify(pathToFileURL(join(dir, 'electron.mjs')).href)}, shortCircuit: true } : next(spec, ctx); }`);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});`);
    writeFileSync(join(dir, 'driver.mjs'), DRIVER);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'driver.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, MAIN_JS: pathToFileURL(join(ROOT, 'dist', 'electron', 'main.js')).href, STUB_USER_DATA: join(dir, 'user-data'), XDG_STATE_HOME: join(dir, 'state') },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.sandbox, true, 'app.enableSandbox() before the window');
    if (!existsSync(join(RENDERER, 'index.html'))) {
      // Without the built page the app says so and quits, registering nothing.
      console.log(`# note: ${t.name}: dist/renderer/index.html is not built; checked the refusal path only`);
      assert.equal(out.quit, true);
      assert.match(String((out.errors as string[])[0]), /not built/);
      assert.deepEqual(out.handlers, []);
      return;
    }
    assert.deepEqual(out.handlers, API_METHODS.map(ipcChannel).sort());
    assert.equal(out.url, rendererIndexUrl(RENDERER));
    assert.deepEqual(out.webPreferences, mainWindowOptions(join(ROOT, 'dist', 'electron', 'preload.cjs'), { devTools: false }).webPreferences);
    assert.deepEqual(out.trusted, { ok: true, value: 'es-ES' });
    assert.deepEqual(out.invalid, { ok: false, code: 'invalid', error: 'analyze: field "detectDependencies" is missing.' });
    assert.equal(out.iframe, 'ignored');
    assert.equal(out.foreign, 'ignored');
    assert.equal(out.noFrame, 'ignored');
    assert.equal(out.navigationPrevented, true);
    assert.deepEqual(out.windowOpen, { action: 'deny' });
    assert.deepEqual(out.headers, withSecurityHeaders({}));
    assert.equal(out.permissionAllowed, false);
  });
});
