// The Electron shell, kept thin: one sandboxed window on the renderer's files (served from app://tsmedia, never
// file://), IPC handlers that hand the page's calls to the engine API (after checking they come from that window's own
// page), native dialogs, and media events sent to the window. The engine's long work runs in worker threads; nothing
// here reads or writes media itself.
import { app, BrowserWindow, dialog, ipcMain, protocol, session, shell, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_METHODS, MEDIA_EVENT_CHANNEL, ipcChannel } from '../shared/ipc.js';
import { createEngineApi, toApiError, type EngineApi } from './host/EngineApi.js';
import { appProtocolResponse } from './shell/rendererFiles.js';
import {
  APP_INDEX_URL,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  ipcSenderRefusal,
  isAllowedNavigation,
  isPermissionAllowed,
  mainWindowOptions,
  withSecurityHeaders,
  type AppWindow,
  type IpcReply,
} from './shell/security.js';
// Brings the preload into this compilation (tsc emits dist/electron/preload.cjs); nothing of it is used here.
import type {} from './preload.cjs';

const here = dirname(fileURLToPath(import.meta.url));
/** dist/renderer, built by the renderer's own build (vite). */
const rendererDir = join(here, '..', 'renderer');
const preloadPath = join(here, 'preload.cjs');

let mainWindow: BrowserWindow | null = null;

/** Denies navigation, new windows, webviews and permission requests for every web contents the app creates. */
function lockDown(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedNavigation(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** The wizard's window as the IPC sender check compares with, or null while there is none. */
function appWindow(): AppWindow | null {
  if (!mainWindow || mainWindow.isDestroyed()) return null;
  return { webContents: mainWindow.webContents, mainFrame: mainWindow.webContents.mainFrame };
}

function registerIpc(api: EngineApi): void {
  for (const method of API_METHODS) {
    const channel = ipcChannel(method);
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<IpcReply | undefined> => {
      // Calls from anything but the main frame of the wizard's window showing app://tsmedia/index.html are ignored
      // (never answered); the log names the channel and the reason (an origin at most), never the arguments.
      const refused = ipcSenderRefusal(event, appWindow());
      if (refused !== null) {
        console.warn(`tsmedia: refused a call to ${channel}: ${refused}.`);
        return undefined;
      }
      try {
        return { ok: true, value: await api.call(method, args) };
      } catch (err) {
        const e = toApiError(err);
        return e.detail ? { ok: false, code: e.code, error: e.message, detail: e.detail } : { ok: false, code: e.code, error: e.message };
      }
    });
  }
}

function createWindow(): BrowserWindow {
  // Its web contents are locked down by the web-contents-created handler, like any the app creates.
  const win = new BrowserWindow(mainWindowOptions(preloadPath, { devTools: !app.isPackaged }));
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(APP_INDEX_URL);
  return win;
}

/** TSMEDIA_SMOKE_TEST=1 (test/electronSmoke.test.ts): prints what the page sees of the API, then quits. */
async function smokeTest(win: BrowserWindow): Promise<void> {
  try {
    await new Promise<void>((ok) => (win.webContents.isLoading() ? win.webContents.once('did-finish-load', () => ok()) : ok()));
    const seen = (await win.webContents.executeJavaScript(
      `(async () => ({ href: location.href, keys: Object.keys(window.tsmedia || {}).sort(), hasRequire: typeof require !== 'undefined', hasProcess: typeof process !== 'undefined', site: await window.tsmedia.getSiteInfo() }))()`,
    )) as unknown;
    process.stdout.write(`TSMEDIA_SMOKE ${JSON.stringify(seen)}\n`);
  } catch (err) {
    process.stdout.write(`TSMEDIA_SMOKE_ERROR ${(err as Error).message}\n`);
  } finally {
    app.quit();
  }
}

function start(): void {
  if (!existsSync(join(rendererDir, 'index.html'))) {
    dialog.showErrorBox('tsmedia', `The wizard's page is not built (${join(rendererDir, 'index.html')} is missing). Run "npm run build".`);
    app.quit();
    return;
  }
  // The page and its files come from app://tsmedia, answered from dist/renderer with the CSP and nosniff headers.
  protocol.handle(APP_SCHEME, (request) => appProtocolResponse(request, rendererDir));
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: withSecurityHeaders(details.responseHeaders) }));
  session.defaultSession.setPermissionRequestHandler((_wc, permission, callback) => callback(isPermissionAllowed(permission)));
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => isPermissionAllowed(permission));

  const api = createEngineApi({
    userDataDir: app.getPath('userData'),
    systemLocale: () => app.getLocale(),
    dialogs: {
      async chooseFolder(title) {
        const opts = { title, properties: ['openDirectory', 'createDirectory'] as ('openDirectory' | 'createDirectory')[] };
        const r = mainWindow ? await dialog.showOpenDialog(mainWindow, opts) : await dialog.showOpenDialog(opts);
        return r.canceled || r.filePaths.length === 0 ? null : r.filePaths[0];
      },
      async chooseSaveFile(req) {
        const opts = { title: req.title, defaultPath: req.defaultPath ?? undefined, filters: req.filters };
        const r = mainWindow ? await dialog.showSaveDialog(mainWindow, opts) : await dialog.showSaveDialog(opts);
        return r.canceled || !r.filePath ? null : r.filePath;
      },
      async openPath(path) {
        return (await shell.openPath(path)) === '';
      },
    },
  });
  api.onMediaEvent((e) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(MEDIA_EVENT_CHANNEL, e);
  });
  registerIpc(api);
  mainWindow = createWindow();
  if (process.env.TSMEDIA_SMOKE_TEST === '1') void smokeTest(mainWindow);

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    // A running media job is cancelled and its partial files removed before the app exits.
    quitting = true;
    event.preventDefault();
    void api.close().finally(() => app.quit());
  });
}

// Before the app is ready (Electron's rule): app:// is a standard, secure scheme, and does not bypass the CSP.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
app.enableSandbox();
// A second start focuses the first window instead of opening another engine on the same user data.
if (!app.requestSingleInstanceLock()) app.quit();
else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });
  app.on('web-contents-created', (_event, contents) => lockDown(contents));
  app.on('window-all-closed', () => app.quit());
  void app.whenReady().then(start);
}
