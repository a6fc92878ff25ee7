// The preload of the wizard's window: exposes `window.tsmedia`, exactly the API of shared/ipc.ts and nothing else
// (no ipcRenderer, no event objects, no Node). A sandboxed preload is CommonJS and may require only `electron`, so the
// method list and channel names are written here again; the compiler checks the list covers every API method, and
// test/shellSecurity.test.ts runs this file and compares it with shared/ipc.ts.
import { contextBridge, ipcRenderer } from 'electron';
import type { ApiMethod, MediaEvent, TsMediaApi } from '../shared/ipc.js';
import type { IpcReply } from './shell/security.js';

const METHODS = [
  'getSiteInfo',
  'openSite',
  'openServerSite',
  'listSequences',
  'analyze',
  'catalog',
  'listDrives',
  'readDriveMedia',
  'checkMedia',
  'checkOutput',
  'startMedia',
  'cancelMedia',
  'cancelDrive',
  'saveAnswerFile',
  'chooseFolder',
  'chooseSaveFile',
  'openPath',
  'getPreferences',
  'setPreferences',
  'systemLocale',
] as const satisfies readonly ApiMethod[];

// A method added to shared/ipc.ts but not here fails the build.
type Missing = Exclude<ApiMethod, (typeof METHODS)[number]>;
const everyMethod: [Missing] extends [never] ? true : never = true;
void everyMethod;

const MEDIA_EVENT_CHANNEL = 'tsmedia:media-event';
const channel = (m: ApiMethod): string => `tsmedia:${m}`;

/**
 * A failed call rejects with a plain object `{name, message, code, detail?}` (shared/ipc.ts ApiErrorReply): the
 * context bridge copies an Error with its message only and drops every other property, a plain object whole.
 */
async function invoke(method: ApiMethod, args: unknown[]): Promise<unknown> {
  const reply = (await ipcRenderer.invoke(channel(method), ...args)) as IpcReply;
  if (reply.ok) return reply.value;
  const name = reply.code === 'invalid' ? 'InvalidRequest' : reply.code === 'cancelled' ? 'Cancelled' : 'Failed';
  const rejection: { name: string; message: string; code: string; detail?: unknown } = { name, message: reply.error, code: reply.code };
  if (reply.detail) rejection.detail = reply.detail;
  throw rejection;
}

const api: Record<string, unknown> = {};
for (const m of METHODS) api[m] = (...args: unknown[]): Promise<unknown> => invoke(m, args);

const onMediaEvent: TsMediaApi['onMediaEvent'] = (listener) => {
  if (typeof listener !== 'function') throw new TypeError('onMediaEvent needs a function');
  // The page gets the event's data only, never Electron's event object (it would reach ipcRenderer).
  const handler = (_event: unknown, e: MediaEvent): void => listener(e);
  ipcRenderer.on(MEDIA_EVENT_CHANNEL, handler);
  return () => {
    ipcRenderer.removeListener(MEDIA_EVENT_CHANNEL, handler);
  };
};
api.onMediaEvent = onMediaEvent;

contextBridge.exposeInMainWorld('tsmedia', Object.freeze(api));
