// The Electron shell's security decisions (electron/shell/security.ts) and the preload, run here without Electron: the
// window's options, the CSP, which frames may call the API, where the window may go, and that the compiled preload
// exposes exactly the contract's methods on the contract's channels.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { API_METHODS, MEDIA_EVENT_CHANNEL, ipcChannel, type MediaEvent } from '../shared/ipc.js';
import { appProtocolResponse } from '../electron/shell/rendererFiles.js';
import {
  APP_INDEX_URL,
  CONTENT_SECURITY_POLICY,
  CONTENT_SECURITY_POLICY_META,
  ipcSenderRefusal,
  isAllowedNavigation,
  isPermissionAllowed,
  mainWindowOptions,
  PAGE_HEADERS,
  withSecurityHeaders,
  type IpcReply,
  type SenderFrame,
} from '../electron/shell/security.js';
import { ROOT, tempDir } from './helpers.js';

const RENDERER = join(ROOT, 'dist', 'renderer');

// electron/main.ts run by Node with a stand-in `electron` module (a module resolve hook): the wiring without the binary.
const STUB = `import { EventEmitter } from 'node:events';
const fake = (globalThis.__fake = { handlers: new Map(), windows: [], sent: [], errors: [], order: [], protocols: new Map() });
class App extends EventEmitter {
  isPackaged = true;
  enableSandbox() { fake.sandbox = true; }
  requestSingleInstanceLock() { return true; }
  whenReady() { fake.order.push('whenReady'); return Promise.resolve(); }
  getPath() { return process.env.STUB_USER_DATA; }
  getLocale() { return 'es-ES'; }
  quit() { fake.quit = true; }
}
export const app = new App();
let frames = 0;
class Contents extends EventEmitter {
  // As WebFrameMain: the top frame has no parent; a process id and routing id identify a frame.
  mainFrame = { url: '', parent: null, processId: 1, routingId: ++frames, detached: false };
  setWindowOpenHandler(h) { this.openHandler = h; }
  isLoading() { return true; }
  send(channel, e) { fake.sent.push([channel, e]); }
}
export class BrowserWindow extends EventEmitter {
  constructor(options) { super(); this.options = options; this.webContents = new Contents(); app.emit('web-contents-created', {}, this.webContents); fake.windows.push(this); }
  loadURL(url) { this.url = url; this.webContents.mainFrame.url = url; return Promise.resolve(); }
  loadFile(path) { this.url = 'loadFile:' + path; return Promise.resolve(); }
  isDestroyed() { return false; }
}
export const ipcMain = { handle: (channel, fn) => fake.handlers.set(channel, fn) };
export const protocol = {
  registerSchemesAsPrivileged: (schemes) => { fake.order.push('registerSchemesAsPrivileged'); fake.schemes = schemes; },
  handle: (scheme, fn) => fake.protocols.set(scheme, fn),
};
export const session = { defaultSession: { webRequest: { onHeadersReceived: (fn) => (fake.headers = fn) }, setPermissionRequestHandler: (fn) => (fake.permission = fn), setPermissionCheckHandler() {} } };
export const dialog = { showErrorBox: (title, text) => fake.errors.push(text), showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showSaveDialog: async () => ({ canceled: true }) };
export const shell = { openPath: async () => '' };
`;

const DRIVER = `await import(process.env.MAIN_JS);
await new Promise((r) => setTimeout(r, 50));
const fake = globalThis.__fake;
const win = fake.windows[0];
const out = { sandbox: fake.sandbox, quit: fake.quit === true, errors: fake.errors, handlers: [...fake.handlers.keys()].sort(), order: fake.order, schemes: fake.schemes ?? null, protocols: [...fake.protocols.keys()] };
if (win) {
  out.webPreferences = win.options.webPreferences;
  out.url = win.url;
  const contents = win.webContents;
  const main = contents.mainFrame;
  const locale = fake.handlers.get('tsmedia:systemLocale');
  const ask = async (event) => (await locale(event)) ?? 'ignored';
  out.trusted = await locale({ sender: contents, senderFrame: main });
  out.sameFrameAnotherObject = await locale({ sender: contents, senderFrame: { ...main } });
  out.invalid = await fake.handlers.get('tsmedia:analyze')({ sender: contents, senderFrame: main }, { taskSequenceId: 1 });
  out.iframe = await ask({ sender: contents, senderFrame: { ...main, parent: main, routingId: 99 } });
  out.otherFrame = await ask({ sender: contents, senderFrame: { ...main, routingId: 99 } });
  out.otherContents = await ask({ sender: new EventTarget(), senderFrame: main });
  out.fileUrl = await ask({ sender: contents, senderFrame: { ...main, url: process.env.FILE_INDEX_URL } });
  out.foreign = await ask({ sender: contents, senderFrame: { ...main, url: 'https://evil.example/path?token=SECRET-TOKEN' } });
  out.noFrame = await ask({ sender: contents, senderFrame: null });
  const nav = (url) => { const e = { prevented: false, preventDefault() { this.prevented = true; } }; contents.emit('will-navigate', e, url); return e.prevented; };
  out.navigationPrevented = { evil: nav('https://evil.example/'), file: nav(process.env.FILE_INDEX_URL), own: nav('app://tsmedia/index.html#/summary') };
  out.windowOpen = contents.openHandler({ url: 'https://example.com/' });
  fake.headers({ responseHeaders: { 'content-security-policy': ['default-src *'] } }, (r) => (out.headers = r.responseHeaders));
  fake.permission(null, 'media', (allowed) => (out.permissionAllowed = allowed));
  const serve = fake.protocols.get('app');
  if (serve) {
    const answer = async (url) => { const r = await serve(new Request(url)); return { status: r.status, csp: r.headers.get('content-security-policy'), nosniff: r.headers.get('x-content-type-options'), type: r.headers.get('content-type'), body: (await r.text()).slice(0, 200) }; };
    out.served = { index: await answer(win.url), traversal: await answer('app://tsmedia/..%2f..%2f..%2fpackage.json'), otherHost: await answer('app://evil/index.html') };
  }
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

  test('IPC senders: only the main frame of the wizard\'s window, showing app://tsmedia/index.html', () => {
    assert.equal(APP_INDEX_URL, 'app://tsmedia/index.html');
    const contents = { id: 1 };
    const mainFrame = { url: APP_INDEX_URL, parent: null, processId: 4, routingId: 7 };
    const win = { webContents: contents, mainFrame };
    const call = (frame: Partial<SenderFrame> | null, sender: unknown = contents): string | null =>
      ipcSenderRefusal({ sender, senderFrame: frame === null ? null : { ...mainFrame, ...frame } }, win);
    assert.equal(call({}), null);
    assert.equal(call({ url: `${APP_INDEX_URL}#/summary` }), null);
    // Electron may hand out another WebFrameMain object for the same frame: the same process and routing ids.
    assert.equal(ipcSenderRefusal({ sender: contents, senderFrame: { url: APP_INDEX_URL, parent: null, processId: 4, routingId: 7 } }, win), null);

    assert.match(String(call({}, { id: 2 })), /another web contents/);
    assert.match(String(call({}, null)), /another web contents/);
    assert.match(String(call({ parent: mainFrame })), /frame inside the page/);
    assert.match(String(call({ routingId: 8 })), /not come from the window's main frame/);
    assert.match(String(call({ processId: 5 })), /not come from the window's main frame/);
    assert.match(String(call(null)), /frame has gone/);
    assert.match(String(call({ detached: true })), /frame has gone/);
    assert.match(String(ipcSenderRefusal({ sender: contents, senderFrame: mainFrame }, null)), /window is not open/);
    const pages = [
      pathToFileURL(join(RENDERER, 'index.html')).href, // the page as it landed: file:// is no longer the app
      'app://evil/index.html',
      'app://tsmedia:8080/index.html',
      'app://user@tsmedia/index.html',
      'app://tsmedia/other.html',
      'app://tsmedia/',
      'app://tsmedia/assets/index.js',
      'tsmedia://app/index.html',
      'https://evil.example/index.html',
      'http://127.0.0.1:1234/index.html',
      'data:text/html,<script>1</script>',
      'about:blank',
      '',
    ];
    for (const url of pages) assert.match(String(call({ url })), /the calling page is .*, not app:\/\/tsmedia\/index\.html/, url);
    // The reason names an origin at most: never a path, a query or a fragment (a query may carry a token).
    const said = String(call({ url: 'https://evil.example/secret/path?token=abc123#frag' }));
    assert.match(said, /https:\/\/evil\.example/);
    assert.doesNotMatch(said, /secret|abc123|frag/);
  });

  test('navigation: only the app\'s own page; permissions: none', () => {
    assert.equal(isAllowedNavigation(APP_INDEX_URL), true);
    assert.equal(isAllowedNavigation(`${APP_INDEX_URL}?lang=es#x`), true);
    const refused = [
      'https://example.com/',
      'http://127.0.0.1:80/',
      'javascript:alert(1)',
      'data:text/html,x',
      pathToFileURL('/etc/passwd').href,
      pathToFileURL(join(RENDERER, 'index.html')).href,
      'app://tsmedia/other.html',
      'app://other/index.html',
      'not a url',
    ];
    for (const url of refused) assert.equal(isAllowedNavigation(url), false, url);
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) assert.equal(isPermissionAllowed(p), false);
  });

  test('the app:// protocol: the renderer\'s files with the CSP and nosniff, nothing outside the folder, no other host', async (t) => {
    const dir = tempDir(t);
    const renderer = join(dir, 'renderer');
    mkdirSync(join(renderer, 'assets'), { recursive: true });
    writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>wizard</title>');
    writeFileSync(join(renderer, 'assets', 'index.js'), 'void 0;');
    writeFileSync(join(dir, 'secret.txt'), 'outside the renderer folder');
    symlinkSync(join(dir, 'secret.txt'), join(renderer, 'assets', 'link.txt'));
    symlinkSync(dir, join(renderer, 'up'));
    const get = (url: string, method = 'GET'): Promise<Response> => appProtocolResponse({ url, method }, renderer);

    const page = await get(APP_INDEX_URL);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<!doctype html><title>wizard</title>');
    assert.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    for (const [k, v] of Object.entries(PAGE_HEADERS)) assert.equal(page.headers.get(k), v, k);
    const script = await get('app://tsmedia/assets/index.js');
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    const head = await get(APP_INDEX_URL, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');

    const outside = [
      'app://tsmedia/../../etc/passwd',
      'app://tsmedia/../secret.txt',
      'app://tsmedia/%2e%2e/secret.txt',
      'app://tsmedia/%2E%2E/%2E%2E/etc/passwd',
      'app://tsmedia/..%2fsecret.txt',
      'app://tsmedia/assets/..%2f..%2fsecret.txt',
      'app://tsmedia/..%5csecret.txt',
      'app://tsmedia/index.html%00.js',
      'app://tsmedia/%E0%A4%A',
      'app://tsmedia/assets/link.txt', // a symbolic link out of the folder
      'app://tsmedia/up/secret.txt', // a linked folder out of it
      'app://tsmedia/assets/',
      'app://tsmedia/missing.html',
      'app://evil/index.html',
      'app://tsmedia.evil/index.html',
      'app://tsmedia:1/index.html',
      'app://user:pw@tsmedia/index.html',
      'file:///etc/passwd',
      `file://${join(renderer, 'index.html')}`,
      'https://tsmedia/index.html',
      'not a url',
    ];
    for (const url of outside) {
      const r = await get(url);
      assert.equal(r.status, 404, url);
      const body = await r.text();
      assert.doesNotMatch(body, /outside the renderer|root:/, url);
      assert.equal(r.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, url);
    }
    const post = await get(APP_INDEX_URL, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
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
    assert.match(main, /ipcMain\.handle\(channel, [\s\S]{0,400}ipcSenderRefusal\(event, appWindow\(\)\)/);
    // The page is loaded from app://, never from a file.
    assert.match(main, /loadURL\(APP_INDEX_URL\)/);
    assert.doesNotMatch(main, /loadFile\(|pathToFileURL/);
    assert.match(main, /setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
  });

  test("electron-builder.yml: Electron's fuses, as electron-builder's own schema reads them", async () => {
    // electron-builder's config reader (js-yaml) and validator, from its own package (app-builder-lib); nothing added.
    const builder = createRequire(createRequire(join(ROOT, 'package.json')).resolve('electron-builder'));
    const lib = createRequire(builder.resolve('app-builder-lib'));
    const { load } = lib('js-yaml') as { load: (text: string) => unknown };
    const { validateConfiguration } = lib('./util/config/config.js') as { validateConfiguration: (config: unknown, logger: unknown) => Promise<void> };
    const { DebugLogger } = lib('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
    const config = load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as { electronFuses?: Record<string, boolean>; asarUnpack?: string[]; files?: string[] };
    await validateConfiguration(config, new DebugLogger(false));
    assert.deepEqual(config.electronFuses, {
      // The privileged writer is this executable run as Node (ELECTRON_RUN_AS_NODE), started through the OS prompt.
      runAsNode: true,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
      loadBrowserProcessSpecificV8Snapshot: false,
    });
    // The pkexec launcher ships, outside the asar archive (the kernel runs it), like drivelist's addon.
    assert.ok(config.files?.includes('bin/**'));
    assert.ok(config.asarUnpack?.includes('bin/tsmedia-privileged-writer'));
    assert.ok(config.asarUnpack?.includes('**/node_modules/drivelist/**'));
    // The validator is not a formality: a misspelt fuse is refused.
    await assert.rejects(validateConfiguration({ ...config, electronFuses: { runAsNod: true } }, new DebugLogger(false)), /configuration/);
  });

  test('main.ts with a stand-in electron module: the page from app://, a locked-down window, IPC only from its own page, errors as replies', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'electron.mjs'), STUB);
    writeFileSync(join(dir, 'hooks.mjs'), `export async function resolve(spec, ctx, next) { return spec === 'electron' ? { url: ${JSON.stringify(pathToFileURL(join(dir, 'electron.mjs')).href)}, shortCircuit: true } : next(spec, ctx); }`);
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});`);
    writeFileSync(join(dir, 'driver.mjs'), DRIVER);
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'driver.mjs')], {
      encoding: 'utf8',
      env: {
        ...process.env,
        MAIN_JS: pathToFileURL(join(ROOT, 'dist', 'electron', 'main.js')).href,
        FILE_INDEX_URL: pathToFileURL(join(RENDERER, 'index.html')).href,
        STUB_USER_DATA: join(dir, 'user-data'),
        XDG_STATE_HOME: join(dir, 'state'),
      },
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
    // The page comes from app://tsmedia, not file://; the scheme is registered before the app is ready, standard and
    // secure, and does not bypass the CSP.
    assert.equal(out.url, 'app://tsmedia/index.html');
    assert.deepEqual(out.schemes, [{ scheme: 'app', privileges: { standard: true, secure: true } }]);
    assert.deepEqual(out.order, ['registerSchemesAsPrivileged', 'whenReady']);
    assert.deepEqual(out.protocols, ['app']);
    const served = out.served as Record<string, { status: number; csp: string | null; nosniff: string | null; type: string | null; body: string }>;
    assert.equal(served.index.status, 200);
    assert.equal(served.index.csp, CONTENT_SECURITY_POLICY);
    assert.equal(served.index.nosniff, 'nosniff');
    assert.equal(served.index.type, 'text/html; charset=utf-8');
    assert.match(served.index.body, /^<!doctype html>/i);
    assert.equal(served.traversal.status, 404);
    assert.doesNotMatch(served.traversal.body, /"name"/);
    assert.equal(served.otherHost.status, 404);
    assert.deepEqual(out.webPreferences, mainWindowOptions(join(ROOT, 'dist', 'electron', 'preload.cjs'), { devTools: false }).webPreferences);
    // IPC: answered for the window's main frame on its page; every other sender is ignored and logged without secrets.
    assert.deepEqual(out.trusted, { ok: true, value: 'es-ES' });
    assert.deepEqual(out.sameFrameAnotherObject, { ok: true, value: 'es-ES' });
    assert.deepEqual(out.invalid, { ok: false, code: 'invalid', error: 'analyze: field "detectDependencies" is missing.' });
    assert.equal(out.iframe, 'ignored');
    assert.equal(out.otherFrame, 'ignored');
    assert.equal(out.otherContents, 'ignored');
    assert.equal(out.fileUrl, 'ignored');
    assert.equal(out.foreign, 'ignored');
    assert.equal(out.noFrame, 'ignored');
    const refusals = r.stderr.split('\n').filter((l) => l.startsWith('tsmedia: refused a call to tsmedia:systemLocale'));
    assert.equal(refusals.length, 6, r.stderr);
    assert.ok(refusals.some((l) => l.includes('https://evil.example')), r.stderr);
    assert.doesNotMatch(r.stderr, /SECRET-TOKEN|\/path/);
    assert.deepEqual(out.navigationPrevented, { evil: true, file: true, own: false });
    assert.deepEqual(out.windowOpen, { action: 'deny' });
    assert.deepEqual(out.headers, withSecurityHeaders({}));
    assert.equal(out.permissionAllowed, false);
  });
});
